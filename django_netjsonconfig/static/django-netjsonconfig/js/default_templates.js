/*
 * Config add form: ticks the default templates of the selected backend, and
 * re-ticks them when the backend changes until the operator touches the selection.
 */
(function () {
  'use strict'

  document.addEventListener('DOMContentLoaded', () => {
    const data = document.getElementById('djnjc-default-templates')
    const backend = document.querySelector('select#id_backend')
    if (!data || !backend) return
    const defaults = JSON.parse(data.textContent)
    const list = document.querySelector('.field-templates .sortedm2m-items')
    if (!list) return
    // a form sent back with errors keeps the operator's selection
    let touched = Boolean(document.querySelector('.errornote'))
    let ticked = []

    function checkbox (pk) {
      return list.querySelector(`input[type="checkbox"][value="${CSS.escape(pk)}"]`)
    }

    function setChecked (box, checked) {
      if (box && box.checked !== checked) {
        box.checked = checked
        box.dispatchEvent(new Event('change', { bubbles: true }))
      }
    }

    function apply () {
      if (touched) return
      ticked.forEach((pk) => setChecked(checkbox(pk), false))
      ticked = defaults[backend.value] || []
      ticked.forEach((pk) => setChecked(checkbox(pk), true))
    }

    list.addEventListener('change', (event) => {
      if (event.isTrusted) touched = true
    })
    backend.addEventListener('change', apply)
    // after sortedm2m has built its hidden value
    window.addEventListener('load', apply)
  })
})()
