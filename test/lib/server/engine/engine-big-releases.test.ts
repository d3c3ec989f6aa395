// Big releases: plans of thousands of tasks start and run, plans over the cap are refused with their
// numbers, and a release that cannot start ends failed instead of blocking its environment.
import {afterEach, describe, expect, it} from 'vitest'

import {Engine} from '../../../../src/lib/server/engine/engine.js'
import {MAX_PLAN_TASKS} from '../../../../src/lib/server/engine/rules/plan-size.js'
import type {ReleaseTasks, Store} from '../../../../src/lib/server/store/store.js'
import {caught, createTestEngine, failing, quietLog, type TestEngine, waitFor, waitForFinal} from '../../../helpers/engine.js'

/** A blueprint of `resources` quick simulate resources in chains of ten, and one environment with `targets` targets. */
function bigBlueprint(resources: number, targets: number): string {
  const lines = ['project: big', 'resources:']
  for (let index = 0; index < resources; index++) {
    lines.push(`  r${index}:`, '    driver: simulate', '    simulate: { duration: 1ms }')
    if (index % 10 !== 0) lines.push(`    dependsOn: [r${index - 1}]`)
  }
  lines.push('environments:', '  prod:')
  if (targets > 0) lines.push(`    targets: [${Array.from({length: targets}, (_, index) => `t${index}`).join(', ')}]`)
  else lines.push('    description: no targets')
  lines.push('  staging: {}')
  return `${lines.join('\n')}\n`
}

/** Picks the task inserts of the first release it is asked about, every time. */
function firstReleaseTasks(): (plans: unknown) => boolean {
  let doomed: number | undefined
  return (plans) => {
    doomed ??= (plans as ReleaseTasks[])[0]?.releaseId
    return (plans as ReleaseTasks[]).some((plan) => plan.releaseId === doomed)
  }
}

/** Waits on the release row alone (cheap however many tasks it has), then reads the whole release. */
async function waitForEnd(t: TestEngine, id: number, timeoutMs: number) {
  await waitFor(async () => ['succeeded', 'failed', 'cancelled'].includes((await t.store.getRelease(id))?.status ?? ''), `release ${id} to end`, timeoutMs)
  return t.engine.getRelease(id)
}

// These tests check that releases of thousands of tasks plan, start and run, not that SQLite reaches the
// disk: their databases live on a memory-backed folder, where the two commits each task makes cost no
// fsync (on a disk they took over two minutes together).
const atScale = {memoryBacked: true}

let t: TestEngine | null = null
afterEach(async () => {
  await t?.close()
  t = null
})

describe('big releases', () => {
  it('a launch of 100 resources × 19 targets (1,900 tasks) starts and succeeds', async () => {
    t = await createTestEngine(bigBlueprint(100, 19), atScale)
    const {release} = await t.engine.trigger('big', 'prod', {type: 'launch'}, {subject: 'test'})
    const done = await waitForEnd(t, release.id, 150_000)
    expect(done.error).toBeNull()
    expect(done.status).toBe('succeeded')
    expect(done.tasks).toHaveLength(1900)
    expect(done.tasks.every((task) => task.status === 'succeeded')).toBe(true)
    // r1 needs r0 on each target: the dependsOn chain holds within a target
    const r1 = done.tasks.find((task) => task.key === 'r1@t7')
    expect(r1?.dependsOn).toEqual(['r0@t7'])
    const apps = await t.engine.listApps('big', 'prod')
    expect(apps.every((app) => app.health === 'Healthy' && app.deployedVersion === app.desiredVersion)).toBe(true)
  }, 180_000)

  it(`a release of ${MAX_PLAN_TASKS} tasks (the cap) starts and runs to success`, async () => {
    t = await createTestEngine(bigBlueprint(500, 20), atScale)
    const {release} = await t.engine.trigger('big', 'prod', {type: 'launch'}, {subject: 'test'})
    const done = await waitForEnd(t, release.id, 500_000)
    expect(done.error).toBeNull()
    expect(done.status).toBe('succeeded')
    expect(done.tasks).toHaveLength(MAX_PLAN_TASKS)
    expect(done.tasks.filter((task) => task.status !== 'succeeded')).toEqual([])
  }, 600_000)

  it('a trigger over the cap is refused with the numbers, and nothing is queued; a dry run too', async () => {
    t = await createTestEngine(bigBlueprint(600, 20), atScale)
    const error = await caught(t.engine.trigger('big', 'prod', {type: 'launch'}, {subject: 'test'}))
    expect(error.code).toBe('plan_too_large')
    expect(error.status).toBe(400)
    expect(error.message).toBe(`this release would plan 12000 tasks (600 resource(s) × 20 targets); a release may plan at most ${MAX_PLAN_TASKS} tasks; nothing was queued`)
    expect(error.extra).toMatchObject({planTasks: 12_000, maxPlanTasks: MAX_PLAN_TASKS})
    expect(error.extra.hint).toContain('--type selective')
    const dryRun = await caught(t.engine.trigger('big', 'prod', {type: 'launch', dryRun: true}, {subject: 'test'}))
    expect(dryRun.code).toBe('plan_too_large')
    expect(await t.engine.listReleases({project: 'big', limit: 10})).toEqual([])
    // A selective release within the cap goes through; another environment is not affected.
    const {release} = await t.engine.trigger('big', 'prod', {type: 'selective', resources: [{name: 'r0'}, {name: 'r1'}]}, {subject: 'test'})
    expect((await waitForFinal(t.engine, release.id, 60_000)).status).toBe('succeeded')
    const staging = await t.engine.trigger('big', 'staging', {type: 'launch'}, {subject: 'test'})
    expect((await waitForFinal(t.engine, staging.release.id, 120_000)).status).toBe('succeeded')
  }, 300_000)
})

describe('a release that cannot start', () => {
  it('ends failed with the reason; the next release of its environment runs; a restarted engine starts', async () => {
    t = await createTestEngine(null)
    // The engine under test runs on the same database through a store that fails once creating tasks.
    const engine = new Engine({store: failing(t.store, 'insertTasks', 'too many SQL variables (injected)', firstReleaseTasks()), log: quietLog})
    await engine.start()
    await engine.applyProject(bigBlueprint(3, 0), 'relctl.yaml', t.dir)
    const first = await engine.trigger('big', 'prod', {type: 'launch'}, {subject: 'test'})
    expect(first.release.status).toBe('failed')
    expect(first.release.error).toBe('could not start: too many SQL variables (injected)')
    expect(first.release.finishedAt).not.toBeNull()
    const second = await engine.trigger('big', 'prod', {type: 'launch'}, {subject: 'test'})
    expect((await waitForFinal(engine, second.release.id)).status).toBe('succeeded')
    await engine.shutdown(0)

    const restarted = new Engine({store: t.store, log: quietLog})
    await restarted.start()
    expect((await restarted.getRelease(first.release.id)).status).toBe('failed')
    const third = await restarted.trigger('big', 'prod', {type: 'full', force: true}, {subject: 'test'})
    expect((await waitForFinal(restarted, third.release.id)).status).toBe('succeeded')
    await restarted.shutdown(0)
  })

  it('a claim the database refuses once is made again: the turn is tried with a savepoint around each change, and the release starts', async () => {
    t = await createTestEngine(null)
    const engine = new Engine({store: failing(t.store, 'insertTasks', 'deadlock detected (injected)', () => true, {once: true}), log: quietLog})
    await engine.start()
    await engine.applyProject(bigBlueprint(3, 0), 'relctl.yaml', t.dir)
    const {release} = await engine.trigger('big', 'prod', {type: 'launch'}, {subject: 'test'})
    expect((await waitForFinal(engine, release.id)).status).toBe('succeeded')
    await engine.shutdown(0)
  })

  it('at engine start: a queued release that cannot start ends failed, and the queue behind it runs', async () => {
    t = await createTestEngine(bigBlueprint(3, 0))
    await t.engine.shutdown(0)
    const queued = (environment: string) =>
      t?.store.insertRelease({
        project: 'big',
        environment,
        type: 'launch',
        status: 'queued',
        resources: ['r0', 'r1', 'r2'].map((name) => ({name, action: 'create', fromVersion: null, toVersion: null})),
        lockSet: '*',
        refresh: false,
        force: false,
        allowDestructive: false,
        comment: null,
        triggeredBy: 'test',
        source: 'api',
        idempotencyKey: null,
        options: {},
        createdAt: new Date().toISOString(),
      })
    const blocked = (await queued('prod'))?.release.id as number
    const behind = (await queued('prod'))?.release.id as number
    const elsewhere = (await queued('staging'))?.release.id as number

    const engine = new Engine({store: failing(t.store, 'insertTasks', 'disk I/O error (injected)', (plans) => (plans as ReleaseTasks[]).some((plan) => plan.releaseId === blocked)), log: quietLog})
    await engine.start()
    const failed = await waitForFinal(engine, blocked)
    expect(failed.status).toBe('failed')
    expect(failed.error).toBe('could not start: disk I/O error (injected)')
    expect((await waitForFinal(engine, behind)).status).toBe('succeeded')
    expect((await waitForFinal(engine, elsewhere)).status).toBe('succeeded')
    await engine.shutdown(0)
  })
})
