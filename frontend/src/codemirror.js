// CodeMirror 6 for the advanced (raw JSON) mode, bundled into codemirror.min.js
// and exposed as window.djnjcEditorLibs.codemirror; loaded on demand by widget.js.
import { basicSetup, EditorView } from 'codemirror'
import { Compartment } from '@codemirror/state'
import { keymap, ViewPlugin } from '@codemirror/view'
import { indentWithTab } from '@codemirror/commands'
import { indentUnit, syntaxTree } from '@codemirror/language'
import { json, jsonParseLinter } from '@codemirror/lang-json'
import { linter, lintGutter } from '@codemirror/lint'
import { oneDark } from '@codemirror/theme-one-dark'

/**
 * Whether the admin page is dark: Django's admin sets ``color-scheme: dark`` on
 * <html> both when the system prefers dark (theme "auto") and when its theme
 * toggle chose dark (``data-theme="dark"``), and ``light`` when it chose light.
 */
function adminIsDark () {
  const scheme = getComputedStyle(document.documentElement).colorScheme.split(/\s+/)
  return scheme.includes('dark') && !scheme.includes('light')
}

/** the editor's theme in the admin's dark mode: One Dark, marked for editor.css */
const dark = [oneDark, EditorView.editorAttributes.of({ class: 'djnjc-cm-dark' })]

/**
 * An extension that gives the editor CodeMirror's default (light) theme or One
 * Dark, following the admin's mode, and switches when the system preference
 * or the admin's theme toggle changes it.
 */
function followAdminTheme () {
  const theme = new Compartment()
  const follower = ViewPlugin.define((view) => {
    let isDark = adminIsDark()
    const update = () => {
      if (adminIsDark() === isDark) return
      isDark = !isDark
      view.dispatch({ effects: theme.reconfigure(isDark ? dark : []) })
    }
    const media = window.matchMedia('(prefers-color-scheme: dark)')
    media.addEventListener('change', update)
    const observer = new MutationObserver(update)
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme', 'class', 'style'] })
    return {
      destroy () {
        media.removeEventListener('change', update)
        observer.disconnect()
      }
    }
  })
  return [theme.of(adminIsDark() ? dark : []), follower]
}

window.djnjcEditorLibs = window.djnjcEditorLibs || {}
window.djnjcEditorLibs.codemirror = {
  basicSetup,
  EditorView,
  keymap,
  indentWithTab,
  indentUnit,
  syntaxTree,
  json,
  jsonParseLinter,
  linter,
  lintGutter,
  followAdminTheme
}
