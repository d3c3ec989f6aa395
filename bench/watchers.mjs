#!/usr/bin/env node
// bench/watchers: one control plane serving many waiting clients, each about its own app, two ways side
// by side in one run:
//   - streams: N clients on GET /v1/events (Server-Sent Events), each filtered on its app;
//   - pollers: N clients asking for their environment's apps every 2 s (what a waiting CLI polls).
// The apps are those of a project of 10 resources kept in N/10 environments, as many CI jobs of many
// environments would wait.
// For each: the control plane's CPU while nothing changes (% of one core, heartbeats included), its
// resident memory, and how soon a change reaches the client that cares about it (app set on random apps,
// from the change as the control plane recorded it to the client seeing it). Targets for the streams:
// idle CPU <= 5 % of a core, RSS <= 250 MB, p99 <= 200 ms. Needs dist/ (npm run build), Linux (/proc).
//
// --replicas 2 runs two replicas on one PostgreSQL database (a throwaway cluster, or on
// RELCTL_BENCH_DATABASE_URL's server): the clients are served by the second, the changes are made on the
// first, so the delays are those of an event reaching another replica's streams (target p99 <= 100 ms).
//
//   node bench/watchers.mjs [--clients 1000] [--changes 200] [--idle 16] [--replicas 2]
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {Agent, request as httpRequest} from 'node:http'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {createParser} from 'eventsource-parser'

import {controlPlaneCpuMs, throwawayDatabase} from './postgres.mjs'
import {apiOf, stopServer, whenListening} from './server.mjs'

const {values} = parseArgs({
  options: {clients: {type: 'string', default: '1000'}, changes: {type: 'string', default: '200'}, idle: {type: 'string', default: '16'}, replicas: {type: 'string', default: '1'}},
})
const REPLICAS = Number(values.replicas)
const CLIENTS = Number(values.clients)
const CHANGES = Number(values.changes)
// A little longer than the stream's 15 s heartbeat, so that one round of heartbeats is in the figure.
const IDLE_SECONDS = Number(values.idle)
if (!(CLIENTS >= 1) || !(CHANGES >= 1) || CHANGES > CLIENTS || !(IDLE_SECONDS > 0) || ![1, 2].includes(REPLICAS)) {
  console.error('bench/watchers: --clients, --changes (at most --clients) and --idle (seconds) must be positive numbers, --replicas 1 or 2')
  process.exit(2)
}
const POLL_MS = 2000
const CHANGE_EVERY_MS = 20
const TARGETS = {idleCpuPercent: 5, rssMb: 250, p99Ms: REPLICAS === 2 ? 100 : 200}

const root = dirname(dirname(fileURLToPath(import.meta.url)))
if (!existsSync(join(root, 'dist', 'commands'))) {
  console.error('bench/watchers needs the build: run npm run build first')
  process.exit(2)
}
const work = mkdtempSync(join(tmpdir(), 'relctl-bench-watchers-'))
const RESOURCES = 10
const resources = Array.from({length: RESOURCES}, (_, index) => `app${index + 1}`)
const environments = Array.from({length: Math.ceil(CLIENTS / RESOURCES)}, (_, index) => `env${String(index + 1).padStart(3, '0')}`)
/** Each client's app, and the environment it is kept in. */
const watched = Array.from({length: CLIENTS}, (_, index) => ({environment: environments[Math.floor(index / RESOURCES)], app: resources[index % RESOURCES]}))
const blueprint = [
  'project: bench',
  'resources:',
  ...resources.flatMap((name) => [`  ${name}:`, '    version: "1"', '    driver: simulate']),
  'environments:',
  ...environments.map((name) => `  ${name}: {}`),
].join('\n')
const keyOf = ({environment, app}, version) => `${environment}/${app}@${version}`

const agent = new Agent({keepAlive: true, maxSockets: Number.POSITIVE_INFINITY})
const open = new Set()
const servers = []
let database
async function cleanUp() {
  for (const request of open) request.destroy()
  agent.destroy()
  await Promise.all(servers.map(stopServer))
  await database?.stop()
  rmSync(work, {recursive: true, force: true})
}
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => cleanUp().finally(() => process.exit(130)))

/** One control plane; with replicas, on the shared database with the shared token. */
async function startPlane(index, shared) {
  const args = ['server', 'start', '--port', '0', '--data-dir', join(work, `data${index}`), '--json', '--log-level', 'error', '--shutdown-grace', '1ms']
  const plane = spawn(process.execPath, [join(root, 'bin', 'run.js'), ...args, ...(shared ? ['--database-url', shared.url, '--replica-id', `r${index}`] : [])], {
    env: {...process.env, RELCTL_CONFIG_DIR: join(work, `config${index}`), ...(shared && {RELCTL_SERVER_TOKEN: shared.token})},
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  servers.push(plane)
  const listening = await whenListening(plane)
  return {process: plane, url: listening.url, token: shared?.token ?? listening.token}
}

let planes
try {
  if (REPLICAS === 2) {
    database = await throwawayDatabase('relctl_bench_watchers')
    const shared = {url: database.url, token: randomBytes(32).toString('hex')}
    planes = [await startPlane(1, shared), await startPlane(2, shared)]
  } else planes = [await startPlane(1, null)]
} catch (error) {
  console.error(`bench/watchers failed: ${error.message}`)
  await cleanUp()
  process.exit(1)
}
// The clients are served by the last control plane; the changes are made on the first.
const {url, token} = planes[planes.length - 1]
const server = planes[planes.length - 1].process
const headers = {authorization: `Bearer ${token}`}
const api = apiOf(url, token)
const changeApi = apiOf(planes[0].url, token)


function rssMb() {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024
}

async function idleCpuPercent() {
  const before = controlPlaneCpuMs(server.pid)
  await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000))
  return ((controlPlaneCpuMs(server.pid) - before) / (IDLE_SECONDS * 1000)) * 100
}

/**
 * Sets distinct random watched apps to new versions, one every CHANGE_EVERY_MS (distinct: a poller sees
 * only an app's latest version); resolves with when each change was recorded.
 */
async function makeChanges(round) {
  const changed = []
  const chosen = [...watched].sort(() => Math.random() - 0.5).slice(0, CHANGES)
  for (const [index, client] of chosen.entries()) {
    const version = `${round}.${index}`
    const state = await changeApi('PUT', `/v1/projects/bench/environments/${client.environment}/apps/${client.app}/version`, {version})
    changed.push({key: keyOf(client, version), at: Date.parse(state.updatedAt)})
    await new Promise((resolve) => setTimeout(resolve, CHANGE_EVERY_MS))
  }
  return changed
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

/** Waits until every change has been seen by its client, or 30 s; returns the delays of those seen. */
async function delaysOf(changed, seen) {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline && changed.some((change) => !seen.has(change.key))) await new Promise((resolve) => setTimeout(resolve, 50))
  const delays = changed.filter((change) => seen.has(change.key)).map((change) => seen.get(change.key) - change.at)
  return {delays, missed: changed.length - delays.length}
}

/** A GET through the bench's keep-alive agent (fetch would open a connection pool per origin of its own). */
function getJson(path) {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}${path}`, {headers, agent}, (response) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk) => (body += chunk))
      response.on('end', () => (response.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`GET ${path}: ${response.statusCode}`))))
    })
    request.on('error', reject)
    request.end()
  })
}

/** N streams, each on its own app; resolves once all of them are open. */
async function openStreams(seen) {
  let opened = 0
  await new Promise((resolve, reject) => {
    for (const client of watched) {
      const path = `/v1/events?project=bench&environment=${client.environment}&app=${client.app}&kinds=app.changed`
      const request = httpRequest(`${url}${path}`, {headers: {...headers, accept: 'text/event-stream'}, agent}, (response) => {
        if (response.statusCode !== 200) return reject(new Error(`a stream answered ${response.statusCode}`))
        const parser = createParser({
          onEvent: (message) => {
            const event = JSON.parse(message.data)
            if (event.data.name === client.app) seen.set(keyOf(client, event.data.desiredVersion), Date.now())
          },
          onComment: () => {
            if (++opened === watched.length) resolve()
          },
        })
        response.setEncoding('utf8').on('data', (chunk) => parser.feed(chunk))
      })
      request.on('error', reject)
      request.end()
      open.add(request)
    }
  })
}

/** N pollers, each asking for its environment's apps every POLL_MS (first look spread over the interval). */
function startPollers(seen) {
  let stopped = false
  let failures = 0
  for (const [index, client] of watched.entries()) {
    const poll = async () => {
      if (stopped) return
      try {
        const states = await getJson(`/v1/projects/bench/environments/${client.environment}/apps`)
        const key = keyOf(client, states.find((candidate) => candidate.name === client.app).desiredVersion)
        if (!seen.has(key)) seen.set(key, Date.now())
      } catch {
        failures++
      }
      setTimeout(poll, POLL_MS)
    }
    setTimeout(poll, (index / watched.length) * POLL_MS)
  }
  return () => {
    stopped = true
    return failures
  }
}

let results
try {
  await api('POST', '/v1/projects', {content: blueprint, file: 'relctl.yaml', baseDir: work})
  const streamSeen = new Map()
  await openStreams(streamSeen)
  const streams = {idleCpu: await idleCpuPercent(), rss: rssMb(), ...(await delaysOf(await makeChanges(1), streamSeen))}
  for (const request of open) request.destroy()
  open.clear()

  const pollSeen = new Map()
  const stopPolling = startPollers(pollSeen)
  const pollers = {idleCpu: await idleCpuPercent(), rss: rssMb(), ...(await delaysOf(await makeChanges(2), pollSeen))}
  pollers.failedPolls = stopPolling()
  results = {streams, pollers}
} catch (error) {
  console.error(`bench/watchers failed: ${error.message}`)
  await cleanUp()
  process.exit(1)
}
await cleanUp()

const row = (label, {idleCpu, rss, delays, missed, failedPolls}) =>
  `  ${label.padEnd(22)} CPU while nothing changes ${idleCpu.toFixed(1).padStart(6)} % of a core   RSS ${rss.toFixed(0).padStart(4)} MB   change -> client p50 ${String(percentile(delays, 50)).padStart(5)} ms  p99 ${String(percentile(delays, 99)).padStart(5)} ms${missed ? `  (${missed} not seen)` : ''}${failedPolls ? `  (${failedPolls} polls failed)` : ''}`
console.log(`${CLIENTS} clients each waiting on its own app (${RESOURCES} apps in each of ${environments.length} environments), ${CHANGES} changes ${CHANGE_EVERY_MS} ms apart, CPU measured over ${IDLE_SECONDS}s, load ${loadavg()[0].toFixed(2)}${REPLICAS === 2 ? '; two replicas on PostgreSQL: the clients on the second, the changes made on the first (CPU and RSS: the second)' : ''}`)
console.log(row(`${CLIENTS} event streams`, results.streams))
console.log(row(`${CLIENTS} pollers at 2s`, results.pollers))
console.log(`  targets for the streams: idle CPU <= ${TARGETS.idleCpuPercent} %, RSS <= ${TARGETS.rssMb} MB, p99 <= ${TARGETS.p99Ms} ms`)
const {streams} = results
const misses = [
  streams.idleCpu > TARGETS.idleCpuPercent && `idle CPU ${streams.idleCpu.toFixed(1)} %`,
  streams.rss > TARGETS.rssMb && `RSS ${streams.rss.toFixed(0)} MB`,
  percentile(streams.delays, 99) > TARGETS.p99Ms && `p99 ${percentile(streams.delays, 99)} ms`,
  streams.missed > 0 && `${streams.missed} changes never reached their stream`,
].filter(Boolean)
if (misses.length > 0) {
  console.log(`bench:watchers ABOVE TARGET: ${misses.join(', ')}`)
  process.exit(1)
}
