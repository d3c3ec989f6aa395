#!/usr/bin/env node
// bench/profile-summary: where a control plane's CPU time went, from a V8 .cpuprofile (BENCH_PROFILE=DIR
// npm run bench:parallel writes one). Self time per cost group, per function and per module.
//
//   node bench/profile-summary.mjs DIR-or-FILE.cpuprofile [--per 200] [--top 25]
//
// --per N divides the figures by N (e.g. the releases of the run) to give ms per release. A frame is
// counted in the group of the innermost frame on its stack that belongs to one: better-sqlite3's
// native calls and Node's stream writes have no frame of their own, so their time lands in the
// JavaScript that called them (a line that calls prepare() is "SQL prepare", one that calls all()/run()
// is "SQL execute").
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const {values, positionals} = parseArgs({allowPositionals: true, options: {per: {type: 'string', default: '1'}, top: {type: 'string', default: '25'}}})
if (positionals.length !== 1) {
  console.error('usage: node bench/profile-summary.mjs DIR-or-FILE.cpuprofile [--per N] [--top 25]')
  process.exit(2)
}
const PER = Number(values.per)
const TOP = Number(values.top)

/** The file itself, or the newest .cpuprofile in the directory. */
function profilePath(path) {
  if (!statSync(path).isDirectory()) return path
  const files = readdirSync(path).filter((name) => name.endsWith('.cpuprofile')).map((name) => join(path, name))
  if (files.length === 0) throw new Error(`no .cpuprofile in ${path}`)
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
}

const GROUPS = {
  prepare: 'SQL prepare (better-sqlite3 prepare)',
  execute: 'SQL execute (better-sqlite3 all/run/get)',
  sqlBuild: 'SQL build (kysely compile, store code, row codecs)',
  json: 'JSON parse/stringify',
  plan: 'blueprint/plan (yaml, parser, planner, graph)',
  http: 'HTTP (fastify, validation, serialization, node:http)',
  logging: 'logging (pino)',
  spawn: 'process spawn / supervisor IPC',
  gc: 'garbage collector',
  startup: 'startup (until the first request; later imports)',
  engine: 'relctl engine (other)',
  other: 'other (node internals, other libraries, native)',
}
const HTTP_PACKAGES = /^(fastify|@fastify\/.*|find-my-way|fast-json-stringify|ajv|ajv-formats|avvio|light-my-request|fast-querystring|fast-uri|secure-json-parse|toad-cache|rfdc|json-schema-ref-resolver|@sinclair\/typebox|fast-decode-uri-component|process-warning|content-type|proxy-addr|ipaddr\.js)$/
const LOGGING_PACKAGES = /^(pino|pino-std-serializers|sonic-boom|thread-stream|on-exit-leak-free|quick-format-unescaped|safe-stable-stringify|atomic-sleep)$/

/** The module a frame belongs to: a package, a node: module, or a file of relctl's build. */
function moduleOf(url) {
  if (!url) return '(native)'
  const packaged = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  if (packaged) return packaged[1]
  if (url.startsWith('node:')) return url
  const built = url.match(/\/dist\/(.+)$/)
  return built ? built[1] : url
}

const sourceLines = new Map()
/** The text of a line of a frame's file, to tell a prepare() from an all() in the same function. */
function lineText(url, line) {
  if (!url.startsWith('file://')) return ''
  if (!sourceLines.has(url)) {
    try {
      sourceLines.set(url, readFileSync(fileURLToPath(url), 'utf8').split('\n'))
    } catch {
      sourceLines.set(url, [])
    }
  }
  return sourceLines.get(url)[line - 1] ?? ''
}

/** The group of one frame (at one line, when known), or null when its caller decides (node internals, natives). */
function groupOfFrame({functionName, url}, line) {
  if (!url) {
    if (functionName === '(garbage collector)') return 'gc'
    if (functionName === 'parse' || functionName === 'stringify') return 'json'
    return null
  }
  const module = moduleOf(url)
  if (module === 'better-sqlite3' || module === 'kysely' || /^lib\/server\/store\//.test(module)) {
    const text = line ? lineText(url, line) : ''
    if (/\.prepare\(/.test(text)) return 'prepare'
    if (/\.(all|run|get|iterate|exec)\(/.test(text) && !/\bkysely\b/.test(text)) return 'execute'
    return 'sqlBuild'
  }
  if (LOGGING_PACKAGES.test(module)) return 'logging'
  if (HTTP_PACKAGES.test(module) || /^node:(_http_|http|internal\/http)/.test(module) || /^lib\/server\/http\//.test(module)) return 'http'
  if (module === 'yaml' || /^lib\/server\/(blueprint\/|engine\/(planner|resource-graph|task-levels|plan-size|locks))/.test(module)) return 'plan'
  if (/^node:(child_process|internal\/child_process)/.test(module) || /^lib\/server\/drivers\/(exec|supervisor)/.test(module)) return 'spawn'
  if (/^node:internal\/modules\//.test(module)) return 'startup'
  if (module.startsWith('node:')) return null
  if (module.startsWith('lib/')) return 'engine'
  return 'other'
}

const profile = JSON.parse(readFileSync(profilePath(positionals[0]), 'utf8'))
const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
const parents = new Map()
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)

function stackHas(nodeId, test) {
  for (let id = nodeId; id !== undefined; id = parents.get(id)) if (test(nodes.get(id).callFrame)) return true
  return false
}
// Until the first HTTP request is handled the process is starting (imports, schema compilation):
// counted apart, so that a one-off cost does not read as a cost per release.
const firstRequest = profile.samples.findIndex((id) => stackHas(id, ({functionName, url}) => url === 'node:_http_server' && functionName === 'parserOnIncoming'))
const STARTUP_NODE = -1
nodes.set(STARTUP_NODE, {id: STARTUP_NODE, callFrame: {functionName: '(startup)', url: '', lineNumber: -1}})

// Each sample lasts until the next one (as Chrome DevTools counts it).
const selfMs = new Map()
let at = profile.startTime
const stamps = profile.timeDeltas.map((delta) => (at += delta))
profile.samples.forEach((sampled, index) => {
  const idle = nodes.get(sampled).callFrame.functionName === '(idle)'
  const id = index < firstRequest && !idle ? STARTUP_NODE : sampled
  const next = index + 1 < stamps.length ? stamps[index + 1] : profile.endTime
  selfMs.set(id, (selfMs.get(id) ?? 0) + (next - stamps[index]) / 1000)
})

function groupOf(nodeId, line) {
  if (nodeId === STARTUP_NODE) return 'startup'
  let ancestor = parents.get(nodeId)
  while (ancestor !== undefined) {
    if (moduleOf(nodes.get(ancestor).callFrame.url).startsWith('node:internal/modules/')) return 'startup'
    ancestor = parents.get(ancestor)
  }
  for (let id = nodeId, frameLine = line; id !== undefined; id = parents.get(id), frameLine = undefined) {
    const group = groupOfFrame(nodes.get(id).callFrame, frameLine)
    if (group) return group
  }
  return 'other'
}

const byGroup = new Map()
const byFunction = new Map()
const byModule = new Map()
const add = (map, key, ms, extra) => map.set(key, {...extra, ms: (map.get(key)?.ms ?? 0) + ms})
let idleMs = 0
for (const [id, ms] of selfMs) {
  const node = nodes.get(id)
  const {functionName, url, lineNumber} = node.callFrame
  if (functionName === '(idle)') {
    idleMs += ms
    continue
  }
  if (functionName === '(root)' || functionName === '(program)') {
    add(byGroup, 'other', ms)
  } else {
    // A frame's self time split over its lines, where the profile kept them (positionTicks).
    const ticks = node.positionTicks ?? []
    const total = ticks.reduce((sum, tick) => sum + tick.ticks, 0)
    if (total > 0) for (const tick of ticks) add(byGroup, groupOf(id, tick.line), (ms * tick.ticks) / total)
    else add(byGroup, groupOf(id), ms)
  }
  const module = moduleOf(url)
  add(byFunction, `${functionName || '(anonymous)'} ${module}${url ? `:${lineNumber + 1}` : ''}`, ms, {group: groupOf(id)})
  add(byModule, module, ms)
}

const busyMs = [...byGroup.values()].reduce((sum, {ms}) => sum + ms, 0)
const per = (ms) => (ms / PER).toFixed(PER > 1 ? 2 : 0)
const unit = PER > 1 ? `ms ÷ ${PER} (per release when N releases ran)` : 'ms'
const share = (ms) => `${((100 * ms) / busyMs).toFixed(1)}%`
const top = (map) => [...map].sort((a, b) => b[1].ms - a[1].ms).slice(0, TOP)

console.log(`profile: ${((profile.endTime - profile.startTime) / 1000).toFixed(0)} ms wall, ${busyMs.toFixed(0)} ms busy, ${idleMs.toFixed(0)} ms idle; figures in ${unit}`)
console.log('\nby group (self time)')
for (const [key, {ms}] of [...byGroup].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${per(ms).padStart(9)}  ${share(ms).padStart(6)}  ${GROUPS[key]}`)
console.log(`\ntop ${TOP} functions (self time)`)
for (const [key, {ms, group}] of top(byFunction)) console.log(`  ${per(ms).padStart(9)}  ${share(ms).padStart(6)}  ${key}  [${group}]`)
console.log(`\ntop ${TOP} modules (self time)`)
for (const [key, {ms}] of top(byModule)) console.log(`  ${per(ms).padStart(9)}  ${share(ms).padStart(6)}  ${key}`)
