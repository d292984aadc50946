/*
 * Stored values a list of the form editor cannot show (a timezone the backend
 * does not know, saved before or typed in the advanced mode): json-editor
 * would show its first choice ("UTC") as if it were the value. The list shows
 * the stored value instead, as a choice that cannot be picked again, with an
 * error on the field; the value stays in the configuration (widget.js writes
 * only what the operator edits) until the operator chooses another one.
 * Used by widget.js as window.djnjcStoredChoices.mark(formEditor, value).
 */
(function () {
  'use strict'

  const gettext = window.gettext || ((text) => text)
  const interpolate = window.interpolate || ((format, args) => format.replace('%s', args[0]))

  /** the value at a json-editor path (``root.general.timezone``) of ``value`` */
  function lookup (value, path) {
    return path.split('.').slice(1).reduce((node, key) => (node && typeof node === 'object' ? node[key] : undefined), value)
  }

  function markField (editor, stored) {
    const select = editor.input
    const option = document.createElement('option')
    option.disabled = true
    option.className = 'djnjc-stored-choice'
    option.textContent = interpolate(gettext('%s (stored, not in the list)'), [String(stored)])
    select.prepend(option)
    option.selected = true
    const message = document.createElement('div')
    message.className = 'errmsg djnjc-stored-error'
    message.id = `${select.id || select.name}-stored`
    message.textContent = interpolate(
      gettext('The stored value "%s" is not one of the choices: choose one to save the configuration.'), [String(stored)]
    )
    ;(select.closest('.form-control') || select.parentElement).appendChild(message)
    select.setAttribute('aria-invalid', 'true')
    select.setAttribute('aria-describedby', `${select.getAttribute('aria-describedby') || ''} ${message.id}`.trim())
    select.addEventListener('change', () => {
      option.remove()
      message.remove()
      select.removeAttribute('aria-invalid')
      select.setAttribute('aria-describedby', select.getAttribute('aria-describedby').replace(message.id, '').trim())
    }, { once: true })
  }

  /** marks every list of ``formEditor`` whose value in ``value`` (the configuration shown) is none of its choices */
  function mark (formEditor, value) {
    Object.entries(formEditor.editors || {}).forEach(([path, editor]) => {
      const select = editor && editor.input
      if (!select || select.tagName !== 'SELECT' || !Array.isArray(editor.enum_values) || !select.checkVisibility()) return
      if (select.querySelector('.djnjc-stored-choice')) return
      const stored = lookup(value, path)
      if (stored === undefined || editor.enum_values.some((choice) => JSON.stringify(choice) === JSON.stringify(stored))) return
      markField(editor, stored)
    })
  }

  window.djnjcStoredChoices = { mark }
})()
