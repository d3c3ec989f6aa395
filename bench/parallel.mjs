#!/usr/bin/env node
// bench/parallel: N selective releases of N independent resources, each deploy `sleep 1` through the
// exec driver, parallel releases on with max M. Prints the measured makespan over the ideal
// (ceil(N/M) seconds) and the engine's own overhead per release. Needs dist/ (npm run build).
//
//   node bench/parallel.mjs [--n 200] [--m 50] [--target 1.10]
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const {values} = parseArgs({options: {n: {type: 'string', default: '200'}, m: {type: 'string', default: '50'}, target: {type: 'string', default: '1.10'}}})
const N = Number(values.n)
const M = Number(values.m)
const TARGET = Number(values.target)
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
].join('\n')
writeFileSync(join(work, 'relctl.yaml'), blueprint)

// BENCH_PROFILE=DIR writes a CPU profile of the control plane there, to see where its time goes.
const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []
const server = spawn(process.execPath, [...profile, join(root, 'bin', 'run.js'), 'server', 'start', '--port', '0', '--data-dir', join(work, 'data'), '--json', '--log-level', 'error'], {
  env: {...process.env, RELCTL_CONFIG_DIR: join(work, 'config')},
  stdio: ['ignore', 'pipe', 'inherit'],
})
const {url, token} = await new Promise((resolve, reject) => {
  server.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
  createInterface({input: server.stdout}).once('line', (line) => resolve(JSON.parse(line)))
})

async function api(method, path, body) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const data = await response.json()
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(data)}`)
  return data
}

/** CPU time (user + system) the control plane process has used, in ms: steadier than wall time on a busy machine. */
function serverCpuMs() {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ')
  if (process.env.BENCH_DIAG) console.log(`  (server utime ${Number(fields[11]) * 10} ms, stime ${Number(fields[12]) * 10} ms)`)
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]

try {
  await api('POST', '/v1/projects', {content: blueprint, file: 'relctl.yaml', baseDir: work})
  await api('PUT', '/v1/settings/parallel', {project: 'bench', environment: 'perf', enabled: true, max: M})

  const cpuBefore = serverCpuMs()
  const triggerStart = Date.now()
  await Promise.all(names.map((name) => api('POST', '/v1/projects/bench/environments/perf/releases', {type: 'selective', resources: [{name}]})))
  const triggerMs = Date.now() - triggerStart

  // Poll lightly (the bench should not load the control plane it measures), then read every release once.
  while ((await api('GET', '/v1/releases?project=bench&environment=perf&active=true&limit=1')).length > 0) {
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  const releases = await api('GET', `/v1/releases?project=bench&environment=perf&limit=${N}`)
  const cpuPerRelease = (serverCpuMs() - cpuBefore) / N
  const failed = releases.filter((release) => release.status !== 'succeeded')
  if (failed.length > 0) throw new Error(`${failed.length} release(s) did not succeed, e.g. ${JSON.stringify(failed[0])}`)

  const first = Math.min(...releases.map((release) => Date.parse(release.createdAt)))
  const last = Math.max(...releases.map((release) => Date.parse(release.finishedAt)))
  const makespan = last - first
  const ideal = Math.ceil(N / M) * DEPLOY_SECONDS * 1000
  const ratio = makespan / ideal
  // Per release: wall time from start to finish beyond the deploy itself (planning, process start, bookkeeping).
  const runOverhead = releases.map((release) => Date.parse(release.finishedAt) - Date.parse(release.startedAt) - DEPLOY_SECONDS * 1000)

  console.log(`bench/parallel: N=${N} releases, max parallel M=${M}, deploy = sleep ${DEPLOY_SECONDS}s (exec driver)`)
  console.log(`  triggers accepted:      ${N} in ${triggerMs} ms (${(triggerMs / N).toFixed(1)} ms each, concurrent)`)
  console.log(`  makespan:               ${(makespan / 1000).toFixed(2)} s   (first trigger to last finish)`)
  console.log(`  ideal:                  ${(ideal / 1000).toFixed(2)} s   (ceil(N/M) x ${DEPLOY_SECONDS} s)`)
  console.log(`  engine overhead:        median ${median(runOverhead)} ms, p95 ${percentile(runOverhead, 0.95)} ms per release (start to finish beyond the deploy)`)
  console.log(`  control plane CPU:      ${cpuPerRelease.toFixed(1)} ms per release (user + system, all work for it)`)
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
} catch (error) {
  console.error(`bench/parallel failed: ${error.message}`)
  process.exitCode = 1
} finally {
  server.kill('SIGTERM')
  await new Promise((resolve) => server.once('exit', resolve))
  rmSync(work, {recursive: true, force: true})
}
