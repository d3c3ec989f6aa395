#!/usr/bin/env node
// bench/startup: how much slower relctl starts than a bare Node process: `--version`, `--help`, and an
// API command (`app list` against a local control plane this script starts on a free port). All run
// side by side, interleaved (A, B, C, D, A, B, ...) after warm-up runs, so that the machine's load and
// the file cache weigh on all alike. Prints the medians, each ratio to `node -e 0` and its target; exits
// 1 when a ratio is above its target. `app list` runs also under NODE_ENV=test, as many CI jobs set it,
// and as the first command after an install or an upgrade does, without the bundle's code cache (which
// that run writes; src/lib/cli/bundle.ts): reported, with no target, since it happens once. Needs dist/
// and oclif.manifest.json (npm run build); builds nothing.
//
//   node bench/startup.mjs [--runs 20] [--warmup 2]
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {createInterface} from 'node:readline'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const MIN_RUNS = 20

function usage(message) {
  console.error(`bench/startup: ${message}`)
  console.error('usage: node bench/startup.mjs [--runs N (at least 20, default 20)] [--warmup N (default 2)]')
  process.exit(2)
}

let values
try {
  ;({values} = parseArgs({options: {runs: {type: 'string', default: String(MIN_RUNS)}, warmup: {type: 'string', default: '2'}}}))
} catch (error) {
  usage(error.message)
}
const runs = Number(values.runs)
const warmup = Number(values.warmup)
if (!Number.isInteger(runs) || runs < MIN_RUNS) usage(`--runs must be a whole number of at least ${MIN_RUNS}, not "${values.runs}"`)
if (!Number.isInteger(warmup) || warmup < 0) usage(`--warmup must be a whole number, not "${values.warmup}"`)

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const bin = join(root, 'bin', 'run.js')
for (const needed of [join(root, 'dist', 'commands'), join(root, 'oclif.manifest.json')]) {
  if (!existsSync(needed)) {
    console.error(`bench/startup needs the build, and ${needed.slice(root.length + 1)} is missing: run "npm run build" first`)
    process.exit(2)
  }
}

// A config dir and a cache dir of its own, so that no profile or code cache of the person running the
// benchmark is read or written.
const configDir = mkdtempSync(join(tmpdir(), 'relctl-bench-startup-'))
const cacheDir = join(configDir, 'cache')
const env = {...process.env, RELCTL_CONFIG_DIR: configDir, RELCTL_CACHE_DIR: cacheDir, NO_COLOR: '1'}
for (const name of ['NODE_OPTIONS', 'DEBUG']) delete env[name]

const fixture = join(root, 'test', 'fixtures', 'simulate-app', 'relctl.yaml')

/** Starts `relctl server start` on a free port; resolves with its process and URL once it listens. */
function startServer() {
  const child = spawn(process.execPath, [bin, 'server', 'start', '--port', '0', '--data-dir', join(configDir, 'data'), '--json', '--log-level', 'error'], {cwd: root, env, stdio: ['ignore', 'pipe', 'inherit']})
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the control plane exited (code ${code}) before it listened`)))
    createInterface({input: child.stdout}).once('line', (line) => resolve({child, url: JSON.parse(line).url}))
  })
}

const server = await startServer().catch((error) => {
  console.error(`bench/startup: ${error.message}`)
  rmSync(configDir, {recursive: true, force: true})
  process.exit(1)
})
// server start wrote the default profile into the config dir, so the API command needs only its scope.
const apply = spawnSync(process.execPath, [bin, 'project', 'apply', '--file', fixture], {cwd: root, env, encoding: 'utf8'})
if (apply.status !== 0) {
  console.error(`bench/startup: project apply failed (exit ${apply.status}):\n${apply.stdout}${apply.stderr}`)
  server.child.kill('SIGTERM')
  process.exit(1)
}

// target: the most a subject may take, as a multiple of `node -e 0` (none: reported only).
// before: what happens before each run, outside the time.
const appList = [bin, 'app', 'list', '--project', 'sim-app', '--environment', 'staging']
const subjects = [
  {name: 'node -e 0', args: ['-e', '0']},
  {name: 'relctl --version', args: [bin, '--version'], target: 2},
  {name: 'relctl --help', args: [bin, '--help'], target: 2},
  {name: 'relctl app list', args: appList, target: 2.5},
  // CI jobs often run with NODE_ENV=test or development, under which oclif looks for TypeScript sources.
  {name: 'relctl app list, NODE_ENV=test', args: appList, env: {NODE_ENV: 'test'}, target: 2.5},
  {name: 'relctl app list, first run', args: appList, before: () => rmSync(cacheDir, {recursive: true, force: true})},
]

/** Runs one subject once; returns its wall time in milliseconds. */
function timeOnce(subject) {
  subject.before?.()
  const start = performance.now()
  const result = spawnSync(process.execPath, subject.args, {cwd: root, env: {...env, ...subject.env}, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8'})
  const elapsed = performance.now() - start
  if (result.error || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim()
    throw new Error(`${subject.name} failed (exit ${result.status ?? result.error?.message})${output ? `:\n${output}` : ''}`)
  }
  return elapsed
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

const times = new Map(subjects.map((subject) => [subject.name, []]))
try {
  for (let round = 0; round < warmup; round++) for (const subject of subjects) timeOnce(subject)
  for (let round = 0; round < runs; round++) {
    for (const subject of subjects) times.get(subject.name).push(timeOnce(subject))
  }
} catch (error) {
  console.error(`bench/startup: ${error.message}`)
  process.exitCode = 1
} finally {
  await new Promise((resolve) => {
    server.child.once('exit', resolve)
    server.child.kill('SIGTERM')
  })
  rmSync(configDir, {recursive: true, force: true})
}

if (process.exitCode !== 1) {
  const [baseline, ...measured] = subjects.map((subject) => ({...subject, median: median(times.get(subject.name))}))
  const width = Math.max(...subjects.map((subject) => subject.name.length))
  console.log(`startup, median of ${runs} interleaved runs each (after ${warmup} warm-up runs each), Node ${process.version}`)
  console.log(`  ${baseline.name.padEnd(width)}  ${baseline.median.toFixed(1).padStart(7)} ms`)
  for (const subject of measured) {
    const ratio = subject.median / baseline.median
    const line = `  ${subject.name.padEnd(width)}  ${subject.median.toFixed(1).padStart(7)} ms  ratio ${ratio.toFixed(2)}`
    if (subject.target === undefined) {
      console.log(`${line}  (no target: once after an install or upgrade, it writes the code cache)`)
      continue
    }
    const pass = ratio <= subject.target
    console.log(`${line}  (target <= ${subject.target})  ${pass ? 'PASS' : 'FAIL'}`)
    if (!pass) process.exitCode = 1
  }
}
