/*
 * Preview of the unsaved form (button .previewlink in the submit row, or ALT+P):
 * posts the form to the admin's preview view and shows the answer in an overlay.
 */
(function () {
  'use strict'

  const gettext = window.gettext || ((text) => text)

  /** the form's values as the preview view reads them (checkboxes as True/False, templates as posted) */
  function collect (form) {
    const data = new URLSearchParams()
    form.querySelectorAll('input[name], select[name], textarea[name]').forEach((field) => {
      if (field.disabled || field.name.startsWith('initial-') || field.closest('.djnjc-editor')) return
      if (['submit', 'button', 'reset', 'file', 'image'].includes(field.type)) return
      if (field.type === 'checkbox') {
        if (!field.closest('.sortedm2m-container')) data.append(field.name, field.checked ? 'True' : 'False')
      } else if (field.type === 'radio') {
        if (field.checked) data.append(field.name, field.value)
      } else if (field.tagName === 'SELECT' && field.multiple) {
        Array.from(field.selectedOptions).forEach((option) => data.append(field.name, option.value))
      } else {
        data.append(field.name, field.value)
      }
    })
    return data
  }

  function overlay () {
    return document.querySelector('.djnjc-overlay')
  }

  function show (content) {
    const box = overlay()
    const inner = box.querySelector('.inner')
    inner.replaceChildren(...content)
    box.hidden = false
    document.body.classList.add('djnjc-noscroll')
    const close = inner.querySelector('.close')
    if (close) close.focus()
  }

  function hide () {
    overlay().hidden = true
    document.body.classList.remove('djnjc-noscroll')
  }

  function closeLink () {
    const link = document.createElement('a')
    link.href = '#close'
    link.className = 'close'
    link.textContent = `× ${gettext('Close')}`
    return link
  }

  async function preview (button) {
    const form = button.form || document.querySelector('#content-main form')
    if (document.activeElement) document.activeElement.blur()
    document.dispatchEvent(new Event('djnjc:sync'))
    const data = collect(form)
    if (button.dataset.objectId) data.set('id', button.dataset.objectId)
    let response
    try {
      response = await fetch(button.dataset.url, {
        method: 'POST',
        body: data,
        credentials: 'same-origin',
        headers: { 'X-CSRFToken': data.get('csrfmiddlewaretoken') || '' }
      })
    } catch (error) {
      show([closeLink(), errorBlock(`${gettext('The preview could not be loaded')}: ${error.message}`)])
      return
    }
    const text = await response.text()
    if (!response.ok) {
      show([closeLink(), errorBlock(text || `${response.status} ${response.statusText}`)])
      return
    }
    const page = new DOMParser().parseFromString(text, 'text/html')
    const main = page.querySelector('#content-main')
    show(main ? [main] : [closeLink(), errorBlock(gettext('The preview answered an unexpected page.'))])
  }

  function errorBlock (text) {
    const pre = document.createElement('pre')
    pre.className = 'djnjc-preformatted error'
    pre.textContent = text
    return pre
  }

  document.addEventListener('click', (event) => {
    const button = event.target.closest('.previewlink')
    if (button) {
      event.preventDefault()
      preview(button)
      return
    }
    if (event.target.closest('.djnjc-overlay .close')) {
      event.preventDefault()
      hide()
    }
  })

  document.addEventListener('keydown', (event) => {
    const box = overlay()
    if (!box) return
    if (event.key === 'Escape' && !event.ctrlKey && !box.hidden) {
      hide()
    } else if (event.altKey && event.code === 'KeyP') {
      const button = document.querySelector('.previewlink')
      if (button) {
        event.preventDefault()
        preview(button)
      }
    }
  })
})()
