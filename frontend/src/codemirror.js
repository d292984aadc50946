// CodeMirror 6 for the advanced (raw JSON) mode, bundled into codemirror.min.js
// and exposed as window.djnjcEditorLibs.codemirror; loaded on demand by widget.js.
import { basicSetup, EditorView } from 'codemirror'
import { keymap } from '@codemirror/view'
import { indentWithTab } from '@codemirror/commands'
import { indentUnit, syntaxTree } from '@codemirror/language'
import { json, jsonParseLinter } from '@codemirror/lang-json'
import { linter, lintGutter } from '@codemirror/lint'

window.djnjcEditorLibs = window.djnjcEditorLibs || {}
window.djnjcEditorLibs.codemirror = { basicSetup, EditorView, keymap, indentWithTab, indentUnit, syntaxTree, json, jsonParseLinter, linter, lintGutter }
