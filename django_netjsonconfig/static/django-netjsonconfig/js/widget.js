/*
 * Configuration editor of django-netjsonconfig: turns every textarea.jsoneditor-raw
 * into a form editor generated from the selected backend's JSON-Schema, plus an
 * advanced mode editing the same object as raw JSON (CodeMirror).
 * The textarea stays the submitted value; it is only rewritten when the operator
 * changes something, so loading or switching modes never reformats it.
 */
(function () {
  'use strict'

  const libs = window.djnjcEditorLibs
  /** CodeMirror 6: loaded by loadCodeMirror() when the advanced mode first opens */
  let cm = libs.codemirror
  const gettext = window.gettext || ((text) => text)
  /** a configuration variable such as {{ mtu }} (netjsonconfig's syntax) */
  const PLACEHOLDER = /\{\{\s*\w*\s*\}\}/

  /** what variables.js knows of the page's variables: ``{ value, unresolved }`` */
  function resolve (text) {
    return window.djnjcResolveVariables ? window.djnjcResolveVariables(text) : { value: text, unresolved: [null] }
  }

  /** a resolved string as the type its field wants, like the server does (``"1500"`` for an integer) */
  function typed (value, schema) {
    const types = [].concat((schema && schema.type) || [])
    if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value) && (types.includes('integer') || types.includes('number'))) {
      return Number(value)
    }
    if ((value === 'true' || value === 'false') && types.includes('boolean')) return value === 'true'
    return value
  }

  /** the empty sections (and their default fields) a device's editor opens on, e.g. General with its hostname */
  function openingValue (schema) {
    const properties = schema.properties || {}
    return Object.fromEntries((schema.defaultProperties || []).filter((name) => properties[name]).map((name) => {
      const section = properties[name]
      const fields = (section.defaultProperties || []).filter((field) => (section.properties || {})[field])
      return [name, Object.fromEntries(fields.map((field) => [field, section.properties[field].type === 'string' ? '' : undefined]))]
    }))
  }

  // a value holding a variable is validated with the variable's value when the page
  // knows it (a template has no device to take it from); without a value it is accepted, with a note
  const validateSchema = libs.Validator.prototype._validateSchema
  libs.Validator.prototype._validateSchema = function (schema, value, path) {
    if (typeof value === 'string' && PLACEHOLDER.test(value)) {
      const resolved = resolve(value)
      if (resolved.unresolved.length) return []
      return validateSchema.call(this, schema, typed(resolved.value, schema), path)
    }
    return validateSchema.call(this, schema, value, path)
  }

  /**
   * Validation errors naming the offending property: a "must match exactly one
   * schema" error is replaced by the errors of the closest alternative (the one
   * whose "type" matches, then the one with fewest errors), so that the message
   * points at interfaces.0.mtu rather than at interfaces.0.
   */
  function precise (errors) {
    let result = errors
    errors.filter((error) => error.property === 'oneOf').forEach((marker) => {
      const prefix = `${marker.path}.oneOf[`
      const groups = new Map()
      result.filter((error) => error.path.startsWith(prefix)).forEach((error) => {
        const index = error.path.slice(prefix.length).split(']')[0]
        if (!groups.has(index)) groups.set(index, [])
        groups.get(index).push(error)
      })
      if (!groups.size) return
      const lists = [...groups.entries()]
      const typed = lists.filter(([index, list]) => !list.some((error) => error.path === `${prefix}${index}].type`))
      const best = (typed.length ? typed : lists).reduce((a, b) => (b[1].length < a[1].length ? b : a))[1]
      result = result.filter((error) => error !== marker && (!error.path.startsWith(prefix) || best.includes(error)))
    })
    return result.map((error) => ({ ...error, path: error.path.replace(/\.oneOf\[\d+\]/g, '') }))
  }

  const schemas = new Map()
  /** the schemas of every backend (one request per page, cached by the browser) */
  function loadSchemas (url) {
    if (!schemas.has(url)) {
      schemas.set(url, fetch(url, { credentials: 'same-origin' }).then((response) => {
        if (!response.ok) throw new Error(`${response.status} ${response.statusText}`)
        return response.json()
      }))
    }
    return schemas.get(url)
  }
  // start the request while the rest of the page loads
  const script = document.currentScript
  if (script && script.dataset.schemaUrl) loadSchemas(script.dataset.schemaUrl).catch(() => {})
  const codeMirrorUrl = script && script.dataset.codemirrorUrl

  let codeMirrorLoading = null
  /** loads the CodeMirror bundle once (a script element: same origin, cached by the browser) */
  function loadCodeMirror () {
    if (cm) return Promise.resolve(cm)
    if (!codeMirrorLoading) {
      codeMirrorLoading = new Promise((resolve, reject) => {
        const tag = document.createElement('script')
        tag.src = codeMirrorUrl
        tag.onload = () => {
          cm = libs.codemirror
          resolve(cm)
        }
        tag.onerror = () => {
          codeMirrorLoading = null
          tag.remove()
          reject(new Error(gettext('the code editor could not be loaded')))
        }
        document.head.appendChild(tag)
      })
    }
    return codeMirrorLoading
  }

  function sameJson (a, b) {
    return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b))
  }

  function sortKeys (value) {
    if (Array.isArray(value)) return value.map(sortKeys)
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys(value[key])]))
    }
    return value
  }

  /** ``value`` with the keys of its objects in the order they have in ``model`` (new keys last) */
  function keepOrder (value, model) {
    if (Array.isArray(value)) return value.map((item, index) => keepOrder(item, Array.isArray(model) ? model[index] : undefined))
    if (!value || typeof value !== 'object') return value
    const known = model && typeof model === 'object' && !Array.isArray(model) ? Object.keys(model).filter((key) => key in value) : []
    const keys = [...known, ...Object.keys(value).filter((key) => !known.includes(key))]
    return Object.fromEntries(keys.map((key) => [key, keepOrder(value[key], model ? model[key] : undefined)]))
  }

  /** line and column of a JSON.parse error, or null */
  function parseError (text) {
    try {
      JSON.parse(text)
      return null
    } catch (error) {
      const match = /position (\d+)/.exec(error.message)
      const lineMatch = /line (\d+) column (\d+)/.exec(error.message)
      let line = 1
      let column = 1
      if (lineMatch) {
        line = Number(lineMatch[1])
        column = Number(lineMatch[2])
      } else if (match) {
        const before = text.slice(0, Number(match[1])).split('\n')
        line = before.length
        column = before[before.length - 1].length + 1
      }
      return { line, column, message: error.message.replace(/ in JSON at .*$/, '').replace(/^JSON\.parse: /, '') }
    }
  }

  /** the [from, to] range of the value at ``path`` (list of keys) in a parsed JSON syntax tree */
  function locate (state, path) {
    const VALUES = ['Object', 'Array', 'String', 'Number', 'True', 'False', 'Null']
    let node = cm.syntaxTree(state).topNode.firstChild
    for (const part of path) {
      if (!node) break
      let next = null
      if (node.name === 'Object') {
        for (let child = node.firstChild; child; child = child.nextSibling) {
          const name = child.name === 'Property' && child.firstChild
          if (name && name.name === 'PropertyName' && JSON.parse(state.sliceDoc(name.from, name.to)) === part) {
            next = child.lastChild
            break
          }
        }
      } else if (node.name === 'Array') {
        let index = 0
        for (let child = node.firstChild; child; child = child.nextSibling) {
          if (VALUES.includes(child.name) && index++ === Number(part)) {
            next = child
            break
          }
        }
      }
      if (!next || !VALUES.includes(next.name)) break
      node = next
    }
    return node ? [node.from, node.to] : [0, 0]
  }

  /** an element's accessible name as far as labels go (what a screen reader announces) */
  function labelled (control) {
    if (control.getAttribute('aria-label') || control.getAttribute('aria-labelledby') || control.title) return true
    if (control.closest('label')) return true
    return Boolean(control.id && document.getElementById(control.id) === control && document.querySelector(`label[for="${CSS.escape(control.id)}"]`))
  }

  /**
   * Gives every field of the form editor an accessible name: json-editor builds the
   * fields of each alternative of a "oneOf" with the same ids, so that a label names
   * only the first of them; the others get ids of their own (their label follows),
   * and a field without a label is named after its property.
   */
  function nameFields (holder) {
    const counts = new Map()
    // other elements with a repeated id (descriptions): their own id, and the field they describe follows
    holder.querySelectorAll('[id]:not(input, select, textarea)').forEach((element) => {
      const id = element.id
      if (document.getElementById(id) === element) return
      const count = (counts.get(id) || 1) + 1
      counts.set(id, count)
      element.id = `${id}-${count}`
      const group = element.closest('.form-control') || element.parentElement
      group.querySelectorAll('[aria-describedby]').forEach((described) => {
        described.setAttribute('aria-describedby', described.getAttribute('aria-describedby').replace(id, element.id))
      })
    })
    holder.querySelectorAll('input, select, textarea').forEach((control) => {
      if (control.type === 'hidden') return
      const id = control.id
      if (id && document.getElementById(id) !== control) {
        const group = control.closest('.form-control') || control.parentElement
        const label = group && [...group.querySelectorAll('label')].find((element) => element.htmlFor === id)
        const count = (counts.get(id) || 1) + 1
        counts.set(id, count)
        control.id = `${id}-${count}`
        if (label) label.htmlFor = control.id
      }
      if (labelled(control)) return
      const field = control.closest('[data-schemapath]')
      const title = field && field.querySelector(':scope > .je-header, :scope > label, :scope > span > .je-header, :scope > h3, :scope > h4')
      let name = title && title.textContent.trim()
      if (control.classList.contains('property-selector-input')) name = gettext('Property name')
      else if (control.tagName === 'SELECT' && control.id && control.id.endsWith('switcher')) name = `${name || ''} ${gettext('type')}`.trim()
      if (!name && field) name = field.dataset.schemapath.split('.').pop()
      if (name) control.setAttribute('aria-label', name)
    })
  }

  class ConfigEditor {
    constructor (textarea) {
      this.textarea = textarea
      this.form = textarea.form
      this.backendSelect = this.form.querySelector('select[name="backend"]')
      this.row = textarea.closest('.form-row') || textarea.parentElement
      this.toolbar = this.row.querySelector('.djnjc-editor-toolbar')
      this.message = this.row.querySelector('.djnjc-editor-message')
      this.message.tabIndex = -1
      this.mode = 'form'
      this.formEditor = null
      this.schema = {}
      this.buildLayout()
      this.bindEvents()
    }

    buildLayout () {
      this.wrapper = document.createElement('div')
      this.wrapper.className = 'djnjc-editor'
      this.holder = document.createElement('div')
      this.holder.id = `${this.textarea.id}_jsoneditor`
      this.holder.className = 'djnjc-jsoneditor'
      this.codeHolder = document.createElement('div')
      this.codeHolder.className = 'djnjc-codeeditor'
      this.codeHolder.hidden = true
      this.textarea.after(this.wrapper)
      this.wrapper.append(this.toolbar, this.message, this.holder, this.codeHolder)
      this.textarea.hidden = true
      this.toolbar.hidden = false
      this.button('normal-mode').hidden = true
      this.button('fullscreen-mode').hidden = true
    }

    button (name) {
      return this.toolbar.querySelector(`.${name}`)
    }

    bindEvents () {
      this.button('advanced-mode').addEventListener('click', () => this.showAdvanced().catch((error) => this.showMessage(error.message)))
      this.button('normal-mode').addEventListener('click', () => this.showForm())
      this.button('fullscreen-mode').addEventListener('click', () => this.toggleFullscreen())
      for (const type of ['input', 'change']) {
        this.holder.addEventListener(type, (event) => {
          const field = event.target.closest && event.target.closest('[data-schemapath]')
          if (field && this.touched) this.touched.add(field.dataset.schemapath)
        }, true)
      }
      // deleting, moving or copying rows shifts them: their stored values no longer match by position
      this.holder.addEventListener('click', (event) => {
        const button = event.target.closest && event.target.closest('.json-editor-btntype-delete, .json-editor-btntype-move, .json-editor-btntype-copy, .json-editor-btntype-deleteall, .json-editor-btntype-deletelast')
        const list = button && button.closest('[data-schematype="array"]')
        if (list && this.restructured) this.restructured.add(list.dataset.schemapath)
      }, true)
      this.wrapper.addEventListener('keydown', (event) => {
        if (event.key === 'Escape' && this.wrapper.classList.contains('djnjc-fullscreen')) this.toggleFullscreen()
        // Enter in a form editor input must not submit the page
        if (event.key === 'Enter' && event.target.tagName === 'INPUT' && this.holder.contains(event.target)) {
          event.preventDefault()
          event.target.dispatchEvent(new Event('change', { bubbles: true }))
          // in the "add property" box of a menu, Enter adds the property
          const add = event.target.parentElement.querySelector('.json-editor-btntype-add')
          if (add && event.target.classList.contains('property-selector-input')) add.click()
        }
      })
      if (this.backendSelect) this.backendSelect.addEventListener('change', () => this.rebuild())
      document.addEventListener('djnjc:sync', () => this.sync())
      this.form.addEventListener('submit', (event) => {
        if (this.mode === 'advanced' && !this.checkJson()) {
          event.preventDefault()
          event.stopImmediatePropagation()
          // the Save button may be far above (the top submit row): bring the reason to the operator
          this.message.scrollIntoView({ block: 'center' })
          this.message.focus()
          return
        }
        try {
          window.sessionStorage.setItem(this.modeKey(), this.mode)
        } catch (error) {} // storage disabled: the page comes back in form mode
      })
    }

    backendLabel () {
      const option = this.backendSelect && this.backendSelect.selectedOptions[0]
      return option && option.value ? option.textContent.trim() : gettext('Configuration')
    }

    value () {
      const text = this.textarea.value.trim()
      return text ? JSON.parse(text) : {}
    }

    showMessage (text) {
      this.message.textContent = text || ''
      this.message.hidden = !text
    }

    /** where the mode of a submitted form waits for the answer (the same page when the server refuses it) */
    modeKey () {
      return `djnjc-editor-mode:${window.location.pathname}:${this.textarea.name}`
    }

    /** the mode the operator submitted the form in, when the server sent it back refused */
    submittedMode () {
      try {
        const mode = window.sessionStorage.getItem(this.modeKey())
        window.sessionStorage.removeItem(this.modeKey())
        return document.querySelector('.errornote') ? mode : null
      } catch (error) {
        return null
      }
    }

    async rebuild () {
      const submitted = this.submittedMode()
      const backend = this.backendSelect ? this.backendSelect.value : ''
      this.schema = backend ? (await loadSchemas(this.textarea.dataset.schemaUrl))[backend] || {} : {}
      let value
      try {
        value = this.value()
      } catch (error) {
        // malformed JSON (e.g. sent back by the server): edit it as raw text
        await this.showAdvanced()
        this.checkJson()
        return
      }
      this.buildForm(value)
      // refused by the server: back where the operator was
      if (submitted === 'advanced') await this.showAdvanced()
    }

    buildForm (value) {
      if (this.formEditor) this.formEditor.destroy()
      /** paths (data-schemapath) of the fields the operator edited */
      this.touched = new Set()
      /** paths of the lists whose rows the operator deleted, moved or copied */
      this.restructured = new Set()
      const empty = !value || (typeof value === 'object' && !Object.keys(value).length)
      const writeDefaults = !(this.schema.options && this.schema.options.djnjc_write_defaults === false)
      // a device's empty configuration opens on its default sections (General), empty:
      // json-editor would drop them again at its first change, as they hold no value
      const opening = openingValue(this.schema)
      this.formEditor = new libs.JSONEditor(this.holder, {
        schema: { ...this.schema, title: this.backendLabel() },
        startval: empty ? (writeDefaults ? undefined : opening) : value,
        theme: 'html',
        disable_collapse: true,
        disable_edit_json: true,
        disable_properties: false,
        prompt_before_delete: false,
        keep_oneof_values: false,
        // errors of the fields the operator edited, not of what is still to fill in
        // (a new interface, an untouched VPN server)
        show_errors: 'interaction'
      })
      this.formEditor.on('ready', () => {
        this.baseline = this.formEditor.getValue()
        if (empty && writeDefaults && !sameJson(this.baseline, {})) {
          // an empty VPN server configuration starts with the schema's defaults: what the
          // form shows is what gets saved, and it is not an unsaved change (a device's
          // configuration gets only what the operator sets, see chosen())
          this.textarea.value = this.textarea.defaultValue = JSON.stringify(this.baseline, null, 4)
        }
        // json-editor shows every error of a field it just created (a new interface's
        // empty name, "0 of the schemas"): only the fields the operator edited are
        // marked, with the errors of each alternative's fields rather than "one of the schemas"
        const root = this.formEditor.root
        const show = root.showValidationErrors.bind(root)
        root.showValidationErrors = (errors) =>
          show(errors.filter((error) => error.property !== 'oneOf' && this.touched.has(error.path.replace(/\.oneOf\[\d+\]/g, ''))))
        // json-editor showed every error of the fields it built (an empty hostname) before
        // the filter above was in place: nothing is edited yet, so no field is marked
        Object.values(this.formEditor.editors || {}).forEach((editor) => {
          if (editor && editor.input && editor.theme) editor.theme.removeInputError(editor.input)
        })
        // a stored value none of a list's choices (an unknown timezone) is shown as itself, with an error
        if (window.djnjcStoredChoices) window.djnjcStoredChoices.mark(this.formEditor, value)
        const menu = this.formEditor.root && this.formEditor.root.addproperty_button
        if (menu) menu.textContent = gettext('Configuration Menu')
        this.markPlaceholders()
        nameFields(this.holder)
        this.holder.dataset.ready = 'true'
      })
      this.formEditor.on('change', () => {
        if (this.baseline === undefined) return
        this.markPlaceholders()
        nameFields(this.holder)
        this.sync()
      })
    }

    /** writes the form editor's value into the textarea when the operator changed it */
    sync () {
      if (this.mode === 'advanced') {
        this.textarea.value = this.codeView.state.doc.toString()
        return
      }
      if (!this.formEditor || this.baseline === undefined) return
      const value = this.formEditor.getValue()
      if (sameJson(value, this.baseline)) return
      let previous = {}
      try {
        previous = this.value()
      } catch (error) {}
      this.baseline = value
      this.textarea.value = JSON.stringify(keepOrder(this.chosen(value, previous, 'root'), previous), null, 4)
      this.textarea.dispatchEvent(new Event('change', { bubbles: true }))
    }

    /**
     * What the operator chose of the form's ``value``: json-editor fills every field
     * it shows with a default (a timezone "UTC" that would override a template's); a
     * value is written only when the operator edited its field, it was already in the
     * configuration (``previous``, kept as it was, even when the form cannot show it),
     * or the schema requires it.
     */
    chosen (value, previous, path) {
      if (Array.isArray(value)) {
        if (this.restructured.has(path)) return value
        const before = Array.isArray(previous) ? previous : []
        return value.map((item, index) => this.chosen(item, before[index], `${path}.${index}`))
      }
      if (!value || typeof value !== 'object') return value
      const before = previous && typeof previous === 'object' && !Array.isArray(previous) ? previous : {}
      const result = {}
      Object.entries(value).forEach(([key, item]) => {
        const child = `${path}.${key}`
        const editor = this.formEditor.getEditor(child)
        const required = editor && editor.isRequired()
        if (this.touched.has(child) || required) {
          result[key] = this.chosen(item, before[key], child)
        } else if (key in before) {
          result[key] = item && typeof item === 'object' ? this.chosen(item, before[key], child) : before[key]
        } else if (item && typeof item === 'object') {
          const inner = this.chosen(item, undefined, child)
          if (Array.isArray(inner) ? inner.length : Object.keys(inner).length) result[key] = inner
        }
      })
      return result
    }

    /** a visible note next to typed fields holding a variable */
    markPlaceholders () {
      this.holder.querySelectorAll('[data-schematype="integer"], [data-schematype="number"]').forEach((container) => {
        const input = container.querySelector('input')
        let note = container.querySelector(':scope .djnjc-placeholder-note')
        const hasPlaceholder = input && PLACEHOLDER.test(input.value)
        if (hasPlaceholder && !note) {
          note = document.createElement('small')
          note.className = 'djnjc-placeholder-note'
          input.after(note)
        } else if (!hasPlaceholder && note) {
          note.remove()
        }
        if (hasPlaceholder) {
          const resolved = resolve(input.value)
          note.textContent = resolved.unresolved.length
            ? gettext('Variable without a value here: each configuration is checked with its own value.')
            : `${gettext('Variable, value here:')} ${resolved.value}`
        }
      })
    }

    async showAdvanced () {
      this.sync()
      this.showMessage('')
      if (!this.codeView) await loadCodeMirror()
      if (!this.codeView) this.buildCodeEditor()
      const text = this.textarea.value.trim() ? this.textarea.value : '{}'
      this.codeView.dispatch({ changes: { from: 0, to: this.codeView.state.doc.length, insert: text } })
      this.mode = 'advanced'
      this.holder.hidden = true
      this.codeHolder.hidden = false
      this.button('advanced-mode').hidden = true
      this.button('normal-mode').hidden = false
      this.button('fullscreen-mode').hidden = false
      this.codeView.focus()
    }

    checkJson () {
      const text = this.codeView.state.doc.toString()
      const error = parseError(text)
      if (error) {
        this.showMessage(
          `${gettext('The JSON is not valid')} (${gettext('line')} ${error.line}, ${gettext('column')} ${error.column}): ${error.message}`
        )
        return false
      }
      this.showMessage('')
      return true
    }

    showForm () {
      if (!this.checkJson()) return
      const text = this.codeView.state.doc.toString()
      const errors = this.schemaErrors(JSON.parse(text))
      if (errors.length) {
        const first = errors[0]
        this.showMessage(`${gettext('Fix the errors marked in the JSON first')}: ${first.path.replace(/^root\.?/, '') || '/'}: ${first.message}`)
        return
      }
      this.textarea.value = text
      this.mode = 'form'
      this.leaveFullscreen()
      this.codeHolder.hidden = true
      this.holder.hidden = false
      this.button('advanced-mode').hidden = false
      this.button('normal-mode').hidden = true
      this.button('fullscreen-mode').hidden = true
      this.buildForm(JSON.parse(text))
    }

    schemaErrors (value) {
      if (!this.formEditor || !this.formEditor.ready) return []
      return precise(this.formEditor.validate(value))
    }

    buildCodeEditor () {
      const schemaLinter = cm.linter((view) => {
        const text = view.state.doc.toString()
        if (parseError(text)) return []
        return this.schemaErrors(JSON.parse(text)).map((error) => {
          const [from, to] = locate(view.state, error.path.split('.').slice(1))
          return { from, to, severity: 'error', message: `${error.property ? error.property + ': ' : ''}${error.message}` }
        })
      }, { delay: 300 })
      this.codeView = new cm.EditorView({
        parent: this.codeHolder,
        extensions: [
          cm.basicSetup,
          // light, or One Dark in the admin's dark mode (system preference or theme toggle)
          cm.followAdminTheme(),
          cm.indentUnit.of('    '),
          cm.keymap.of([cm.indentWithTab]),
          cm.json(),
          cm.linter(cm.jsonParseLinter()),
          schemaLinter,
          cm.lintGutter(),
          cm.EditorView.updateListener.of((update) => {
            if (update.docChanged && this.mode === 'advanced') {
              this.textarea.value = update.state.doc.toString()
              this.showMessage('')
            }
          })
        ]
      })
    }

    toggleFullscreen () {
      const on = !this.wrapper.classList.contains('djnjc-fullscreen')
      this.wrapper.classList.toggle('djnjc-fullscreen', on)
      document.body.classList.toggle('djnjc-noscroll', on)
      if (this.codeView) this.codeView.focus()
    }

    leaveFullscreen () {
      this.wrapper.classList.remove('djnjc-fullscreen')
      document.body.classList.remove('djnjc-noscroll')
    }
  }

  function init () {
    document.querySelectorAll('textarea.jsoneditor-raw').forEach((textarea) => {
      const editor = new ConfigEditor(textarea)
      textarea.djnjcEditor = editor
      editor.rebuild().catch((error) => {
        editor.showMessage(`${gettext('The configuration editor could not load the schema')}: ${error.message}`)
      })
    })
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init)
  else init()
})()
