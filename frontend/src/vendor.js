// Third-party libraries of the configuration editor, bundled into one file and
// exposed as window.djnjcEditorLibs for django_netjsonconfig/static/.../js/widget.js.
import { JSONEditor } from '@json-editor/json-editor/src/core.js'
import { Validator } from '@json-editor/json-editor/src/validator.js'
import { basicSetup, EditorView } from 'codemirror'
import { keymap } from '@codemirror/view'
import { indentWithTab } from '@codemirror/commands'
import { indentUnit, syntaxTree } from '@codemirror/language'
import { json, jsonParseLinter } from '@codemirror/lang-json'
import { linter, lintGutter } from '@codemirror/lint'

window.djnjcEditorLibs = {
  JSONEditor,
  Validator,
  codemirror: { basicSetup, EditorView, keymap, indentWithTab, indentUnit, syntaxTree, json, jsonParseLinter, linter, lintGutter }
}
