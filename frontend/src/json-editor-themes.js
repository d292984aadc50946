// Replaces @json-editor/json-editor/src/themes/index.js in the bundle: the
// editor uses only the plain "html" theme (option theme: 'html' in widget.js).
import { htmlTheme } from '@json-editor/json-editor/src/themes/html.js'

export const themes = { html: htmlTheme }
