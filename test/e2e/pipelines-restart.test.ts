// Pipeline runs across control-plane restarts (issue 13), with real server processes on one data dir:
// a run stopped mid-stage goes on after the next start; one that waits at a gate survives a SIGKILL; a
// release that a crash interrupted fails its run, as it fails any release.
import {beforeAll, describe, expect, it} from 'vitest'

import {copyFixture, createToken, gateStarted, must, openGate, relctl, type Server, startServer, tempDir, waitFor} from './harness.js'
import {releasesOf, runIdOf, runUntil} from './pipelines-helpers.js'

const P = ['-p', 'pipes']
let state: string
let dataDir: string
let current: {server: Server; said: (text: string) => Promise<unknown>}

/** Starts the control plane on the data dir (running releases get 2 minutes to finish on SIGTERM). */
async function start() {
  let stderr = ''
  const server = await startServer({dataDir, env: {RELCTL_TEST_STATE: state, RELCTL_TEST_SLEEP: '0.2'}, args: ['--shutdown-grace', '2m'], logLevel: 'info', onStderr: (chunk) => (stderr += chunk)})
  current = {server, said: (text: string) => waitFor(() => stderr.includes(text), {what: `the control plane to log "${text}"`})}
}

beforeAll(async () => {
  state = tempDir('relctl-e2e-state-')
  dataDir = tempDir('relctl-e2e-data-')
  await start()
  await must(['project', 'apply', '-f', copyFixture('pipelines').file])
})

describe('a pipeline run and a restart of the control plane', () => {
  it('stopped mid-stage (SIGTERM, its release finishing in the grace), the run goes on after the next start', async () => {
    const id = runIdOf((await must(['pipeline', 'run', 'soaked', ...P, '--set', 's1=2.0.0-gate'])).stdout)
    const dev = releasesOf(await runUntil(id, (run) => releasesOf(run).length === 1, 'releases dev'))[0].id
    await gateStarted(state, dev)
    const stopping = current.server.stop('SIGTERM', 150_000)
    await current.said('waiting for running releases before shutting down')
    openGate(state, dev)
    expect((await stopping).code).toBe(0)

    const restartedAt = Date.now()
    await start()
    // The next stage is released by the restarted control plane (the version blocks there too: open it).
    const staging = releasesOf(await runUntil(id, (run) => releasesOf(run).length === 2, 'releases staging'))[1]
    expect(Date.parse(staging.createdAt)).toBeGreaterThanOrEqual(restartedAt)
    openGate(state, staging.id)
    const done = (await must(['pipeline', 'wait', String(id), '--json'], {timeoutMs: 60_000})).json()
    expect(done.status).toBe('succeeded')
    expect(releasesOf(done).map((release) => `${release.environment} ${release.status}`)).toEqual(['dev succeeded', 'staging succeeded'])
  })

  it('waiting at an approval gate, it survives a SIGKILL, and goes on once approved', async () => {
    const boss = await createToken('boss', ['approver:pipes/prod'])
    const id = runIdOf((await must(['pipeline', 'run', 'main', ...P, '--set', 's2=3.0.0'])).stdout)
    await runUntil(id, (run) => run.waitingFor?.reason === 'approval', 'waits for approval', {timeoutMs: 60_000})
    await current.server.stop('SIGKILL')
    await start()
    expect((await must(['pipeline', 'show', String(id), '--json'])).json().waitingFor).toMatchObject({reason: 'approval', stage: 3})
    await must(['pipeline', 'approve', String(id)], {token: boss})
    const done = (await must(['pipeline', 'wait', String(id), '--json'], {timeoutMs: 60_000})).json()
    expect(done).toMatchObject({status: 'succeeded', approvals: [{stage: 3, by: 'boss'}]})
  })

  it('a release that a crash interrupted fails its run, naming it (nothing half-run is resumed)', async () => {
    const id = runIdOf((await must(['pipeline', 'run', 'soaked', ...P, '--set', 's2=4.0.0-gate'])).stdout)
    const dev = releasesOf(await runUntil(id, (run) => releasesOf(run).length === 1, 'releases dev'))[0].id
    await gateStarted(state, dev)
    await current.server.stop('SIGKILL')
    await start()
    const waited = await relctl(['pipeline', 'wait', String(id), '--json'], {timeoutMs: 60_000})
    expect(waited.code).toBe(3)
    expect(waited.json().run).toMatchObject({status: 'failed', error: `stage 1 (dev) failed: release ${dev} (dev) failed: interrupted: the control plane stopped while it ran; trigger it again`})
    // The pipeline queues nothing behind it: the next run starts at once.
    const next = await must(['pipeline', 'run', 'soaked', ...P, '--set', 's2=4.1.0', '--wait', '--json'], {timeoutMs: 60_000})
    expect(next.json().status).toBe('succeeded')
  })
})
