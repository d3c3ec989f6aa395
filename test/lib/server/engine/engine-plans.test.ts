// The engine carrying out plans (issue 5), over a real SQLite store: targets and rollout orders, target
// hooks, workflow steps (haltOnError, waitForFinish), custom releases, rollback and app history, dry
// runs and refresh/drift. Resources use the simulate driver with short durations, or tiny sh scripts.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import type {DryRun, Release, Task, TriggerRequest} from '../../../../src/lib/api/schemas.js'
import type {Engine} from '../../../../src/lib/server/engine/engine.js'
import {caught, createTestEngine, type TestEngine, waitForFinal, waitForStatus} from '../../../helpers/engine.js'

const alice = {subject: 'alice', idempotencyKey: null}
const P = 'shop'
const E = 'prod'

const opened: TestEngine[] = []
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close()
})

async function setup(blueprint: string) {
  const t = await createTestEngine(blueprint)
  opened.push(t)
  return t
}

/** Triggers a release and waits for its end. */
async function run(engine: Engine, request: TriggerRequest, environment = E): Promise<Release> {
  const {release} = await engine.trigger(P, environment, request, alice)
  return waitForFinal(engine, release.id)
}

async function appsByName(engine: Engine, environment = E) {
  return new Map((await engine.listApps(P, environment)).map((app) => [app.name, app]))
}

function taskOf(release: Release, key: string): Task {
  const task = release.tasks?.find((candidate) => candidate.key === key)
  if (!task) throw new Error(`no task ${key} in release ${release.id}: ${release.tasks?.map((t) => t.key).join(', ')}`)
  return task
}

const ms = (at: string | null) => {
  if (at === null) throw new Error('expected a timestamp')
  return Date.parse(at)
}

/** Awaits a trigger, sync or rollback that must answer a dry run, and returns the dry run. */
async function dryRunOf(promise: Promise<object | null>): Promise<DryRun> {
  const outcome = await promise
  if (outcome && 'dryRun' in outcome && outcome.dryRun === true) return outcome as DryRun
  throw new Error(`expected a dry run, got ${JSON.stringify(outcome)?.slice(0, 300)}`)
}

function script(dir: string, name: string, body: string) {
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`, {mode: 0o755})
}

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n')

// ---------------------------------------------------------------------------------------------------

const TARGETED = `project: shop
resources:
  s1:
    version: "1.0.0"
    driver: simulate
    simulate: { duration: 40ms, failVersions: ["6.6.6"] }
  s2:
    version: "1.0.0"
    driver: simulate
    simulate: { duration: 40ms, failVersions: ["6.6.6"] }
environments:
  prod:
    targets: [i1, i2]
    rollout: { services: sequential, targets: sequential }
  par-seq:
    targets: [i1, i2]
    rollout: { services: parallel, targets: sequential }
  par-par:
    targets: [i1, i2]
`

describe('Engine: targets and rollouts', () => {
  it('a launch deploys each resource to each target (key resource@target), one at a time in a sequential × sequential rollout', async () => {
    const t = await setup(TARGETED)
    const release = await run(t.engine, {type: 'launch'})
    expect(release.status).toBe('succeeded')
    const tasks = release.tasks ?? []
    expect(tasks.map((task) => task.key).sort()).toEqual(['s1@i1', 's1@i2', 's2@i1', 's2@i2'])
    for (const task of tasks) {
      expect(task).toMatchObject({kind: 'deploy', status: 'succeeded', action: 'create', fromVersion: null, toVersion: '1.0.0'})
      expect(task.key).toBe(`${task.resource}@${task.target}`)
    }
    const order = ['s1@i1', 's2@i1', 's1@i2', 's2@i2'].map((key) => taskOf(release, key))
    for (let index = 1; index < order.length; index++) {
      expect(ms(order[index].startedAt), `${order[index].key} starts after ${order[index - 1].key} ends`).toBeGreaterThanOrEqual(ms(order[index - 1].finishedAt))
    }
    expect(order.map((task) => task.level)).toEqual([0, 1, 2, 3])
    const apps = await appsByName(t.engine)
    for (const name of ['s1', 's2']) expect(apps.get(name)).toMatchObject({deployedVersion: '1.0.0', sync: 'Synced', health: 'Healthy'})
  })

  it('parallel services × sequential targets: both services on I1 overlap, and I2 starts after I1 has ended', async () => {
    const t = await setup(TARGETED)
    const release = await run(t.engine, {type: 'launch'}, 'par-seq')
    expect(release.status).toBe('succeeded')
    const [a1, b1, a2, b2] = ['s1@i1', 's2@i1', 's1@i2', 's2@i2'].map((key) => taskOf(release, key))
    const i1End = Math.max(ms(a1.finishedAt), ms(b1.finishedAt))
    expect(ms(b1.startedAt)).toBeLessThan(ms(a1.finishedAt))
    expect(ms(a2.startedAt)).toBeGreaterThanOrEqual(i1End)
    expect(ms(b2.startedAt)).toBeGreaterThanOrEqual(i1End)
  })

  it('a one-off --serial (targetOrder) is kept in the release options and orders the targets', async () => {
    const t = await setup(TARGETED)
    const release = await run(t.engine, {type: 'launch', targetOrder: 'sequential'}, 'par-par')
    expect(release.options).toEqual({targetOrder: 'sequential'})
    const i2Start = Math.min(ms(taskOf(release, 's1@i2').startedAt), ms(taskOf(release, 's2@i2').startedAt))
    expect(i2Start).toBeGreaterThanOrEqual(ms(taskOf(release, 's1@i1').finishedAt))
    expect(taskOf(release, 's1@i2').dependsOn).toEqual(['s1@i1'])
  })

  it('a failure on the first target skips that resource on the second; the app is Degraded and keeps its deployed version', async () => {
    const t = await setup(TARGETED)
    expect((await run(t.engine, {type: 'launch'}, 'par-seq')).status).toBe('succeeded')
    await t.engine.setDesiredVersion(P, 'par-seq', 's1', '6.6.6')
    await t.engine.setDesiredVersion(P, 'par-seq', 's2', '2.0.0')
    const release = await run(t.engine, {type: 'full'}, 'par-seq')
    expect(release.status).toBe('failed')
    expect(release.error).toBe('task failed: s1@i1')
    expect(taskOf(release, 's1@i1')).toMatchObject({status: 'failed', exitCode: 1})
    expect(taskOf(release, 's1@i2')).toMatchObject({status: 'skipped', startedAt: null, error: 'skipped: s1@i1 did not succeed'})
    // the other resource goes on to the second target
    expect(taskOf(release, 's2@i1').status).toBe('succeeded')
    expect(taskOf(release, 's2@i2').status).toBe('succeeded')
    const apps = await appsByName(t.engine, 'par-seq')
    expect(apps.get('s1')).toMatchObject({deployedVersion: '1.0.0', desiredVersion: '6.6.6', health: 'Degraded', sync: 'OutOfSync'})
    expect(apps.get('s2')).toMatchObject({deployedVersion: '2.0.0', health: 'Healthy', sync: 'Synced'})
  })
})

// ---------------------------------------------------------------------------------------------------

/** Exec resources and hooks that append what they do to events.log, with RELCTL_TARGET. */
const HOOKED = (workflow = '') => `project: shop
resources:
  s1:
    version: "1.0.0"
    driver: exec
    exec: { deploy: sh ./deploy.sh }
  s2:
    version: "1.0.0"
    driver: exec
    exec: { deploy: sh ./deploy.sh }
${workflow}environments:
  prod:
    targets: [i1, i2]
    rollout: { services: parallel, targets: sequential }
    hooks:
      beforeTarget: sh ./hook.sh
      afterTarget: sh ./hook.sh
  par-par:
    targets: [i1, i2]
    hooks:
      beforeTarget: sh ./hook.sh
`

async function hookedSetup(workflow = '') {
  const t = await setup(HOOKED(workflow))
  script(
    t.dir,
    'deploy.sh',
    `echo "start $RELCTL_RESOURCE@$RELCTL_TARGET" >> events.log
sleep 0.05
if [ "$RELCTL_VERSION" = "6.6.6" ]; then echo "fail $RELCTL_RESOURCE@$RELCTL_TARGET" >> events.log; exit 3; fi
echo "end $RELCTL_RESOURCE@$RELCTL_TARGET" >> events.log`,
  )
  script(t.dir, 'hook.sh', 'echo "$RELCTL_HOOK $RELCTL_TARGET" >> events.log')
  return {...t, events: () => lines(join(t.dir, 'events.log'))}
}

describe('Engine: target hooks (exec)', () => {
  it('a sequential rollout runs beforeTarget, the deploys with RELCTL_TARGET set, then afterTarget, target by target', async () => {
    const t = await hookedSetup()
    const release = await run(t.engine, {type: 'launch'})
    expect(release.status).toBe('succeeded')
    expect(release.tasks?.filter((task) => task.kind === 'hook').map((task) => [task.key, task.status])).toEqual([
      ['beforeTarget@i1', 'succeeded'],
      ['afterTarget@i1', 'succeeded'],
      ['beforeTarget@i2', 'succeeded'],
      ['afterTarget@i2', 'succeeded'],
    ])
    const events = t.events()
    expect(events).toHaveLength(12)
    // deploys on a target run together between its hooks; the order of the two within is free
    const block = (target: string) => events.slice(...(target === 'i1' ? [1, 5] : [7, 11])).sort()
    expect(events[0]).toBe('beforeTarget i1')
    expect(block('i1')).toEqual(['end s1@i1', 'end s2@i1', 'start s1@i1', 'start s2@i1'])
    expect(events[5]).toBe('afterTarget i1')
    expect(events[6]).toBe('beforeTarget i2')
    expect(block('i2')).toEqual(['end s1@i2', 'end s2@i2', 'start s1@i2', 'start s2@i2'])
    expect(events[11]).toBe('afterTarget i2')
  })

  it('afterTarget still runs for the target that failed; the failed resource is skipped on the next target', async () => {
    const t = await hookedSetup()
    expect((await run(t.engine, {type: 'launch'})).status).toBe('succeeded')
    await t.engine.setDesiredVersion(P, E, 's1', '6.6.6')
    writeFileSync(join(t.dir, 'events.log'), '')
    const release = await run(t.engine, {type: 'full'})
    expect(release.status).toBe('failed')
    expect(taskOf(release, 's1@i1')).toMatchObject({status: 'failed', exitCode: 3})
    expect(taskOf(release, 'afterTarget@i1').status).toBe('succeeded')
    expect(taskOf(release, 's1@i2').status).toBe('skipped')
    expect(t.events()).toEqual(['beforeTarget i1', 'start s1@i1', 'fail s1@i1', 'afterTarget i1', 'beforeTarget i2', 'afterTarget i2'])
    expect((await appsByName(t.engine)).get('s1')).toMatchObject({deployedVersion: '1.0.0', health: 'Degraded'})
  })

  it('a halt (haltOnError) still runs afterTarget where the target had begun, and starts nothing on the next target', async () => {
    const t = await hookedSetup('workflow:\n  - step: first\n    tasks: [s1]\n    haltOnError: true\n  - step: second\n    tasks: [s2]\n')
    await t.engine.setDesiredVersion(P, E, 's1', '6.6.6')
    const release = await run(t.engine, {type: 'launch'})
    expect(release.status).toBe('failed')
    expect(release.tasks?.map((task) => [task.key, task.status])).toEqual(
      expect.arrayContaining([
        ['beforeTarget@i1', 'succeeded'],
        ['s1@i1', 'failed'],
        ['s2@i1', 'cancelled'],
        ['afterTarget@i1', 'succeeded'],
        ['beforeTarget@i2', 'cancelled'],
        ['s1@i2', 'cancelled'],
        ['s2@i2', 'cancelled'],
        ['afterTarget@i2', 'cancelled'],
      ]),
    )
    expect(t.events()).toEqual(['beforeTarget i1', 'start s1@i1', 'fail s1@i1', 'afterTarget i1'])
    expect(release.error).toMatch(/^halted at step "first" \(haltOnError\): s1@i1 failed; already ran \(not undone\): beforeTarget@i1, afterTarget@i1; not started: /)
  })

  it('a release with nothing to change runs with zero tasks: no target hooks either', async () => {
    const t = await hookedSetup()
    expect((await run(t.engine, {type: 'launch'})).status).toBe('succeeded')
    writeFileSync(join(t.dir, 'events.log'), '')
    const release = await run(t.engine, {type: 'full'})
    expect(release.status).toBe('succeeded')
    expect(release.resources).toEqual([])
    expect(release.tasks?.map((task) => task.key)).toEqual([])
    expect(readFileSync(join(t.dir, 'events.log'), 'utf8')).toBe('')
  })

  it('a parallel rollout does not run target hooks', async () => {
    const t = await hookedSetup()
    const release = await run(t.engine, {type: 'launch'}, 'par-par')
    expect(release.status).toBe('succeeded')
    expect(release.tasks?.some((task) => task.kind === 'hook')).toBe(false)
    expect(t.events().filter((line) => line.startsWith('beforeTarget'))).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------------

const WORKFLOW = (halt: boolean) => `project: shop
resources:
  web:
    driver: simulate
    simulate: { duration: 40ms }
  migrate-db:
    version: "6.6.6"
    driver: simulate
    simulate: { duration: 40ms, failVersions: ["6.6.6"] }
  scrub:
    driver: simulate
    simulate: { duration: 40ms }
  api:
    driver: simulate
    simulate: { duration: 40ms }
workflow:
  - step: frontend
    tasks: [web]
  - step: migrate
    tasks: [migrate-db, scrub]
    haltOnError: ${halt}
  - step: backend
    tasks: [api]
environments:
  prod: {}
`

describe('Engine: workflow steps', () => {
  it('haltOnError: a failing step halts the release; later steps are not started; the error says what already ran', async () => {
    const t = await setup(WORKFLOW(true))
    const release = await run(t.engine, {type: 'launch'})
    expect(release.status).toBe('failed')
    expect(release.tasks?.map((task) => [task.key, task.step, task.status])).toEqual([
      ['web', 'frontend', 'succeeded'],
      ['migrate-db', 'migrate', 'failed'],
      ['scrub', 'migrate', 'succeeded'],
      ['api', 'backend', 'cancelled'],
    ])
    const api = taskOf(release, 'api')
    expect(api.startedAt).toBeNull()
    expect(api.error).toBe('not started: halted at step "migrate" (haltOnError): migrate-db failed')
    expect(release.error).toBe('halted at step "migrate" (haltOnError): migrate-db failed; already ran (not undone): web, scrub; not started: api')
    // nothing is undone; what did not start keeps its state
    const apps = await appsByName(t.engine)
    expect(apps.get('web')).toMatchObject({deployedVersion: 'latest', health: 'Healthy'})
    expect(apps.get('scrub')).toMatchObject({deployedVersion: 'latest', health: 'Healthy'})
    expect(apps.get('migrate-db')).toMatchObject({deployedVersion: null, health: 'Degraded'})
    expect(apps.get('api')).toMatchObject({deployedVersion: null, health: 'Missing'})
  })

  it('without haltOnError the release goes on after a failed step and ends failed', async () => {
    const t = await setup(WORKFLOW(false))
    const release = await run(t.engine, {type: 'launch'})
    expect(release.status).toBe('failed')
    expect(release.error).toBe('task failed: migrate-db')
    expect(release.tasks?.map((task) => [task.key, task.status])).toEqual([
      ['web', 'succeeded'],
      ['migrate-db', 'failed'],
      ['scrub', 'succeeded'],
      ['api', 'succeeded'],
    ])
    // the next step came after the failed one had ended
    expect(ms(taskOf(release, 'api').startedAt)).toBeGreaterThanOrEqual(ms(taskOf(release, 'migrate-db').finishedAt))
    expect((await appsByName(t.engine)).get('api')).toMatchObject({deployedVersion: 'latest', health: 'Healthy', sync: 'Synced'})
  })

  it('waitForFinish false: the next steps start before it ends, and the release waits for it before it ends', async () => {
    const t = await setup(`project: shop
resources:
  web:
    driver: simulate
    simulate: { duration: 400ms }
  api:
    driver: simulate
    simulate: { duration: 40ms }
  worker:
    driver: simulate
    simulate: { duration: 40ms }
workflow:
  - step: frontend
    tasks: [web]
    waitForFinish: false
  - step: backend
    tasks: [api]
  - step: last
    tasks: [worker]
environments:
  prod: {}
`)
    const release = await run(t.engine, {type: 'launch'})
    expect(release.status).toBe('succeeded')
    const [web, api, worker] = ['web', 'api', 'worker'].map((key) => taskOf(release, key))
    expect(api.after).toEqual([])
    expect(worker.after).toEqual(['api'])
    expect(ms(api.startedAt)).toBeLessThan(ms(web.finishedAt))
    expect(ms(api.finishedAt)).toBeLessThan(ms(web.finishedAt))
    expect(ms(worker.startedAt)).toBeGreaterThanOrEqual(ms(api.finishedAt))
    expect(ms(worker.finishedAt)).toBeLessThan(ms(web.finishedAt))
    expect(ms(release.finishedAt)).toBeGreaterThanOrEqual(ms(web.finishedAt))
    expect((await appsByName(t.engine)).get('web')).toMatchObject({sync: 'Synced', health: 'Healthy'})
  })

  it('a task skipped on a later target still ends after the step before it: the step behind it keeps its barrier', async () => {
    // b fails on i1, so b@i2 is skipped; c@i2 waits only for b@i2 (its nearest barrier), and must still
    // not start before a@i2, the step before b, has ended.
    const t = await setup(`project: shop
resources:
  a:
    driver: simulate
    simulate: { duration: 300ms }
  b:
    version: "6.6.6"
    driver: simulate
    simulate: { duration: 1ms, failVersions: ["6.6.6"] }
  c:
    driver: simulate
    simulate: { duration: 1ms }
workflow:
  - step: first
    tasks: [a]
  - step: second
    tasks: [b]
  - step: third
    tasks: [c]
environments:
  prod:
    targets: [i1, i2]
    rollout: { services: parallel, targets: sequential }
`)
    const release = await run(t.engine, {type: 'launch'})
    expect(release.error).toBe('task failed: b@i1')
    expect(taskOf(release, 'b@i2')).toMatchObject({status: 'skipped', error: 'skipped: b@i1 did not succeed'})
    expect(taskOf(release, 'c@i2').after).toContain('b@i2')
    expect(taskOf(release, 'c@i2').after).not.toContain('a@i2')
    expect(ms(taskOf(release, 'c@i2').startedAt)).toBeGreaterThanOrEqual(ms(taskOf(release, 'a@i2').finishedAt))
  })

  it('a custom release runs only the named steps, keeps them in its options and locks the whole environment', async () => {
    const t = await setup(WORKFLOW(false).replace('version: "6.6.6"', 'version: "1.0.0"').replace('{ duration: 40ms }\n  api', '{ duration: 200ms }\n  api'))
    expect((await run(t.engine, {type: 'launch'})).status).toBe('succeeded')
    const {release: started} = await t.engine.trigger(P, E, {type: 'custom', steps: ['migrate', 'migrate']}, alice)
    expect(started.type).toBe('custom')
    expect(started.options).toEqual({steps: ['migrate']})
    expect(started.resources.map((resource) => resource.name).sort()).toEqual(['migrate-db', 'scrub'])
    const locks = await t.store.activeLocks(P, E)
    expect(locks).toEqual([{id: started.id, status: 'running', lockSet: '*', overridesFreeze: false, deadlineMs: null}])
    const release = await waitForFinal(t.engine, started.id)
    expect(release.status).toBe('succeeded')
    expect(release.tasks?.map((task) => [task.key, task.step])).toEqual([
      ['migrate-db', 'migrate'],
      ['scrub', 'migrate'],
    ])
  })

  it('custom releases: several steps run in workflow order', async () => {
    const t = await setup(WORKFLOW(false).replace('version: "6.6.6"', 'version: "1.0.0"'))
    const release = await run(t.engine, {type: 'custom', steps: ['backend', 'frontend']})
    expect(release.status).toBe('succeeded')
    expect(release.tasks?.map((task) => [task.key, task.step, task.level])).toEqual([
      ['web', 'frontend', 0],
      ['api', 'backend', 1],
    ])
    expect(ms(taskOf(release, 'api').startedAt)).toBeGreaterThanOrEqual(ms(taskOf(release, 'web').finishedAt))
  })

  it('custom releases are refused without a workflow, without steps, or with unknown steps', async () => {
    const plain = await setup('project: shop\nresources:\n  api:\n    driver: simulate\nenvironments:\n  prod: {}\n')
    const noWorkflow = await caught(plain.engine.trigger(P, E, {type: 'custom', steps: ['migrate']}, alice))
    expect(noWorkflow.code).toBe('invalid_input')
    expect(noWorkflow.message).toBe('a custom release runs workflow steps, and this blueprint has no workflow')

    const t = await setup(WORKFLOW(false))
    const unknown = await caught(t.engine.trigger(P, E, {type: 'custom', steps: ['migrate', 'nope', 'zap']}, alice))
    expect(unknown.code).toBe('invalid_input')
    expect(unknown.message).toBe('unknown steps nope, zap')
    expect(unknown.extra.hint).toBe("the workflow's steps are: frontend, migrate, backend")

    const one = await caught(t.engine.trigger(P, E, {type: 'custom', steps: ['nope']}, alice))
    expect(one.message).toBe('unknown step nope')

    const none = await caught(t.engine.trigger(P, E, {type: 'custom'}, alice))
    expect(none.code).toBe('invalid_input')
    expect(none.extra.hint).toMatch(/--steps frontend \(steps: frontend, migrate, backend\)/)

    const notCustom = await caught(t.engine.trigger(P, E, {type: 'full', steps: ['migrate']}, alice))
    expect(notCustom.message).toBe('--steps is only for custom releases')

    expect(await t.engine.listReleases({project: P, limit: 10})).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------------

const ROLLBACK = `project: shop
resources:
  api:
    version: "1.0.0"
    driver: simulate
    simulate: { duration: 30ms, failVersions: ["6.6.6"] }
  worker:
    version: "1.0.0"
    driver: simulate
    simulate: { duration: 30ms }
  slow:
    driver: simulate
    simulate: { duration: 250ms }
environments:
  prod: {}
`

describe('Engine: rollback and app history', () => {
  async function launched() {
    const t = await setup(ROLLBACK)
    const launch = await run(t.engine, {type: 'launch'})
    expect(launch.status).toBe('succeeded')
    return {...t, launch}
  }

  it('rolls an update back: a release of type rollback with options.rollbackOf deploys the version before and sets it as desired', async () => {
    const t = await launched()
    await t.engine.setDesiredVersion(P, E, 'api', '2.0.0')
    const update = await run(t.engine, {type: 'full'})
    expect(update.status).toBe('succeeded')
    expect((await appsByName(t.engine)).get('api')).toMatchObject({deployedVersion: '2.0.0', desiredVersion: '2.0.0'})

    const {release: created, created: isNew} = await t.engine.rollback(update.id, {}, alice)
    expect(isNew).toBe(true)
    expect(created.type).toBe('rollback')
    expect(created.options).toEqual({rollbackOf: update.id})
    expect(created.comment).toBe(`rollback of release ${update.id}`)
    expect(created.resources).toEqual([{name: 'api', action: 'update', fromVersion: '2.0.0', toVersion: '1.0.0'}])
    const rollback = await waitForFinal(t.engine, created.id)
    expect(rollback.status).toBe('succeeded')
    expect(rollback.tasks?.map((task) => [task.key, task.action, task.fromVersion, task.toVersion, task.status])).toEqual([['api', 'update', '2.0.0', '1.0.0', 'succeeded']])
    const apps = await appsByName(t.engine)
    expect(apps.get('api')).toMatchObject({deployedVersion: '1.0.0', desiredVersion: '1.0.0', sync: 'Synced', health: 'Healthy'})
    expect(apps.get('worker')).toMatchObject({deployedVersion: '1.0.0', sync: 'Synced'})

    // a rollback can be rolled back: that re-applies the release it undid
    const {release: again} = await t.engine.rollback(rollback.id, {}, alice)
    expect(again.options).toEqual({rollbackOf: rollback.id})
    expect(again.resources).toEqual([{name: 'api', action: 'update', fromVersion: '1.0.0', toVersion: '2.0.0'}])
    expect((await waitForFinal(t.engine, again.id)).status).toBe('succeeded')
    expect((await appsByName(t.engine)).get('api')).toMatchObject({deployedVersion: '2.0.0', desiredVersion: '2.0.0', sync: 'Synced'})
  })

  it('appHistory lists the successful deploys of an app, newest first, with the releases that made them', async () => {
    const t = await launched()
    await t.engine.setDesiredVersion(P, E, 'api', '2.0.0')
    const update = await run(t.engine, {type: 'full'})
    await t.engine.setDesiredVersion(P, E, 'api', '6.6.6')
    const failed = await run(t.engine, {type: 'full'})
    expect(failed.status).toBe('failed')
    const {release} = await t.engine.rollback(update.id, {}, alice)
    const rollback = await waitForFinal(t.engine, release.id)
    expect(rollback.status).toBe('succeeded')

    const history = await t.engine.appHistory(P, E, 'api', 50)
    expect(history.map((entry) => [entry.releaseId, entry.type, entry.action, entry.fromVersion, entry.toVersion, entry.target, entry.triggeredBy])).toEqual([
      [rollback.id, 'rollback', 'update', '2.0.0', '1.0.0', null, 'alice'],
      [update.id, 'full', 'update', '1.0.0', '2.0.0', null, 'alice'],
      [t.launch.id, 'launch', 'create', null, '1.0.0', null, 'alice'],
    ])
    for (const entry of history) expect(typeof entry.finishedAt).toBe('string')
    expect(await t.engine.appHistory(P, E, 'api', 1)).toHaveLength(1)
    const unknown = await caught(t.engine.appHistory(P, E, 'nope', 10))
    expect(unknown.code).toBe('not_found')
  })

  it('with targets, history has one entry per target', async () => {
    const t = await setup(TARGETED)
    const launch = await run(t.engine, {type: 'launch'})
    const history = await t.engine.appHistory(P, E, 's1', 10)
    expect(history.map((entry) => [entry.releaseId, entry.target]).sort()).toEqual([
      [launch.id, 'i1'],
      [launch.id, 'i2'],
    ])
  })

  it('refuses to roll back a release that changed nothing', async () => {
    const t = await launched()
    await t.engine.setDesiredVersion(P, E, 'api', '6.6.6')
    const failed = await run(t.engine, {type: 'full'})
    expect(failed.status).toBe('failed')
    const error = await caught(t.engine.rollback(failed.id, {}, alice))
    expect(error.code).toBe('invalid_input')
    expect(error.message).toBe(`release ${failed.id} changed nothing; there is nothing to roll back`)
  })

  it('refuses to roll back a release that is still running', async () => {
    const t = await launched()
    const {release} = await t.engine.trigger(P, E, {type: 'selective', resources: [{name: 'slow'}]}, alice)
    await waitForStatus(t.engine, release.id, 'running')
    const error = await caught(t.engine.rollback(release.id, {}, alice))
    expect(error.code).toBe('invalid_input')
    expect(error.message).toBe(`release ${release.id} is still running; a rollback undoes a release that has ended`)
    expect(error.extra.hint).toContain(`relctl release cancel ${release.id}`)
    await waitForFinal(t.engine, release.id)
  })

  it('refuses to roll back a release that created a resource unless destruction is allowed', async () => {
    const t = await launched()
    const error = await caught(t.engine.rollback(t.launch.id, {}, alice))
    expect(error.code).toBe('invalid_input')
    expect(error.message).toMatch(new RegExp(`^release ${t.launch.id} created (api|worker|slow); rolling it back deletes it, which is destructive$`))
    expect(error.extra.hint).toBe(`add --allow-destructive to roll back release ${t.launch.id}`)
    expect((await t.engine.listReleases({project: P, limit: 10})).map((release) => release.id)).toEqual([t.launch.id])

    const {release} = await t.engine.rollback(t.launch.id, {allowDestructive: true}, alice)
    expect(release.resources.every((resource) => resource.action === 'delete' && resource.toVersion === null)).toBe(true)
    expect((await waitForFinal(t.engine, release.id)).status).toBe('succeeded')
    const apps = await appsByName(t.engine)
    expect(apps.get('api')).toMatchObject({deployedVersion: null, health: 'Missing'})
  })

  it('refuses an unknown release', async () => {
    const t = await setup(ROLLBACK)
    expect((await caught(t.engine.rollback(999, {}, alice))).code).toBe('not_found')
  })

  it('the rollback of a selective release locks only its resources: it runs beside another selective release', async () => {
    const t = await launched()
    await t.engine.setParallel({project: P, environment: E, enabled: true}, 'alice')
    await t.engine.setDesiredVersion(P, E, 'api', '2.0.0')
    const selective = await run(t.engine, {type: 'selective', resources: [{name: 'api'}]})
    expect(selective.status).toBe('succeeded')
    await t.engine.setDesiredVersion(P, E, 'worker', '2.0.0')
    const full = await run(t.engine, {type: 'full'})
    expect(full.resources.map((resource) => resource.name)).toEqual(['worker'])

    const {release: other} = await t.engine.trigger(P, E, {type: 'selective', resources: [{name: 'slow'}], force: true}, alice)
    await waitForStatus(t.engine, other.id, 'running')
    // a rollback of the full release would lock the whole environment: it would wait
    const blocked = await dryRunOf(t.engine.rollback(full.id, {dryRun: true}, alice))
    expect(blocked.type).toBe('rollback')
    expect(blocked.wouldWaitFor).toMatchObject({reason: 'conflict', releases: [other.id]})
    // the rollback of the selective release locks api only
    const {release: created} = await t.engine.rollback(selective.id, {}, alice)
    expect(created.status).toBe('running')
    expect((await t.store.getRelease(created.id))?.lockSet).toEqual(['api'])
    const rollback = await waitForFinal(t.engine, created.id)
    expect(rollback.status).toBe('succeeded')
    const slow = await waitForFinal(t.engine, other.id)
    expect(ms(rollback.startedAt)).toBeLessThan(ms(slow.finishedAt))
    expect((await appsByName(t.engine)).get('api')).toMatchObject({deployedVersion: '1.0.0', desiredVersion: '1.0.0', sync: 'Synced'})
  })
})

// ---------------------------------------------------------------------------------------------------

describe('Engine: dry runs', () => {
  it('answers with the plan, the order, the resources and nothing in the way, and queues nothing', async () => {
    const t = await setup(TARGETED)
    const dry = await dryRunOf(t.engine.trigger(P, 'par-seq', {type: 'launch', dryRun: true}, alice))
    expect(dry).toMatchObject({dryRun: true, project: P, environment: 'par-seq', type: 'launch', wouldWaitFor: null, refreshed: []})
    expect(dry.resources).toEqual([
      {name: 's1', action: 'create', fromVersion: null, toVersion: '1.0.0'},
      {name: 's2', action: 'create', fromVersion: null, toVersion: '1.0.0'},
    ])
    expect(dry.order).toBe('s1@i1, s2@i1 | s1@i2, s2@i2')
    expect(dry.plan.rollout).toEqual({services: 'parallel', targets: 'sequential'})
    expect(dry.plan.targets).toEqual(['i1', 'i2'])
    expect(dry.plan.tasks.map((task) => [task.key, task.level, task.dependsOn])).toEqual([
      ['s1@i1', 0, []],
      ['s2@i1', 0, []],
      ['s1@i2', 1, ['s1@i1']],
      ['s2@i2', 1, ['s2@i1']],
    ])
    expect(await t.engine.listReleases({project: P, limit: 10})).toEqual([])
    expect(await t.store.activeLocks(P, 'par-seq')).toEqual([])
  })

  it('takes the one-off target order and custom steps into account', async () => {
    const t = await setup(TARGETED)
    const dry = await dryRunOf(t.engine.trigger(P, 'par-seq', {type: 'launch', dryRun: true, targetOrder: 'parallel'}, alice))
    expect(dry.plan.rollout.targets).toBe('parallel')
    expect(dry.order).toBe('s1@i1, s2@i1, s1@i2, s2@i2')

    const w = await setup(WORKFLOW(true))
    const custom = await dryRunOf(w.engine.trigger(P, E, {type: 'custom', steps: ['backend'], dryRun: true}, alice))
    expect(custom.plan.steps.map((step) => step.step)).toEqual(['backend'])
    expect(custom.resources.map((resource) => resource.name)).toEqual(['api'])
  })

  it('says which hooks run and notes resources outside the workflow', async () => {
    const t = await hookedSetup('workflow:\n  - step: first\n    tasks: [s1]\n')
    const dry = await dryRunOf(t.engine.trigger(P, E, {type: 'launch', dryRun: true}, alice))
    expect(dry.plan.hooks).toEqual({beforeTarget: 'sh ./hook.sh', afterTarget: 'sh ./hook.sh', run: true})
    expect(dry.plan.notes).toEqual(['s2 is in no workflow step: deployed after the last step'])
    expect(dry.order.split(' | ')[0]).toBe('beforeTarget@i1')
    const parallel = await dryRunOf(t.engine.trigger(P, 'par-par', {type: 'launch', dryRun: true}, alice))
    expect(parallel.plan.hooks.run).toBe(false)
    expect(parallel.plan.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^target hooks do not run/)]))
  })

  it('says what would hold it back: another release (serial, then conflict with parallel on) or a pause', async () => {
    const t = await setup(ROLLBACK)
    const {release: launch} = await t.engine.trigger(P, E, {type: 'launch'}, alice)
    await waitForStatus(t.engine, launch.id, 'running')

    const serial = await dryRunOf(t.engine.trigger(P, E, {type: 'selective', resources: [{name: 'api'}], dryRun: true}, alice))
    expect(serial.wouldWaitFor).toMatchObject({reason: 'serial', releases: [launch.id]})

    await t.engine.setParallel({project: P, environment: E, enabled: true}, 'alice')
    const conflict = await dryRunOf(t.engine.trigger(P, E, {type: 'selective', resources: [{name: 'api'}], dryRun: true}, alice))
    expect(conflict.wouldWaitFor).toMatchObject({reason: 'conflict', releases: [launch.id]})
    expect(conflict.wouldWaitFor?.message).toMatch(new RegExp(`waits for release ${launch.id}`))

    expect((await t.engine.listReleases({project: P, limit: 10})).map((release) => release.id)).toEqual([launch.id])
    await waitForFinal(t.engine, launch.id)

    await t.engine.pause(P, E, 'incident', 'bob')
    const paused = await dryRunOf(t.engine.trigger(P, E, {type: 'full', force: true, dryRun: true}, alice))
    expect(paused.wouldWaitFor?.reason).toBe('paused')
    expect(paused.wouldWaitFor?.message).toMatch(/^releases are paused for shop\/prod by bob since .*: incident$/)
    // a real trigger is refused while paused
    expect((await caught(t.engine.trigger(P, E, {type: 'full', force: true}, alice))).code).toBe('paused')
    expect(await t.engine.listReleases({project: P, limit: 10})).toHaveLength(1)
  })

  it('a rollback dry run shows the versions it would put back and creates nothing', async () => {
    const t = await setup(ROLLBACK)
    await run(t.engine, {type: 'launch'})
    await t.engine.setDesiredVersion(P, E, 'api', '2.0.0')
    const update = await run(t.engine, {type: 'full'})
    const dry = await dryRunOf(t.engine.rollback(update.id, {dryRun: true}, alice))
    expect(dry.type).toBe('rollback')
    expect(dry.resources).toEqual([{name: 'api', action: 'update', fromVersion: '2.0.0', toVersion: '1.0.0'}])
    expect(dry.order).toBe('api')
    expect(dry.wouldWaitFor).toBeNull()
    expect(await t.engine.listReleases({project: P, limit: 10})).toHaveLength(2)
    expect((await appsByName(t.engine)).get('api')).toMatchObject({deployedVersion: '2.0.0', desiredVersion: '2.0.0'})
  })
})

// ---------------------------------------------------------------------------------------------------

describe('Engine: refresh and drift', () => {
  const REFRESHED = `project: shop
resources:
  api:
    version: "1.0.0"
    driver: exec
    exec: { deploy: sh ./deploy.sh, status: ./status.sh }
  worker:
    driver: simulate
    simulate: { duration: 20ms }
environments:
  prod: {}
`

  async function refreshSetup() {
    const t = await setup(REFRESHED)
    script(t.dir, 'deploy.sh', 'printf "%s\\n" "$RELCTL_VERSION" > "live-$RELCTL_RESOURCE.txt"')
    script(t.dir, 'status.sh', 'echo "reading the live version of $RELCTL_RESOURCE"\ncat "live-$RELCTL_RESOURCE.txt"')
    expect((await run(t.engine, {type: 'launch'})).status).toBe('succeeded')
    expect(readFileSync(join(t.dir, 'live-api.txt'), 'utf8')).toBe('1.0.0\n')
    return t
  }

  it('a refresh that reads the recorded version finds no drift', async () => {
    const t = await refreshSetup()
    const apps = new Map((await t.engine.refreshApps(P, E)).map((app) => [app.name, app]))
    expect(apps.get('api')).toMatchObject({deployedVersion: '1.0.0', sync: 'Synced', drift: null})
  })

  it('records drift (OutOfSync, drift {recordedVersion, liveVersion}); a full release with refresh deploys it back and clears it', async () => {
    const t = await refreshSetup()
    writeFileSync(join(t.dir, 'live-api.txt'), '0.9.0\n')
    const apps = new Map((await t.engine.refreshApps(P, E)).map((app) => [app.name, app]))
    const api = apps.get('api')
    expect(api).toMatchObject({deployedVersion: '0.9.0', desiredVersion: '1.0.0', sync: 'OutOfSync'})
    expect(api?.drift).toMatchObject({recordedVersion: '1.0.0', liveVersion: '0.9.0'})
    expect(typeof api?.drift?.at).toBe('string')
    // refresh reads, it does not deploy
    expect(await t.engine.listReleases({project: P, limit: 10})).toHaveLength(1)
    expect(apps.get('worker')).toMatchObject({sync: 'Synced', drift: null})

    const release = await run(t.engine, {type: 'full', refresh: true})
    expect(release.status).toBe('succeeded')
    expect(release.refresh).toBe(true)
    expect(release.resources).toEqual([{name: 'api', action: 'update', fromVersion: '0.9.0', toVersion: '1.0.0'}])
    expect(readFileSync(join(t.dir, 'live-api.txt'), 'utf8')).toBe('1.0.0\n')
    expect((await appsByName(t.engine)).get('api')).toMatchObject({deployedVersion: '1.0.0', sync: 'Synced', health: 'Healthy', drift: null})
  })

  it('--refresh on a trigger finds drift first, so the release corrects it; a dry run lists what it refreshed', async () => {
    const t = await refreshSetup()
    writeFileSync(join(t.dir, 'live-api.txt'), '0.8.0\n')
    const dry = await dryRunOf(t.engine.trigger(P, E, {type: 'full', refresh: true, dryRun: true}, alice))
    expect(dry.refreshed).toEqual([{name: 'api', recordedVersion: '1.0.0', liveVersion: '0.8.0'}])
    expect(dry.resources).toEqual([{name: 'api', action: 'update', fromVersion: '0.8.0', toVersion: '1.0.0'}])
    expect(await t.engine.listReleases({project: P, limit: 10})).toHaveLength(1)

    writeFileSync(join(t.dir, 'live-api.txt'), '0.7.0\n')
    const release = await run(t.engine, {type: 'full', refresh: true})
    expect(release.resources).toEqual([{name: 'api', action: 'update', fromVersion: '0.7.0', toVersion: '1.0.0'}])
    expect((await appsByName(t.engine)).get('api')).toMatchObject({deployedVersion: '1.0.0', sync: 'Synced', drift: null})
  })

  it('a status command that fails leaves the app as it is', async () => {
    const t = await refreshSetup()
    script(t.dir, 'status.sh', 'exit 4')
    const apps = new Map((await t.engine.refreshApps(P, E)).map((app) => [app.name, app]))
    expect(apps.get('api')).toMatchObject({deployedVersion: '1.0.0', sync: 'Synced', drift: null})
  })
})
