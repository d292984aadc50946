/*
 * Configuration variables of django-netjsonconfig: the JSON object of each
 * textarea.djnjc-variables (a config's "context", a template's "default_values")
 * edited as a key/value table by json-editor, and window.djnjcResolveVariables(),
 * with which the configuration editor validates {{ placeholders }} using the
 * values known in the page (same precedence as the server: template defaults in
 * template order < NETJSONCONFIG_CONTEXT < the device's variables; built-ins).
 */
(function () {
  'use strict'

  const libs = window.djnjcEditorLibs
  const gettext = window.gettext || ((text) => text)
  /** netjsonconfig's own syntax (netjsonconfig.utils.var_pattern) */
  const VARIABLE = /\{\{\s*(\w*)\s*\}\}/g
  const BUILTINS = ['id', 'key', 'name', 'mac_address', 'hardware_id']

  function parseObject (text) {
    try {
      const value = JSON.parse(text && text.trim() ? text : '{}')
      return value && typeof value === 'object' && !Array.isArray(value) ? value : null
    } catch (error) {
      return null
    }
  }

  function pageData () {
    const script = document.getElementById('djnjc-variables-data')
    return script ? JSON.parse(script.textContent) : null
  }

  function selectedTemplates () {
    return [...document.querySelectorAll('.field-templates .sortedm2m-items input[type="checkbox"]:checked')].map(
      (box) => box.value
    )
  }

  function fieldValue (name, fallback) {
    const input = document.querySelector(`#id_${name}`)
    return input && input.value ? input.value : fallback
  }

  /** the variables known in the page, by name */
  function variables () {
    const context = {}
    const own = document.querySelector('textarea.djnjc-variables[name="context"]')
    const defaults = document.querySelector('textarea.djnjc-variables[name="default_values"]')
    const data = pageData()
    if (data) {
      selectedTemplates().forEach((pk) => Object.assign(context, data.templates[pk] || {}))
      Object.assign(context, data.global || {})
    }
    if (own) Object.assign(context, parseObject(own.value) || {})
    if (data) {
      const builtins = data.builtins || {}
      BUILTINS.forEach((name) => {
        const value = name in (data.global || {}) ? data.global[name] : fieldValue(name, builtins[name])
        if (value !== undefined) context[name] = value
        else delete context[name]
      })
    }
    if (defaults && !data) Object.assign(context, parseObject(defaults.value) || {})
    return context
  }

  /** ``text`` with its variables replaced: ``{ value, unresolved }`` (names without a value) */
  window.djnjcResolveVariables = function (text) {
    const known = variables()
    const unresolved = []
    const value = text.replace(VARIABLE, (match, name) => {
      if (name in known) return String(known[name])
      unresolved.push(name)
      return match
    })
    return { value, unresolved }
  }

  const SCHEMA = {
    type: 'array',
    format: 'table',
    title: ' ',
    items: {
      type: 'object',
      title: gettext('variable'),
      properties: {
        // a row without a name is left out, not an error
        name: {
          type: 'string',
          title: gettext('name'),
          pattern: '^([A-Za-z_][A-Za-z0-9_]*)?$',
          options: { patternmessage: gettext('Use letters, digits and underscores, not starting with a digit.') }
        },
        value: { type: 'string', title: gettext('value') }
      }
    }
  }

  function rows (object) {
    return Object.entries(object).map(([name, value]) => ({ name, value: String(value) }))
  }

  function fromRows (list) {
    const object = {}
    list.forEach((row) => {
      if (row.name) object[row.name] = row.value || ''
    })
    return object
  }

  function refreshConfigEditors () {
    document.querySelectorAll('textarea.jsoneditor-raw').forEach((textarea) => {
      if (textarea.djnjcEditor && textarea.djnjcEditor.markPlaceholders) textarea.djnjcEditor.markPlaceholders()
    })
  }

  function build (textarea) {
    const start = parseObject(textarea.value)
    if (start === null) return // malformed JSON (sent back by the server with its error): left as text
    const holder = document.createElement('div')
    holder.className = 'djnjc-variables-editor'
    textarea.after(holder)
    textarea.hidden = true
    const editor = new libs.JSONEditor(holder, {
      schema: SCHEMA,
      startval: rows(start),
      theme: 'html',
      form_name_root: `djnjc_${textarea.name}`,
      disable_collapse: true,
      disable_edit_json: true,
      disable_properties: true,
      disable_array_reorder: true,
      disable_array_delete_last_row: true,
      disable_array_delete_all_rows: true,
      prompt_before_delete: false,
      show_errors: 'interaction'
    })
    editor.on('ready', () => {
      holder.dataset.ready = 'true'
    })
    editor.on('change', () => {
      if (!editor.ready) return
      const value = fromRows(editor.getValue())
      if (JSON.stringify(value) === JSON.stringify(parseObject(textarea.value))) return
      textarea.value = JSON.stringify(value, null, 4)
      textarea.dispatchEvent(new Event('change', { bubbles: true }))
      refreshConfigEditors()
    })
  }

  function init () {
    document.querySelectorAll('textarea.djnjc-variables').forEach(build)
    // the placeholder notes show the values of the selected templates' defaults
    const templates = document.querySelector('.field-templates')
    if (templates) templates.addEventListener('change', refreshConfigEditors)
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init)
  else init()
})()
