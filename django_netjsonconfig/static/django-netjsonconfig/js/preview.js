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

  /** the element that opened the preview: focused again when it closes */
  let opener = null

  // the overlay is a modal <dialog>: the browser keeps the focus in it, Escape closes it
  function show (content) {
    const box = overlay()
    const inner = box.querySelector('.inner')
    inner.replaceChildren(...content)
    if (!box.open) {
      box.showModal()
      box.addEventListener('close', restore, { once: true })
    }
    document.body.classList.add('djnjc-noscroll')
    const close = inner.querySelector('.close')
    if (close) close.focus()
  }

  function restore () {
    document.body.classList.remove('djnjc-noscroll')
    if (opener && opener.isConnected) opener.focus()
    opener = null
  }

  function hide () {
    const box = overlay()
    if (box.open) box.close()
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
    if (!overlay().open) opener = document.activeElement && document.activeElement !== document.body ? document.activeElement : button
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
    if (event.key === 'Tab' && box.open) {
      // a modal dialog lets Tab leave the page at its last element: wrap around instead
      const focusable = [...box.querySelectorAll('a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])')]
        .filter((element) => !element.disabled && element.getClientRects().length)
      if (!focusable.length) return
      const first = focusable[0]
      const last = focusable[focusable.length - 1]
      const inside = box.contains(document.activeElement)
      if (event.shiftKey && (!inside || document.activeElement === first)) {
        event.preventDefault()
        last.focus()
      } else if (!event.shiftKey && (!inside || document.activeElement === last)) {
        event.preventDefault()
        first.focus()
      }
    } else if (event.key === 'Escape' && box.open) {
      event.preventDefault()
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
