#!/usr/bin/env node
// `npm run demo`: starts an embedded control plane in a temporary folder, applies the shop blueprint and
// runs real releases with live progress (a launch whose tasks run side by side, a sync, and two
// releases running in parallel), then stops the control plane and removes the folder.
// Your own profile is left alone: the demo keeps its profile in the temporary folder too.
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const bin = join(root, 'bin', 'run.js')
const work = mkdtempSync(join(tmpdir(), 'relctl-demo-'))
const env = {...process.env, RELCTL_CONFIG_DIR: join(work, 'config'), RELCTL_PROJECT: 'shop', RELCTL_ENVIRONMENT: 'staging'}

function startServer() {
  const server = spawn(process.execPath, [bin, 'server', 'start', '--port', '0', '--data-dir', join(work, 'data'), '--json', '--log-level', 'warn', '--pass-env', 'SHOP_DEPLOY_SECONDS'], {
    // The demo's deploy scripts take 2 s, long enough to watch two releases run side by side.
    env: {...env, SHOP_DEPLOY_SECONDS: '2'},
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    server.once('exit', (code) => reject(new Error(`control plane exited with code ${code}`)))
    createInterface({input: server.stdout}).once('line', (line) => resolve({server, ...JSON.parse(line)}))
  })
}

function relctl(args, extraEnv = {}) {
  console.log(`\n$ relctl ${args.join(' ')}`)
  return new Promise((resolve) => {
    spawn(process.execPath, [bin, ...args], {env: {...env, ...extraEnv}, stdio: 'inherit'}).once('exit', (code) => resolve(code))
  })
}

async function must(args, extraEnv) {
  const code = await relctl(args, extraEnv)
  if (code !== 0) throw new Error(`relctl ${args.join(' ')} exited with ${code}`)
}

let server
try {
  const started = await startServer()
  server = started.server
  Object.assign(env, {RELCTL_URL: started.url, RELCTL_TOKEN: started.token})
  console.log(`Embedded control plane at ${started.url} (data in ${work})`)

  await must(['project', 'apply', '--file', join(root, 'examples', 'shop', 'relctl.yaml')])
  await must(['app', 'list'])
  console.log('\nA launch deploys every resource: db and cache together, then api and worker together, then web.')
  await must(['release', 'trigger', '--type', 'launch', '--comment', 'first launch', '--wait'])
  await must(['app', 'set', 'api', '--version', '1.5.0'])
  await must(['app', 'set', 'web', '--version', '2.1.0'])
  console.log('\nSync the two out-of-sync apps in one selective release and wait until they are stable:')
  await must(['release', 'sync', 'api,web', '--wait'])
  console.log('\nParallel releases: with them on, non-conflicting selective releases of one environment run at the same time.')
  await must(['settings', 'set-parallel', '--enabled', '--max', '5'])
  await must(['app', 'set', 'api', '--version', '1.6.0'])
  await must(['app', 'set', 'worker', '--version', '1.6.0'])
  await must(['release', 'trigger', '--resources', 'api', '--comment', 'api alone'])
  await must(['release', 'trigger', '--resources', 'worker', '--comment', 'worker beside it'])
  await must(['release', 'list', '--active'])
  await must(['release', 'wait', 'api,worker', '--interval', '500ms'])
  await must(['release', 'list'])
  await must(['release', 'show', '2'])
  console.log('\nDone. Try it yourself: relctl server start, then relctl project apply -f examples/shop/relctl.yaml')
} catch (error) {
  console.error(`demo failed: ${error.message}`)
  process.exitCode = 1
} finally {
  if (server) {
    server.kill('SIGTERM')
    await new Promise((resolve) => server.once('exit', resolve))
  }
  rmSync(work, {recursive: true, force: true})
}
