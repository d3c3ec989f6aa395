#!/usr/bin/env node
// bench/plan: how plan time grows with plan size, and how long planning holds the event loop.
//
// 1. Plans dependency chains (each resource depends on the one before: the deepest graph there is) of
//    1,000, 10,000 and 50,000 tasks with planRelease, and prints the CPU time per task at each size
//    (the median of rounds that measure the sizes around the 50k plan, each from a collected heap) and
//    the ratio of the time per task at 50k to that at 1k (the median of the rounds' own ratios). Linear
//    planning keeps it near 1; the script exits 1 when it is above --max-ratio (2). This part runs in a child process with V8's garbage collector on the main
//    thread (--single-threaded-gc): the CPU time of a process counts all its threads, and V8's helper
//    threads (sweeping after each forced collection, parallel scavenges) would put their work into
//    whichever measure runs at the time. The planner's own collections still count, on the main thread.
// 2. Plans a release at the cap (500 resources × 20 targets = 10,000 tasks) the way the engine does,
//    in turns, and measures the longest stretch the event loop was held, with a probe on every turn of
//    it, in CPU time (wall time is printed too); exits 1 above --max-block-ms (50). Then triggers that release on a real
//    engine over a SQLite file and prints the same measure for the whole trigger (plan, insert, start).
// Needs dist/ (npm run build).
//
//   node bench/plan.mjs [--max-ratio 2] [--max-block-ms 50]
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const {values} = parseArgs({options: {'max-ratio': {type: 'string', default: '2'}, 'max-block-ms': {type: 'string', default: '50'}, 'per-task-samples': {type: 'boolean', default: false}}})
const MAX_RATIO = Number(values['max-ratio'])
const MAX_BLOCK_MS = Number(values['max-block-ms'])

const root = dirname(dirname(fileURLToPath(import.meta.url)))
if (!existsSync(join(root, 'dist', 'lib', 'server', 'engine', 'rules', 'planner.js'))) {
  console.error('bench/plan needs the build: run npm run build first')
  process.exit(2)
}
const server = join(root, 'dist', 'lib', 'server')
const {planRelease, planReleaseInTurns} = await import(join(server, 'engine', 'rules', 'planner.js'))
const {MAX_PLAN_TASKS} = await import(join(server, 'engine', 'rules', 'plan-size.js'))
const {Engine} = await import(join(server, 'engine', 'engine.js'))
const {openSqliteStore} = await import(join(server, 'store', 'sqlite.js'))

// ---- 1. plan time per task ----

const plainEnvironment = {name: 'prod', targets: [], rollout: {services: 'parallel', targets: 'parallel'}, hooks: {beforeTarget: null, afterTarget: null}}
function chainInput(length) {
  const names = Array.from({length}, (_, index) => `r${index}`)
  const resources = names.map((name, index) => ({
    name,
    kind: 'application',
    dependsOn: index === 0 ? [] : [names[index - 1]],
    version: null,
    driver: 'simulate',
    exec: null,
    simulate: {durationMs: 1, failVersions: [], healthy: true},
    timeoutMs: 60_000,
  }))
  return {
    blueprint: {project: 'bench', resources, environments: [plainEnvironment], workflow: []},
    environment: plainEnvironment,
    resources: [...names].reverse().map((name) => ({name, action: 'update', fromVersion: '1', toVersion: '2'})),
  }
}

const sizes = [1000, 10_000, 50_000]
const ROUNDS = 11

if (values['per-task-samples']) {
  // The child process of part 1: prints the samples of each size as JSON and ends.
  console.log(JSON.stringify(perTaskSamples()))
  process.exit(0)
}

function perTaskSamples() {
  // Each measure plans 25,000 tasks of one size (twenty-five plans of 1k, or half of the 10k plans, one
  // at a time), or one plan of 50k, each plan from its own freshly built input: a small plan measured
  // alone, again and again on one input, would sit in the CPU caches and look faster than any plan a
  // server makes.
  const HALF_TASKS = 25_000
  /** CPU time of this process, in milliseconds: on a shared machine wall time also counts waiting for a CPU. */
  const cpuMs = () => {
    const {user, system} = process.cpuUsage()
    return (user + system) / 1000
  }
  /** Microseconds of CPU per task to plan `total` tasks in plans of `size`, once. */
  const perTaskMicroseconds = (size, total = Math.max(size, HALF_TASKS)) => {
    const inputs = Array.from({length: total / size}, () => chainInput(size))
    // Start each measure from a collected heap (with --expose-gc), so that no size pays for the garbage
    // the one before it left.
    globalThis.gc?.()
    const started = cpuMs()
    for (const input of inputs) {
      const plan = planRelease(input)
      if (plan.tasks.length !== size) throw new Error(`planned ${plan.tasks.length} tasks, expected ${size}`)
    }
    return ((cpuMs() - started) * 1000) / total
  }
  // Warm up the JIT on every size, twice: the first plans of a size run code not yet optimized for it.
  for (let pass = 0; pass < 2; pass++) for (const size of sizes) perTaskMicroseconds(size)
  // Each round measures the sizes around the 50k plan, smallest first and last (1k, 10k, 50k, 10k, 1k),
  // so that load on the machine that rises or falls during a round weighs on every size alike.
  const samples = Object.fromEntries(sizes.map((size) => [size, []]))
  for (let round = 0; round < ROUNDS; round++) {
    const before = [perTaskMicroseconds(1000), perTaskMicroseconds(10_000)]
    const largest = perTaskMicroseconds(50_000, 50_000)
    const after = [perTaskMicroseconds(10_000), perTaskMicroseconds(1000)].reverse()
    samples[1000].push((before[0] + after[0]) / 2)
    samples[10_000].push((before[1] + after[1]) / 2)
    samples[50_000].push(largest)
  }
  return samples
}

const child = spawnSync(process.execPath, ['--expose-gc', '--single-threaded-gc', fileURLToPath(import.meta.url), '--per-task-samples'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']})
if (child.status !== 0) {
  console.error(`bench:plan: the per-task measure failed (${child.signal ?? `exit code ${child.status}`})`)
  process.exit(1)
}
const samples = JSON.parse(child.stdout)
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
for (const size of sizes) {
  const perTaskUs = median(samples[size])
  console.log(
    `plan of a ${String(size).padStart(6)}-task dependency chain: ${((perTaskUs * size) / 1000).toFixed(1).padStart(7)} ms of CPU, ` +
      `${perTaskUs.toFixed(2)} µs per task (median of ${ROUNDS} rounds; from ${Math.min(...samples[size]).toFixed(2)} to ${Math.max(...samples[size]).toFixed(2)})`,
  )
}
// The ratio of each round, measured side by side, then their median: a round's load weighs on both.
const ratios = samples[50_000].map((largest, round) => largest / samples[1000][round])
const ratio = median(ratios)
console.log(`per-task plan time at 50k ÷ at 1k: ${ratio.toFixed(2)} (at most ${MAX_RATIO}; the median of ${ROUNDS} rounds, from ${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)})`)

// ---- 2. the event loop while a release at the cap is planned, then triggered and started ----

const RESOURCES = 500
const TARGETS = MAX_PLAN_TASKS / RESOURCES
const targetNames = Array.from({length: TARGETS}, (_, index) => `t${index}`)
const lines = ['project: bench', 'resources:']
for (let index = 0; index < RESOURCES; index++) {
  lines.push(`  r${index}:`, '    driver: simulate', '    simulate: { duration: 1ms }')
  if (index % 10 !== 0) lines.push(`    dependsOn: [r${index - 1}]`)
}
lines.push('environments:', '  prod:', `    targets: [${targetNames.join(', ')}]`)

/**
 * The longest the event loop was held while `work` ran, from a probe that runs on every turn: in wall
 * time, and in the CPU time the process used in that stretch. On a loaded machine the wall time also
 * counts the time the process waited for a CPU; the CPU time is what the work itself held the loop.
 */
async function longestHold(work) {
  let running = true
  let wallMs = 0
  let cpuMs = 0
  let lastWall = performance.now()
  let lastCpu = process.cpuUsage()
  const probe = () => {
    const now = performance.now()
    const cpu = process.cpuUsage(lastCpu)
    wallMs = Math.max(wallMs, now - lastWall)
    cpuMs = Math.max(cpuMs, (cpu.user + cpu.system) / 1000)
    lastWall = now
    lastCpu = process.cpuUsage()
    if (running) setImmediate(probe)
  }
  setImmediate(probe)
  const result = await work()
  running = false
  return {result, wallMs, cpuMs}
}

// What the machine alone costs: the same probe beside work that does nothing but yield for a while.
const idle = await longestHold(async () => {
  const until = performance.now() + 500
  while (performance.now() < until) await new Promise((resolve) => setImmediate(resolve))
})

// The planner alone, as the engine runs it (in turns), at the cap: the worst of a few runs.
const capInput = (() => {
  const environment = {...plainEnvironment, targets: targetNames}
  const {blueprint, resources} = chainInput(RESOURCES)
  // chains of ten, as in the blueprint above
  blueprint.resources.forEach((resource, index) => (resource.dependsOn = index % 10 === 0 ? [] : [`r${index - 1}`]))
  return {blueprint: {...blueprint, environments: [environment]}, environment, resources}
})()
// Part 1 left a big heap of garbage behind: collect it first (with --expose-gc), so that its collection
// is not counted as planning.
globalThis.gc?.()
let planHeld = {wallMs: 0, cpuMs: 0}
for (let run = 0; run < 5; run++) {
  const {result, wallMs, cpuMs} = await longestHold(() => planReleaseInTurns(capInput))
  if (result.tasks.length !== MAX_PLAN_TASKS) throw new Error(`planned ${result.tasks.length} tasks at the cap`)
  planHeld = {wallMs: Math.max(planHeld.wallMs, wallMs), cpuMs: Math.max(planHeld.cpuMs, cpuMs)}
}
const planHeldMs = planHeld.cpuMs
console.log(
  `planning a ${MAX_PLAN_TASKS}-task release (${RESOURCES} resources × ${TARGETS} targets): longest hold of the event loop ${planHeld.cpuMs.toFixed(1)} ms of CPU ` +
    `(at most ${MAX_BLOCK_MS}), ${planHeld.wallMs.toFixed(1)} ms of wall time; the machine alone: ${idle.cpuMs.toFixed(1)} ms of CPU, ${idle.wallMs.toFixed(1)} ms of wall time`,
)

const work = mkdtempSync(join(tmpdir(), 'relctl-bench-plan-'))
const store = await openSqliteStore(join(work, 'relctl.db'))
const engine = new Engine({store, log: {info() {}, warn() {}, error: (object, message) => console.error(message, object)}})
await engine.start()
await engine.applyProject(`${lines.join('\n')}\n`, 'relctl.yaml', work)

const started = performance.now()
const {result: triggered, wallMs: triggerWallMs, cpuMs: triggerCpuMs} = await longestHold(() => engine.trigger('bench', 'prod', {type: 'launch'}, {subject: 'bench'}))
const {release} = triggered
console.log(
  `trigger of that release on an engine over SQLite (plan, insert, start): ${(performance.now() - started).toFixed(0)} ms, status ${release.status}, ` +
    `${release.tasks.length} tasks; longest hold of the event loop ${triggerCpuMs.toFixed(1)} ms of CPU, ${triggerWallMs.toFixed(1)} ms of wall time (for information)`,
)
await engine.cancel(release.id, 'bench')
await engine.shutdown(0)
await store.close()
rmSync(work, {recursive: true, force: true})

const failures = []
if (!(ratio <= MAX_RATIO)) failures.push(`per-task plan time grew ${ratio.toFixed(2)}× from 1k to 50k tasks (at most ${MAX_RATIO})`)
if (!(planHeldMs <= MAX_BLOCK_MS)) failures.push(`planning held the event loop for ${planHeldMs.toFixed(1)} ms (at most ${MAX_BLOCK_MS})`)
if (release.tasks.length !== MAX_PLAN_TASKS) failures.push(`the release at the cap has ${release.tasks.length} tasks, not ${MAX_PLAN_TASKS}`)
for (const failure of failures) console.error(`bench:plan FAILED: ${failure}`)
process.exit(failures.length > 0 ? 1 : 0)
