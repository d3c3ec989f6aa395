#!/usr/bin/env node
// bench/spawn: what a deploy command costs to start through the deploy supervisor compared with a
// spawn from the control plane process itself. The control plane is a large process (about 150 MB
// resident during a release), and a spawn from it pays for its size; the supervisor is small. This
// process holds --ballast MB to stand in for the control plane's size. Both ways run `/bin/sh -c true`
// in rounds, interleaved (A, B, A, B, ...), so that the machine's load weighs on both alike; prints
// both medians and their ratio. Needs dist/ (npm run build).
//
//   node bench/spawn.mjs [--rounds 20] [--per-round 20] [--ballast 150]
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

function usage(message) {
  console.error(`bench/spawn: ${message}`)
  console.error('usage: node bench/spawn.mjs [--rounds N (default 20)] [--per-round N (default 20)] [--ballast MB (default 150)]')
  process.exit(2)
}

let values
try {
  ;({values} = parseArgs({options: {rounds: {type: 'string', default: '20'}, 'per-round': {type: 'string', default: '20'}, ballast: {type: 'string', default: '150'}}}))
} catch (error) {
  usage(error.message)
}
const rounds = Number(values.rounds)
const perRound = Number(values['per-round'])
const ballastMb = Number(values.ballast)
for (const [name, value] of [['--rounds', rounds], ['--per-round', perRound], ['--ballast', ballastMb]]) {
  if (!Number.isInteger(value) || value < (name === '--ballast' ? 0 : 1)) usage(`${name} must be a whole number${name === '--ballast' ? '' : ' of at least 1'}, not "${value}"`)
}

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const client = join(root, 'dist', 'lib', 'server', 'drivers', 'supervisor-client.js')
if (!existsSync(client)) {
  console.error('bench/spawn needs the build, and dist/lib/server/drivers/supervisor-client.js is missing: run "npm run build" first')
  process.exit(2)
}
const {DeploySupervisor} = await import(client)

// Touched memory, so that it is resident like a control plane's heap.
const ballast = Buffer.alloc(ballastMb * 1024 * 1024, 1)

function direct() {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'true'], {detached: true, stdio: ['ignore', 'pipe', 'pipe']})
    child.once('error', reject)
    child.once('close', resolve)
  })
}

const supervisor = new DeploySupervisor()
const throughSupervisor = () => supervisor.run({command: 'true', cwd: root, env: {PATH: process.env.PATH}}, () => {}).exited

async function round(run) {
  const started = performance.now()
  await Promise.all(Array.from({length: perRound}, run))
  return (performance.now() - started) / perRound
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
await round(direct)
await round(throughSupervisor)
const times = {direct: [], supervisor: []}
for (let index = 0; index < rounds; index++) {
  times.direct.push(await round(direct))
  times.supervisor.push(await round(throughSupervisor))
}
await supervisor.close()
const a = median(times.direct)
const b = median(times.supervisor)
console.log(`per command, ${perRound} at once, ${rounds} rounds, this process holding ${ballast.length / 1024 / 1024} MB:`)
console.log(`  spawn from this process: ${a.toFixed(2)} ms`)
console.log(`  through the supervisor:  ${b.toFixed(2)} ms`)
console.log(`  ratio (supervisor / direct): ${(b / a).toFixed(2)}`)
