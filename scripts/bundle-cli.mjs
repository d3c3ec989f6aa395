#!/usr/bin/env node
// Bundles the CLI for a fast start: oclif, undici and the commands (every command in
// oclif.manifest.json, with the lib/cli and lib/client code they use) into dist/cli.cjs, one file
// instead of a few hundred modules that Node would resolve, read and compile one by one on every
// command (bench/startup.mjs). bin/run.js compiles it with a V8 code cache (dist/lib/cli/bundle.js), so
// it is CommonJS: Node 20 caches compiled code for scripts, not for ES modules. The first line names the
// bundle by a hash of its text, which keys that cache. oclif takes the commands from its COMMANDS export.
// What a command imports only when it runs (the control plane for `server start`, chalk, ora, conf, yaml)
// stays out of the bundle: the other runtime dependencies are external, and dist/lib/server stays as tsc
// wrote it. undici's HTTP/2 client is left out (see withoutHttp2).
// The bundle evaluates every command's top-level imports on every start, so commands keep Node modules
// that only some need (node:crypto for idempotency keys: the global crypto instead) out of them.
// Runs after `tsc` and `oclif manifest` (npm run build).
import {createHash} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {build} from 'esbuild'
import ts from 'typescript'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const dist = join(root, 'dist')
const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'))

// Bundled: oclif and undici, which every command loads. Every other dependency is loaded where it is used.
const BUNDLED = new Set(['@oclif/core', 'undici'])
const external = Object.keys(pjson.dependencies).filter((name) => !BUNDLED.has(name))
// oclif requires these only to run TypeScript sources in development.
external.push('typescript', 'ts-node', 'tsx')

const ids = Object.keys(manifest.commands).sort()
const entry = [
  "export {execute} from '@oclif/core/execute'",
  "export {settings} from '@oclif/core/settings'",
  ...ids.map((id, index) => `import command${index} from './${manifest.commands[id].relativePath.join('/')}'`),
  `export const COMMANDS = {${ids.map((id, index) => `${JSON.stringify(id)}: command${index}`).join(', ')}}`,
].join('\n')

const serverDir = join(dist, 'lib', 'server')
/** Imports of the control plane stay imports of dist/lib/server, relative to the bundle. */
const serverOutside = {
  name: 'server-outside',
  setup(build) {
    build.onResolve({filter: /^\./}, ({path, resolveDir}) => {
      const target = resolve(resolveDir, path)
      if (!target.startsWith(serverDir)) return undefined
      return {path: `./${relative(dist, target).split('\\').join('/')}`, external: true}
    })
  },
}

// undici's HTTP/2 client requires node:http2 (and with it tls, crypto and readline) when it loads,
// about a fifth of an API command's start. The client's Pool never enables HTTP/2 (allowH2 is off, so
// only http/1.1 is offered in ALPN and undici never calls connectH2): the bundle carries a stand-in.
const withoutHttp2 = {
  name: 'without-http2',
  setup(build) {
    build.onLoad({filter: /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/}, () => ({
      contents: "module.exports = function connectH2() { throw new Error('relctl speaks HTTP/1.1 only: its undici pool has allowH2 off') }",
      loader: 'js',
    }))
  },
}

// oclif sorts the manifest's commands with localeCompare on every start (config/plugin.js). The first
// localeCompare of a process builds ICU's collator: about 7 ms, a tenth of `node -e 0`. The bundle sorts
// them by code unit instead, as oclif's help sorts them again anyway (its sortBy); for command ids of
// lowercase words, hyphens and colons, both orders are the same.
const sortWithoutIcu = {
  name: 'sort-without-icu',
  setup(build) {
    build.onLoad({filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/}, async ({path}) => {
      const text = await readFile(path, 'utf8')
      const sort = '.sort((a, b) => a.id.localeCompare(b.id))'
      if (!text.includes(sort)) throw new Error(`${path} no longer sorts commands with localeCompare: see sortWithoutIcu in scripts/bundle-cli.mjs`)
      return {contents: text.replace(sort, '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))'), loader: 'js'}
    })
  },
}

const {outputFiles} = await build({
  stdin: {contents: entry, resolveDir: root, sourcefile: 'cli-entry.js'},
  outfile: join(dist, 'cli.cjs'),
  write: false,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  external,
  plugins: [serverOutside, withoutHttp2, sortWithoutIcu],
  logLevel: 'warning',
})

// Code that V8 loads from a code cache cannot call import() on Node 20: the cache keeps no link to the
// loader that import() needs (nodejs/node#35375), so it throws ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING.
// The bundle's import() calls (oclif loading the command_not_found hook; the commands loading chalk, ora,
// conf and the control plane) call this function instead, which dist/lib/cli/bundle.js passes in.
const IMPORT_FUNCTION = 'relctlImport'

/** The text with every import(…) call made a call of IMPORT_FUNCTION, found by parsing, not by matching text. */
function routeDynamicImports(text) {
  if (text.includes(IMPORT_FUNCTION)) throw new Error(`the bundle already uses the name ${IMPORT_FUNCTION}`)
  const source = ts.createSourceFile('cli.cjs', text, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS)
  const starts = []
  const visit = (node) => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) starts.push(node.expression.getStart(source))
    ts.forEachChild(node, visit)
  }
  visit(source)
  let routed = ''
  let at = 0
  for (const start of starts) {
    routed += text.slice(at, start) + IMPORT_FUNCTION
    at = start + 'import'.length
  }
  return routed + text.slice(at)
}

for (const {path, text} of outputFiles) {
  const routed = routeDynamicImports(text)
  const id = createHash('sha256').update(routed).digest('hex').slice(0, 32)
  writeFileSync(path, `// relctl-bundle ${id}\n${routed}`)
}
