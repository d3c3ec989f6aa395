// Settings, parallel releases, state locks and approvals through a real Engine over SQLite.
import {afterEach, describe, expect, it} from 'vitest'

import type {Release, TriggerRequest} from '../../../../src/lib/api/schemas.js'
import type {Engine} from '../../../../src/lib/server/engine/engine.js'
import {
  caught,
  createTestEngine,
  SHOP_BLUEPRINT,
  type TestEngine,
  type TestEngineOptions,
  testClock,
  waitFor,
  waitForFinal,
  waitForStatus,
} from '../../../helpers/engine.js'

const P = 'shop'
const E = 'prod'
const alice = {subject: 'alice', idempotencyKey: null}

/** Independent resources (no dependsOn), each deploying for `duration`. */
function independent(names: string[], duration: string, environments = ['staging', 'prod']): string {
  return [
    'project: shop',
    'resources:',
    ...names.flatMap((name) => [`  ${name}:`, '    driver: simulate', `    simulate: { duration: ${duration} }`]),
    'environments:',
    ...environments.map((environment) => `  ${environment}: {}`),
    '',
  ].join('\n')
}

const opened: TestEngine[] = []
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close()
})

async function setup(blueprint: string = SHOP_BLUEPRINT, options: TestEngineOptions = {}) {
  const t = await createTestEngine(blueprint, options)
  opened.push(t)
  return t
}

const selective = (...names: string[]): TriggerRequest => ({type: 'selective', resources: names.map((name) => ({name}))})
const trigger = async (engine: Engine, request: TriggerRequest, environment = E) => (await engine.trigger(P, environment, request, alice)).release

/** The span of a finished release's tasks: first task start to last task end. */
function taskSpan(release: Release): {start: string; end: string} {
  const tasks = release.tasks ?? []
  expect(tasks.length, `release ${release.id} has tasks`).toBeGreaterThan(0)
  for (const task of tasks) {
    expect(task.startedAt, `task ${task.resource} of ${release.id} started`).not.toBeNull()
    expect(task.finishedAt, `task ${task.resource} of ${release.id} finished`).not.toBeNull()
  }
  return {
    start: tasks.map((task) => task.startedAt as string).sort()[0],
    end: tasks.map((task) => task.finishedAt as string).sort().at(-1) as string,
  }
}

/** Two selective releases of independent resources conflict when they share a resource. */
const locks = (a: string[], b: string[]) => a.some((name) => b.includes(name))

const overlap = (a: {start: string; end: string}, b: {start: string; end: string}) => a.start < b.end && b.start < a.end

describe('Engine settings: values, scopes, sources and history', () => {
  it('records control-plane changes with who, when and old -> new, newest first', async () => {
    const clock = testClock('2026-03-02T10:00:00.000Z')
    const {engine} = await setup(SHOP_BLUEPRINT, {now: clock})

    const first = await engine.setParallel({enabled: true, max: 3}, 'alice')
    expect(first.scope).toEqual({project: null, environment: null})
    expect(first.parallel).toEqual({value: true, source: 'control-plane'})
    expect(first.maxParallel).toEqual({value: 3, source: 'control-plane'})
    expect(first.approval).toEqual({value: false, source: 'default'})
    expect(first.history).toEqual([
      {project: null, environment: null, setting: 'maxParallel', oldValue: null, newValue: '3', changedBy: 'alice', changedAt: '2026-03-02T10:00:00.000Z'},
      {project: null, environment: null, setting: 'parallel', oldValue: null, newValue: 'true', changedBy: 'alice', changedAt: '2026-03-02T10:00:00.000Z'},
    ])

    clock.set('2026-03-02T11:00:00.000Z')
    const second = await engine.setParallel({max: 5}, 'bob')
    expect(second.maxParallel).toEqual({value: 5, source: 'control-plane'})
    expect(second.history[0]).toEqual({project: null, environment: null, setting: 'maxParallel', oldValue: '3', newValue: '5', changedBy: 'bob', changedAt: '2026-03-02T11:00:00.000Z'})

    clock.set('2026-03-02T12:00:00.000Z')
    const third = await engine.setParallel({enabled: false}, 'carol')
    expect(third.parallel).toEqual({value: false, source: 'control-plane'})
    expect(third.history.map((change) => [change.setting, change.oldValue, change.newValue, change.changedBy])).toEqual([
      ['parallel', 'true', 'false', 'carol'],
      ['maxParallel', '3', '5', 'bob'],
      ['maxParallel', null, '3', 'alice'],
      ['parallel', null, 'true', 'alice'],
    ])

    // setting a value it already has records nothing
    const same = await engine.setParallel({enabled: false, max: 5}, 'dave')
    expect(same.history).toHaveLength(4)
    expect(await engine.getSettings()).toEqual(same)
  })

  it('keeps environment overrides and their history apart from the control plane', async () => {
    const {engine} = await setup()
    await engine.setParallel({enabled: true, max: 5}, 'admin')
    const prod = await engine.setParallel({project: P, environment: E, max: 2}, 'alice')
    expect(prod.scope).toEqual({project: P, environment: E})
    expect(prod.parallel).toEqual({value: true, source: 'control-plane'})
    expect(prod.maxParallel).toEqual({value: 2, source: 'environment'})
    expect(prod.approval).toEqual({value: false, source: 'default'})
    expect(prod.history).toEqual([
      {project: P, environment: E, setting: 'maxParallel', oldValue: null, newValue: '2', changedBy: 'alice', changedAt: expect.any(String)},
    ])

    const staging = await engine.getSettings(P, 'staging')
    expect(staging.scope).toEqual({project: P, environment: 'staging'})
    expect(staging.parallel).toEqual({value: true, source: 'control-plane'})
    expect(staging.maxParallel).toEqual({value: 5, source: 'control-plane'})
    expect(staging.history).toEqual([])

    const controlPlane = await engine.getSettings()
    expect(controlPlane.maxParallel).toEqual({value: 5, source: 'control-plane'})
    expect(controlPlane.history.map((change) => change.changedBy)).toEqual(['admin', 'admin'])

    // an explicit "off" in the environment wins over the control plane's "on"
    const off = await engine.setParallel({project: P, environment: E, enabled: false}, 'bob')
    expect(off.parallel).toEqual({value: false, source: 'environment'})
    expect(off.history[0]).toMatchObject({setting: 'parallel', oldValue: null, newValue: 'false', changedBy: 'bob'})
    expect((await engine.getEnvironment(P, E)).settings).toEqual({parallel: false, maxParallel: 2, approval: false, approvalsRequired: 1})
    expect((await engine.getEnvironment(P, 'staging')).settings).toEqual({parallel: true, maxParallel: 5, approval: false, approvalsRequired: 1})
  })

  it('records approval changes at both scopes', async () => {
    const {engine} = await setup()
    const prod = await engine.setApproval({project: P, environment: E, enabled: true}, 'alice')
    expect(prod.approval).toEqual({value: true, source: 'environment'})
    expect(prod.history).toEqual([{project: P, environment: E, setting: 'approval', oldValue: null, newValue: 'true', changedBy: 'alice', changedAt: expect.any(String)}])
    const controlPlane = await engine.setApproval({enabled: true}, 'bob')
    expect(controlPlane.approval).toEqual({value: true, source: 'control-plane'})
    expect((await engine.getSettings(P, 'staging')).approval).toEqual({value: true, source: 'control-plane'})
    const prodOff = await engine.setApproval({project: P, environment: E, enabled: false}, 'carol')
    expect(prodOff.approval).toEqual({value: false, source: 'environment'})
    expect(prodOff.history[0]).toMatchObject({oldValue: 'true', newValue: 'false', changedBy: 'carol'})
  })

  it('refuses bad scopes and empty changes with what to do', async () => {
    const {engine} = await setup()
    const nothing = await caught(engine.setParallel({}, 'alice'))
    expect(nothing.code).toBe('invalid_input')
    expect(nothing.message).toBe('nothing to change')
    expect(nothing.extra.hint).toBe('pass --enabled or --disabled, and/or --max N')

    const noProject = await caught(engine.getSettings(undefined, E))
    expect(noProject.message).toBe('an environment needs its project')
    const noEnvironment = await caught(engine.setApproval({project: P, enabled: true}, 'alice'))
    expect(noEnvironment.code).toBe('invalid_input')
    expect(noEnvironment.message).toBe('settings are per environment or for the whole control plane')
    const unknown = await caught(engine.setParallel({project: P, environment: 'qa', enabled: true}, 'alice'))
    expect(unknown.code).toBe('not_found')
    expect(unknown.message).toBe('environment "qa" not found in project shop; known: prod, staging')
    expect((await engine.getSettings()).history).toEqual([])
  })
})

describe('Engine settings: parallel releases and approvals exclude each other', () => {
  it('control plane: parallel on while approval is on is refused, saying to turn approval off first', async () => {
    const {engine} = await setup()
    await engine.setApproval({enabled: true}, 'alice')
    const error = await caught(engine.setParallel({enabled: true, max: 4}, 'bob'))
    expect(error.code).toBe('invalid_input')
    expect(error.status).toBe(422)
    expect(error.message).toBe(
      'parallel releases cannot be turned on: the approval workflow is on for the control plane, and the two exclude each other (a release pending approval cannot run in parallel)',
    )
    expect(error.extra.hint).toBe('turn the approval workflow off first: relctl settings set-approval --disabled')
    // nothing was changed or recorded, not even the max
    const settings = await engine.getSettings()
    expect(settings.parallel).toEqual({value: false, source: 'default'})
    expect(settings.maxParallel).toEqual({value: 10, source: 'default'})
    expect(settings.history.map((change) => change.setting)).toEqual(['approval'])
  })

  it('control plane: approval on while parallel is on is refused, saying to turn parallel off first', async () => {
    const {engine} = await setup()
    await engine.setParallel({enabled: true}, 'alice')
    const error = await caught(engine.setApproval({enabled: true}, 'bob'))
    expect(error.message).toBe(
      'the approval workflow cannot be turned on: parallel releases are on for the control plane, and the two exclude each other (a release pending approval cannot run in parallel)',
    )
    expect(error.extra.hint).toBe('turn parallel releases off first: relctl settings set-parallel --disabled')
    expect((await engine.getSettings()).approval.value).toBe(false)
  })

  it('environment: the refusal and the hint name the environment', async () => {
    const {engine} = await setup()
    await engine.setApproval({project: P, environment: E, enabled: true}, 'alice')
    const parallel = await caught(engine.setParallel({project: P, environment: E, enabled: true}, 'bob'))
    expect(parallel.message).toMatch(/^parallel releases cannot be turned on: the approval workflow is on for shop\/prod, /)
    expect(parallel.extra.hint).toBe('turn the approval workflow off first: relctl settings set-approval --disabled -p shop -e prod')

    await engine.setParallel({project: P, environment: 'staging', enabled: true}, 'bob')
    const approval = await caught(engine.setApproval({project: P, environment: 'staging', enabled: true}, 'alice'))
    expect(approval.message).toMatch(/^the approval workflow cannot be turned on: parallel releases are on for shop\/staging, /)
    expect(approval.extra.hint).toBe('turn parallel releases off first: relctl settings set-parallel --disabled -p shop -e staging')
  })

  it('a control-plane parallel change that collides with an environment approval override names that environment; the hint works', async () => {
    const {engine} = await setup()
    await engine.setApproval({project: P, environment: E, enabled: true}, 'alice')
    const error = await caught(engine.setParallel({enabled: true}, 'bob'))
    expect(error.message).toMatch(/^parallel releases cannot be turned on: the approval workflow is on for shop\/prod, /)
    expect(error.extra.hint).toBe('turn the approval workflow off first: relctl settings set-approval --disabled -p shop -e prod')
    expect((await engine.getSettings()).parallel.value).toBe(false)
    // following the hint lets the change through
    await engine.setApproval({project: P, environment: E, enabled: false}, 'alice')
    expect((await engine.setParallel({enabled: true}, 'bob')).parallel).toEqual({value: true, source: 'control-plane'})
    expect((await engine.getSettings(P, E)).parallel).toEqual({value: true, source: 'control-plane'})
  })

  it('a control-plane approval change that collides with an environment parallel override names that environment; the hint works', async () => {
    const {engine} = await setup()
    await engine.setParallel({project: P, environment: 'staging', enabled: true, max: 3}, 'alice')
    const error = await caught(engine.setApproval({enabled: true}, 'bob'))
    expect(error.message).toMatch(/^the approval workflow cannot be turned on: parallel releases are on for shop\/staging, /)
    expect(error.extra.hint).toBe('turn parallel releases off first: relctl settings set-parallel --disabled -p shop -e staging')
    await engine.setParallel({project: P, environment: 'staging', enabled: false}, 'alice')
    await engine.setApproval({enabled: true}, 'bob')
    expect((await engine.getSettings(P, 'staging')).approval).toEqual({value: true, source: 'control-plane'})
  })

  it('an environment that turns parallel off may turn approval on under a parallel control plane, and the reverse', async () => {
    const {engine} = await setup()
    await engine.setParallel({enabled: true}, 'admin')
    await engine.setParallel({project: P, environment: E, enabled: false}, 'alice')
    const prod = await engine.setApproval({project: P, environment: E, enabled: true}, 'alice')
    expect(prod.parallel).toEqual({value: false, source: 'environment'})
    expect(prod.approval).toEqual({value: true, source: 'environment'})
    expect((await engine.getSettings(P, 'staging')).parallel.value).toBe(true)
    // but the control plane itself cannot have both: environments without a row inherit it
    const error = await caught(engine.setApproval({enabled: true}, 'admin'))
    expect(error.message).toMatch(/^the approval workflow cannot be turned on: parallel releases are on for the control plane, /)
    expect(error.extra.hint).toBe('turn parallel releases off first: relctl settings set-parallel --disabled')
  })

  it('an environment that turns approval off may turn parallel on under an approving control plane', async () => {
    const {engine} = await setup()
    await engine.setApproval({enabled: true}, 'admin')
    await engine.setApproval({project: P, environment: E, enabled: false}, 'alice')
    const prod = await engine.setParallel({project: P, environment: E, enabled: true, max: 2}, 'alice')
    expect(prod.parallel).toEqual({value: true, source: 'environment'})
    expect(prod.approval).toEqual({value: false, source: 'environment'})
    const error = await caught(engine.setParallel({enabled: true}, 'admin'))
    expect(error.extra.hint).toBe('turn the approval workflow off first: relctl settings set-approval --disabled')
  })

  // The settings of an environment that left the blueprint must not keep blocking the control plane:
  // the hint would send the user to `-p shop -e qa`, which answers "environment not found".
  it('the override of an environment removed from the blueprint does not block a control-plane change', async () => {
    const {engine, dir} = await setup(SHOP_BLUEPRINT.replace('  prod: {}\n', '  prod: {}\n  qa: {}\n'))
    await engine.setParallel({project: P, environment: 'qa', enabled: true}, 'alice')
    await engine.applyProject(SHOP_BLUEPRINT, 'relctl.yaml', dir)
    expect((await engine.listEnvironments(P)).map((environment) => environment.name).sort()).toEqual(['prod', 'staging'])
    let outcome: string
    try {
      outcome = `approval ${(await engine.setApproval({enabled: true}, 'admin')).approval.value}`
    } catch (error) {
      const refusal = `${(error as Error).message} | hint: ${(error as {extra?: {hint?: string}}).extra?.hint}`
      // if it is refused, the hint must at least be one that works
      const followed = await engine.setParallel({project: P, environment: 'qa', enabled: false}, 'admin').then(
        () => 'the hint works',
        (hintError: Error) => `the hint fails: ${hintError.message}`,
      )
      outcome = `refused: ${refusal} -> ${followed}`
    }
    expect(outcome).toBe('approval true')
  })
})

describe('Engine admission: parallel releases', () => {
  it('environment max 2: two non-conflicting selective releases run at once, the third waits for max-parallel', async () => {
    const {engine} = await setup(independent(['a', 'b', 'c', 'd'], '400ms'))
    await engine.setParallel({project: P, environment: E, enabled: true, max: 2}, 'alice')
    const a = await trigger(engine, selective('a'))
    const b = await trigger(engine, selective('b'))
    const c = await trigger(engine, selective('c'))
    expect([a.status, b.status, c.status]).toEqual(['running', 'running', 'queued'])
    expect(c.queuePosition).toBe(1)
    expect(c.waitingFor).toEqual({reason: 'max-parallel', running: 2, max: 2, message: 'max parallel 2 reached in prod (2 running)'})
    // another environment is not held by prod's max (and is serial there: parallel is off in staging)
    const other = await trigger(engine, selective('d'), 'staging')
    expect(other.status).toBe('running')

    const [aDone, bDone, cDone] = [await waitForFinal(engine, a.id), await waitForFinal(engine, b.id), await waitForFinal(engine, c.id)]
    for (const release of [aDone, bDone, cDone]) expect(release.status).toBe('succeeded')
    expect(overlap(taskSpan(aDone), taskSpan(bDone))).toBe(true)
    // c started only when one of the two had ended, and while the other still ran
    const firstEnd = [aDone.finishedAt as string, bDone.finishedAt as string].sort()[0]
    expect(cDone.startedAt! >= firstEnd).toBe(true)
    await waitForFinal(engine, other.id)
  })

  it('conflicting releases queue with reason conflict naming the blocker and the shared resources; no overtaking', async () => {
    const {engine} = await setup(independent(['a', 'b', 'c', 'd'], '300ms'))
    await engine.setParallel({project: P, environment: E, enabled: true}, 'alice')
    const first = await trigger(engine, selective('a'))
    const second = await trigger(engine, selective('a', 'b'))
    const third = await trigger(engine, selective('b', 'c'))
    const fourth = await trigger(engine, selective('d'))
    expect(first.status).toBe('running')
    expect(second.status).toBe('queued')
    expect(second.waitingFor).toEqual({reason: 'conflict', releases: [first.id], resources: ['a'], message: `waits for release ${first.id} (resources: a)`})
    // the third conflicts only with the queued second: it does not overtake it
    expect(third.status).toBe('queued')
    expect(third.waitingFor).toEqual({reason: 'conflict', releases: [second.id], resources: ['b'], message: `waits for release ${second.id} (resources: b)`})
    // an independent one runs beside the first
    expect(fourth.status).toBe('running')
    const full = await trigger(engine, {type: 'full'})
    // a full release conflicts with all of them; it names what they hold
    expect(full.waitingFor).toEqual({
      reason: 'conflict',
      releases: [first.id, fourth.id, second.id, third.id],
      resources: ['a', 'b', 'c', 'd'],
      message: `waits for release ${first.id}, ${fourth.id}, ${second.id}, ${third.id} (resources: a, b, c, d)`,
    })

    const done = await Promise.all([first, second, third, fourth, full].map((release) => waitForFinal(engine, release.id)))
    for (const release of done) expect(release.status).toBe('succeeded')
    const [d1, d2, d3, d4, d5] = done
    expect(d2.startedAt! >= d1.finishedAt!).toBe(true)
    expect(d3.startedAt! >= d2.finishedAt!).toBe(true)
    expect(overlap(taskSpan(d1), taskSpan(d4))).toBe(true)
    for (const before of [d1, d2, d3, d4]) expect(d5.startedAt! >= before.finishedAt!).toBe(true)
  })

  it('onConflict fail is refused with state_lock naming the holder and the shared resources; nothing is queued', async () => {
    const {engine} = await setup(independent(['a', 'b', 'c'], '300ms'))
    await engine.setParallel({project: P, environment: E, enabled: true}, 'alice')
    const holder = await trigger(engine, selective('a', 'b'))
    const error = await caught(engine.trigger(P, E, {...selective('b', 'c'), onConflict: 'fail'}, alice))
    expect(error.code).toBe('state_lock')
    expect(error.status).toBe(409)
    expect(error.message).toBe(`state lock held by release ${holder.id} (running) on b; nothing was queued`)
    expect(error.extra.holder).toEqual({releaseId: holder.id, resources: ['b']})
    expect(error.extra.hint).toBe(`wait for it (relctl release show ${holder.id}) or trigger with --on-conflict queue`)

    // a queued release holds its lock too
    const queued = await trigger(engine, selective('b'))
    expect(queued.status).toBe('queued')
    const behindQueued = await caught(engine.trigger(P, E, {...selective('c', 'b'), onConflict: 'fail'}, alice))
    expect(behindQueued.code).toBe('state_lock')
    expect(behindQueued.extra.holder?.resources).toEqual(['b'])

    // a release that does not conflict starts, even with onConflict fail
    const free = await trigger(engine, {...selective('c'), onConflict: 'fail'})
    expect(free.status).toBe('running')
    const ids = (await engine.listReleases({project: P, environment: E, limit: 50})).map((release) => release.id).sort((x, y) => x - y)
    expect(ids).toEqual([holder.id, queued.id, free.id])
    for (const id of ids) await waitForFinal(engine, id)
  })

  it('onConflict fail queues a release that only waits for max parallel (no lock is held on it)', async () => {
    const {engine} = await setup(independent(['a', 'b'], '300ms'))
    await engine.setParallel({project: P, environment: E, enabled: true, max: 1}, 'alice')
    const first = await trigger(engine, selective('a'))
    const second = await trigger(engine, {...selective('b'), onConflict: 'fail'})
    expect(second.status).toBe('queued')
    expect(second.waitingFor).toMatchObject({reason: 'max-parallel', running: 1, max: 1})
    await waitForFinal(engine, first.id)
    expect((await waitForFinal(engine, second.id)).status).toBe('succeeded')
  })

  it('raising max parallel admits the waiting release at once (not on a timer)', async () => {
    const {engine} = await setup(independent(['a', 'b'], '2s'))
    await engine.setParallel({project: P, environment: E, enabled: true, max: 1}, 'alice')
    const first = await trigger(engine, selective('a'))
    const second = await trigger(engine, selective('b'))
    expect(second.status).toBe('queued')
    await engine.setParallel({project: P, environment: E, max: 2}, 'alice')
    expect((await engine.getRelease(second.id)).status).toBe('running')
    await engine.cancel(first.id, 'alice')
    await engine.cancel(second.id, 'alice')
  })
})

describe('Engine: approval workflow', () => {
  it('a trigger waits for approval; approve records who, when and why, and the release runs', async () => {
    const {engine} = await setup()
    await engine.setApproval({project: P, environment: E, enabled: true}, 'admin')
    const release = await trigger(engine, selective('worker'))
    expect(release.status).toBe('pending_approval')
    expect(release.waitingFor).toEqual({reason: 'approval', message: `waits for approval: relctl release approve ${release.id}`})
    expect(release.decision).toBeNull()
    expect(release.startedAt).toBeNull()
    // staging has no approval workflow
    expect((await trigger(engine, selective('worker'), 'staging')).status).toBe('running')

    const before = new Date().toISOString()
    const approved = await engine.decide(release.id, 'approved', 'bob', 'looks good')
    const after = new Date().toISOString()
    expect(['queued', 'running']).toContain(approved.status)
    expect(approved.decision).toMatchObject({decision: 'approved', by: 'bob', comment: 'looks good'})
    expect(approved.decision!.at >= before && approved.decision!.at <= after).toBe(true)
    const done = await waitForFinal(engine, release.id)
    expect(done.status).toBe('succeeded')
    expect(done.decision).toEqual(approved.decision)
    expect((await engine.listApps(P, E)).find((app) => app.name === 'worker')?.deployedVersion).toBe('latest')
  })

  it('reject: status rejected, finishedAt and error set, nothing runs; approve with no comment keeps null', async () => {
    const {engine} = await setup()
    await engine.setApproval({enabled: true}, 'admin')
    const release = await trigger(engine, selective('worker'))
    const rejected = await engine.decide(release.id, 'rejected', 'carol', 'not now')
    expect(rejected.status).toBe('rejected')
    expect(rejected.decision).toMatchObject({decision: 'rejected', by: 'carol', comment: 'not now'})
    expect(rejected.finishedAt).not.toBeNull()
    expect(rejected.finishedAt).toBe(rejected.decision?.at)
    expect(rejected.error).toBe('rejected by carol: not now')
    expect(rejected.startedAt).toBeNull()
    expect(rejected.tasks).toEqual([])
    expect(rejected.waitingFor).toBeUndefined()
    expect((await engine.listApps(P, E)).find((app) => app.name === 'worker')).toMatchObject({deployedVersion: null, activeReleases: []})

    const other = await trigger(engine, selective('db'))
    const silent = await engine.decide(other.id, 'rejected', 'carol', null)
    expect(silent.error).toBe('rejected by carol')
    expect(silent.decision?.comment).toBeNull()
  })

  it('deciding twice is refused with what happened already', async () => {
    const {engine} = await setup()
    await engine.setApproval({project: P, environment: E, enabled: true}, 'admin')
    const release = await trigger(engine, selective('worker'))
    const rejected = await engine.decide(release.id, 'rejected', 'carol', null)
    const again = await caught(engine.decide(release.id, 'rejected', 'dave', null))
    expect(again.code).toBe('invalid_input')
    expect(again.message).toBe(`release ${release.id} is rejected; only a release pending approval can be rejected`)
    expect(again.extra.hint).toBe(`it was rejected by carol at ${rejected.decision?.at}`)
    const approve = await caught(engine.decide(release.id, 'approved', 'dave', null))
    expect(approve.message).toBe(`release ${release.id} is rejected; only a release pending approval can be approved`)
    expect((await engine.getRelease(release.id)).decision).toEqual(rejected.decision)

    const second = await trigger(engine, selective('worker'))
    await engine.decide(second.id, 'approved', 'bob', null)
    const done = await waitForFinal(engine, second.id)
    const late = await caught(engine.decide(second.id, 'rejected', 'carol', null))
    expect(late.message).toBe(`release ${second.id} is succeeded; only a release pending approval can be rejected`)
    expect(late.extra.hint).toBe(`it was approved by bob at ${done.decision?.at}`)

    const missing = await caught(engine.decide(9999, 'approved', 'bob', null))
    expect(missing.code).toBe('not_found')
    expect(missing.message).toBe('release 9999 not found')
  })

  it('a release that never needed approval cannot be decided', async () => {
    const {engine} = await setup(independent(['a', 'b'], '300ms'))
    const running = await trigger(engine, selective('a'))
    const queued = await trigger(engine, selective('b'))
    const error = await caught(engine.decide(queued.id, 'approved', 'bob', null))
    expect(error.message).toBe(`release ${queued.id} is queued; only a release pending approval can be approved`)
    expect(error.extra.hint).toBeUndefined()
    for (const release of [running, queued]) await waitForFinal(engine, release.id)
  })

  it('a release pending approval holds back no other release: a later one approved first runs first', async () => {
    const {engine} = await setup()
    await engine.setApproval({project: P, environment: E, enabled: true}, 'admin')
    const first = await trigger(engine, selective('worker'))
    const second = await trigger(engine, selective('db'))
    await engine.decide(second.id, 'approved', 'bob', null)
    expect((await waitForFinal(engine, second.id)).status).toBe('succeeded')
    expect((await engine.getRelease(first.id)).status).toBe('pending_approval')
  })

  it('the author cannot approve; --required N needs N distinct approvers; the release then queues with the last as its decision', async () => {
    const {engine} = await setup()
    await engine.setApproval({project: P, environment: E, enabled: true, required: 2}, 'admin')
    const release = await trigger(engine, selective('worker'))
    expect(release.waitingFor?.message).toBe(`waits for 2 more approvals (0 of 2; its author alice cannot approve): relctl release approve ${release.id}`)

    const self = await caught(engine.decide(release.id, 'approved', 'alice', null))
    expect(self).toMatchObject({code: 'forbidden', status: 403, message: `token alice triggered release ${release.id}; the author of a release cannot approve it`})
    expect((await engine.getRelease(release.id)).approvals).toEqual([])

    const first = await engine.decide(release.id, 'approved', 'bob', 'ok')
    expect(first.status).toBe('pending_approval')
    expect(first.decision).toBeNull()
    expect(first.approvals).toEqual([{by: 'bob', at: expect.any(String), comment: 'ok'}])
    expect(first.waitingFor?.message).toBe(`waits for 1 more approval (1 of 2: bob; its author alice cannot approve): relctl release approve ${release.id}`)

    // the same name twice counts once
    const twice = await caught(engine.decide(release.id, 'approved', 'bob', null))
    expect(twice).toMatchObject({code: 'invalid_input', message: `bob has approved release ${release.id} already; it needs 2 distinct approvers and has 1 (bob)`})

    const second = await engine.decide(release.id, 'approved', 'carol', null)
    expect(['queued', 'running']).toContain(second.status)
    expect(second.approvals?.map((approval) => approval.by)).toEqual(['bob', 'carol'])
    expect(second.decision).toMatchObject({decision: 'approved', by: 'carol'})
    expect((await waitForFinal(engine, release.id)).status).toBe('succeeded')
  })

  it('one rejection rejects a release that has approvals; the author may reject (withdraw) it', async () => {
    const {engine} = await setup()
    await engine.setApproval({project: P, environment: E, enabled: true, required: 3}, 'admin')
    const release = await trigger(engine, selective('worker'))
    await engine.decide(release.id, 'approved', 'bob', null)
    await engine.decide(release.id, 'approved', 'carol', null)
    const rejected = await engine.decide(release.id, 'rejected', 'dave', 'no')
    expect(rejected).toMatchObject({status: 'rejected', decision: {decision: 'rejected', by: 'dave', comment: 'no'}, error: 'rejected by dave: no'})
    expect(rejected.approvals?.map((approval) => approval.by)).toEqual(['bob', 'carol'])

    const withdrawn = await trigger(engine, selective('worker'))
    expect((await engine.decide(withdrawn.id, 'rejected', 'alice', 'wrong version')).status).toBe('rejected')
  })

  it('lowering the required approvers queues the releases that have enough; raising it holds the rest', async () => {
    const clock = testClock('2026-03-02T10:00:00.000Z')
    const {engine} = await setup(SHOP_BLUEPRINT, {now: clock})
    await engine.setApproval({project: P, environment: E, enabled: true, required: 3}, 'admin')
    const once = await trigger(engine, selective('worker'))
    const never = await trigger(engine, selective('db'))
    await engine.decide(once.id, 'approved', 'bob', null)
    await engine.setApproval({project: P, environment: E, required: 2}, 'admin')
    expect((await engine.getRelease(once.id)).status).toBe('pending_approval')
    const view = await engine.setApproval({project: P, environment: E, required: 1}, 'erin')
    expect(view.approvalsRequired).toEqual({value: 1, source: 'environment'})
    expect(view.history[0]).toMatchObject({setting: 'approvalsRequired', oldValue: '2', newValue: '1', changedBy: 'erin'})
    const settled = await engine.getRelease(once.id)
    expect(['queued', 'running']).toContain(settled.status)
    expect(settled.decision).toEqual({decision: 'approved', by: 'erin', at: '2026-03-02T10:00:00.000Z', comment: 'it has 1 approval; 1 is now required'})
    expect((await engine.getRelease(never.id)).status).toBe('pending_approval')
    expect(await caught(engine.setApproval({project: P, environment: E}, 'erin'))).toMatchObject({message: 'nothing to change'})
    await engine.cancel(never.id, 'admin')
    await waitForFinal(engine, once.id)
  })

  it('turning approval off sends pending releases to the queue, approved with a comment; overrides keep theirs', async () => {
    const clock = testClock('2026-03-02T10:00:00.000Z')
    const {engine} = await setup(SHOP_BLUEPRINT, {now: clock})
    await engine.setApproval({enabled: true}, 'admin')
    await engine.setApproval({project: P, environment: 'staging', enabled: true}, 'admin')
    const prod1 = await trigger(engine, selective('worker'))
    const prod2 = await trigger(engine, selective('db'))
    const staging = await trigger(engine, selective('worker'), 'staging')
    for (const release of [prod1, prod2, staging]) expect(release.status).toBe('pending_approval')

    clock.set('2026-03-02T10:05:00.000Z')
    await engine.setApproval({enabled: false}, 'carol')
    const decision = {decision: 'approved', by: 'carol', at: '2026-03-02T10:05:00.000Z', comment: 'the approval workflow was turned off'}
    const p1 = await engine.getRelease(prod1.id)
    const p2 = await engine.getRelease(prod2.id)
    expect(p1.decision).toEqual(decision)
    expect(p2.decision).toEqual(decision)
    expect(p1.status).toBe('running')
    expect(p2.status).toBe('queued')
    expect(p2.waitingFor).toMatchObject({reason: 'serial', releases: [prod1.id]})
    // staging keeps its own approval workflow
    expect((await engine.getRelease(staging.id)).status).toBe('pending_approval')
    expect((await engine.getRelease(staging.id)).decision).toBeNull()
    expect((await waitForFinal(engine, prod2.id)).status).toBe('succeeded')
    expect((await waitForFinal(engine, prod1.id)).status).toBe('succeeded')
  })
})

describe('Engine: races', () => {
  it('20 concurrent triggers over overlapping resources with parallel on run one after the other in id order', async () => {
    const {engine} = await setup(independent(['a', 'b', 'c', 'd'], '30ms'))
    await engine.setParallel({project: P, environment: E, enabled: true, max: 10}, 'alice')
    const others = ['b', 'c', 'd']
    const triggered = await Promise.all(Array.from({length: 20}, (_, i) => trigger(engine, selective('a', others[i % 3]))))
    const ids = triggered.map((release) => release.id)
    expect(new Set(ids).size).toBe(20)
    expect(triggered.filter((release) => release.status === 'running')).toHaveLength(1)

    const done = await Promise.all([...ids].sort((x, y) => x - y).map((id) => waitForFinal(engine, id, 30_000)))
    for (const release of done) expect(release.status).toBe('succeeded')
    for (let i = 1; i < done.length; i++) {
      const [previous, current] = [done[i - 1], done[i]]
      expect(current.startedAt! >= previous.finishedAt!, `release ${current.id} started after ${previous.id} finished`).toBe(true)
      expect(taskSpan(current).start >= taskSpan(previous).end, `tasks of ${current.id} after the tasks of ${previous.id}`).toBe(true)
    }
  })

  it('20 concurrent triggers with mixed lock sets: never two conflicting at once, conflicting ones in id order, independent ones overlap', async () => {
    const {engine} = await setup(independent(['a', 'b', 'c', 'd', 'e'], '60ms'))
    await engine.setParallel({project: P, environment: E, enabled: true, max: 3}, 'alice')
    const sets = [['a'], ['b'], ['a', 'b'], ['c'], ['d', 'e'], ['c', 'd'], ['e'], ['a', 'c', 'e'], ['b'], ['d']]
    const requests = Array.from({length: 20}, (_, i) => sets[i % sets.length])
    const triggered = await Promise.all(requests.map((names) => trigger(engine, selective(...names))))
    const byId = [...triggered].sort((x, y) => x.id - y.id)
    const done = await Promise.all(byId.map((release) => waitForFinal(engine, release.id, 30_000)))
    const spans = done.map(taskSpan)
    let overlapped = 0
    for (let i = 0; i < done.length; i++) {
      expect(done[i].status).toBe('succeeded')
      for (let j = i + 1; j < done.length; j++) {
        const a = done[i].resources.map((resource) => resource.name)
        const b = done[j].resources.map((resource) => resource.name)
        if (locks(a, b)) {
          expect(spans[j].start >= spans[i].end, `conflicting ${done[j].id} ${b} started after ${done[i].id} ${a} ended`).toBe(true)
          expect(done[j].startedAt! >= done[i].finishedAt!).toBe(true)
        } else if (overlap(spans[i], spans[j])) overlapped++
      }
    }
    // it did run in parallel somewhere, and never more than max
    expect(overlapped).toBeGreaterThan(0)
    for (const span of spans) {
      expect(spans.filter((other) => other.start <= span.start && span.start < other.end).length).toBeLessThanOrEqual(3)
    }
  })
})

describe('Engine: release list shows why each waits', () => {
  it('listReleases gives queue position and waitingFor for every queued release', async () => {
    const {engine} = await setup(independent(['a', 'b'], '300ms'))
    const first = await trigger(engine, selective('a'))
    const second = await trigger(engine, selective('b'))
    const third = await trigger(engine, selective('a'))
    const listed = await engine.listReleases({project: P, environment: E, statuses: ['pending_approval', 'queued', 'running'], limit: 10})
    expect(listed.map((release) => [release.id, release.status, release.queuePosition ?? null, release.waitingFor?.reason ?? null])).toEqual([
      [third.id, 'queued', 2, 'serial'],
      [second.id, 'queued', 1, 'serial'],
      [first.id, 'running', null, null],
    ])
    await waitFor(async () => (await engine.getRelease(third.id)).status === 'succeeded', 'all to finish')
    await waitForStatus(engine, second.id, 'succeeded')
  })

  it('a page of the queue says what each release waits for as the whole queue does', async () => {
    const {engine} = await setup(independent(['a', 'b', 'c'], '1h'))
    await engine.setParallel({project: P, environment: E, enabled: true, max: 2}, 'alice')
    const released = [await trigger(engine, selective('a')), await trigger(engine, selective('a')), await trigger(engine, selective('b')), await trigger(engine, selective('b')), await trigger(engine, selective('c'))]
    await waitForStatus(engine, released[2].id, 'running')
    const annotation = (release: Release) => [release.id, release.status, release.queuePosition ?? null, release.waitingFor ?? null]
    const alone = await Promise.all(released.map(async (release) => annotation(await engine.getRelease(release.id))))
    expect(alone.map(([, status, position]) => [status, position])).toEqual([['running', null], ['queued', 1], ['running', null], ['queued', 2], ['queued', 3]])
    for (const limit of [1, 2, 3, 4, 5, 10]) {
      const page = await engine.listReleases({project: P, environment: E, statuses: ['pending_approval', 'queued', 'running'], order: 'asc', limit})
      expect(page.map(annotation), `limit ${limit}`).toEqual(alone.slice(0, limit))
    }
  })

  it('what a release waits for follows a status change that leaves the queue as long as it was', async () => {
    const {engine} = await setup(independent(['a', 'b'], '1h'))
    const first = await trigger(engine, selective('a'))
    await waitForStatus(engine, first.id, 'running')
    await engine.setApproval({project: P, environment: E, enabled: true}, 'alice')
    const second = await trigger(engine, selective('b'))
    expect(await engine.getRelease(second.id)).toMatchObject({status: 'pending_approval', queuePosition: 1, waitingFor: {reason: 'approval'}})
    // approved, it waits for the first one: as many active releases as before, and as much room
    await engine.decide(second.id, 'approved', 'bob', null)
    expect(await engine.getRelease(second.id)).toMatchObject({status: 'queued', queuePosition: 1, waitingFor: {reason: 'serial', releases: [first.id]}})
  })

  it('a page of the queue counts the running releases after it', async () => {
    // parallel releases off (the approval workflow needs that): one release runs at a time
    const {engine} = await setup(independent(['a', 'b'], '1h'))
    await engine.setApproval({project: P, environment: E, enabled: true}, 'alice')
    const first = await trigger(engine, selective('a'))
    const second = await trigger(engine, selective('b'))
    // the later one runs first; the earlier one, approved next, waits for it
    await engine.decide(second.id, 'approved', 'bob', null)
    await waitForStatus(engine, second.id, 'running')
    await engine.decide(first.id, 'approved', 'bob', null)
    const alone = await engine.getRelease(first.id)
    expect(alone).toMatchObject({status: 'queued', queuePosition: 1})
    expect(alone.waitingFor).toMatchObject({reason: 'serial', releases: [second.id]})
    const [page] = await engine.listReleases({project: P, environment: E, statuses: ['pending_approval', 'queued', 'running'], order: 'asc', limit: 1})
    expect([page.id, page.queuePosition, page.waitingFor]).toEqual([first.id, 1, alone.waitingFor])
  })
})
