/*
 * Asks for confirmation before leaving a change form with unsaved changes.
 * The configuration JSON is compared by value, so formatting alone is no change.
 */
(function () {
  'use strict'

  function fields (form) {
    return Array.from(form.querySelectorAll('input[name], select[name], textarea[name]')).filter(
      (field) =>
        !field.name.startsWith('_') &&
        !field.name.startsWith('initial-') &&
        field.name !== 'csrfmiddlewaretoken' &&
        !field.closest('.djnjc-editor') &&
        !['submit', 'button', 'reset'].includes(field.type)
    )
  }

  function normalize (field, value) {
    if (field.type === 'checkbox' || field.type === 'radio') return String(field.checked)
    if (field.tagName === 'SELECT' && field.multiple) return Array.from(field.selectedOptions, (o) => o.value).join(',')
    if (field.classList.contains('jsoneditor-raw')) {
      try {
        return JSON.stringify(sorted(JSON.parse(value || '{}')))
      } catch (error) {
        return value
      }
    }
    return value
  }

  function sorted (value) {
    if (Array.isArray(value)) return value.map(sorted)
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sorted(value[key])]))
    }
    return value
  }

  /** the configuration's initial value is its textarea's (the editor may fill an empty one later) */
  function snapshot (form, initial) {
    return fields(form)
      .map((field) => {
        const value = initial && field.classList.contains('jsoneditor-raw') ? field.defaultValue : field.value
        return `${field.name}=${normalize(field, value)}`
      })
      .join('\n')
  }

  function watch () {
    const form = document.querySelector('#content-main form')
    if (!form || !document.querySelector('.submit-row')) return
    const initial = snapshot(form, true)
    let submitting = false
    form.addEventListener('submit', () => {
      submitting = true
    })
    window.addEventListener('beforeunload', (event) => {
      if (submitting) return
      document.dispatchEvent(new Event('djnjc:sync'))
      if (snapshot(form) !== initial) {
        event.preventDefault()
        event.returnValue = ''
      }
    })
  }

  // after the other load handlers (e.g. the default templates ticked on the add form)
  window.addEventListener('load', () => setTimeout(watch, 0))
})()
