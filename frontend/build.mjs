// Builds the editor's third-party bundle into the Django app's static files and
// records the name, version and licence of every package that went into it.
// Run from the repository root: npm --prefix frontend ci && npm --prefix frontend run build
import { build } from 'esbuild'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const outdir = resolve(here, '../django_netjsonconfig/static/django-netjsonconfig/vendor')
mkdirSync(outdir, { recursive: true })

// json-editor registers every theme and icon library it ships; the editor
// uses only the "html" theme and no icon library: the others are left out
const trimJsonEditor = {
  name: 'trim-json-editor',
  setup (build) {
    const replacements = {
      './themes/index.js': join(here, 'src/json-editor-themes.js'),
      './iconlibs/index.js': join(here, 'src/json-editor-iconlibs.js')
    }
    build.onResolve({ filter: /^\.\/(themes|iconlibs)\/index\.js$/ }, (args) => {
      if (!args.importer.includes('@json-editor/json-editor/src/core.js')) return undefined
      return { path: replacements[args.path] }
    })
  }
}

const options = {
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  legalComments: 'none',
  banner: { js: '/*! django-netjsonconfig editor libraries: licences in LICENSES.txt next to this file */' },
  metafile: true,
  plugins: [trimJsonEditor]
}
// the form editor, loaded with the page; CodeMirror, loaded when the advanced mode opens
const bundles = [
  { entry: 'src/vendor.js', out: 'editor-libs.min.js' },
  { entry: 'src/codemirror.js', out: 'codemirror.min.js' }
]
const inputs = {}
for (const bundle of bundles) {
  const built = await build({ ...options, entryPoints: [join(here, bundle.entry)], outfile: join(outdir, bundle.out) })
  Object.assign(inputs, built.metafile.inputs)
}
const result = { metafile: { inputs } }

// package directories of the bundled inputs
const packages = new Map()
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/^(.*node_modules\/(@[^/]+\/[^/]+|[^/]+))\//)
  if (match) packages.set(match[2], resolve(here, match[1]))
}

const sections = []
for (const name of [...packages.keys()].sort()) {
  const dir = packages.get(name)
  const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  const licenseFile = readdirSync(dir).find((file) => /^(licen[cs]e|copying)(\.|$)/i.test(file))
  const text = licenseFile ? readFileSync(join(dir, licenseFile), 'utf8').trim() : '(no licence file in the package)'
  sections.push({ name, version: meta.version, license: meta.license, text, source: relative(here, dir) })
}

const header = [
  'Third-party code bundled in editor-libs.min.js and codemirror.min.js (built by frontend/build.mjs from frontend/package-lock.json)',
  '',
  ...sections.map((s) => `${s.name} ${s.version}  ${s.license}`),
  ''
]
const bodies = sections.map((s) => `${'='.repeat(78)}\n${s.name} ${s.version} (${s.license})\n${'='.repeat(78)}\n\n${s.text}\n`)
writeFileSync(join(outdir, 'LICENSES.txt'), header.join('\n') + '\n' + bodies.join('\n'))
for (const bundle of bundles) if (!existsSync(join(outdir, bundle.out))) throw new Error(`${bundle.out} missing`)
console.log(`built ${relative(process.cwd(), outdir)}: ${sections.length} packages`)
