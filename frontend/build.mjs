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

const result = await build({
  entryPoints: [join(here, 'src/vendor.js')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  legalComments: 'none',
  banner: { js: '/*! django-netjsonconfig editor libraries: licences in LICENSES.txt next to this file */' },
  metafile: true,
  outfile: join(outdir, 'editor-libs.min.js')
})

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
  'Third-party code bundled in editor-libs.min.js (built by frontend/build.mjs from frontend/package-lock.json)',
  '',
  ...sections.map((s) => `${s.name} ${s.version}  ${s.license}`),
  ''
]
const bodies = sections.map((s) => `${'='.repeat(78)}\n${s.name} ${s.version} (${s.license})\n${'='.repeat(78)}\n\n${s.text}\n`)
writeFileSync(join(outdir, 'LICENSES.txt'), header.join('\n') + '\n' + bodies.join('\n'))
if (!existsSync(join(outdir, 'editor-libs.min.js'))) throw new Error('bundle missing')
console.log(`built ${relative(process.cwd(), outdir)}: ${sections.length} packages`)
