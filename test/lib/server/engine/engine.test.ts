import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import type {TriggerRequest} from '../../../../src/lib/api/schemas.js'
import {Engine} from '../../../../src/lib/server/engine/engine.js'
import {ControlPlaneError} from '../../../../src/lib/server/errors.js'
import {openSqliteStore} from '../../../../src/lib/server/store/sqlite.js'
import type {Store} from '../../../../src/lib/server/store/store.js'
import {
  createTestEngine,
  engineOn,
  quietLog,
  SHOP_BLUEPRINT,
  tempDir,
  type TestEngine,
  waitFor,
  waitForFinal,
} from '../../../helpers/engine.js'

const alice = {subject: 'alice', idempotencyKey: null}
const P = 'shop'
const E = 'prod'

let opened: TestEngine[] = []
const cleanups: (() => Promise<void>)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  for (const t of opened.splice(0)) await t.close()
})

async function setup(blueprint = SHOP_BLUEPRINT) {
  const t = await createTestEngine(blueprint)
  opened.push(t)
  return t
}

const trigger = (engine: Engine, request: TriggerRequest, context: {subject: string; idempotencyKey: string | null} = alice, environment = E) =>
  engine.trigger(P, environment, request, context)

async function appsByName(engine: Engine, environment = E) {
  return new Map((await engine.listApps(P, environment)).map((app) => [app.name, app]))
}

async function caught(promise: Promise<unknown>): Promise<ControlPlaneError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(ControlPlaneError)
    return error as ControlPlaneError
  }
  throw new Error('expected a ControlPlaneError')
}

describe('Engine: projects', () => {
  it('applies a blueprint: environments and app states, all out of sync at first', async () => {
    const t = await setup(null as unknown as string)
    const result = await t.engine.applyProject(SHOP_BLUEPRINT, 'relctl.yaml', t.dir)
    expect(result.created).toBe(true)
    expect(result.changed).toBe(true)
    expect([...result.project.environments].sort()).toEqual(['prod', 'staging'])
    const apps = await t.engine.listApps(P, E)
    expect(apps.map((app) => [app.name, app.desiredVersion, app.deployedVersion, app.sync, app.health])).toEqual([
      ['db', 'latest', null, 'OutOfSync', 'Missing'],
      ['api', '1.0.0', null, 'OutOfSync', 'Missing'],
      ['web', 'latest', null, 'OutOfSync', 'Missing'],
      ['worker', 'latest', null, 'OutOfSync', 'Missing'],
    ])
    const again = await t.engine.applyProject(SHOP_BLUEPRINT, 'relctl.yaml', t.dir)
    expect(again.created).toBe(false)
    expect(again.changed).toBe(false)
  })

  it('refuses an invalid blueprint with code invalid_blueprint and one detail per problem', async () => {
    const t = await setup()
    const error = await caught(t.engine.applyProject('project: shop\nresources:\n  api:\n    driver: docker\nenvironments:\n  prod: {}\n', 'relctl.yaml', t.dir))
    expect(error.code).toBe('invalid_blueprint')
    expect(error.status).toBe(422)
    expect(error.extra.details).toEqual([{path: 'resources.api.driver', message: 'line 4: unknown driver "docker"; use one of: exec, simulate'}])
  })
})

describe('Engine: releases', () => {
  it('runs a release: queued -> running -> succeeded, and updates app states', async () => {
    const {engine} = await setup()
    const {release, created} = await trigger(engine, {type: 'full', comment: 'first'})
    expect(created).toBe(true)
    expect(release.status).toBe('running')
    expect(release.triggeredBy).toBe('alice')
    expect(release.comment).toBe('first')
    expect(release.resources.map((resource) => [resource.name, resource.action, resource.toVersion])).toEqual([
      ['api', 'create', '1.0.0'],
      ['db', 'create', 'latest'],
      ['web', 'create', 'latest'],
      ['worker', 'create', 'latest'],
    ])
    const during = await appsByName(engine)
    expect(during.get('db')?.activeReleases).toEqual([{id: release.id, status: 'running', type: 'full'}])
    expect(during.get('db')?.stable).toBe(false)

    const done = await waitForFinal(engine, release.id)
    expect(done.status).toBe('succeeded')
    expect(done.error).toBeNull()
    expect(done.startedAt).not.toBeNull()
    expect(done.finishedAt).not.toBeNull()
    expect(done.tasks?.map((task) => [task.resource, task.level, task.status])).toEqual([
      ['db', 0, 'succeeded'],
      ['worker', 0, 'succeeded'],
      ['api', 1, 'succeeded'],
      ['web', 2, 'succeeded'],
    ])
    // dependencies ran first
    const at = new Map(done.tasks!.map((task) => [task.resource, task]))
    expect(at.get('api')!.startedAt! >= at.get('db')!.finishedAt!).toBe(true)
    expect(at.get('web')!.startedAt! >= at.get('api')!.finishedAt!).toBe(true)

    const apps = await engine.listApps(P, E)
    for (const app of apps) {
      expect(app, app.name).toMatchObject({sync: 'Synced', health: 'Healthy', stable: true, activeReleases: [], lastRelease: {id: release.id, status: 'succeeded'}})
      expect(app.deployedVersion).toBe(app.desiredVersion)
    }
    // another environment is untouched
    for (const app of await engine.listApps(P, 'staging')) expect(app).toMatchObject({sync: 'OutOfSync', health: 'Missing', deployedVersion: null})

    const logs = await engine.readLogs(release.id, 0, 1000)
    expect(logs.releaseStatus).toBe('succeeded')
    expect(logs.lines.some((line) => line.resource === 'api' && line.line.includes('deployed api 1.0.0: Healthy'))).toBe(true)
  })

  it('queues a second release behind the first (serial) and runs it after', async () => {
    const {engine} = await setup()
    const first = (await trigger(engine, {type: 'full'})).release
    const second = (await trigger(engine, {type: 'selective', resources: [{name: 'worker'}]})).release
    expect(second.status).toBe('queued')
    expect(second.queuePosition).toBe(1)
    expect(second.waitingFor).toEqual({
      reason: 'serial',
      releases: [first.id],
      message: `waits for release ${first.id} to finish (parallel releases are off in prod)`,
    })
    const listed = await engine.listReleases({project: P, environment: E, limit: 10})
    expect(listed.map((release) => [release.id, release.status])).toEqual([
      [second.id, 'queued'],
      [first.id, 'running'],
    ])

    const firstDone = await waitForFinal(engine, first.id)
    const secondDone = await waitForFinal(engine, second.id)
    expect(firstDone.status).toBe('succeeded')
    expect(secondDone.status).toBe('succeeded')
    expect(secondDone.waitingFor).toBeUndefined()
    expect(secondDone.startedAt! >= firstDone.finishedAt!).toBe(true)
    // at trigger time worker had never been deployed
    expect(secondDone.resources).toEqual([{name: 'worker', action: 'create', fromVersion: null, toVersion: 'latest'}])
    expect(secondDone.tasks?.[0]).toMatchObject({resource: 'worker', toVersion: 'latest', status: 'succeeded'})
  })

  // Versions are read again when a queued release starts (an earlier release may have changed what is
  // deployed); the action must follow, or the driver gets RELCTL_ACTION=create with a previous version.
  it('a queued release that creates an app updates it if an earlier release deployed it meanwhile', async () => {
    const {engine} = await setup()
    const first = (await trigger(engine, {type: 'full'})).release
    const second = (await trigger(engine, {type: 'selective', resources: [{name: 'worker'}]})).release
    expect(second.resources[0].action).toBe('create')
    await waitForFinal(engine, first.id)
    const done = await waitForFinal(engine, second.id)
    expect(done.tasks?.[0]).toMatchObject({resource: 'worker', fromVersion: 'latest', toVersion: 'latest'})
    expect(done.tasks?.[0].action).toBe('update')
  })

  it('releases of different environments do not wait for each other', async () => {
    const {engine} = await setup()
    const prod = (await trigger(engine, {type: 'full'})).release
    const staging = (await trigger(engine, {type: 'full'}, alice, 'staging')).release
    expect(prod.status).toBe('running')
    expect(staging.status).toBe('running')
    expect((await waitForFinal(engine, staging.id)).status).toBe('succeeded')
    expect((await waitForFinal(engine, prod.id)).status).toBe('succeeded')
  })

  it('cancels a queued release: it never starts, and the next one still runs', async () => {
    const {engine} = await setup()
    const first = (await trigger(engine, {type: 'full'})).release
    const second = (await trigger(engine, {type: 'selective', resources: [{name: 'worker'}]})).release
    const third = (await trigger(engine, {type: 'selective', resources: [{name: 'db'}]})).release
    expect(third.waitingFor).toMatchObject({reason: 'serial', releases: [first.id]})
    // A listing answered again and again while the queue does not move, then once it moves.
    const queue = () => engine.listReleases({project: P, environment: E, statuses: ['pending_approval', 'queued', 'running'], limit: 50, order: 'asc'})
    const place = async () => (await queue()).map((release) => [release.id, release.status, release.queuePosition ?? null])
    expect(await place()).toEqual([[first.id, 'running', null], [second.id, 'queued', 1], [third.id, 'queued', 2]])
    expect(await place()).toEqual([[first.id, 'running', null], [second.id, 'queued', 1], [third.id, 'queued', 2]])

    const cancelled = await engine.cancel(second.id, 'bob')
    expect(await place()).toEqual([[first.id, 'running', null], [third.id, 'queued', 1]])
    expect(cancelled.status).toBe('cancelled')
    expect(cancelled.error).toBe('cancelled by bob before it started')
    expect(cancelled.startedAt).toBeNull()
    expect(cancelled.finishedAt).not.toBeNull()
    expect(cancelled.tasks).toEqual([])
    expect((await engine.getRelease(third.id)).queuePosition).toBe(1)

    expect((await waitForFinal(engine, first.id)).status).toBe('succeeded')
    expect((await waitForFinal(engine, third.id)).status).toBe('succeeded')
    expect((await engine.getRelease(second.id)).status).toBe('cancelled')

    const again = await caught(engine.cancel(second.id, 'bob'))
    expect(again.code).toBe('invalid_input')
    expect(again.message).toBe(`release ${second.id} is already cancelled; there is nothing to cancel`)
  })

  it('cancels a running release: stops its tasks and admits the next', async () => {
    const {engine} = await setup(SHOP_BLUEPRINT.replace('duration: 150ms, failVersions', 'duration: 5s, failVersions'))
    const first = (await trigger(engine, {type: 'full'})).release
    const next = (await trigger(engine, {type: 'selective', resources: [{name: 'worker'}]})).release
    await waitFor(async () => (await engine.getRelease(first.id)).tasks?.find((task) => task.resource === 'api' && task.status === 'running'), 'api to run')

    const cancelled = await engine.cancel(first.id, 'bob')
    expect(cancelled.status).toBe('cancelled')
    expect(cancelled.error).toBe('cancelled by request')
    const tasks = new Map(cancelled.tasks!.map((task) => [task.resource, task]))
    expect(tasks.get('db')?.status).toBe('succeeded')
    expect(tasks.get('api')?.status).toBe('cancelled')
    expect(tasks.get('web')?.status).toBe('cancelled')
    expect(tasks.get('web')?.error).toBe('not started: the release was stopped')
    const apps = await appsByName(engine)
    expect(apps.get('api')).toMatchObject({health: 'Unknown', deployedVersion: null})

    expect((await waitForFinal(engine, next.id)).status).toBe('succeeded')
  })

  it('returns the same release for the same idempotency key', async () => {
    const {engine} = await setup()
    const context = {subject: 'ci', idempotencyKey: 'pipeline-42'}
    const first = await trigger(engine, {type: 'full'}, context)
    const second = await trigger(engine, {type: 'full'}, context)
    expect(first.created).toBe(true)
    expect(second.created).toBe(false)
    expect(second.release.id).toBe(first.release.id)
    expect(second.release.idempotencyKey).toBe('pipeline-42')
    expect(await engine.listReleases({project: P, limit: 10})).toHaveLength(1)

    const other = await caught(trigger(engine, {type: 'full'}, context, 'staging'))
    expect(other.code).toBe('invalid_input')
    expect(other.message).toContain(`idempotency key "pipeline-42" was already used for release ${first.release.id} of shop/prod`)
  })

  it('refuses a conflicting trigger with onConflict fail: state_lock naming the holder, nothing queued', async () => {
    const {engine} = await setup()
    const holder = (await trigger(engine, {type: 'full'})).release
    const error = await caught(trigger(engine, {type: 'selective', resources: [{name: 'worker'}], onConflict: 'fail'}))
    expect(error.code).toBe('state_lock')
    expect(error.status).toBe(409)
    expect(error.message).toBe(`state lock held by release ${holder.id} (running) on worker; nothing was queued`)
    expect(error.extra.holder).toEqual({releaseId: holder.id, resources: ['worker']})
    expect(error.extra.hint).toContain(`relctl release show ${holder.id}`)
    expect((await engine.listReleases({project: P, environment: E, limit: 10})).map((release) => release.id)).toEqual([holder.id])

    const whole = await caught(trigger(engine, {type: 'full', onConflict: 'fail'}))
    expect(whole.message).toBe(`state lock held by release ${holder.id} (running) on the whole environment; nothing was queued`)
    expect(whole.extra.holder).toEqual({releaseId: holder.id, resources: ['*']})
    await waitForFinal(engine, holder.id)
  })

  // Parallel releases are off: a selective release on worker waits behind one on api although their lock
  // sets do not intersect. If that is refused as a state lock, the message must still name what is held.
  it('names the held resources when onConflict fail is refused behind a non-overlapping release (serial)', async () => {
    const {engine} = await setup()
    const holder = (await trigger(engine, {type: 'selective', resources: [{name: 'api'}]})).release
    let outcome: {message?: string; resources?: string[]; status?: string}
    try {
      const {release} = await trigger(engine, {type: 'selective', resources: [{name: 'worker'}], onConflict: 'fail'})
      outcome = {status: release.status}
    } catch (error) {
      const cpe = error as ControlPlaneError
      expect(cpe.code).toBe('state_lock')
      outcome = {message: cpe.message, resources: cpe.extra.holder?.resources}
    }
    if (outcome.message !== undefined) {
      expect(outcome.message).not.toMatch(/ on ;/)
      expect(outcome.resources).not.toEqual([])
    } else {
      expect(outcome.status).toBe('queued')
    }
    await waitForFinal(engine, holder.id)
  })

  it('starts a trigger with onConflict fail when nothing holds the lock', async () => {
    const {engine} = await setup()
    const {release} = await trigger(engine, {type: 'full', onConflict: 'fail'})
    expect(release.status).toBe('running')
    await waitForFinal(engine, release.id)
  })

  it('fails a release whose task fails: dependents skipped, independent tasks succeed, app Degraded', async () => {
    const {engine} = await setup()
    await engine.setDesiredVersion(P, E, 'api', '6.6.6')
    const {release} = await trigger(engine, {type: 'launch'})
    const done = await waitForFinal(engine, release.id)
    expect(done.status).toBe('failed')
    expect(done.error).toBe('task failed: api')
    const tasks = new Map(done.tasks!.map((task) => [task.resource, task]))
    expect(tasks.get('db')?.status).toBe('succeeded')
    expect(tasks.get('worker')?.status).toBe('succeeded')
    expect(tasks.get('api')).toMatchObject({status: 'failed', exitCode: 1, error: 'simulated failure for version 6.6.6'})
    expect(tasks.get('web')).toMatchObject({status: 'skipped', error: 'skipped: api did not succeed'})
    expect(tasks.get('web')?.startedAt).toBeNull()

    const apps = await appsByName(engine)
    expect(apps.get('api')).toMatchObject({health: 'Degraded', deployedVersion: null, sync: 'OutOfSync', stable: false, lastRelease: {id: release.id, status: 'failed'}})
    expect(apps.get('web')).toMatchObject({health: 'Missing', deployedVersion: null})
    expect(apps.get('db')).toMatchObject({health: 'Healthy', sync: 'Synced'})
    expect(apps.get('worker')).toMatchObject({health: 'Healthy', sync: 'Synced'})

    const logs = await engine.readLogs(release.id, 0, 1000, {resource: 'api'})
    expect(logs.lines.some((line) => line.stream === 'stderr' && line.line.includes('version 6.6.6 is listed in simulate.failVersions'))).toBe(true)
    expect(logs.lines.every((line) => line.resource === 'api')).toBe(true)
  })

  it('includes only out-of-sync apps in a full release', async () => {
    const {engine} = await setup()
    await waitForFinal(engine, (await trigger(engine, {type: 'full'})).release.id)
    await engine.setDesiredVersion(P, E, 'api', '1.1.0')
    const {release} = await trigger(engine, {type: 'full'})
    expect(release.resources).toEqual([{name: 'api', action: 'update', fromVersion: '1.0.0', toVersion: '1.1.0'}])
    const done = await waitForFinal(engine, release.id)
    expect(done.status).toBe('succeeded')
    expect(done.tasks?.map((task) => task.resource)).toEqual(['api'])
    expect((await appsByName(engine)).get('api')).toMatchObject({deployedVersion: '1.1.0', sync: 'Synced', health: 'Healthy'})

    // with force, a full release takes every app
    const forced = (await trigger(engine, {type: 'full', force: true})).release
    expect(forced.resources.map((resource) => resource.name).sort()).toEqual(['api', 'db', 'web', 'worker'])
    await waitForFinal(engine, forced.id)
  })

  it('syncs only the out-of-sync apps among those named', async () => {
    const {engine} = await setup()
    await waitForFinal(engine, (await trigger(engine, {type: 'full'})).release.id)
    await engine.setDesiredVersion(P, E, 'api', '2.0.0')
    const nothing = await engine.sync(P, E, ['db', 'web'], {force: false, comment: null, source: 'cli'}, alice)
    expect(nothing.release).toBeNull()
    const result = await engine.sync(P, E, ['api', 'web'], {force: false, comment: null, source: 'cli'}, alice)
    expect(result.release?.type).toBe('selective')
    expect(result.release?.resources.map((resource) => resource.name)).toEqual(['api'])
    expect(result.apps.map((app) => app.name)).toEqual(['api', 'web'])
    // a second sync while the first takes api to 2.0.0 starts nothing new
    const again = await engine.sync(P, E, ['api'], {force: false, comment: null, source: 'cli'}, alice)
    expect(again.release).toBeNull()
    await waitForFinal(engine, result.release!.id)
  })

  it('needs allowDestructive for a destroy release, then deletes in reverse dependency order', async () => {
    const {engine} = await setup()
    await waitForFinal(engine, (await trigger(engine, {type: 'full'})).release.id)
    const refused = await caught(trigger(engine, {type: 'destroy'}))
    expect(refused.code).toBe('invalid_input')
    expect(refused.message).toBe('a destroy release deletes every resource of the environment and was not allowed')
    expect(refused.extra.hint).toBe('add --allow-destructive to destroy it')
    expect(await engine.listReleases({project: P, environment: E, limit: 10})).toHaveLength(1)

    const {release} = await trigger(engine, {type: 'destroy', allowDestructive: true})
    expect(release.resources.every((resource) => resource.action === 'delete' && resource.toVersion === null)).toBe(true)
    const done = await waitForFinal(engine, release.id)
    expect(done.status).toBe('succeeded')
    expect(done.tasks?.map((task) => [task.resource, task.level])).toEqual([
      ['web', 0],
      ['worker', 0],
      ['api', 1],
      ['db', 2],
    ])
    for (const app of await engine.listApps(P, E)) expect(app).toMatchObject({deployedVersion: null, health: 'Missing', sync: 'OutOfSync'})
  })

  it('refuses a selective delete without allowDestructive', async () => {
    const {engine} = await setup()
    const error = await caught(trigger(engine, {type: 'selective', resources: [{name: 'web', action: 'delete'}]}))
    expect(error.code).toBe('invalid_input')
    expect(error.message).toBe('deleting web is destructive and was not allowed')
  })

  it('refuses unknown projects, environments and apps with not_found and the valid names', async () => {
    const {engine} = await setup()
    const project = await caught(engine.trigger('nope', E, {type: 'full'}, alice))
    expect(project.code).toBe('not_found')
    expect(project.extra.validNames).toEqual(['shop'])
    const environment = await caught(trigger(engine, {type: 'full'}, alice, 'qa'))
    expect(environment.code).toBe('not_found')
    expect(environment.message).toBe('environment "qa" not found in project shop; known: prod, staging')
    const app = await caught(trigger(engine, {type: 'selective', resources: [{name: 'cache'}]}))
    expect(app.code).toBe('not_found')
    expect(app.extra.validNames).toEqual(['api', 'db', 'web', 'worker'])
    const release = await caught(engine.getRelease(999))
    expect(release.code).toBe('not_found')
  })

  it('refuses --resources on a full release and a selective release without resources', async () => {
    const {engine} = await setup()
    expect((await caught(trigger(engine, {type: 'full', resources: [{name: 'api'}]}))).code).toBe('invalid_input')
    expect((await caught(trigger(engine, {type: 'selective'}))).message).toBe('a selective release needs the resources to release')
  })
})

describe('Engine: capacity and races', () => {
  it('holds a release of another environment for capacity and starts it when a run ends', async () => {
    const t = await createTestEngine(SHOP_BLUEPRINT, {capacity: 1})
    opened.push(t)
    const prod = (await trigger(t.engine, {type: 'full'})).release
    const staging = (await trigger(t.engine, {type: 'full'}, alice, 'staging')).release
    expect(prod.status).toBe('running')
    expect(staging.status).toBe('queued')
    expect(staging.waitingFor?.reason).toBe('capacity')
    const prodDone = await waitForFinal(t.engine, prod.id)
    const stagingDone = await waitForFinal(t.engine, staging.id)
    expect(stagingDone.status).toBe('succeeded')
    expect(stagingDone.startedAt! >= prodDone.finishedAt!).toBe(true)
  })

  // A store whose transactions take a while to come back after they commit, as with a remote database.
  function slowCommits(store: Store, ms: number): Store {
    return new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'transaction') {
          return async <T>(fn: (tx: Store) => Promise<T>) => {
            const result = await target.transaction(fn)
            await new Promise((resolve) => setTimeout(resolve, ms))
            return result
          }
        }
        const value = Reflect.get(target, property, receiver)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
  }

  // startRelease commits queued -> running, then registers the run; a cancel in between finds the release
  // running but no run to stop, and returns without cancelling anything.
  it('cancels a release that is being started at the moment of the cancel', async () => {
    const dir = tempDir()
    const store = await openSqliteStore(join(dir, 'relctl.db'))
    const engine = new Engine({store: slowCommits(store, 150), log: quietLog})
    cleanups.push(async () => {
      await engine.shutdown(0)
      await store.close()
      rmSync(dir, {recursive: true, force: true})
    })
    await engine.start()
    // The owner sees the request at its next cancel check (every second): db deploys for longer than
    // that, so the check falls inside the run wherever its phase is.
    const slowDb = SHOP_BLUEPRINT.replace('  db:\n    kind: database\n    driver: simulate\n    simulate: { duration: 100ms }', '  db:\n    kind: database\n    driver: simulate\n    simulate: { duration: 3s }')
    expect(slowDb).not.toBe(SHOP_BLUEPRINT)
    await engine.applyProject(slowDb, 'relctl.yaml', dir)
    const first = (await trigger(engine, {type: 'selective', resources: [{name: 'worker'}]})).release
    const second = (await trigger(engine, {type: 'selective', resources: [{name: 'db'}]})).release
    expect(second.status).toBe('queued')
    await waitFor(async () => (await store.getRelease(second.id))?.status === 'running', 'the second release to be marked running', 10_000)

    const answer = await engine.cancel(second.id, 'bob')
    const final = await waitForFinal(engine, second.id)
    expect({answer: answer.status, final: final.status}).toEqual({answer: 'cancelled', final: 'cancelled'})
    await waitForFinal(engine, first.id)
  })
})

describe('Engine: stopping and restarting', () => {
  const SLOW = `project: shop
resources:
  slow:
    driver: simulate
    simulate: { duration: 1h }
  after:
    dependsOn: [slow]
    driver: simulate
    simulate: { duration: 100ms }
  web:
    driver: simulate
    simulate: { duration: 100ms }
environments:
  prod: {}
`

  it('recovers after a crash: the running release fails as interrupted and queued ones run', async () => {
    const t = await setup(SLOW)
    const first = (await trigger(t.engine, {type: 'launch'})).release
    const queued = (await trigger(t.engine, {type: 'selective', resources: [{name: 'web'}]})).release
    expect(queued.status).toBe('queued')
    await waitFor(async () => {
      const tasks = (await t.engine.getRelease(first.id)).tasks ?? []
      return tasks.find((task) => task.resource === 'web')?.status === 'succeeded' && tasks.find((task) => task.resource === 'slow')?.status === 'running'
    }, 'web to finish while slow runs')

    // The first process "dies" here: it is abandoned without shutdown. A new process opens the same file.
    const second = await engineOn(t.file)
    cleanups.push(async () => {
      await second.engine.shutdown(0)
      await second.store.close()
    })

    const recovered = await second.engine.getRelease(first.id)
    expect(recovered.status).toBe('failed')
    expect(recovered.error).toBe('interrupted: the control plane stopped while it ran; trigger it again')
    expect(recovered.finishedAt).not.toBeNull()
    const tasks = new Map(recovered.tasks!.map((task) => [task.resource, task]))
    expect(tasks.get('slow')).toMatchObject({status: 'interrupted', error: 'the control plane stopped while this task ran'})
    expect(tasks.get('after')).toMatchObject({status: 'cancelled', error: 'not started: the control plane stopped'})
    expect(tasks.get('web')?.status).toBe('succeeded')
    expect((await appsByName(second.engine)).get('slow')?.health).toBe('Unknown')

    const ran = await waitForFinal(second.engine, queued.id)
    expect(ran.status).toBe('succeeded')
    // no stuck lock: a new release is admitted at once
    const next = (await trigger(second.engine, {type: 'selective', resources: [{name: 'web'}], onConflict: 'fail'})).release
    expect(next.status).toBe('running')
    await waitForFinal(second.engine, next.id)
  })

  it('shutdown stops a running release as interrupted and keeps the queue for the next start', async () => {
    const t = await setup(SLOW)
    const first = (await trigger(t.engine, {type: 'launch'})).release
    const queued = (await trigger(t.engine, {type: 'selective', resources: [{name: 'web'}]})).release
    await waitFor(async () => (await t.engine.getRelease(first.id)).tasks?.some((task) => task.resource === 'slow' && task.status === 'running'), 'slow to run')
    await t.engine.shutdown(50)

    const stopped = await t.engine.getRelease(first.id)
    expect(stopped.status).toBe('failed')
    expect(stopped.error).toBe('interrupted: the control plane shut down while it ran; trigger it again')
    expect(stopped.tasks?.find((task) => task.resource === 'slow')?.status).toBe('interrupted')
    expect((await t.engine.getRelease(queued.id)).status).toBe('queued')
    await t.store.close()

    const restarted = await engineOn(t.file)
    cleanups.push(async () => {
      await restarted.engine.shutdown(0)
      await restarted.store.close()
    })
    expect((await waitForFinal(restarted.engine, queued.id)).status).toBe('succeeded')
    opened = opened.filter((candidate) => candidate !== t)
  })
})
