// Third-party libraries of the configuration editor, bundled into one file and
// exposed as window.djnjcEditorLibs for django_netjsonconfig/static/.../js/widget.js.
import { JSONEditor } from '@json-editor/json-editor/src/core.js'
import { basicSetup, EditorView } from 'codemirror'
import { EditorState } from '@codemirror/state'
import { keymap } from '@codemirror/view'
import { indentWithTab } from '@codemirror/commands'
import { json, jsonParseLinter } from '@codemirror/lang-json'
import { linter, lintGutter, forceLinting } from '@codemirror/lint'

window.djnjcEditorLibs = {
  JSONEditor,
  codemirror: { basicSetup, EditorView, EditorState, keymap, indentWithTab, json, jsonParseLinter, linter, lintGutter, forceLinting }
}
