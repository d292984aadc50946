/*
 * VPN server form: only the fields of the selected backend's kind show (OpenVPN: CA,
 * certificate, revocation list, DH; WireGuard: subnet), from the data of
 * vpn_admin.backends_data(). Hidden fields keep their values in the page but are
 * disabled, so the form does not send them. A change to another kind of backend puts
 * that kind's starting configuration in the editor, or the one the operator left for
 * that backend earlier in the page: switching back loses nothing.
 */
(function () {
  'use strict'

  const gettext = window.gettext || ((text) => text)

  document.addEventListener('DOMContentLoaded', () => {
    const data = document.getElementById('djnjc-vpn-backends')
    const select = document.querySelector('select#id_backend')
    if (!data || !select) return
    const backends = JSON.parse(data.textContent)
    const textarea = select.form.querySelector('textarea[name="config"]')
    const kindFields = new Set(Object.values(backends).flatMap((backend) => backend.fields))
    /** the configuration (JSON text) last shown for each backend, by dotted path */
    const configs = {}
    let last = backends[select.value] ? select.value : null

    const row = select.closest('.form-row')
    const note = document.createElement('p')
    note.className = 'help djnjc-vpn-kind-note'
    note.setAttribute('role', 'status')
    note.hidden = true
    note.textContent = gettext('Save the form to see the fields of this backend.')
    if (row) row.append(note)

    function update () {
      const backend = backends[select.value]
      let missing = false
      kindFields.forEach((name) => {
        const shown = !backend || backend.fields.includes(name)
        const rows = document.querySelectorAll(`.form-row.field-${name}`)
        if (shown && backend && !rows.length) missing = true
        rows.forEach((fieldRow) => {
          fieldRow.hidden = !shown
          fieldRow.querySelectorAll('input, select, textarea').forEach((control) => {
            control.disabled = !shown
          })
        })
      })
      // a saved server's page has the fields of its own kind only
      note.hidden = !missing
    }

    function swapConfig (next) {
      if (!textarea || !backends[next]) return
      if (last && last !== next) {
        configs[last] = textarea.value
        if (backends[last].kind !== backends[next].kind) {
          textarea.value = configs[next] !== undefined ? configs[next] : JSON.stringify(backends[next].config, null, 4)
        }
      }
      last = next
    }

    // capture phase: before the configuration editor rebuilds itself from the textarea
    document.addEventListener('change', (event) => {
      if (event.target !== select) return
      swapConfig(select.value)
      update()
    }, true)
    update()
  })
})()
