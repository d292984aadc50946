// Replaces @json-editor/json-editor/src/iconlibs/index.js in the bundle: the
// editor uses no icon library (buttons show their text).
export const iconlibs = {}
