/* Template form: the VPN and automatic-certificate rows only show for VPN templates. */
(function () {
  'use strict'

  function update (select) {
    const vpn = select.value === 'vpn'
    document.querySelectorAll('.form-row.field-vpn, .form-row.field-auto_cert').forEach((row) => {
      row.hidden = !vpn
    })
  }

  document.addEventListener('DOMContentLoaded', () => {
    const select = document.querySelector('select#id_type')
    if (!select || !document.querySelector('.field-vpn')) return
    update(select)
    select.addEventListener('change', () => update(select))
  })
})()
