// Pipeline runs that do not simply succeed (issue 13), with the real CLI and server: a failed stage
// stops the run (and with onFailure: rollback rolls the stage back), queue fifo and supersede, pauses
// and freezes (exit 6), blocked versions, cancel, and a soak that starts again when an app degrades.
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {api, copyFixture, gateStarted, must, openGate, relctl, startServer, tempDir} from './harness.js'
import {releasesOf, runIdOf, runUntil, showRun} from './pipelines-helpers.js'

let state: string
const P = ['-p', 'pipes']

beforeAll(async () => {
  state = tempDir('relctl-e2e-state-')
  await startServer({env: {RELCTL_TEST_STATE: state, RELCTL_TEST_SLEEP: '0.2'}})
  await must(['project', 'apply', '-f', copyFixture('pipelines').file])
  // qa1 and qa2 run 1.0.0, so that a release there has something to roll back to.
  await Promise.all(['qa1', 'qa2'].map((environment) => must(['release', 'trigger', '--type', 'launch', ...P, '-e', environment, '--wait'])))
})

/** The pipeline.waiting events of a run, through the API's long poll (setup reads; the assertions are on what they say). */
async function waitingEvents(run: number): Promise<{message: string; until?: string}[]> {
  const page = await api<{events: {data: {id: number; waitingFor: {message: string; until?: string} | null}}[]}>('/v1/events?after=0&project=pipes&kinds=pipeline.waiting')
  return page.events.filter((event) => event.data.id === run).map((event) => event.data.waitingFor as {message: string; until?: string})
}

describe('failures', () => {
  it('onFailure stop: a failed release fails its stage and the run (exit 3, with its failed tasks); later stages do not start', async () => {
    const result = await relctl(['pipeline', 'run', 'main', ...P, '--set', 's1=6.0.0-broken', '--wait', '--json'], {timeoutMs: 90_000})
    expect(result.code).toBe(3)
    const {run} = result.json()
    expect(run).toMatchObject({status: 'failed', error: expect.stringMatching(/^stage 1 \(dev\) failed: release \d+ \(dev\) failed: task failed: s1$/)})
    expect(run.stages.map((stage: {status: string}) => stage.status)).toEqual(['failed', 'skipped', 'skipped'])
    expect(releasesOf(run).map((release) => release.environment)).toEqual(['dev'])
    expect(result.stderr).toContain('Task s1 (create 6.0.0-broken) failed: exited with code 1')
    expect(result.stderr).toContain('| error: s1 6.0.0-broken does not start')
    expect(result.stderr).toContain(`Hint: see it all with: relctl pipeline show ${run.id}`)
  })

  it('onFailure rollback: the failed stage\'s environments are rolled back with ordinary rollback releases, then the run fails', async () => {
    writeFileSync(join(state, 'fail-qa2'), '')
    const result = await relctl(['pipeline', 'run', 'careful', ...P, '--set', 's1=2.0.0', '--wait', '--json'], {timeoutMs: 90_000})
    expect(result.code).toBe(3)
    const {run} = result.json()
    const [qa1, qa2] = run.stages[1].steps[0].environments
    expect(qa1).toMatchObject({environment: 'qa1', release: {status: 'succeeded'}, rollback: {status: 'succeeded', type: 'rollback', source: 'pipeline', options: {rollbackOf: qa1.release.id}}})
    expect(qa2).toMatchObject({environment: 'qa2', release: {status: 'failed'}, rollback: null, note: `not rolled back: release ${qa2.release.id} changed nothing; there is nothing to roll back`})
    expect(run.error).toBe(
      `stage 2 (qa1, qa2) failed: release ${qa2.release.id} (qa2) failed: task failed: s1; rollbacks: qa2: not rolled back: release ${qa2.release.id} changed nothing; there is nothing to roll back; release ${qa1.rollback.id} (qa1) succeeded`,
    )
    expect(run.stages[2].status).toBe('skipped')
    expect(result.stderr).toContain(`stage 2 (qa1, qa2; parallel) qa1: rolled back by release ${qa1.rollback.id} succeeded`)
    const apps = (await must(['app', 'list', ...P, '-e', 'qa1', '--json'])).json() as {name: string; desiredVersion: string; deployedVersion: string}[]
    expect(apps.find((app) => app.name === 's1')).toMatchObject({desiredVersion: '1.0.0', deployedVersion: '1.0.0'})
  })
})

describe('queues', () => {
  it('fifo: a newer run waits for the older one; --on-conflict fail refuses it (exit 5); each runs in turn', async () => {
    const first = runIdOf((await must(['pipeline', 'run', 'soaked', ...P, '--set', 's2=5.0.0-gate'])).stdout)
    const firstRun = await runUntil(first, (run) => releasesOf(run).length === 1, 'releases dev')
    const gate = releasesOf(firstRun)[0].id
    await gateStarted(state, gate)
    const second = runIdOf((await must(['pipeline', 'run', 'soaked', ...P, '--set', 's2=5.1.0'])).stdout)
    const queued = await showRun(second)
    expect(queued).toMatchObject({status: 'queued', waitingFor: {reason: 'queue', message: `waits for run ${first} of pipeline soaked to end (queue: fifo)`, runs: [first]}})
    const refused = await relctl(['pipeline', 'run', 'soaked', ...P, '--set', 's2=5.2.0', '--on-conflict', 'fail'])
    expect(refused.code).toBe(5)
    expect(refused.stderr).toContain(`run ${first} of pipeline soaked is running (queue: fifo), and this run would wait for it; nothing was recorded`)
    expect(refused.stderr).toContain(`Hint: wait for it (relctl pipeline wait ${first}), or run with --on-conflict queue`)
    openGate(state, gate)
    // the version goes on to staging, where it waits at the gate too
    openGate(state, releasesOf(await runUntil(first, (run) => releasesOf(run).length === 2, 'releases staging'))[1].id)
    expect((await must(['pipeline', 'wait', String(second), '--json'], {timeoutMs: 90_000})).json().status).toBe('succeeded')
    const [older, newer] = [await showRun(first), await showRun(second)]
    expect(older.status).toBe('succeeded')
    expect(Date.parse(releasesOf(newer)[0].createdAt)).toBeGreaterThanOrEqual(Date.parse(releasesOf(older)[1].finishedAt as string))
  })

  it('supersede: a newer run ends the older one at its next stage; the older one\'s running release is not touched', async () => {
    const older = runIdOf((await must(['pipeline', 'run', 'latest', ...P, '--set', 's2=7.0.0-gate'])).stdout)
    const gate = releasesOf(await runUntil(older, (run) => releasesOf(run).length === 1, 'releases dev'))[0].id
    await gateStarted(state, gate)
    const newer = runIdOf((await must(['pipeline', 'run', 'latest', ...P, '--set', 's2=8.0.0'])).stdout)
    const [stillRunning, started] = [await showRun(older), await showRun(newer)]
    expect(stillRunning).toMatchObject({status: 'running', supersededBy: newer})
    expect(started.status).toBe('running')
    openGate(state, gate)
    const waited = await relctl(['pipeline', 'wait', String(older), '--json'], {timeoutMs: 90_000})
    expect(waited.code).toBe(3)
    expect(waited.json()).toMatchObject({error: {code: 'pipeline_superseded', hint: `the newer run goes on: relctl pipeline wait ${newer}`}, run: {status: 'superseded', error: `run ${newer} replaced it (queue: supersede)`}})
    expect(releasesOf(waited.json().run).map((release) => `${release.environment} ${release.status}`)).toEqual(['dev succeeded'])
    expect((await must(['pipeline', 'wait', String(newer), '--json'], {timeoutMs: 90_000})).json().status).toBe('succeeded')
    const staging = (await must(['app', 'list', ...P, '-e', 'staging', '--json'])).json() as {name: string; deployedVersion: string}[]
    expect(staging.find((app) => app.name === 's2')?.deployedVersion).toBe('8.0.0')
  })
})

describe('pauses and cancels', () => {
  it('a paused first environment refuses the run (exit 6, nothing recorded); a pause later on blocks it, and its wait ends with exit 6', async () => {
    await must(['pause', ...P, '-e', 'dev', '--reason', 'incident 4411'])
    const refused = await relctl(['pipeline', 'run', 'soaked', ...P, '--set', 's1=9.0.0'])
    expect(refused.code).toBe(6)
    expect(refused.stderr).toContain("releases are paused for pipes/dev by admin since")
    expect(refused.stderr).toContain("incident 4411; the run's first stage could not start, so no run was recorded")
    await must(['resume', ...P, '-e', 'dev'])

    await must(['pause', ...P, '-e', 'staging', '--reason', 'freeze'])
    const id = runIdOf((await must(['pipeline', 'run', 'soaked', ...P, '--set', 's1=9.0.0'])).stdout)
    await runUntil(id, (run) => run.waitingFor?.reason === 'paused', 'blocked by the pause of staging')
    const blocked = await relctl(['pipeline', 'wait', String(id), '--timeout', '1s', '--json'])
    expect(blocked.code).toBe(6)
    expect(blocked.json().error.message).toMatch(new RegExp(`^timed out after 1\\.0s; pipeline run ${id} is blocked by a pause: staging: releases are paused for pipes/staging by admin since \\S+: freeze$`))
    await must(['resume', ...P, '-e', 'staging'])
    expect((await must(['pipeline', 'wait', String(id), '--json'], {timeoutMs: 60_000})).json().status).toBe('succeeded')
  })

  it('a freeze refuses a run whose first environment it holds (exit 6); one on a later stage holds the run there until it is deleted; a blocked version refuses the run (exit 2)', async () => {
    const dev = (await must(['freeze', 'add', ...P, '-e', 'dev', '--from', '2020-01-01T00:00', '--to', '2999-01-01T00:00Z', '--reason', 'audit', '--json'])).json()
    const refused = await relctl(['pipeline', 'run', 'soaked', ...P, '--set', 's1=9.1.0'])
    expect(refused.code).toBe(6)
    expect(refused.stderr).toContain("releases are frozen: freeze until 2999-01-01T00:00:00.000Z: audit")
    expect(refused.stderr).toContain("the run's first stage could not start, so no run was recorded")
    await must(['freeze', 'delete', String(dev.id)])

    const staging = (await must(['freeze', 'add', ...P, '-e', 'staging', '--from', '2020-01-01T00:00', '--to', '2999-01-01T00:00Z', '--reason', 'quarter end', '--json'])).json()
    const id = runIdOf((await must(['pipeline', 'run', 'soaked', ...P, '--set', 's1=9.1.0'])).stdout)
    await runUntil(id, (run) => run.waitingFor?.reason === 'freeze', 'held by the freeze of staging')
    const held = await relctl(['pipeline', 'wait', String(id), '--timeout', '1s', '--json'])
    expect(held.code).toBe(6)
    expect(held.json().error.message).toContain(`pipeline run ${id} is blocked by a freeze: staging: releases are frozen: freeze until 2999-01-01T00:00:00.000Z: quarter end`)
    expect(releasesOf(await showRun(id)).map((release) => release.environment)).toEqual(['dev'])
    await must(['freeze', 'delete', String(staging.id)])
    expect((await must(['pipeline', 'wait', String(id), '--json'], {timeoutMs: 60_000})).json().status).toBe('succeeded')

    await must(['app', 'block', 's1', '9.2.0', ...P, '--reason', 'corrupts data'])
    const newest = async () => (await must(['pipeline', 'list', ...P, '--json'])).json()[0]?.id
    const before = await newest()
    const blocked = await relctl(['pipeline', 'run', 'soaked', ...P, '--set', 's1=9.2.0', '--json'])
    expect(blocked.code).toBe(2)
    expect(blocked.json().error.message).toMatch(/^pipeline soaked would deploy a blocked version: s1 9\.2\.0 is blocked in project pipes by admin since \S+: corrupts data$/)
    expect(await newest()).toBe(before)
    await must(['app', 'unblock', 's1', '9.2.0', ...P])
  })

  it('cancel: no other stage starts, its running release is stopped, and its waiters exit 3', async () => {
    const id = runIdOf((await must(['pipeline', 'run', 'latest', ...P, '--set', 's1=10.0.0-gate'])).stdout)
    const gate = releasesOf(await runUntil(id, (run) => releasesOf(run).length === 1, 'releases dev'))[0].id
    await gateStarted(state, gate)
    const cancelled = await must(['pipeline', 'cancel', String(id), '--json'])
    expect(cancelled.json()).toMatchObject({status: 'cancelled', decision: {decision: 'cancelled', by: 'admin'}, error: 'cancelled by admin'})
    const run = await showRun(id)
    expect(run.stages[0].steps[0].environments[0].release?.status).toBe('cancelled')
    expect(run.stages.map((stage) => stage.status)).toEqual(['cancelled', 'skipped'])
    const wait = await relctl(['pipeline', 'wait', String(id)])
    expect(wait.code).toBe(3)
    const again = await relctl(['pipeline', 'cancel', String(id)])
    expect(again.code).toBe(2)
    expect(again.stderr).toContain(`pipeline run ${id} has already ended (cancelled); there is nothing to cancel`)
    expect(existsSync(join(state, `open-${gate}`))).toBe(false)
  })
})

describe('soaks', () => {
  it('a soak starts again when an app degrades and recovers, and pipeline show says how long is left', async () => {
    const id = runIdOf((await must(['pipeline', 'run', 'watched', ...P, '--set', 's1=11.0.0'])).stdout)
    const soaking = await runUntil(id, (run) => run.waitingFor?.reason === 'soak' && run.waitingFor.until !== undefined, 'soaks')
    const firstUntil = soaking.waitingFor?.until as string
    expect(soaking.waitingFor?.leftMs).toBeGreaterThan(3_500_000)
    expect((await must(['pipeline', 'show', String(id)])).stdout).toMatch(/stage 1 \(qa1\)  soaking  gate: soak 1h, (59m\d\ds|1h00m) left/)

    // qa1's s1 degrades: a release of a broken version fails there.
    await must(['app', 'set', 's1', '--version', '11.0.0-broken', ...P, '-e', 'qa1'])
    expect((await relctl(['release', 'sync', 's1', ...P, '-e', 'qa1', '--wait'])).code).toBe(3)
    const held = await runUntil(id, (run) => run.waitingFor?.message.includes('held') ?? false, 'holds the soak')
    expect(held.waitingFor?.message).toBe('soak of stage 1 (qa1) held: s1 in qa1 is OutOfSync/Degraded; its 1h start again once every app is Synced and Healthy')
    expect(held.waitingFor?.until).toBeUndefined()

    // ...and recovers: the soak starts again, from the recovery.
    await must(['app', 'set', 's1', '--version', '11.0.0', ...P, '-e', 'qa1'])
    const fix = JSON.parse((await must(['release', 'trigger', '--resources', 's1', ...P, '-e', 'qa1', '--wait', '--json'])).stdout)
    const again = await runUntil(id, (run) => run.waitingFor?.reason === 'soak' && run.waitingFor.until !== undefined, 'soaks again')
    const secondUntil = again.waitingFor?.until as string
    // from the app's recovery, recorded as its deploy ended (just before its release did)
    expect(Date.parse(secondUntil)).toBeGreaterThanOrEqual(Date.parse(fix.startedAt) + 3_600_000)
    expect(Date.parse(secondUntil)).toBeLessThanOrEqual(Date.parse(fix.finishedAt) + 3_600_000)
    expect(Date.parse(secondUntil)).toBeGreaterThan(Date.parse(firstUntil))
    expect(releasesOf(again).map((release) => release.environment)).toEqual(['qa1'])
    const messages = (await waitingEvents(id)).map((waiting) => (waiting.message.includes('held') ? 'held' : `soak until ${waiting.until}`))
    expect(messages).toEqual([`soak until ${firstUntil}`, 'held', `soak until ${secondUntil}`])
    await must(['pipeline', 'cancel', String(id)])
  })
})
