#!/usr/bin/env node
// bench/api: the control plane's HTTP speed, side by side in one run against one real `server start`:
//   - GET /healthz, the baseline (routing, auth skipped, no database);
//   - durable triggers: POSTs of selective releases, each with its own Idempotency-Key (as the CLI sends),
//     so each one records a new release; only 2xx count as done (target >= 500/s);
//   - listing a queue of 1,000 releases: GET /v1/releases?active=true of an environment that holds 1,000
//     queued releases, the whole queue (limit=1000) and the page `release list --active` asks for
//     (limit=50); target p99 <= 50 ms for both.
// Releases must not deploy during the run, yet triggers must be accepted (a pause would refuse them):
// each environment has parallel releases off and one long simulated release running first, so every
// release the bench triggers queues behind it and nothing else runs. Needs dist/ (npm run build), Linux (/proc).
//
// --postgres keeps the state in a new database on a throwaway PostgreSQL cluster (or on
// RELCTL_BENCH_DATABASE_URL's server: bench/postgres.mjs) and also prints PostgreSQL's own CPU per request.
//
//   node bench/api.mjs [--duration 5] [--connections 10] [--database-url URL | --postgres]
import autocannon from 'autocannon'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {controlPlaneCpuMs, throwawayDatabase} from './postgres.mjs'
import {stopServer, whenListening} from './server.mjs'

const {values} = parseArgs({
  options: {
    duration: {type: 'string', default: '5'},
    connections: {type: 'string', default: '10'},
    'database-url': {type: 'string'},
    postgres: {type: 'boolean', default: false},
  },
})
const DURATION_SECONDS = Number(values.duration)
const CONNECTIONS = Number(values.connections)
if (!(DURATION_SECONDS > 0) || !(CONNECTIONS >= 1)) {
  console.error('bench/api: --duration (seconds) and --connections must be positive numbers, e.g. --duration 5 --connections 10')
  process.exit(2)
}
if (values.postgres && values['database-url']) {
  console.error('bench/api: --postgres starts its own database, --database-url names one: give one of them')
  process.exit(2)
}
const QUEUE_LENGTH = 1000
// A bound on the triggers of one run, so that a fast control plane does not grow the queue without end.
const MAX_TRIGGERS = 10_000
// Selective releases rotate over this many independent resources, as many CI jobs of one environment would.
const RESOURCE_COUNT = 100
const TARGET_TRIGGERS_PER_SECOND = 500
const TARGET_LIST_P99_MS = 50

const root = dirname(dirname(fileURLToPath(import.meta.url)))
if (!existsSync(join(root, 'dist', 'commands'))) {
  console.error('bench/api needs the build: run npm run build first')
  process.exit(2)
}
const work = mkdtempSync(join(tmpdir(), 'relctl-bench-api-'))
const names = Array.from({length: RESOURCE_COUNT}, (_, index) => `r${String(index + 1).padStart(3, '0')}`)
const blueprint = [
  'project: bench',
  'resources:',
  // Runs for longer than any bench: everything triggered after it queues.
  '  blocker:',
  '    driver: simulate',
  '    simulate: { duration: 1h }',
  ...names.flatMap((name) => [`  ${name}:`, '    driver: simulate', '    simulate: { duration: 1s }']),
  'environments:',
  '  triggers: {}',
  '  queue: {}',
].join('\n')
writeFileSync(join(work, 'relctl.yaml'), blueprint)

// BENCH_PROFILE=DIR writes a CPU profile of the control plane there (bench/profile-summary.mjs reads it).
const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []
let server
let cleanedUp
/** Stops the control plane and the database, however the bench ends (also while the cluster still starts). */
function cleanUp() {
  cleanedUp ??= (async () => {
    await stopServer(server)
    await postgresReady.then((postgres) => postgres?.stop(), () => undefined)
    rmSync(work, {recursive: true, force: true})
  })()
  return cleanedUp
}
/** Set by Ctrl+C or SIGTERM. */
let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true
    console.error(`bench/api: ${signal}, stopping the control plane${values.postgres ? ' and the database' : ''}`)
    cleanUp().finally(() => process.exit(130))
  })
}
const postgresReady = values.postgres ? throwawayDatabase('relctl_bench_api') : Promise.resolve(undefined)
let postgres
try {
  postgres = await postgresReady
} catch (error) {
  console.error(`bench/api: no PostgreSQL for --postgres: ${error.message}`)
  await cleanUp()
  process.exit(2)
}
// A Ctrl+C while the cluster started: start no control plane, the signal handler ends the bench.
if (interrupted) {
  await cleanUp()
  process.exit(130)
}
const databaseUrl = postgres?.url ?? values['database-url']
const database = databaseUrl ? ['--database-url', databaseUrl] : []
// The blocker would hold a normal shutdown for the whole grace period; the bench's data is thrown away.
server = spawn(
  process.execPath,
  [...profile, join(root, 'bin', 'run.js'), 'server', 'start', '--port', '0', '--data-dir', join(work, 'data'), ...database, '--json', '--log-level', 'error', '--shutdown-grace', '1ms'],
  {env: {...process.env, RELCTL_CONFIG_DIR: join(work, 'config')}, stdio: ['ignore', 'pipe', 'inherit']},
)
let listening
try {
  listening = await whenListening(server)
} catch (error) {
  // After Ctrl+C the server stops on its own: the signal handler ends the bench.
  if (!interrupted) console.error(`bench/api failed: ${error.message}`)
  await cleanUp()
  process.exit(interrupted ? 130 : 1)
}
const {url, token} = listening
const authorization = `Bearer ${token}`

async function api(method, path, body) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {authorization, 'content-type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const data = await response.json()
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(data)}`)
  return data
}

/** CPU time (user + system) the control plane has used (its deploy supervisor included), in ms: steadier than wall time on a busy machine. */
function serverCpuMs() {
  return controlPlaneCpuMs(server.pid)
}

const triggersPath = (environment) => `/v1/projects/bench/environments/${environment}/releases`
let triggerCount = 0
/** A selective release of the next resource with a key never used before: each request records one new release. */
function nextTrigger(request) {
  triggerCount += 1
  return {
    ...request,
    headers: {...request.headers, 'idempotency-key': `bench-api-${process.pid}-${triggerCount}`},
    body: JSON.stringify({type: 'selective', resources: [{name: names[triggerCount % RESOURCE_COUNT]}]}),
  }
}

/** One autocannon case; only 2xx responses count, in the rate and in the latencies. */
async function measure(label, options) {
  const cpuBefore = serverCpuMs()
  const databaseCpuBefore = postgres?.serverCpuMs() ?? null
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION_SECONDS,
    excludeErrorStats: true,
    headers: {authorization, 'content-type': 'application/json'},
    ...options,
  })
  const done = result['2xx']
  const seconds = (result.finish - result.start) / 1000
  if (done === 0) throw new Error(`${label}: no 2xx answers (${JSON.stringify(result.statusCodeStats)}, ${result.errors} errors)`)
  return {
    label,
    done,
    failed: result.non2xx + result.errors + result.timeouts,
    statusCodes: result.statusCodeStats,
    perSecond: done / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMsPerRequest: (serverCpuMs() - cpuBefore) / done,
    databaseCpuMsPerRequest: databaseCpuBefore === null ? null : (postgres.serverCpuMs() - databaseCpuBefore) / done,
  }
}

async function waitUntilRunning(releaseId) {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if ((await api('GET', `/v1/releases/${releaseId}`)).status === 'running') return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`release ${releaseId} (the blocker) did not start within 30 s`)
}

try {
  await api('POST', '/v1/projects', {content: blueprint, file: 'relctl.yaml', baseDir: work})
  for (const environment of ['triggers', 'queue']) {
    await api('PUT', '/v1/settings/parallel', {project: 'bench', environment, enabled: false})
    const {release} = await api('POST', triggersPath(environment), {type: 'selective', resources: [{name: 'blocker'}]})
    await waitUntilRunning(release.id)
  }

  // Fill the listing case's queue before anything is measured.
  const fill = await autocannon({url, connections: CONNECTIONS, amount: QUEUE_LENGTH, method: 'POST', headers: {authorization, 'content-type': 'application/json'}, requests: [{path: triggersPath('queue'), setupRequest: nextTrigger}]})
  const queued = await api('GET', '/v1/releases?project=bench&environment=queue&status=queued&limit=1000')
  if (fill['2xx'] !== QUEUE_LENGTH || queued.length !== QUEUE_LENGTH) {
    throw new Error(`filling the queue: ${fill['2xx']} of ${QUEUE_LENGTH} triggers accepted, ${queued.length} releases queued`)
  }

  const load = loadavg()[0]
  const baseline = await measure('GET /healthz (baseline)', {requests: [{method: 'GET', path: '/healthz'}]})
  const triggers = await measure('POST selective release (durable trigger)', {
    method: 'POST',
    maxOverallRequests: MAX_TRIGGERS,
    requests: [{method: 'POST', path: triggersPath('triggers'), setupRequest: nextTrigger}],
  })
  const listAll = await measure(`GET queue of ${QUEUE_LENGTH} (active, limit=1000)`, {requests: [{method: 'GET', path: '/v1/releases?project=bench&environment=queue&active=true&limit=1000'}]})
  const listPage = await measure('GET queue head (active, limit=50)', {requests: [{method: 'GET', path: '/v1/releases?project=bench&environment=queue&active=true&limit=50'}]})

  // Every accepted trigger must have created its own release (201), not returned an old one (200).
  const created = triggers.statusCodes['201']?.count ?? 0
  if (created !== triggers.done) throw new Error(`${triggers.done - created} trigger(s) answered without creating a release`)

  const checks = [
    [baseline, '', null],
    [triggers, `>= ${TARGET_TRIGGERS_PER_SECOND}/s`, triggers.perSecond >= TARGET_TRIGGERS_PER_SECOND],
    [listAll, `p99 <= ${TARGET_LIST_P99_MS} ms`, listAll.p99 <= TARGET_LIST_P99_MS],
    [listPage, `p99 <= ${TARGET_LIST_P99_MS} ms`, listPage.p99 <= TARGET_LIST_P99_MS],
  ]
  const showDatabaseCpu = baseline.databaseCpuMsPerRequest !== null
  const rows = checks.map(([c, target, pass]) => [
    c.label,
    c.perSecond.toFixed(0),
    String(c.p50),
    String(c.p99),
    (c.perSecond / baseline.perSecond).toFixed(3),
    (c.p99 / Math.max(1, baseline.p99)).toFixed(1),
    c.cpuMsPerRequest.toFixed(2),
    ...(showDatabaseCpu ? [c.databaseCpuMsPerRequest.toFixed(2)] : []),
    target,
    pass === null ? '' : pass ? 'pass' : 'FAIL',
  ])
  const header = ['case', 'req/s', 'p50 ms', 'p99 ms', 'req/s ÷ healthz', 'p99 ÷ healthz', 'CPU ms/req', ...(showDatabaseCpu ? ['PostgreSQL CPU ms/req'] : []), 'target', 'result']
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)))
  const line = (cells) => '  ' + cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ')

  console.log(`bench/api: ${CONNECTIONS} connections, ${DURATION_SECONDS} s per case, ${postgres ? postgres.label : database.length ? 'the database given' : 'SQLite'}, load average ${load.toFixed(2)} at the start`)
  console.log(line(header))
  for (const row of rows) console.log(line(row))
  console.log(`  triggers: ${triggers.done} accepted (${triggers.failed} refused or failed), queued behind one running release; the listed queue holds ${QUEUE_LENGTH} queued releases and 1 running`)
  if (checks.some(([, , pass]) => pass === false)) {
    console.log('  BELOW TARGET')
    process.exitCode = 1
  }
} catch (error) {
  // After Ctrl+C what fails (a control plane that stops) is no finding: the signal handler ends the bench.
  if (!interrupted) console.error(`bench/api failed: ${error.message}`)
  process.exitCode = 1
} finally {
  await cleanUp()
}
