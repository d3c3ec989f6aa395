// Pauses and scheduled releases through a real Engine over SQLite, with an injected clock.
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import BetterSqlite3 from 'better-sqlite3'
import {Kysely, SqliteDialect} from 'kysely'
import {afterEach, describe, expect, it} from 'vitest'

import type {ReleaseStatus} from '../../../../src/lib/api/domain.js'
import type {SetScheduleRequest, TriggerRequest} from '../../../../src/lib/api/schemas.js'
import {Engine} from '../../../../src/lib/server/engine/engine.js'
import {KyselyStore} from '../../../../src/lib/server/store/kysely/store.js'
import {migrateToLatest, openSqliteStore as openSqliteStoreFor, sqliteQuirks} from '../../../../src/lib/server/store/sqlite.js'
import type {Store} from '../../../../src/lib/server/store/store.js'
import type {Database} from '../../../../src/lib/server/store/schema/tables.js'
import {
  caught,
  createTestEngine,
  engineOn,
  quietLog,
  SHOP_BLUEPRINT,
  tempDir,
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
const T0 = '2026-03-02T10:00:00.000Z' // a Monday
const ACTIVE: ReleaseStatus[] = ['pending_approval', 'queued', 'running']

/** SHOP_BLUEPRINT with quicker deploys, for tests that only need releases to end; SHOP_BLUEPRINT where one must still run. */
const FAST = SHOP_BLUEPRINT.replaceAll('duration: 100ms', 'duration: 20ms').replace('duration: 150ms', 'duration: 30ms')

const opened: TestEngine[] = []
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  for (const t of opened.splice(0)) await t.close()
})

async function setup(options: TestEngineOptions = {}, blueprint: string = FAST) {
  const t = await createTestEngine(blueprint, options)
  opened.push(t)
  return t
}

/** An engine whose schedule timer never runs (only explicit fireDueSchedules calls fire), on a settable clock. */
async function scheduled(start = T0, options: TestEngineOptions = {}, blueprint: string = FAST) {
  const clock = testClock(start)
  const t = await setup({now: clock, start: false, ...options}, blueprint)
  return {...t, clock}
}

/** A store like openSqliteStore's, on a connection that never waits for a lock. */
async function openStoreWithoutBusyWait(file: string): Promise<Store> {
  const sqlite = new BetterSqlite3(file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 0')
  const db = new Kysely<Database>({dialect: new SqliteDialect({database: sqlite})})
  await migrateToLatest(db, 'sqlite')
  return new KyselyStore(db, sqliteQuirks)
}

const trigger = async (engine: Engine, request: TriggerRequest, environment = E) => (await engine.trigger(P, environment, request, alice)).release
const releasesOf = (engine: Engine, environment = E) => engine.listReleases({project: P, environment, limit: 100})

describe('Engine pauses', () => {
  it('a project pause refuses triggers in every environment with code paused (423): level, who, since, why and how to resume', async () => {
    const clock = testClock(T0)
    const {engine} = await setup({now: clock})
    const answer = await engine.pause(P, null, 'quarter-end freeze', 'alice')
    expect(answer).toEqual({
      pause: {level: 'project', project: P, environment: null, by: 'alice', at: T0, reason: 'quarter-end freeze'},
      alreadyPaused: false,
    })
    for (const environment of ['prod', 'staging']) {
      const error = await caught(engine.trigger(P, environment, {type: 'full'}, alice))
      expect(error.code).toBe('paused')
      expect(error.status).toBe(423)
      expect(error.message).toBe(`releases are paused for project shop (every environment) by alice since ${T0}: quarter-end freeze; nothing was queued`)
      expect(error.extra.hint).toBe('when it is time, resume with: relctl resume -p shop')
    }
    expect(await engine.listReleases({project: P, limit: 10})).toEqual([])
    const view = await engine.getEnvironment(P, 'staging')
    expect(view.paused).toBe(true)
    expect(view.pauses).toEqual([answer.pause])
  })

  it('an environment pause refuses that environment only; without a reason the message has none', async () => {
    const clock = testClock(T0)
    const {engine} = await setup({now: clock})
    const {pause} = await engine.pause(P, E, null, 'bob')
    expect(pause).toEqual({level: 'environment', project: P, environment: E, by: 'bob', at: T0, reason: null})
    const error = await caught(trigger(engine, {type: 'selective', resources: [{name: 'worker'}]}))
    expect(error.code).toBe('paused')
    expect(error.message).toBe(`releases are paused for shop/prod by bob since ${T0}; nothing was queued`)
    expect(error.extra.hint).toBe('when it is time, resume with: relctl resume -p shop -e prod')
    expect((await engine.getEnvironment(P, 'staging')).paused).toBe(false)
    const staging = await trigger(engine, {type: 'full'}, 'staging')
    expect(staging.status).toBe('running')
    await waitForFinal(engine, staging.id)
  })

  it('every release type is refused while paused', async () => {
    const {engine} = await setup()
    await engine.pause(P, E, 'incident 4411', 'alice')
    for (const request of [
      {type: 'launch'},
      {type: 'full'},
      {type: 'full', force: true},
      {type: 'selective', resources: [{name: 'api'}]},
      {type: 'destroy', allowDestructive: true},
    ] as TriggerRequest[]) {
      expect((await caught(trigger(engine, request))).code, request.type).toBe('paused')
    }
    expect((await caught(engine.sync(P, E, ['api'], {force: false, comment: null, source: 'cli'}, alice))).code).toBe('paused')
    expect(await releasesOf(engine)).toEqual([])
  })

  it('both levels: the project pause leads, the environment is mentioned; resuming the environment reports the project pause still holding', async () => {
    const clock = testClock(T0)
    const {engine} = await setup({now: clock})
    const project = (await engine.pause(P, null, 'freeze', 'alice')).pause
    clock.set('2026-03-02T10:30:00.000Z')
    await engine.pause(P, E, 'incident', 'bob')
    const error = await caught(trigger(engine, {type: 'full'}))
    expect(error.message).toBe(`releases are paused for project shop (every environment) by alice since ${T0}: freeze; the environment is paused too (by bob: incident); nothing was queued`)
    expect(error.extra.hint).toBe('when it is time, resume with: relctl resume -p shop and relctl resume -p shop -e prod')

    const resumed = await engine.resume(P, E, 'bob')
    expect(resumed).toEqual({resumed: true, stillPaused: [project]})
    const still = await caught(trigger(engine, {type: 'full'}))
    expect(still.message).toBe(`releases are paused for project shop (every environment) by alice since ${T0}: freeze; nothing was queued`)

    expect(await engine.resume(P, null, 'alice')).toEqual({resumed: true, stillPaused: []})
    const release = await trigger(engine, {type: 'full'})
    expect(release.status).toBe('running')
    await waitForFinal(engine, release.id)
  })

  it('pausing twice keeps the first pause and says alreadyPaused; resuming twice says nothing was resumed', async () => {
    const clock = testClock(T0)
    const {engine} = await setup({now: clock})
    const first = await engine.pause(P, E, 'incident 4411', 'alice')
    clock.advance(60_000)
    const second = await engine.pause(P, E, 'another reason', 'bob')
    expect(second).toEqual({pause: first.pause, alreadyPaused: true})
    expect((await engine.getEnvironment(P, E)).pauses).toEqual([first.pause])
    expect(await engine.resume(P, E, 'alice')).toEqual({resumed: true, stillPaused: []})
    expect(await engine.resume(P, E, 'alice')).toEqual({resumed: false, stillPaused: []})
    expect(await engine.resume(P, null, 'alice')).toEqual({resumed: false, stillPaused: []})
    expect((await engine.getEnvironment(P, E)).paused).toBe(false)
  })

  it('refuses pauses of unknown projects and environments', async () => {
    const {engine} = await setup()
    expect((await caught(engine.pause('blog', null, null, 'alice'))).code).toBe('not_found')
    const environment = await caught(engine.pause(P, 'qa', null, 'alice'))
    expect(environment.code).toBe('not_found')
    expect(environment.message).toBe('environment "qa" not found in project shop; known: prod, staging')
    expect((await caught(engine.resume(P, 'qa', 'alice'))).code).toBe('not_found')
  })

  it('queued releases stay queued during a pause (waitingFor paused), running ones finish, and the queue starts in order after resume', async () => {
    const {engine} = await setup({}, SHOP_BLUEPRINT)
    const running = await trigger(engine, {type: 'full'})
    const q1 = await trigger(engine, {type: 'selective', resources: [{name: 'worker'}]})
    const q2 = await trigger(engine, {type: 'selective', resources: [{name: 'db'}]})
    await engine.pause(P, E, 'incident 4411', 'alice')
    expect((await waitForFinal(engine, running.id)).status).toBe('succeeded')
    // give admission every chance to (wrongly) start something
    await new Promise((resolve) => setTimeout(resolve, 100))
    for (const id of [q1.id, q2.id]) {
      const release = await engine.getRelease(id)
      expect(release.status).toBe('queued')
      expect(release.waitingFor).toEqual({reason: 'paused', message: 'environment prod is paused by alice: incident 4411'})
    }
    expect((await engine.getRelease(q1.id)).queuePosition).toBe(1)
    expect((await engine.getRelease(q2.id)).queuePosition).toBe(2)

    await engine.resume(P, E, 'alice')
    expect((await engine.getRelease(q1.id)).status).toBe('running')
    expect((await engine.getRelease(q2.id)).waitingFor).toMatchObject({reason: 'serial', releases: [q1.id]})
    const d1 = await waitForFinal(engine, q1.id)
    const d2 = await waitForFinal(engine, q2.id)
    expect([d1.status, d2.status]).toEqual(['succeeded', 'succeeded'])
    expect(d2.startedAt! >= d1.finishedAt!).toBe(true)
  })

  it('a project pause holds queued releases too; resuming only the environment does not start them', async () => {
    const {engine} = await setup({}, SHOP_BLUEPRINT)
    const running = await trigger(engine, {type: 'full'})
    const queued = await trigger(engine, {type: 'selective', resources: [{name: 'worker'}]})
    await engine.pause(P, null, 'freeze', 'carol')
    await engine.pause(P, E, null, 'dave')
    await waitForFinal(engine, running.id)
    expect((await engine.getRelease(queued.id)).waitingFor).toEqual({reason: 'paused', message: 'the project is paused by carol: freeze'})
    const resumed = await engine.resume(P, E, 'dave')
    expect(resumed.stillPaused.map((pause) => [pause.level, pause.by])).toEqual([['project', 'carol']])
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await engine.getRelease(queued.id)).status).toBe('queued')
    await engine.resume(P, null, 'carol')
    expect((await waitForFinal(engine, queued.id)).status).toBe('succeeded')
  })

  it('a release approved during a pause queues and waits for the resume', async () => {
    const {engine} = await setup()
    await engine.setApproval({project: P, environment: E, enabled: true}, 'admin')
    const pending = await trigger(engine, {type: 'selective', resources: [{name: 'worker'}]})
    await engine.pause(P, E, 'incident', 'alice')
    const approved = await engine.decide(pending.id, 'approved', 'bob', null)
    expect(approved.status).toBe('queued')
    expect(approved.waitingFor?.reason).toBe('paused')
    await engine.resume(P, E, 'alice')
    expect((await waitForFinal(engine, pending.id)).status).toBe('succeeded')
  })
})

describe('Engine schedules: set, show, pause, delete', () => {
  it('refuses bad schedules with what to do', async () => {
    const {engine} = await scheduled()
    const set = (request: SetScheduleRequest, environment = E) => engine.setSchedule(P, environment, request, 'alice')

    const noResources = await caught(set({every: '6h', type: 'selective'}))
    expect(noResources.code).toBe('invalid_input')
    expect(noResources.message).toBe('a scheduled selective release needs its resources')
    expect(noResources.extra.hint).toBe('pass --resources api,web')
    const unknown = await caught(set({every: '6h', type: 'selective', resources: ['api', 'cache']}))
    expect(unknown.code).toBe('not_found')
    expect(unknown.message).toBe('app "cache" not found in shop/prod; known: api, db, web, worker')
    const destroy = await caught(set({every: '1d', type: 'destroy'}))
    expect(destroy.message).toBe('destroy releases cannot be scheduled')
    expect(destroy.extra.hint).toBe('trigger a destroy by hand with --allow-destructive')
    expect((await caught(set({every: '1d', type: 'full', resources: ['api']}))).message).toBe('--resources is only for selective releases, not full')
    expect((await caught(set({every: '500ms', type: 'full'}))).message).toBe('--every must be at least 1s')
    expect((await caught(set({cron: '0 3 * *', type: 'full'}))).message).toBe('"0 3 * *" is not a five-field cron expression')
    expect((await caught(set({type: 'full'}))).message).toBe('a schedule needs exactly one of --every or --cron')
    expect((await caught(set({every: '1h', type: 'full'}, 'qa'))).code).toBe('not_found')

    const none = await caught(engine.getSchedule(P, E))
    expect(none.code).toBe('not_found')
    expect(none.message).toBe('shop/prod has no schedule')
    expect(none.extra.hint).toBe('set one with: relctl schedule set -p shop -e prod --every 6h --type full')
    expect((await engine.getEnvironment(P, E)).schedule).toBeNull()
  })

  it('sets, replaces, pauses, resumes and deletes the one schedule of an environment', async () => {
    const {engine, clock} = await scheduled()
    const every = await engine.setSchedule(P, E, {every: '6h', type: 'full'}, 'alice')
    expect(every).toEqual({
      project: P,
      environment: E,
      rule: {every: '6h'},
      type: 'full',
      resources: [],
      paused: false,
      nextRunAt: '2026-03-02T16:00:00.000Z',
      createdBy: 'alice',
      createdAt: T0,
      updatedAt: T0,
      runs: [],
    })
    expect((await engine.getEnvironment(P, E)).schedule).toEqual(every)

    clock.set('2026-03-03T12:00:00.000Z') // Tuesday
    const cron = await engine.setSchedule(P, E, {cron: '0 3 * * 1-5', timezone: 'Europe/Berlin', type: 'selective', resources: ['api', 'web', 'api']}, 'bob')
    expect(cron).toMatchObject({
      rule: {cron: '0 3 * * 1-5', timezone: 'Europe/Berlin'},
      type: 'selective',
      resources: ['api', 'web'],
      nextRunAt: '2026-03-04T02:00:00.000Z', // 03:00 CET on Wednesday
      createdBy: 'bob',
      createdAt: '2026-03-03T12:00:00.000Z',
    })
    expect((await engine.setSchedule(P, 'staging', {cron: '0 3 * * *', type: 'full'}, 'bob')).rule).toEqual({cron: '0 3 * * *', timezone: 'UTC'})

    const paused = await engine.pauseSchedule(P, E, true)
    expect(paused.paused).toBe(true)
    expect(paused.nextRunAt).toBe(cron.nextRunAt)
    expect((await engine.pauseSchedule(P, E, false)).paused).toBe(false)

    const deleted = await engine.deleteSchedule(P, E)
    expect(deleted.rule).toEqual(cron.rule)
    expect((await caught(engine.getSchedule(P, E))).code).toBe('not_found')
    expect((await caught(engine.deleteSchedule(P, E))).code).toBe('not_found')
    expect((await caught(engine.pauseSchedule(P, E, true))).code).toBe('not_found')
    expect((await engine.getSchedule(P, 'staging')).type).toBe('full')
  })
})

describe('Engine schedules: firing', () => {
  it('fires at the due time, not before: a release from source schedule, triggered by schedule; nextRunAt advances', async () => {
    const {engine, clock} = await scheduled()
    await engine.setSchedule(P, E, {every: '1h', type: 'full'}, 'alice')
    expect((await engine.fireDueSchedules())?.toISOString()).toBe('2026-03-02T11:00:00.000Z')

    clock.set('2026-03-02T10:59:59.999Z')
    expect((await engine.fireDueSchedules())?.toISOString()).toBe('2026-03-02T11:00:00.000Z')
    expect(await releasesOf(engine)).toEqual([])

    clock.set('2026-03-02T11:00:00.000Z')
    expect((await engine.fireDueSchedules())?.toISOString()).toBe('2026-03-02T12:00:00.000Z')
    const [release] = await releasesOf(engine)
    expect(release).toMatchObject({
      type: 'full',
      source: 'schedule',
      triggeredBy: 'schedule',
      comment: 'scheduled run of 2026-03-02T11:00:00.000Z',
      idempotencyKey: 'schedule:shop/prod@2026-03-02T11:00:00.000Z',
      createdAt: '2026-03-02T11:00:00.000Z',
    })
    expect(release.resources.map((resource) => resource.name).sort()).toEqual(['api', 'db', 'web', 'worker'])
    expect(ACTIVE).toContain(release.status)
    const schedule = await engine.getSchedule(P, E)
    expect(schedule.nextRunAt).toBe('2026-03-02T12:00:00.000Z')
    expect(schedule.runs).toEqual([{slotAt: '2026-03-02T11:00:00.000Z', recordedAt: '2026-03-02T11:00:00.000Z', outcome: 'released', releaseId: release.id, reason: null}])

    // asking again for the same slot fires nothing more
    await engine.fireDueSchedules()
    expect(await releasesOf(engine)).toHaveLength(1)
    expect((await waitForFinal(engine, release.id)).status).toBe('succeeded')
    // other environments are untouched
    expect(await releasesOf(engine, 'staging')).toEqual([])
  })

  it('a selective schedule releases its resources; a schedule fired late fires for its slot', async () => {
    const {engine, clock} = await scheduled()
    await engine.setSchedule(P, E, {every: '30m', type: 'selective', resources: ['worker']}, 'alice')
    clock.set('2026-03-02T10:30:00.450Z')
    await engine.fireDueSchedules()
    const [release] = await releasesOf(engine)
    expect(release.type).toBe('selective')
    expect(release.resources).toEqual([{name: 'worker', action: 'create', fromVersion: null, toVersion: 'latest'}])
    const schedule = await engine.getSchedule(P, E)
    expect(schedule.runs[0]).toMatchObject({slotAt: '2026-03-02T10:30:00.000Z', recordedAt: '2026-03-02T10:30:00.450Z', outcome: 'released'})
    expect(schedule.nextRunAt).toBe('2026-03-02T11:00:00.000Z')
    await waitForFinal(engine, release.id)
  })

  it('a cron schedule fires at its local time', async () => {
    const {engine, clock} = await scheduled('2026-03-27T12:00:00.000Z') // Friday
    await engine.setSchedule(P, E, {cron: '0 3 * * 1-5', timezone: 'Europe/Berlin', type: 'full'}, 'alice')
    expect((await engine.getSchedule(P, E)).nextRunAt).toBe('2026-03-30T01:00:00.000Z') // Monday 03:00 CEST
    clock.set('2026-03-30T00:59:59.000Z')
    await engine.fireDueSchedules()
    expect(await releasesOf(engine)).toEqual([])
    clock.set('2026-03-30T01:00:00.000Z')
    expect((await engine.fireDueSchedules())?.toISOString()).toBe('2026-03-31T01:00:00.000Z')
    const [release] = await releasesOf(engine)
    expect(release.source).toBe('schedule')
    await waitForFinal(engine, release.id)
  })

  it('skips (queues nothing) while a release of the environment runs, naming it', async () => {
    const {engine, clock} = await scheduled(T0, {}, SHOP_BLUEPRINT)
    await engine.setSchedule(P, E, {every: '1h', type: 'full'}, 'alice')
    const manual = await trigger(engine, {type: 'full'})
    expect(manual.status).toBe('running')
    clock.set('2026-03-02T11:00:00.000Z')
    await engine.fireDueSchedules()
    expect((await releasesOf(engine)).map((release) => release.id)).toEqual([manual.id])
    const schedule = await engine.getSchedule(P, E)
    expect(schedule.runs).toEqual([
      {slotAt: '2026-03-02T11:00:00.000Z', recordedAt: '2026-03-02T11:00:00.000Z', outcome: 'skipped', releaseId: null, reason: `release ${manual.id} is running in prod; scheduled releases never queue`},
    ])
    expect(schedule.nextRunAt).toBe('2026-03-02T12:00:00.000Z')
    await waitForFinal(engine, manual.id)
    // the next slot, with nothing running, fires
    clock.set('2026-03-02T12:00:00.000Z')
    await engine.fireDueSchedules()
    expect((await engine.getSchedule(P, E)).runs[0]).toMatchObject({slotAt: '2026-03-02T12:00:00.000Z', outcome: 'released'})
    const newest = (await releasesOf(engine))[0]
    expect(newest.source).toBe('schedule')
    await waitForFinal(engine, newest.id)
  })

  it('skips while a release is queued, and while one waits for approval', async () => {
    // capacity 0: nothing can start, so a trigger stays queued
    const {engine, clock} = await scheduled(T0, {capacity: 0})
    await engine.setSchedule(P, E, {every: '1h', type: 'full'}, 'alice')
    await engine.setSchedule(P, 'staging', {every: '1h', type: 'full'}, 'alice')
    const queued = await trigger(engine, {type: 'selective', resources: [{name: 'worker'}]})
    expect(queued.status).toBe('queued')
    await engine.setApproval({project: P, environment: 'staging', enabled: true}, 'admin')
    const pending = await trigger(engine, {type: 'full'}, 'staging')
    expect(pending.status).toBe('pending_approval')

    clock.set('2026-03-02T11:00:00.000Z')
    await engine.fireDueSchedules()
    expect((await engine.getSchedule(P, E)).runs[0]).toMatchObject({outcome: 'skipped', reason: `release ${queued.id} is queued in prod; scheduled releases never queue`})
    expect((await engine.getSchedule(P, 'staging')).runs[0]).toMatchObject({
      outcome: 'skipped',
      reason: `release ${pending.id} is pending approval in staging; scheduled releases never queue`,
    })
    expect(await releasesOf(engine)).toHaveLength(1)
    expect(await releasesOf(engine, 'staging')).toHaveLength(1)
  })

  it('skips while the environment or the project is paused, with who and why', async () => {
    const {engine, clock} = await scheduled()
    await engine.setSchedule(P, E, {every: '1h', type: 'full'}, 'alice')
    await engine.pause(P, E, 'incident 4411', 'bob')
    clock.set('2026-03-02T11:00:00.000Z')
    await engine.fireDueSchedules()
    expect((await engine.getSchedule(P, E)).runs[0]).toEqual({
      slotAt: '2026-03-02T11:00:00.000Z',
      recordedAt: '2026-03-02T11:00:00.000Z',
      outcome: 'skipped',
      releaseId: null,
      reason: `releases are paused for shop/prod by bob since ${T0}: incident 4411`,
    })
    await engine.resume(P, E, 'bob')
    await engine.pause(P, null, 'freeze', 'carol')
    clock.set('2026-03-02T12:00:00.000Z')
    await engine.fireDueSchedules()
    expect((await engine.getSchedule(P, E)).runs[0]).toMatchObject({
      slotAt: '2026-03-02T12:00:00.000Z',
      outcome: 'skipped',
      reason: 'releases are paused for project shop (every environment) by carol since 2026-03-02T11:00:00.000Z: freeze',
    })
    expect(await releasesOf(engine)).toEqual([])
    expect((await engine.getSchedule(P, E)).nextRunAt).toBe('2026-03-02T13:00:00.000Z')
  })

  it('skips while the schedule is paused, and fires again once resumed', async () => {
    const {engine, clock} = await scheduled()
    await engine.setSchedule(P, E, {every: '1h', type: 'full'}, 'alice')
    await engine.pauseSchedule(P, E, true)
    clock.set('2026-03-02T11:00:00.000Z')
    await engine.fireDueSchedules()
    expect((await engine.getSchedule(P, E)).runs).toEqual([
      {slotAt: '2026-03-02T11:00:00.000Z', recordedAt: '2026-03-02T11:00:00.000Z', outcome: 'skipped', releaseId: null, reason: 'the schedule is paused'},
    ])
    expect(await releasesOf(engine)).toEqual([])
    await engine.pauseSchedule(P, E, false)
    clock.set('2026-03-02T12:00:00.000Z')
    await engine.fireDueSchedules()
    const [release] = await releasesOf(engine)
    expect((await engine.getSchedule(P, E)).runs.map((run) => [run.slotAt, run.outcome, run.releaseId])).toEqual([
      ['2026-03-02T12:00:00.000Z', 'released', release.id],
      ['2026-03-02T11:00:00.000Z', 'skipped', null],
    ])
    await waitForFinal(engine, release.id)
  })

  it('manual triggers are unaffected by a schedule, paused or not', async () => {
    const {engine} = await scheduled()
    await engine.setSchedule(P, E, {every: '1h', type: 'full'}, 'alice')
    await engine.pauseSchedule(P, E, true)
    const release = await trigger(engine, {type: 'selective', resources: [{name: 'worker'}]})
    expect(release.status).toBe('running')
    await waitForFinal(engine, release.id)
  })

  it('a scheduled release goes through the approval workflow like any other', async () => {
    const {engine, clock} = await scheduled()
    await engine.setApproval({project: P, environment: E, enabled: true}, 'admin')
    await engine.setSchedule(P, E, {every: '1h', type: 'full'}, 'alice')
    clock.set('2026-03-02T11:00:00.000Z')
    await engine.fireDueSchedules()
    const [release] = await releasesOf(engine)
    expect(release).toMatchObject({status: 'pending_approval', source: 'schedule', waitingFor: {reason: 'approval'}})
  })

  it('after a downtime across 3 slots, a restarted control plane fires once and records the 2 earlier slots as missed', async () => {
    const dir = tempDir()
    const file = join(dir, 'relctl.db')
    cleanups.push(async () => rmSync(dir, {recursive: true, force: true}))
    const before = await engineOn(file, {now: testClock(T0)})
    await before.engine.applyProject(FAST, 'relctl.yaml', dir)
    await before.engine.setSchedule(P, E, {every: '1h', type: 'full'}, 'alice')
    await before.engine.shutdown(0)
    await before.store.close()

    // down from 10:00 until 13:30: the 11:00, 12:00 and 13:00 runs fell in the gap; started normally (timer on)
    const after = await engineOn(file, {now: testClock('2026-03-02T13:30:00.000Z')})
    cleanups.push(async () => {
      await after.engine.shutdown(0)
      await after.store.close()
    })
    const schedule = await waitFor(async () => {
      const view = await after.engine.getSchedule(P, E)
      return view.runs.length > 0 ? view : undefined
    }, 'the schedule to catch up on start')
    const missedReason = 'the control plane was not running at this time; only the latest due run fires'
    const releases = await releasesOf(after.engine)
    expect(releases).toHaveLength(1)
    expect(releases[0]).toMatchObject({source: 'schedule', comment: 'scheduled run of 2026-03-02T13:00:00.000Z'})
    expect(schedule.runs).toEqual([
      {slotAt: '2026-03-02T13:00:00.000Z', recordedAt: '2026-03-02T13:30:00.000Z', outcome: 'released', releaseId: releases[0].id, reason: null},
      {slotAt: '2026-03-02T12:00:00.000Z', recordedAt: '2026-03-02T13:30:00.000Z', outcome: 'missed', releaseId: null, reason: missedReason},
      {slotAt: '2026-03-02T11:00:00.000Z', recordedAt: '2026-03-02T13:30:00.000Z', outcome: 'missed', releaseId: null, reason: missedReason},
    ])
    expect(schedule.nextRunAt).toBe('2026-03-02T14:00:00.000Z')
    // asked again, nothing more fires or is recorded
    expect((await after.engine.fireDueSchedules())?.toISOString()).toBe('2026-03-02T14:00:00.000Z')
    expect(await releasesOf(after.engine)).toHaveLength(1)
    expect((await after.engine.getSchedule(P, E)).runs).toHaveLength(3)
    await waitForFinal(after.engine, releases[0].id)
  })

  it('two engines over stores of the same SQLite file firing the same slot at once make exactly one release per slot', async () => {
    const dir = tempDir()
    const file = join(dir, 'relctl.db')
    cleanups.push(async () => rmSync(dir, {recursive: true, force: true}))
    const clock = testClock(T0)
    const setupEngine = await engineOn(file, {now: clock, start: false})
    await setupEngine.engine.applyProject(FAST, 'relctl.yaml', dir)
    await setupEngine.engine.setSchedule(P, E, {every: '1h', type: 'full'}, 'alice')
    await setupEngine.engine.setSchedule(P, 'staging', {every: '1h', type: 'selective', resources: ['worker']}, 'alice')
    await setupEngine.engine.shutdown(0)
    await setupEngine.store.close()

    // Two control planes = two connections. In one process better-sqlite3 waits for a lock synchronously,
    // which would also stop the holder from committing; so these connections do not wait (busy_timeout 0):
    // a contended write fails at once, as a waiting writer in another process would fail on its stale snapshot.
    const engines: Engine[] = []
    for (let i = 0; i < 2; i++) {
      const store = await openStoreWithoutBusyWait(file)
      const engine = new Engine({store, log: quietLog, now: clock})
      engines.push(engine)
      cleanups.push(async () => {
        await engine.shutdown(0)
        await store.close()
      })
    }
    const [one, two] = engines

    for (const slot of ['2026-03-02T11:00:00.000Z', '2026-03-02T12:00:00.000Z', '2026-03-02T13:00:00.000Z']) {
      clock.set(slot)
      await Promise.all([one.fireDueSchedules(), two.fireDueSchedules(), two.fireDueSchedules(), one.fireDueSchedules()])
      for (const environment of [E, 'staging']) {
        const runs = (await one.getSchedule(P, environment)).runs.filter((run) => run.slotAt === slot)
        expect(runs.map((run) => run.outcome), `${environment} ${slot}`).toEqual(['released'])
        expect((await two.getSchedule(P, environment)).nextRunAt).toBe(new Date(Date.parse(slot) + 3_600_000).toISOString())
      }
      // let the fired releases end before the next slot, so that it is not skipped
      for (const release of await one.listReleases({project: P, statuses: ACTIVE, limit: 10})) {
        await waitFor(async () => (await one.getRelease(release.id)).status === 'succeeded', `release ${release.id}`)
      }
    }
    const all = await one.listReleases({project: P, limit: 100})
    expect(all.map((release) => `${release.environment} ${release.comment}`).sort()).toEqual([
      'prod scheduled run of 2026-03-02T11:00:00.000Z',
      'prod scheduled run of 2026-03-02T12:00:00.000Z',
      'prod scheduled run of 2026-03-02T13:00:00.000Z',
      'staging scheduled run of 2026-03-02T11:00:00.000Z',
      'staging scheduled run of 2026-03-02T12:00:00.000Z',
      'staging scheduled run of 2026-03-02T13:00:00.000Z',
    ])
  })

  it('an engine that read the schedule before another fired its slot does not fire the slot again', async () => {
    const {engine: one, store, clock, file} = await scheduled()
    await one.setSchedule(P, E, {every: '1h', type: 'full'}, 'alice')
    // the second control plane read the schedules just before the first fired them ...
    const stale = await store.listSchedules()
    const staleStore = new Proxy(await openSqliteStoreFor(file), {
      get(target, property, receiver) {
        if (property === 'listSchedules') return async () => stale
        const value = Reflect.get(target, property, receiver)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const two = new Engine({store: staleStore, log: quietLog, now: clock})
    cleanups.push(async () => {
      await two.shutdown(0)
      await staleStore.close()
    })
    clock.set('2026-03-02T11:00:00.000Z')
    await one.fireDueSchedules()
    // ... and now fires with what it read
    await two.fireDueSchedules()
    const releases = await releasesOf(one)
    expect(releases).toHaveLength(1)
    expect((await one.getSchedule(P, E)).runs).toHaveLength(1)
    expect((await two.getSchedule(P, E)).nextRunAt).toBe('2026-03-02T12:00:00.000Z')
    await waitForFinal(one, releases[0].id)
  })

  it('the schedule view lists the last 20 runs, newest first, and nextRunAt advances slot by slot', async () => {
    const {engine, clock} = await scheduled()
    await engine.setSchedule(P, E, {every: '1h', type: 'full'}, 'alice')
    await engine.pauseSchedule(P, E, true)
    const start = Date.parse(T0)
    for (let n = 1; n <= 23; n++) {
      clock.set(new Date(start + n * 3_600_000))
      const next = await engine.fireDueSchedules()
      expect(next?.toISOString()).toBe(new Date(start + (n + 1) * 3_600_000).toISOString())
      expect((await engine.getSchedule(P, E)).nextRunAt).toBe(next?.toISOString())
    }
    const schedule = await engine.getSchedule(P, E)
    expect(schedule.runs).toHaveLength(20)
    expect(schedule.runs.map((run) => run.slotAt)).toEqual(Array.from({length: 20}, (_, i) => new Date(start + (23 - i) * 3_600_000).toISOString()))
    expect(schedule.runs.every((run) => run.outcome === 'skipped')).toBe(true)
    expect((await engine.getEnvironment(P, E)).schedule?.runs).toEqual(schedule.runs)
  })

  it('fireDueSchedules reports the earliest next run over all schedules, or null without any', async () => {
    const {engine, clock} = await scheduled()
    expect(await engine.fireDueSchedules()).toBeNull()
    await engine.setSchedule(P, E, {every: '6h', type: 'full'}, 'alice')
    clock.set('2026-03-02T11:00:00.000Z')
    await engine.setSchedule(P, 'staging', {every: '2h', type: 'full'}, 'alice')
    expect((await engine.fireDueSchedules())?.toISOString()).toBe('2026-03-02T13:00:00.000Z')
  })

  // A schedule belongs to an environment: once the environment has left the blueprint, nothing may be
  // released into it.
  it('the schedule of an environment removed from the blueprint releases nothing into it', async () => {
    const {engine, clock, dir} = await scheduled(T0, {}, FAST.replace('  prod: {}\n', '  prod: {}\n  qa: {}\n'))
    await engine.setSchedule(P, 'qa', {every: '1h', type: 'full'}, 'alice')
    await engine.applyProject(FAST, 'relctl.yaml', dir)
    expect((await engine.listEnvironments(P)).map((environment) => environment.name)).not.toContain('qa')
    clock.set('2026-03-02T11:00:00.000Z')
    await engine.fireDueSchedules()
    const intoQa = (await engine.listReleases({project: P, limit: 10})).filter((release) => release.environment === 'qa')
    expect(intoQa.map((release) => `release ${release.id} (${release.type}, ${release.status}, ${release.resources.length} resources) in shop/qa`)).toEqual([])
  })

  // The fall-back hour repeats 01:00-02:00 in New York. A control plane that comes back during the
  // repeated hour fires the 01:30 run it missed; it must not fire "01:30" a second time that day.
  it('a daily cron run missed just before the autumn DST change fires once that day, not twice', async () => {
    const {engine, clock} = await scheduled('2026-10-31T12:00:00.000Z')
    await engine.setSchedule(P, E, {cron: '30 1 * * *', timezone: 'America/New_York', type: 'selective', resources: ['worker']}, 'alice')
    expect((await engine.getSchedule(P, E)).nextRunAt).toBe('2026-11-01T05:30:00.000Z') // 01:30 EDT
    clock.set('2026-11-01T06:10:00.000Z') // 01:10 EST: back after the run was due
    await engine.fireDueSchedules()
    const [release] = await releasesOf(engine)
    expect(release?.comment).toBe('scheduled run of 2026-11-01T05:30:00.000Z')
    await waitForFinal(engine, release.id)
    expect((await engine.getSchedule(P, E)).nextRunAt).toBe('2026-11-02T06:30:00.000Z')
  })
})

describe('Engine schedules: the timer of a started engine', () => {
  it('a started engine fires a due schedule by itself', async () => {
    // The schedule is due 1s after it is set on the real clock; the started engine's timer fires it.
    const {engine} = await setup()
    await engine.setSchedule(P, E, {every: '1s', type: 'selective', resources: ['worker']}, 'alice')
    const release = await waitFor(async () => (await releasesOf(engine)).find((candidate) => candidate.source === 'schedule'), 'the timer to fire', 5000)
    expect(release.triggeredBy).toBe('schedule')
    await engine.pauseSchedule(P, E, true)
    await waitForStatus(engine, release.id, 'succeeded')
  })
})
