#!/usr/bin/env node
// bench/parallel: N selective releases of N independent resources, each deploy `sleep 1` through the
// exec driver, parallel releases on with max M. Prints the measured makespan over the ideal
// (ceil(N/M) seconds) and the engine's own overhead per release, on control planes that have run one
// release first (in another environment). Needs dist/ (npm run build).
// With --replicas K the control planes are K replicas on one PostgreSQL database (a throwaway cluster, or
// a new database on RELCTL_BENCH_DATABASE_URL's server: bench/postgres.mjs) and the triggers go to them in
// turn; without it, one control plane on SQLite.
//
//   node bench/parallel.mjs [--n 200] [--m 50] [--target 1.10] [--replicas 2] [--log-level error]
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {Pool} from 'undici'

import {controlPlaneCpuMs, throwawayDatabase} from './postgres.mjs'
import {stopServer, whenListening} from './server.mjs'

const {values} = parseArgs({
  options: {
    n: {type: 'string', default: '200'},
    m: {type: 'string', default: '50'},
    target: {type: 'string', default: '1.10'},
    replicas: {type: 'string'},
    'log-level': {type: 'string', default: 'error'},
  },
})
const N = Number(values.n)
const M = Number(values.m)
const TARGET = Number(values.target)
const REPLICAS = values.replicas === undefined ? 0 : Number(values.replicas)
if (values.replicas !== undefined && !(Number.isInteger(REPLICAS) && REPLICAS >= 1)) {
  console.error(`bench/parallel: --replicas wants a whole number of control planes (1 or more), e.g. --replicas 2; got ${values.replicas}`)
  process.exit(2)
}
const DEPLOY_SECONDS = 1

const root = dirname(dirname(fileURLToPath(import.meta.url)))
if (!existsSync(join(root, 'dist', 'commands'))) {
  console.error('bench/parallel needs the build: run npm run build first')
  process.exit(2)
}
const work = mkdtempSync(join(tmpdir(), 'relctl-bench-parallel-'))
const names = Array.from({length: N}, (_, index) => `r${String(index + 1).padStart(4, '0')}`)
const blueprint = [
  'project: bench',
  'resources:',
  ...names.flatMap((name) => [`  ${name}:`, '    driver: exec', `    exec: { deploy: "sleep ${DEPLOY_SECONDS}" }`]),
  'environments:',
  '  perf: {}',
  '  warmup: {}',
].join('\n')
writeFileSync(join(work, 'relctl.yaml'), blueprint)

/** Every control plane started, so that each one stops however the bench ends. */
const planes = []
/** The PostgreSQL database of the replicas: a promise from the start, so that a Ctrl+C during initdb stops it too. */
let databaseReady = Promise.resolve(undefined)
let database
let cleanedUp
function cleanUp() {
  cleanedUp ??= (async () => {
    await Promise.all(planes.map(({process: server, pool}) => Promise.all([stopServer(server), pool?.destroy()])))
    await databaseReady.then((started) => started?.stop(), () => undefined)
    rmSync(work, {recursive: true, force: true})
  })()
  return cleanedUp
}
/** Set by Ctrl+C or SIGTERM. */
let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true
    console.error(`bench/parallel: ${signal}, stopping the control planes${REPLICAS ? ' and the database' : ''}`)
    cleanUp().finally(() => process.exit(130))
  })
}

// BENCH_PROFILE=DIR writes a CPU profile of the control plane there, to see where its time goes.
const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []

/**
 * Starts one control plane; resolves with its url and token once it listens. A replica's stderr goes to
 * a log file, printed when the bench fails; on SQLite it goes to the bench's stderr.
 */
async function startPlane({replicaId, databaseUrl, token}) {
  if (interrupted) throw new Error('interrupted')
  const suffix = replicaId ? `-${replicaId}` : ''
  const replicaArgs = replicaId ? ['--database-url', databaseUrl, '--replica-id', replicaId] : []
  const server = spawn(
    process.execPath,
    [...profile, join(root, 'bin', 'run.js'), 'server', 'start', '--port', '0', '--data-dir', join(work, `data${suffix}`), ...replicaArgs, '--json', '--log-level', values['log-level'], '--shutdown-grace', '1s'],
    {
      // The token in the environment keeps it out of the process list; every replica must accept the same one.
      env: {...process.env, RELCTL_CONFIG_DIR: join(work, `config${suffix}`), ...(token ? {RELCTL_SERVER_TOKEN: token} : {})},
      stdio: ['ignore', 'pipe', replicaId ? 'pipe' : 'inherit'],
    },
  )
  const plane = {replicaId, process: server, logFile: replicaId ? join(work, `server${suffix}.log`) : null}
  planes.push(plane)
  if (plane.logFile) server.stderr.pipe(createWriteStream(plane.logFile))
  const listening = await whenListening(server, replicaId ? `replica ${replicaId}` : 'the control plane')
  // A token given to server start is not printed back; a generated one is (the first start only).
  return Object.assign(plane, listening, {token: token ?? listening.token})
}

/**
 * One request over the plane's keep-alive pool. undici's request, not fetch: on a 2-core machine the
 * load generator shares the cores with what it measures, and fetch cost this process about 1.6 ms of
 * CPU per trigger (over half a core during the burst), request about a quarter of that.
 */
async function api(method, path, body, plane = planes[0]) {
  plane.pool ??= new Pool(plane.url, {connections: N})
  const response = await plane.pool.request({
    path,
    method,
    headers: {authorization: `Bearer ${plane.token}`, 'content-type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const data = await response.body.json()
  if (response.statusCode >= 300) throw new Error(`${method} ${path}: ${response.statusCode} ${JSON.stringify(data)}`)
  return data
}

/**
 * CPU time (user + system) the control planes have used, in ms, their deploy supervisors included:
 * steadier than wall time on a busy machine.
 */
function serverCpuMs() {
  return planes.reduce((sum, plane) => sum + controlPlaneCpuMs(plane.process.pid), 0)
}

/** Waits for no release of the bench to be active; a deadline names what is stuck instead of hanging. */
async function waitUntilAllEnded(environment, deadlineMs) {
  const deadline = Date.now() + deadlineMs
  // Poll lightly: the bench should not load the control plane it measures.
  while ((await api('GET', `/v1/releases?project=bench&environment=${environment}&active=true&limit=1`)).length > 0) {
    if (Date.now() > deadline) {
      const active = await api('GET', `/v1/releases?project=bench&environment=${environment}&active=true&limit=${N}`)
      const byStatus = Object.entries(groupBy(active, (release) => `${release.status}${release.replica ? ` on ${release.replica}` : ''}`))
      throw new Error(`${active.length} release(s) still active after ${deadlineMs / 1000} s: ${byStatus.map(([key, list]) => `${list.length} ${key}`).join(', ')}; e.g. ${JSON.stringify(active[0])}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/** Object.groupBy, which Node 20 lacks. */
function groupBy(items, key) {
  const groups = {}
  for (const item of items) (groups[key(item)] ??= []).push(item)
  return groups
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]

/**
 * Sends the N triggers to the environment at once (with replicas, to each in turn, as a load balancer
 * would spread them), waits for every release to end, and measures the run.
 */
async function burst(environment) {
  const benchCpuBefore = process.cpuUsage()
  const cpuBefore = serverCpuMs()
  const databaseCpuBefore = database?.serverCpuMs() ?? null
  const triggerStart = Date.now()
  await Promise.all(names.map((name, index) => api('POST', `/v1/projects/bench/environments/${environment}/releases`, {type: 'selective', resources: [{name}]}, planes[index % planes.length])))
  const triggerMs = Date.now() - triggerStart
  const benchCpu = process.cpuUsage(benchCpuBefore)

  const ideal = Math.ceil(N / M) * DEPLOY_SECONDS * 1000
  // Ten times the ideal and a minute more: far beyond a slow run, well short of a hung one.
  await waitUntilAllEnded(environment, 10 * ideal + 60_000)
  const releases = await api('GET', `/v1/releases?project=bench&environment=${environment}&limit=${N}`)
  const cpuPerRelease = (serverCpuMs() - cpuBefore) / N
  const databaseCpuPerRelease = databaseCpuBefore === null ? null : (database.serverCpuMs() - databaseCpuBefore) / N
  if (releases.length !== N) throw new Error(`${releases.length} releases recorded for ${N} triggers in ${environment}`)
  const failed = releases.filter((release) => release.status !== 'succeeded')
  if (failed.length > 0) throw new Error(`${failed.length} release(s) in ${environment} did not succeed, e.g. ${JSON.stringify(failed[0])}`)

  const first = Math.min(...releases.map((release) => Date.parse(release.createdAt)))
  const last = Math.max(...releases.map((release) => Date.parse(release.finishedAt)))
  const makespan = last - first
  // Per release: wall time from start to finish beyond the deploy itself (planning, process start, bookkeeping).
  const runOverhead = releases.map((release) => Date.parse(release.finishedAt) - Date.parse(release.startedAt) - DEPLOY_SECONDS * 1000)
  return {triggerMs, benchCpuMs: (benchCpu.user + benchCpu.system) / 1000, ratio: makespan / ideal, makespan, ideal, runOverhead, cpuPerRelease, databaseCpuPerRelease, releases, first}
}

try {
  if (REPLICAS > 0) {
    databaseReady = throwawayDatabase('relctl_bench_parallel')
    database = await databaseReady
    const token = randomBytes(32).toString('hex')
    // One at a time: the first creates the tables (the others would wait for its migration lock anyway).
    for (let index = 1; index <= REPLICAS; index++) await startPlane({replicaId: `r${index}`, databaseUrl: database.url, token})
  } else {
    await startPlane({})
  }
  await api('POST', '/v1/projects', {content: blueprint, file: 'relctl.yaml', baseDir: work})
  for (const environment of ['warmup', 'perf']) await api('PUT', '/v1/settings/parallel', {project: 'bench', environment, enabled: true, max: M})
  // The triggers go out over connections already open, as those of N CI jobs on their own machines do:
  // this one process opening N connections at once spreads its own requests over a quarter of a second.
  await Promise.all(names.map((_, index) => api('GET', '/healthz', undefined, planes[index % planes.length])))

  // The same burst twice, in two environments: the measure is of the second. A control plane compiles
  // its code paths while it serves its first hundreds of releases (V8 optimises a function once it is
  // hot; with two replicas a third of their CPU in the first burst went to that compiler's threads),
  // which one that has been up a while has done long ago. The first burst is printed too.
  const justStarted = await burst('warmup')
  const {triggerMs, benchCpuMs, ratio, makespan, ideal, runOverhead, cpuPerRelease, databaseCpuPerRelease, releases, first} = await burst('perf')
  const ranBy = groupBy(releases, (release) => release.replica ?? 'none')

  const store = REPLICAS > 0 ? `${REPLICAS} replica${REPLICAS > 1 ? 's' : ''} on ${database.label}` : 'one control plane on SQLite'
  console.log(`bench/parallel: N=${N} releases, max parallel M=${M}, deploy = sleep ${DEPLOY_SECONDS}s (exec driver), ${store}`)
  console.log(`  just started:           the same burst first, in another environment: makespan/ideal ${justStarted.ratio.toFixed(3)}, control plane CPU ${justStarted.cpuPerRelease.toFixed(1)} ms per release`)
  console.log(`  triggers accepted:      ${N} in ${triggerMs} ms (${(triggerMs / N).toFixed(1)} ms each, concurrent; the bench sending them: ${benchCpuMs.toFixed(0)} ms of CPU)`)
  console.log(`  makespan:               ${(makespan / 1000).toFixed(2)} s   (first trigger to last finish)`)
  console.log(`  ideal:                  ${(ideal / 1000).toFixed(2)} s   (ceil(N/M) x ${DEPLOY_SECONDS} s)`)
  console.log(`  engine overhead:        median ${median(runOverhead)} ms, p95 ${percentile(runOverhead, 0.95)} ms per release (start to finish beyond the deploy)`)
  console.log(`  control plane CPU:      ${cpuPerRelease.toFixed(1)} ms per release (user + system of the server and its deploy supervisor, all work for it${planes.length > 1 ? `, summed over the ${planes.length} replicas` : ''})`)
  if (databaseCpuPerRelease !== null) console.log(`  PostgreSQL CPU:         ${databaseCpuPerRelease.toFixed(1)} ms per release (its server processes, not counted above)`)
  if (REPLICAS > 0) console.log(`  releases per replica:   ${planes.map(({replicaId}) => `${replicaId} ${ranBy[replicaId]?.length ?? 0}`).join(', ')}`)
  console.log(`  ratio makespan/ideal:   ${ratio.toFixed(3)}   (target <= ${TARGET})`)
  if (process.env.BENCH_DIAG) {
    const starts = releases.map((r) => Date.parse(r.startedAt) - first).sort((a, b) => a - b)
    const ends = releases.map((r) => Date.parse(r.finishedAt) - first).sort((a, b) => a - b)
    for (let w = 0; w < Math.ceil(N / M); w++) console.log(`  wave ${w}: starts ${starts[w * M]}..${starts[Math.min(N, (w + 1) * M) - 1]} ms, ends ${ends[w * M]}..${ends[Math.min(N, (w + 1) * M) - 1]} ms`)
  }
  if (ratio > TARGET) {
    console.log('  ABOVE TARGET')
    process.exitCode = 1
  }
  const idle = planes.filter(({replicaId}) => REPLICAS > 1 && !ranBy[replicaId])
  if (idle.length > 0) throw new Error(`replica(s) ${idle.map(({replicaId}) => replicaId).join(', ')} ran no release although the triggers went to every replica`)
} catch (error) {
  process.exitCode = 1
  // After Ctrl+C what fails (a control plane that stops) is no finding: the signal handler ends the bench.
  if (!interrupted) {
    console.error(`bench/parallel failed: ${error.message}`)
    for (const {replicaId, logFile} of planes) {
      if (logFile && existsSync(logFile)) console.error(`--- log of replica ${replicaId} (--log-level ${values['log-level']}), last 40 lines ---\n${readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n')}`)
    }
  }
} finally {
  await cleanUp()
}
