// Issue 14 through a real Engine over SQLite, most with an injected clock: freezes (refusal, queue,
// override, levels, deletes, schedules, the end of a window), pause of the control plane, expiry and
// deadlines, supersede queues, retries of a flaky deploy and of hooks, release retry, blocked versions.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import type {Release, TriggerRequest} from '../../../../src/lib/api/schemas.js'
import type {Engine} from '../../../../src/lib/server/engine/engine.js'
import {caught, createTestEngine, SHOP_BLUEPRINT, type TestEngine, type TestEngineOptions, testClock, waitFor, waitForFinal, waitForStatus} from '../../../helpers/engine.js'

const P = 'shop'
const E = 'prod'
const alice = {subject: 'alice', idempotencyKey: null}
const T0 = '2026-12-21T10:00:00.000Z'
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString()
const FAST = SHOP_BLUEPRINT.replaceAll('duration: 100ms', 'duration: 20ms').replace('duration: 150ms', 'duration: 30ms')
/** A short lease: the sweep (which expires queued releases and admits what a window's end let go) runs every 500 ms. */
const SWEEPING = {replica: {leaseMs: 1500}}

const opened: TestEngine[] = []
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close()
})

async function setup(options: TestEngineOptions = {}, blueprint: string = FAST) {
  const clock = testClock(T0)
  const t = await createTestEngine(blueprint, {now: clock, ...options})
  opened.push(t)
  return {...t, clock}
}

async function trigger(engine: Engine, request: TriggerRequest, environment = E): Promise<Release> {
  const outcome = await engine.trigger(P, environment, request, alice)
  if ('dryRun' in outcome) throw new Error('expected a release')
  return outcome.release
}

const selective = (...names: string[]): TriggerRequest => ({type: 'selective', resources: names.map((name) => ({name}))})

function script(dir: string, name: string, body: string) {
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`, {mode: 0o755})
}

describe('Engine: freezes', () => {
  it('refuses a trigger while a window is open; --on-freeze queue queues it until the window ends; dry runs, env show and freeze list name it', async () => {
    const {engine, clock} = await setup(SWEEPING)
    const freeze = await engine.addFreeze({project: P, environment: E, from: at(-60), to: at(60), reason: 'year-end'}, 'ops')
    expect(freeze).toMatchObject({level: 'environment', current: {startsAt: at(-60), endsAt: at(60)}, next: null, createdBy: 'ops'})
    const words = `freeze until ${at(60)}: year-end (freeze ${freeze.id} on shop/prod, by ops)`

    const refused = await caught(engine.trigger(P, E, selective('api'), alice))
    expect(refused.code).toBe('frozen')
    expect(refused.message).toBe(`releases are frozen: ${words}; nothing was queued`)
    expect(await engine.listReleases({project: P, limit: 10})).toEqual([])
    const dryRun = await engine.trigger(P, E, {...selective('api'), dryRun: true}, alice)
    expect(dryRun).toMatchObject({dryRun: true, wouldWaitFor: {reason: 'freeze', freeze: freeze.id, until: at(60)}})
    expect('dryRun' in dryRun && dryRun.wouldWaitFor?.message).toBe(`${words}; a trigger is refused now (exit 6) unless it has --on-freeze queue or --override-freeze`)

    const queued = await trigger(engine, {...selective('api'), onFreeze: 'queue'})
    expect(queued).toMatchObject({status: 'queued', waitingFor: {reason: 'freeze', message: words, freeze: freeze.id, until: at(60)}})
    expect(await engine.getEnvironment(P, E)).toMatchObject({frozen: true, freezes: [{freeze: freeze.id, level: 'environment', inForce: true, endsAt: at(60), reason: 'year-end'}]})
    // Other environments are not frozen.
    expect((await engine.getEnvironment(P, 'staging')).frozen).toBe(false)
    expect((await waitForFinal(engine, (await trigger(engine, selective('worker'), 'staging')).id)).status).toBe('succeeded')
    expect((await engine.listFreezes({project: P, environment: 'staging'})).map((listed) => listed.id)).toEqual([])
    expect((await engine.listFreezes({project: P, environment: E})).map((listed) => listed.id)).toEqual([freeze.id])

    // The window ends: the sweep admits what it held, with nobody acting.
    clock.set(at(60))
    expect((await waitForFinal(engine, queued.id)).status).toBe('succeeded')
    expect(await engine.getEnvironment(P, E)).toMatchObject({frozen: false, freezes: []})
    expect(await engine.listFreezes({})).toEqual([])
  })

  it('an override starts at once, past the releases the freeze holds, and is recorded on the release; a pause still holds it', async () => {
    const {engine} = await setup()
    await engine.addFreeze({project: P, from: at(-1), to: at(600), reason: 'holidays'}, 'ops')
    const held = await trigger(engine, {...selective('api'), onFreeze: 'queue'})
    const override = await trigger(engine, {...selective('worker'), overrideFreeze: {reason: 'incident 4411'}})
    const done = await waitForFinal(engine, override.id)
    expect(done).toMatchObject({status: 'succeeded', freezeOverride: {by: 'alice', reason: 'incident 4411', at: T0}})
    expect((await engine.getRelease(held.id)).status).toBe('queued')
    await engine.pause(P, E, 'incident', 'ops')
    const paused = await caught(engine.trigger(P, E, {...selective('worker'), overrideFreeze: {reason: 'again'}}, alice))
    expect(paused.code).toBe('paused')
  })

  it('a freeze of the control plane or of a project holds every environment under it; deleting one lets its queue go at once', async () => {
    const {engine} = await setup()
    const all = await engine.addFreeze({from: at(-1), to: at(600), reason: 'holidays'}, 'ops')
    expect(all).toMatchObject({level: 'control-plane', project: null, environment: null})
    for (const environment of ['prod', 'staging']) expect((await caught(engine.trigger(P, environment, selective('api'), alice))).message).toContain(`freeze ${all.id} on the whole control plane`)
    const held = await trigger(engine, {...selective('api'), onFreeze: 'queue'}, 'staging')
    const project = await engine.addFreeze({project: P, cron: '0 9 * * 1', duration: '8h', timezone: 'Europe/Berlin', reason: 'monday meetings'}, 'ops')
    // Monday 21 December, 11:00 in Berlin: the project's window (09:00-17:00) is in force too, and ends first.
    expect((await engine.getEnvironment(P, 'staging')).freezes.filter((window) => window.inForce).map((window) => window.freeze)).toEqual([project.id, all.id])
    await engine.deleteFreeze(all.id, 'ops')
    expect((await engine.getRelease(held.id)).waitingFor).toMatchObject({reason: 'freeze', freeze: project.id, until: '2026-12-21T16:00:00.000Z'})
    await engine.deleteFreeze(project.id, 'ops')
    expect((await waitForFinal(engine, held.id)).status).toBe('succeeded')
    expect((await caught(engine.deleteFreeze(project.id, 'ops'))).code).toBe('not_found')
  })

  it('refuses a freeze whose scope does not exist, and one whose window it cannot read', async () => {
    const {engine} = await setup()
    expect((await caught(engine.addFreeze({project: 'nope', from: at(1), to: at(2), reason: 'x'}, 'ops'))).code).toBe('not_found')
    expect((await caught(engine.addFreeze({environment: E, from: at(1), to: at(2), reason: 'x'}, 'ops'))).message).toBe('an environment needs its project')
    expect((await caught(engine.addFreeze({project: P, from: 'tomorrow', to: at(2), reason: 'x'}, 'ops'))).message).toContain('--from: "tomorrow" is not a date and time')
  })

  it('a scheduled run during a freeze is skipped with the freeze as the reason', async () => {
    const {engine, clock} = await setup({start: false})
    await engine.setSchedule(P, E, {every: '1h', type: 'full'}, 'alice')
    const freeze = await engine.addFreeze({project: P, environment: E, from: at(30), to: at(90), reason: 'year-end'}, 'ops')
    clock.set(at(61))
    await engine.fireDueSchedules()
    const [run] = (await engine.getSchedule(P, E)).runs
    expect(run).toMatchObject({outcome: 'skipped', releaseId: null, reason: `releases are frozen: freeze until ${at(90)}: year-end (freeze ${freeze.id} on shop/prod, by ops)`})
  })

  it('pause --all holds every project; resume --all lifts only the control plane and says which pauses still hold', async () => {
    const {engine} = await setup()
    expect(await engine.pause(null, null, 'datacenter move', 'ops')).toMatchObject({pause: {level: 'control-plane', project: null, environment: null, reason: 'datacenter move'}, alreadyPaused: false})
    expect((await engine.pause(null, null, 'again', 'bo')).alreadyPaused).toBe(true)
    const refused = await caught(engine.trigger(P, 'staging', selective('api'), alice))
    expect(refused.message).toBe(`releases are paused for the whole control plane (every project) by ops since ${T0}: datacenter move; nothing was queued`)
    expect(refused.extra.hint).toBe('when it is time, resume with: relctl resume --all')
    await engine.pause(P, E, 'incident', 'ops')
    expect((await engine.getEnvironment(P, E)).pauses.map((pause) => pause.level)).toEqual(['control-plane', 'environment'])
    const resumed = await engine.resume(null, null, 'ops')
    expect(resumed).toMatchObject({resumed: true, stillPaused: [{level: 'environment', project: P, environment: E}]})
    expect((await waitForFinal(engine, (await trigger(engine, selective('api'), 'staging')).id)).status).toBe('succeeded')
  })
})

describe('Engine: expiry and deadlines', () => {
  it('a queued release not started within --expire-after is cancelled by the sweep, reason expired', async () => {
    const {engine, clock} = await setup(SWEEPING)
    await engine.addFreeze({project: P, environment: E, from: at(-1), to: at(600), reason: 'year-end'}, 'ops')
    const waiting = await trigger(engine, {...selective('api'), onFreeze: 'queue', expireAfter: '10m'})
    expect(waiting).toMatchObject({status: 'queued', expiresAt: at(10), options: {expireAfterMs: 600_000}})
    clock.set(at(10))
    const expired = await waitForStatus(engine, waiting.id, 'cancelled')
    expect(expired).toMatchObject({endReason: 'expired', finishedAt: at(10), error: 'expired: it did not start within 10m00s of its trigger (--expire-after)'})
    expect((await caught(engine.trigger(P, E, {...selective('api'), onFreeze: 'queue', expireAfter: 'soon'}, alice))).message).toContain('--expire-after: "soon" is not a duration')
  })

  it('a running release past its --deadline is stopped and ends failed, reason deadline; its stopped task is cancelled and its app Unknown', async () => {
    const blueprint = `project: shop
resources:
  slow:
    driver: exec
    exec: { deploy: ./slow.sh }
  quick:
    driver: simulate
    simulate: { duration: 10ms }
environments:
  prod: {}
`
    const {engine, clock, dir} = await setup({replica: {leaseMs: 60_000}}, blueprint)
    script(dir, 'slow.sh', 'echo started; sleep 30')
    const release = await trigger(engine, {...selective('slow'), deadline: '5s'})
    const running = await waitFor(async () => {
      const current = await engine.getRelease(release.id)
      return current.tasks?.[0]?.status === 'running' ? current : undefined
    }, 'the slow deploy to run')
    expect(running).toMatchObject({options: {deadlineMs: 5000}, deadlineAt: new Date(Date.parse(T0) + 5000).toISOString()})
    clock.advance(5000)
    const failed = await waitForFinal(engine, release.id)
    expect(failed).toMatchObject({status: 'failed', endReason: 'deadline', error: `deadline: it ran past its deadline of 5.0s (${running.deadlineAt}); stopped: slow`})
    expect(failed.tasks?.[0]).toMatchObject({status: 'cancelled', error: 'stopped: the release ran past its deadline'})
    expect((await engine.listApps(P, E)).find((app) => app.name === 'slow')?.health).toBe('Unknown')
    // A release that ends in time keeps its deadline as a note only.
    expect((await waitForFinal(engine, (await trigger(engine, {...selective('quick'), deadline: '5s'})).id)).status).toBe('succeeded')
  })
})

describe('Engine: supersede queues', () => {
  it('in supersede mode a newer release cancels the waiting releases it covers ("superseded by release N"), never a running one; fifo keeps them', async () => {
    const blueprint = `project: shop
resources:
  api:
    driver: exec
    exec: { deploy: ./deploy.sh }
  web:
    driver: simulate
    simulate: { duration: 10ms }
environments:
  prod: {}
  staging: {}
`
    const {engine, dir} = await setup({}, blueprint)
    script(dir, 'deploy.sh', 'while [ ! -e open ]; do sleep 0.05; done')
    expect((await engine.setQueue({project: P, environment: E, mode: 'supersede'}, 'ops')).queueMode).toEqual({value: 'supersede', source: 'environment'})
    const running = await trigger(engine, selective('api'))
    await waitForStatus(engine, running.id, 'running')
    const older = await trigger(engine, selective('api'))
    const web = await trigger(engine, selective('web'))
    const newer = await trigger(engine, selective('api', 'web'))
    for (const id of [older.id, web.id]) expect(await engine.getRelease(id)).toMatchObject({status: 'cancelled', endReason: 'superseded', error: `superseded by release ${newer.id}`})
    expect((await engine.getRelease(running.id)).status).toBe('running')
    expect((await engine.getRelease(newer.id)).status).toBe('queued')
    // fifo (staging): both wait.
    writeFileSync(join(dir, 'open'), '')
    const first = await trigger(engine, selective('web'), 'staging')
    const second = await trigger(engine, selective('web'), 'staging')
    for (const id of [running.id, newer.id, first.id, second.id]) expect((await waitForFinal(engine, id)).status).toBe('succeeded')
  })
})

describe('Engine: retries', () => {
  it('a flaky deploy is tried again after the backoff and succeeds on attempt 3; each attempt is recorded and its log lines numbered', async () => {
    const blueprint = `project: shop
resources:
  flaky:
    driver: exec
    exec: { deploy: ./flaky.sh }
    retries: { attempts: 3, backoff: 50ms }
  broken:
    driver: exec
    exec: { deploy: ./broken.sh }
environments:
  prod:
    targets: [eu-1]
    rollout: { targets: sequential }
    hooks: { beforeTarget: ./hook.sh, retries: { attempts: 2, backoff: 10ms } }
`
    const {engine, store, dir} = await setup({}, blueprint)
    script(dir, 'flaky.sh', 'n=$(cat tries 2>/dev/null || echo 0); n=$((n + 1)); echo $n > tries; echo "try $n"; [ "$n" -ge 3 ]')
    script(dir, 'broken.sh', 'echo broken; exit 1')
    script(dir, 'hook.sh', 'n=$(cat hook-tries 2>/dev/null || echo 0); n=$((n + 1)); echo $n > hook-tries; [ "$n" -ge 2 ]')
    const release = await waitForFinal(engine, (await trigger(engine, selective('flaky', 'broken'))).id)
    expect(release.status).toBe('failed')
    const task = (key: string) => release.tasks?.find((candidate) => candidate.key === key)
    expect(task('flaky@eu-1')).toMatchObject({status: 'succeeded', attempt: 3, attempts: 3})
    expect(task('broken@eu-1')).toMatchObject({status: 'failed', attempt: 1, attempts: 1})
    expect(task('beforeTarget@eu-1')).toMatchObject({status: 'succeeded', attempt: 2, attempts: 2})
    expect(readFileSync(join(dir, 'tries'), 'utf8').trim()).toBe('3')
    const {lines} = await engine.readLogs(release.id, 0, 1000, {resource: 'flaky'})
    expect(lines.filter((line) => line.stream === 'stdout').map((line) => [line.attempt, line.line])).toEqual([
      [1, 'try 1'],
      [2, 'try 2'],
      [3, 'try 3'],
    ])
    expect(lines.filter((line) => line.stream === 'system').map((line) => line.line)).toEqual(
      expect.arrayContaining(['attempt 1/3', 'attempt 1/3 failed; attempt 2 in 50ms', 'attempt 2/3', 'attempt 2/3 failed; attempt 3 in 100ms', 'attempt 3/3']),
    )
    const started = (await store.listEvents(0, 10_000, {releaseId: release.id})).filter((event) => event.kind === 'task.started' && (event.data as {key: string}).key === 'flaky@eu-1')
    expect(started.map((event) => (event.data as {attempt: number}).attempt)).toEqual([1, 2, 3])
  })
})

describe('Engine: release retry', () => {
  it('runs again, at the same versions and with the same options, the tasks that did not succeed; refused while active or when it succeeded', async () => {
    const {engine} = await setup()
    await engine.setDesiredVersion(P, E, 'api', '6.6.6')
    const failed = await waitForFinal(engine, (await trigger(engine, {type: 'full', force: true, deadline: '10m'})).id)
    expect(failed.status).toBe('failed')
    expect(failed.tasks?.map((task) => `${task.key}:${task.status}`).sort()).toEqual(['api:failed', 'db:succeeded', 'web:skipped', 'worker:succeeded'])
    await engine.setDesiredVersion(P, E, 'api', '1.0.1')
    const dryRun = await engine.retry(failed.id, {dryRun: true}, alice)
    expect(dryRun).toMatchObject({dryRun: true, type: 'selective', resources: [{name: 'api', toVersion: '6.6.6'}, {name: 'web'}]})
    const outcome = await engine.retry(failed.id, {comment: 'once more'}, alice)
    if ('dryRun' in outcome) throw new Error('expected a release')
    expect(outcome.release).toMatchObject({type: 'selective', force: true, comment: 'once more', options: {retryOf: failed.id, deadlineMs: 600_000}})
    expect(outcome.release.resources.map((resource) => `${resource.name}@${resource.toVersion}`)).toEqual(['api@6.6.6', `web@${failed.resources.find((r) => r.name === 'web')?.toVersion}`])
    expect((await waitForFinal(engine, outcome.release.id)).status).toBe('failed')
    const succeeded = await waitForFinal(engine, (await trigger(engine, selective('worker'))).id)
    expect((await caught(engine.retry(succeeded.id, {}, alice))).message).toBe(`release ${succeeded.id} succeeded; there is nothing to retry`)
    expect((await caught(engine.retry(9999, {}, alice))).code).toBe('not_found')
  })
})

describe('Engine: blocked versions', () => {
  it('trigger, sync, app set, rollback and schedules refuse a blocked version, naming who blocked it and why; a queued release that would deploy it fails to start', async () => {
    const {engine, clock} = await setup({start: false})
    const deployed = await waitForFinal(engine, (await trigger(engine, selective('api'))).id)
    expect(deployed.status).toBe('succeeded')
    const {block} = await engine.blockVersion(P, 'api', '1.0.0', 'memory leak', 'ops')
    expect(await engine.blockVersion(P, 'api', '1.0.0', 'again', 'bo')).toMatchObject({alreadyBlocked: true, block: {by: 'ops', reason: 'memory leak'}})
    expect((await caught(engine.blockVersion(P, 'nope', '1', 'x', 'ops'))).code).toBe('not_found')
    const words = `api 1.0.0 is blocked in project shop by ops since ${block.at}: memory leak`
    await engine.setDesiredVersion(P, E, 'api', '1.1.0')
    expect((await caught(engine.setDesiredVersion(P, E, 'api', '1.0.0'))).message).toBe(`api cannot be set to 1.0.0: ${words}`)
    // A rollback of the release that took api to 1.1.0 would take it back to the blocked 1.0.0.
    const update = await waitForFinal(engine, (await trigger(engine, selective('api'))).id)
    const rollback = await caught(engine.rollback(update.id, {}, alice))
    expect(rollback).toMatchObject({code: 'blocked_version', message: `the rollback of release ${update.id} would deploy a blocked version: ${words}`})
    expect(await engine.unblockVersion(P, 'api', '1.0.0', 'ops')).toMatchObject({unblocked: true, block: {version: '1.0.0'}})
    expect(await engine.unblockVersion(P, 'api', '1.0.0', 'ops')).toEqual({unblocked: false, block: null})
    await engine.setDesiredVersion(P, E, 'api', '1.2.0')
    await engine.blockVersion(P, 'api', '1.2.0', 'bad build', 'ops')
    const sync = await caught(engine.sync(P, E, ['api'], {force: false, refresh: false, dryRun: false, comment: null, source: 'cli'}, alice))
    expect(sync.code).toBe('blocked_version')
    expect(sync.message).toMatch(/^this selective release would deploy a blocked version: api 1.2.0 is blocked in project shop by ops since .*: bad build$/)
    await engine.setSchedule(P, E, {every: '1h', type: 'selective', resources: ['api']}, 'alice')
    clock.set(at(61))
    await engine.fireDueSchedules()
    expect((await engine.getSchedule(P, E)).runs[0]).toMatchObject({outcome: 'skipped', reason: expect.stringContaining('the scheduled selective release would deploy a blocked version: api 1.2.0')})
    expect((await engine.listApps(P, E)).find((app) => app.name === 'api')?.blockedVersions).toEqual([expect.objectContaining({version: '1.2.0', reason: 'bad build'})])
  })

  it('a queued release whose version is blocked after it queued fails when it would start', async () => {
    const {engine} = await setup()
    await engine.addFreeze({project: P, environment: E, from: at(-1), to: at(600), reason: 'hold'}, 'ops')
    const held = await trigger(engine, {...selective('api'), onFreeze: 'queue'})
    await engine.blockVersion(P, 'api', '1.0.0', 'memory leak', 'ops')
    const [freeze] = await engine.listFreezes({project: P})
    await engine.deleteFreeze(freeze.id, 'ops')
    const failed = await waitForFinal(engine, held.id)
    expect(failed).toMatchObject({status: 'failed', error: expect.stringMatching(/^could not start: release \d+ would deploy a blocked version: api 1.0.0 is blocked in project shop by ops/)})
  })
})
