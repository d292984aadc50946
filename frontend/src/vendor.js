// Form editor library, bundled into editor-libs.min.js and exposed as
// window.djnjcEditorLibs for django_netjsonconfig/static/.../js/widget.js.
// CodeMirror (advanced mode) is a separate bundle, codemirror.min.js, which
// widget.js loads only when the advanced mode is opened (see codemirror.js).
import { JSONEditor } from '@json-editor/json-editor/src/core.js'
import { Validator } from '@json-editor/json-editor/src/validator.js'

window.djnjcEditorLibs = { JSONEditor, Validator }
