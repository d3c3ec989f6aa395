#!/usr/bin/env node
// bench/wait: how soon `relctl release wait` exits after the release it waits for ends, following the
// event stream, side by side with the same command polling at the default interval (2s). Polling is
// the CLI's own fallback, reached through a small proxy in front of the control plane that answers 404
// for /v1/events as an older control plane would; everything else passes through.
//
// Each round syncs every app of a blueprint of simulated apps (deploys of 1.5 s and more, parallel on),
// and for each release starts one real `relctl release wait APP` (half of them streaming, half polling,
// alternating) while it runs. The delay is the CLI's exit seen here minus the release's finishedAt as the
// control plane recorded it (one machine, one clock). A wait that did not see its release running
// (started too late) is not counted. Target: p99 <= 100 ms with the stream. Needs dist/ (npm run build).
//
//   node bench/wait.mjs [--releases 50] [--apps 5]
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {createServer, request as httpRequest} from 'node:http'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {apiOf, stopServer, whenListening} from './server.mjs'

const {values} = parseArgs({options: {releases: {type: 'string', default: '50'}, apps: {type: 'string', default: '5'}}})
const RELEASES = Number(values.releases)
const APPS = Number(values.apps)
if (!(RELEASES >= 2) || !(APPS >= 2)) {
  console.error('bench/wait: --releases and --apps must be numbers of at least 2, e.g. --releases 50 --apps 5')
  process.exit(2)
}
const TARGET_P99_MS = 100
// Deploys of 1.5 s and more, each app's 300 ms longer than the one before: the releases of a round end
// one after another, so what is measured is each wait's reaction, not five processes waking at once.
const DEPLOY_MS = 1500
const DEPLOY_STEP_MS = 300

const root = dirname(dirname(fileURLToPath(import.meta.url)))
if (!existsSync(join(root, 'dist', 'commands'))) {
  console.error('bench/wait needs the build: run npm run build first')
  process.exit(2)
}
const work = mkdtempSync(join(tmpdir(), 'relctl-bench-wait-'))
const apps = Array.from({length: APPS}, (_, index) => `app${index + 1}`)
const blueprint = [
  'project: bench',
  'resources:',
  ...apps.flatMap((name, index) => [`  ${name}:`, '    version: "1"', '    driver: simulate', `    simulate: { duration: ${DEPLOY_MS + index * DEPLOY_STEP_MS}ms }`]),
  'environments:',
  '  prod: {}',
].join('\n')

const server = spawn(process.execPath, [join(root, 'bin', 'run.js'), 'server', 'start', '--port', '0', '--data-dir', join(work, 'data'), '--json', '--log-level', 'error', '--shutdown-grace', '1ms'], {
  env: {...process.env, RELCTL_CONFIG_DIR: join(work, 'config')},
  stdio: ['ignore', 'pipe', 'inherit'],
})
let proxy
async function cleanUp() {
  proxy?.close()
  await stopServer(server)
  rmSync(work, {recursive: true, force: true})
}
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => cleanUp().finally(() => process.exit(130)))

const {url, token} = await whenListening(server).catch(async (error) => {
  console.error(`bench/wait failed: ${error.message}`)
  await cleanUp()
  process.exit(1)
})

const api = apiOf(url, token)

// An older control plane: no /v1/events. The CLI says so once and polls.
proxy = createServer((request, response) => {
  if ((request.url ?? '').startsWith('/v1/events')) {
    response.writeHead(404, {'content-type': 'application/json'}).end(JSON.stringify({error: {code: 'not_found', message: 'no route'}}))
    return
  }
  const forward = httpRequest(new URL(request.url ?? '/', url), {method: request.method, headers: request.headers}, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers)
    answer.pipe(response)
  })
  request.pipe(forward)
})
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve))
const proxyUrl = `http://127.0.0.1:${proxy.address().port}`

/** Runs `relctl release wait APP` against a URL; resolves with the time it exited and what it printed. */
function waitCommand(app, target) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'run.js'), 'release', 'wait', app, '-p', 'bench', '-e', 'prod', '--timeout', '60s'], {
      env: {...process.env, RELCTL_URL: target, RELCTL_TOKEN: token, RELCTL_CONFIG_DIR: join(work, 'config'), CI: 'true', NO_COLOR: '1'},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk))
    child.once('exit', (code) => resolve({exitedAt: Date.now(), code, stderr}))
  })
}

const samples = {stream: [], polling: []}
let discarded = 0
let version = 1
try {
  await api('POST', '/v1/projects', {content: blueprint, file: 'relctl.yaml', baseDir: work})
  await api('PUT', '/v1/settings/parallel', {project: 'bench', environment: 'prod', enabled: true, max: APPS})
  for (let round = 0; samples.stream.length < RELEASES / 2 || samples.polling.length < RELEASES / 2; round++) {
    if (round > RELEASES * 2) throw new Error('too many waits started too late to count; is the machine overloaded?')
    version++
    const waits = []
    for (const [index, app] of apps.entries()) {
      const mode = (index + round) % 2 === 0 ? 'stream' : 'polling'
      await api('PUT', `/v1/projects/bench/environments/prod/apps/${app}/version`, {version: String(version)})
      const {release} = await api('POST', '/v1/projects/bench/environments/prod/sync', {apps: [app]})
      waits.push(waitCommand(app, mode === 'stream' ? url : proxyUrl).then((result) => ({...result, mode, releaseId: release.id})))
    }
    for (const result of await Promise.all(waits)) {
      const release = await api('GET', `/v1/releases/${result.releaseId}`)
      if (result.code !== 0 || release.status !== 'succeeded') throw new Error(`release wait of release ${result.releaseId} exited ${result.code}:\n${result.stderr}`)
      // Counted only when the wait saw its release under way, so its start-up is not in the figure.
      if (!/release \d+ running/.test(result.stderr)) {
        discarded++
        continue
      }
      if (samples[result.mode].length < RELEASES / 2) samples[result.mode].push(result.exitedAt - Date.parse(release.finishedAt))
    }
  }
} catch (error) {
  console.error(`bench/wait failed: ${error.message}`)
  await cleanUp()
  process.exit(1)
}
await cleanUp()

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}
const stream = {p50: percentile(samples.stream, 50), p90: percentile(samples.stream, 90), p99: percentile(samples.stream, 99)}
const polling = {p50: percentile(samples.polling, 50), p90: percentile(samples.polling, 90), p99: percentile(samples.polling, 99)}
console.log(`release end -> release wait exit, ${samples.stream.length} + ${samples.polling.length} releases (deploys of ${DEPLOY_MS} to ${DEPLOY_MS + (APPS - 1) * DEPLOY_STEP_MS} ms, ${APPS} at once), load ${loadavg()[0].toFixed(2)}${discarded ? `; ${discarded} waits started too late, not counted` : ''}`)
console.log(`  event stream         p50 ${String(stream.p50).padStart(5)} ms   p90 ${String(stream.p90).padStart(5)} ms   p99 ${String(stream.p99).padStart(5)} ms   (target p99 <= ${TARGET_P99_MS} ms)`)
console.log(`  polling every 2s     p50 ${String(polling.p50).padStart(5)} ms   p90 ${String(polling.p90).padStart(5)} ms   p99 ${String(polling.p99).padStart(5)} ms`)
console.log(`  polling ÷ stream     p50 ${(polling.p50 / Math.max(1, stream.p50)).toFixed(1)}×   p99 ${(polling.p99 / Math.max(1, stream.p99)).toFixed(1)}×`)
if (stream.p99 > TARGET_P99_MS) {
  console.log(`bench:wait ABOVE TARGET: p99 ${stream.p99} ms with the stream (at most ${TARGET_P99_MS})`)
  process.exit(1)
}
