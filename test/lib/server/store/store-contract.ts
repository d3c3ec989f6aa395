// The store contract: what every Store does, registered once and run on SQLite and on PostgreSQL.
import fc from 'fast-check'
import {type Kysely, sql} from 'kysely'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import type {Blueprint} from '../../../../src/lib/server/blueprint/blueprint.js'
import type {ReleaseStatus} from '../../../../src/lib/api/domain.js'
import {activeLocks as activeLocksOfTable} from '../../../../src/lib/server/store/kysely/releases.js'
import type {Database} from '../../../../src/lib/server/store/schema/tables.js'
import type {NewPipelineRun, NewRelease, NewTask, Store} from '../../../../src/lib/server/store/store.js'

export interface StoreFactory {
  /** A new store on a new, empty database. */
  open(): Promise<Store>
  /** Another store (another connection, as another replica has) on the database of the last open(). */
  openSecond(): Promise<Store>
}

const T0 = '2026-01-01T00:00:00.000Z'
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString()

export function newRelease(overrides: Partial<NewRelease> = {}): NewRelease {
  return {
    project: 'shop',
    environment: 'prod',
    type: 'full',
    status: 'queued',
    resources: [{name: 'api', action: 'update', fromVersion: '1', toVersion: '2'}],
    lockSet: ['api'],
    refresh: false,
    force: false,
    allowDestructive: false,
    comment: null,
    triggeredBy: 'ada',
    source: 'cli',
    idempotencyKey: null,
    options: {},
    createdAt: T0,
    freezeOverride: null,
    expiresAt: null,
    ...overrides,
  }
}

const PLAN = {
  pipeline: 'main',
  services: 'parallel',
  queue: 'fifo',
  onFailure: 'stop',
  stages: [{name: null, environments: ['prod'], order: 'sequential', gate: {soakMs: null, approval: false}}],
  apps: [{name: 'api', version: '2'}],
  steps: [{stage: 0, service: null, environments: ['prod']}],
} as const

export function newRun(overrides: Partial<NewPipelineRun> = {}): NewPipelineRun {
  return {project: 'shop', pipeline: 'main', status: 'queued', plan: structuredClone(PLAN) as unknown as NewPipelineRun['plan'], createdBy: 'ci', source: 'cli', comment: null, idempotencyKey: null, createdAt: T0, ...overrides}
}

function newTask(key: string, overrides: Partial<NewTask> = {}): NewTask {
  return {key, kind: 'deploy', resource: key, hook: null, target: null, step: null, action: 'update', fromVersion: '1', toVersion: '2', dependsOn: [], after: [], level: 0, attempts: 1, ...overrides}
}

/** Gates hold a transaction open until the test opens them; every gate opens after a test, passed or not, so that its stores can close. */
const gates: (() => void)[] = []
function gate(): {wait: Promise<void>; open: () => void} {
  let open!: () => void
  const wait = new Promise<void>((resolve) => (open = resolve))
  gates.push(open)
  return {wait, open}
}
function openGates() {
  for (const open of gates.splice(0)) open()
}

/** Polls until the check passes (a bounded deadline, no fixed sleeps). */
async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`timed out waiting for ${what}`)
}

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    let store: Store
    const others: Store[] = []
    const second = async () => {
      const other = await factory.openSecond()
      others.push(other)
      return other
    }

    beforeEach(async () => {
      store = await factory.open()
      await store.upsertProject({name: 'shop', blueprint: {project: 'shop'} as unknown as Blueprint, file: 'relctl.yaml', baseDir: '/srv/shop', createdAt: T0, appliedAt: T0})
      await store.insertEnvironment({project: 'shop', name: 'prod', createdAt: T0})
    })

    afterEach(async () => {
      openGates()
      for (const other of others.splice(0)) await other.close()
      await store.close()
    })

    it('keeps projects and environments', async () => {
      await store.upsertProject({name: 'shop', blueprint: {project: 'shop', v: 2} as unknown as Blueprint, file: 'b.yaml', baseDir: '/srv/shop', createdAt: at(5), appliedAt: at(5)})
      const project = await store.getProject('shop')
      expect(project).toMatchObject({name: 'shop', blueprint: {v: 2}, file: 'b.yaml', createdAt: T0, appliedAt: at(5)})
      expect((await store.listProjects()).map((p) => p.name)).toEqual(['shop'])
      expect(await store.getProject('nope')).toBeNull()

      await store.insertEnvironment({project: 'shop', name: 'dev', createdAt: at(1)})
      expect((await store.listEnvironments('shop')).map((e) => e.name)).toEqual(['prod', 'dev'])
      expect(await store.getEnvironment('shop', 'dev')).toEqual({project: 'shop', name: 'dev', createdAt: at(1)})
      await store.upsertApp({project: 'shop', environment: 'dev', name: 'api', kind: 'simulate', desiredVersion: null, deployedVersion: null, health: 'Unknown', removed: false, drift: null, updatedAt: T0})
      await store.deleteEnvironment('shop', 'dev')
      expect(await store.getEnvironment('shop', 'dev')).toBeNull()
      expect(await store.listApps('shop', 'dev')).toEqual([])
    })

    it('keeps apps: upsert, patch, select by name (more names than one statement binds), delete', async () => {
      const app = {project: 'shop', environment: 'prod', kind: 'simulate', desiredVersion: '1', deployedVersion: null, health: 'Unknown' as const, removed: false, drift: null, updatedAt: T0}
      await store.upsertApp({...app, name: 'web'})
      await store.upsertApp({...app, name: 'api'})
      await store.upsertApp({...app, name: 'api', desiredVersion: '2'})
      const updated = await store.updateApp('shop', 'prod', 'api', {deployedVersion: '2', health: 'Healthy', drift: {liveVersion: '3'} as never}, at(1))
      expect(updated).toMatchObject({name: 'api', desiredVersion: '2', deployedVersion: '2', health: 'Healthy', updatedAt: at(1)})
      expect(await store.updateApp('shop', 'prod', 'nope', {health: 'Healthy'}, at(1))).toBeNull()
      const apps = await store.listApps('shop', 'prod')
      expect(apps.map((a) => a.name)).toEqual(['api', 'web'])
      expect(apps[0]).toMatchObject({desiredVersion: '2', deployedVersion: '2', health: 'Healthy', drift: {liveVersion: '3'}, updatedAt: at(1), removed: false})
      const names = Array.from({length: 1500}, (_, i) => `app-${i}`)
      expect((await store.listApps('shop', 'prod', [...names, 'web'])).map((a) => a.name)).toEqual(['web'])
      await store.deleteApp('shop', 'prod', 'web')
      expect((await store.listApps('shop', 'prod')).map((a) => a.name)).toEqual(['api'])
    })

    it('changes several apps at once, in batches above 999 bound parameters, and no other', async () => {
      const app = {project: 'shop', environment: 'prod', kind: 'simulate', desiredVersion: '1', deployedVersion: null, health: 'Unknown' as const, removed: false, drift: null, updatedAt: T0}
      const names = Array.from({length: 1200}, (_, i) => `app-${i}`)
      for (const name of [...names, 'web']) await store.upsertApp({...app, name})
      await store.updateApps('shop', 'prod', names, {health: 'Progressing'}, at(1))
      const apps = await store.listApps('shop', 'prod')
      expect(apps.filter((a) => a.health === 'Progressing' && a.updatedAt === at(1)).map((a) => a.name).sort()).toEqual([...names].sort())
      expect(apps.find((a) => a.name === 'web')).toMatchObject({health: 'Unknown', updatedAt: T0})
    })

    it('changes several apps and tasks, each with its own values, in batches above 999 bound parameters, and no other', async () => {
      const app = {project: 'shop', environment: 'prod', kind: 'simulate', desiredVersion: '1', deployedVersion: null, health: 'Unknown' as const, removed: false, drift: null, updatedAt: T0}
      const names = Array.from({length: 400}, (_, i) => `app-${i}`)
      for (const name of [...names, 'web']) await store.upsertApp({...app, name})
      // Half deployed a version of their own, half only changed health: a change leaves the rest of its row as it was.
      const changes = names.map((name, i) => ({name, patch: i % 2 ? {health: 'Degraded' as const} : {deployedVersion: `v-${i}`, health: 'Healthy' as const, drift: null}, at: at(i % 5)}))
      const updated = await store.updateAppsEach('shop', 'prod', changes)
      expect(updated.map((a) => a.name).sort()).toEqual([...names].sort())
      const apps = new Map((await store.listApps('shop', 'prod')).map((a) => [a.name, a]))
      names.forEach((name, i) => expect(apps.get(name)).toMatchObject(i % 2 ? {health: 'Degraded', deployedVersion: null, desiredVersion: '1', updatedAt: at(i % 5)} : {health: 'Healthy', deployedVersion: `v-${i}`, updatedAt: at(i % 5)}))
      expect(apps.get('web')).toMatchObject({health: 'Unknown', updatedAt: T0})

      const {release} = await store.insertRelease(newRelease())
      const tasks = (await store.insertTasks([{releaseId: release.id, tasks: names.map((name) => newTask(name))}]))[0]
      const ended = tasks.slice(0, 399)
      await store.updateTasksEach(ended.map((task, i) => ({id: task.id, patch: {status: i % 3 ? 'succeeded' : 'failed', exitCode: i % 3 ? 0 : i, error: i % 3 ? null : `it's "${i}"`, finishedAt: at(i % 7)}})))
      const listed = new Map((await store.listTasks(release.id)).map((task) => [task.id, task]))
      ended.forEach((task, i) => expect(listed.get(task.id)).toMatchObject({status: i % 3 ? 'succeeded' : 'failed', exitCode: i % 3 ? 0 : i, error: i % 3 ? null : `it's "${i}"`, finishedAt: at(i % 7), attempt: 1}))
      expect(listed.get(tasks[399].id)).toMatchObject({status: 'pending', exitCode: null, finishedAt: null})
    })

    it('inserts releases once per idempotency key, also when two inserts race', async () => {
      const first = await store.insertRelease(newRelease({idempotencyKey: 'k1'}))
      expect(first.created).toBe(true)
      expect(first.release).toMatchObject({project: 'shop', status: 'queued', lockSet: ['api'], replica: null, leaseExpiresAt: null, decision: null, options: {}})
      const again = await store.insertRelease(newRelease({idempotencyKey: 'k1', comment: 'retry'}))
      expect(again).toEqual({release: first.release, created: false})
      expect(await store.findByIdempotencyKey('k1')).toEqual(first.release)
      expect(await store.getRelease(first.release.id)).toEqual(first.release)

      const other = await second()
      const raced = await Promise.all([store.insertRelease(newRelease({idempotencyKey: 'k2'})), other.insertRelease(newRelease({idempotencyKey: 'k2'}))])
      expect(raced.filter((result) => result.created)).toHaveLength(1)
      expect(raced[0].release.id).toBe(raced[1].release.id)
      // Inside a transaction too (on PostgreSQL a unique violation would abort it).
      const inTransaction = await store.transaction(async (tx) => {
        const result = await tx.insertRelease(newRelease({idempotencyKey: 'k2'}))
        return {result, after: await tx.getRelease(result.release.id)}
      })
      expect(inTransaction.result.created).toBe(false)
      expect(inTransaction.after?.id).toBe(raced[0].release.id)
    })

    it("moves an environment's active mark with each release queued there and each event", async () => {
      const before = await store.activeMark('shop', 'prod')
      expect(await store.activeMark('shop', 'prod')).toBe(before)
      const {release} = await store.insertRelease(newRelease())
      const queued = await store.activeMark('shop', 'prod')
      expect(queued).not.toBe(before)
      // another environment's release leaves this mark where it was
      await store.insertRelease(newRelease({environment: 'staging'}))
      expect(await store.activeMark('shop', 'prod')).toBe(queued)
      await store.transaction(async (tx) => {
        await tx.transitionRelease(release.id, ['queued'], 'running')
        await tx.appendEvents([{kind: 'release.started', project: 'shop', environment: 'prod', releaseId: release.id, taskId: null, apps: '*', data: {}, at: T0}])
      })
      expect(await store.activeMark('shop', 'prod')).not.toBe(queued)
    })

    it('lists releases by filter and order, and the active locks in queue order', async () => {
      const a = (await store.insertRelease(newRelease())).release
      const b = (
        await store.insertRelease(
          newRelease({status: 'pending_approval', lockSet: '*', options: {deadlineMs: 60_000}, freezeOverride: {by: 'bo', reason: 'incident 4411', at: T0}}),
        )
      ).release
      const c = (await store.insertRelease(newRelease({status: 'succeeded'}))).release
      await store.insertEnvironment({project: 'shop', name: 'dev', createdAt: T0})
      await store.insertRelease(newRelease({environment: 'dev'}))
      expect((await store.listReleases({project: 'shop', environment: 'prod'})).map((r) => r.id)).toEqual([c.id, b.id, a.id])
      expect((await store.listReleases({environment: 'prod', statuses: ['queued', 'succeeded'], order: 'asc'})).map((r) => r.id)).toEqual([a.id, c.id])
      expect(await store.listReleases({project: 'shop', limit: 1})).toHaveLength(1)
      expect(await store.activeLocks('shop', 'prod')).toEqual([
        {id: a.id, status: 'queued', lockSet: ['api'], overridesFreeze: false, deadlineMs: null},
        {id: b.id, status: 'pending_approval', lockSet: '*', overridesFreeze: true, deadlineMs: 60_000},
      ])
      expect(await store.getRelease(b.id)).toMatchObject({freezeOverride: {by: 'bo', reason: 'incident 4411', at: T0}, options: {deadlineMs: 60_000}, deadlineAt: null, expiresAt: null, endReason: null})
    })

    it('an environment\'s active releases and its queue listing are read exactly after any mix of commits, rollbacks and updates (a queue the store keeps between transactions)', async () => {
      type Step =
        | {kind: 'queue' | 'queue then roll back' | 'queue in a savepoint that fails'; locks: string[]; pending: boolean}
        | {kind: 'start' | 'end' | 'approve' | 'cancel request' | 'read, then start in the same transaction'; pick: number}
      const locks = fc.subarray(['api', 'web', 'db'], {minLength: 1})
      const step: fc.Arbitrary<Step> = fc.oneof(
        fc.record({kind: fc.constantFrom('queue' as const, 'queue then roll back' as const, 'queue in a savepoint that fails' as const), locks, pending: fc.boolean()}),
        fc.record({kind: fc.constantFrom('start' as const, 'end' as const, 'approve' as const, 'cancel request' as const, 'read, then start in the same transaction' as const), pick: fc.nat()}),
      )
      const rolledBack = new Error('rolled back (by the test)')
      let runs = 0
      await fc.assert(
        fc.asyncProperty(fc.array(step, {minLength: 1, maxLength: 12}), async (steps) => {
          // Each run has an environment of its own: what an earlier run kept must not leak into it.
          const environment = `prop-${++runs}`
          await store.insertEnvironment({project: 'shop', name: environment, createdAt: T0})
          const read = () => store.transaction((tx) => tx.activeLocks('shop', environment))
          for (const next of steps) {
            const active = await store.activeLocks('shop', environment)
            if (next.kind === 'queue' || next.kind === 'queue then roll back' || next.kind === 'queue in a savepoint that fails') {
              const release = newRelease({environment, lockSet: next.locks, status: next.pending ? 'pending_approval' : 'queued'})
              await store
                .transaction(async (tx) => {
                  if (next.kind === 'queue in a savepoint that fails') {
                    await tx
                      .savepoint(async () => {
                        await tx.insertRelease({...release, lockSet: ['lost']})
                        await tx.activeLocks('shop', environment)
                        throw rolledBack
                      })
                      .catch(() => undefined)
                  }
                  await tx.insertRelease(release)
                  // After a failed savepoint, no read: what the savepoint read must not be kept.
                  if (next.kind !== 'queue in a savepoint that fails') await tx.activeLocks('shop', environment)
                  if (next.kind === 'queue then roll back') throw rolledBack
                })
                .catch((error) => {
                  if (error !== rolledBack) throw error
                })
            } else if (active.length > 0) {
              const target = active[next.pick % active.length]
              if (next.kind === 'start') await store.transitionRelease(target.id, ['queued'], 'running', {startedAt: at(1), replica: 'r1', leaseExpiresAt: at(16)})
              if (next.kind === 'end') await store.transitionRelease(target.id, ['queued', 'running', 'pending_approval'], 'cancelled', {finishedAt: at(2)})
              if (next.kind === 'approve') await store.transitionRelease(target.id, ['pending_approval'], 'queued')
              if (next.kind === 'cancel request') await store.requestCancel(target.id, 'ada', at(3))
              if (next.kind === 'read, then start in the same transaction') {
                // As an admission turn does: what it read is kept, then its claim changes a release.
                await store.transaction(async (tx) => {
                  await tx.activeLocks('shop', environment)
                  await tx.transitionRelease(target.id, ['queued'], 'running', {startedAt: at(1), replica: 'r1', leaseExpiresAt: at(16)})
                })
              }
            }
            // What the store may take from what it kept, against a read of the table.
            const table = await activeLocksOfTable((store as unknown as {db: Kysely<Database>}).db, 'shop', environment)
            expect(await read()).toEqual(table)
            expect(await store.activeLocks('shop', environment)).toEqual(table)
            const queue = {project: 'shop', environment, statuses: ['running', 'queued', 'pending_approval'] as ReleaseStatus[], order: 'asc' as const}
            const queueOfTable = await store.transaction((tx) => tx.listReleases(queue))
            expect(queueOfTable.map((release) => release.id)).toEqual(table.map((lock) => lock.id))
            expect(await store.listReleases(queue)).toEqual(queueOfTable)
            expect(await store.listReleases({...queue, limit: 2})).toEqual(queueOfTable.slice(0, 2))
          }
        }),
        {numRuns: 40},
      )
    })

    it('on SQLite, the database refuses a change of a release\'s row that does not count up its revision, and an ended release made active again', async () => {
      const {release} = await store.insertRelease(newRelease())
      const db = (store as unknown as {db: Kysely<Database>}).db
      const sqlite = (store as unknown as {dialect: string}).dialect === 'sqlite'
      const unrevised = sql`update releases set comment = 'quietly' where id = ${release.id}`.execute(db)
      if (sqlite) await expect(unrevised).rejects.toThrow(/without counting up its revision/)
      else await unrevised
      await store.transitionRelease(release.id, ['queued'], 'cancelled', {finishedAt: at(1)})
      const revived = sql`update releases set status = 'queued', revision = revision + 1 where id = ${release.id}`.execute(db)
      if (sqlite) await expect(revived).rejects.toThrow(/cannot become active again/)
      else await revived
    })

    it('in a transaction, the active releases of an environment read again are the same objects where nothing changed, on SQLite', async () => {
      const a = (await store.insertRelease(newRelease())).release
      const first = await store.transaction((tx) => tx.activeLocks('shop', 'prod'))
      const b = (await store.insertRelease(newRelease({lockSet: ['web']}))).release
      const second = await store.transaction((tx) => tx.activeLocks('shop', 'prod'))
      expect(second.map((lock) => lock.id)).toEqual([a.id, b.id])
      // SQLite kept the first read and read only the release queued since; PostgreSQL reads them all.
      expect(second[0] === first[0]).toBe((store as unknown as {dialect: string}).dialect === 'sqlite')
    })

    it('records a deadline with the claim and why the engine ended a release; finds the queued releases past their expiry', async () => {
      const claimed = (await store.insertRelease(newRelease({options: {deadlineMs: 30_000}}))).release
      const running = await store.transitionRelease(claimed.id, ['queued'], 'running', {startedAt: at(1), replica: 'r1', leaseExpiresAt: at(16), deadlineAt: at(31)})
      expect(running).toMatchObject({status: 'running', deadlineAt: at(31), endReason: null})
      const failed = await store.transitionRelease(claimed.id, ['running'], 'failed', {finishedAt: at(40), error: 'deadline: ...', endReason: 'deadline'})
      expect(failed).toMatchObject({status: 'failed', endReason: 'deadline', deadlineAt: at(31)})

      const soon = (await store.insertRelease(newRelease({expiresAt: at(10)}))).release
      const pending = (await store.insertRelease(newRelease({status: 'pending_approval', expiresAt: at(5)}))).release
      const later = (await store.insertRelease(newRelease({expiresAt: at(100)}))).release
      await store.insertRelease(newRelease())
      const started = (await store.insertRelease(newRelease({expiresAt: at(1)}))).release
      await store.transitionRelease(started.id, ['queued'], 'running', {startedAt: at(0)})
      expect(soon.expiresAt).toBe(at(10))
      expect((await store.expiredQueued(at(4))).map((release) => release.id)).toEqual([])
      expect((await store.expiredQueued(at(10))).map((release) => release.id)).toEqual([soon.id, pending.id])
      expect((await store.expiredQueued(at(1000))).map((release) => release.id)).toEqual([soon.id, pending.id, later.id])
    })

    it('lists each release as it now is, also after the listing read it before and another store changed it', async () => {
      const {release} = await store.insertRelease(newRelease())
      const other = await second()
      const queue = {project: 'shop', environment: 'prod', statuses: ['pending_approval' as const, 'queued' as const, 'running' as const], order: 'asc' as const}
      expect(await store.listReleases(queue)).toMatchObject([{id: release.id, status: 'queued', replica: null}])
      await other.transitionRelease(release.id, ['queued'], 'running', {startedAt: at(1), replica: 'r1', leaseExpiresAt: at(16)})
      expect(await store.listReleases(queue)).toMatchObject([{id: release.id, status: 'running', startedAt: at(1), replica: 'r1', leaseExpiresAt: at(16)}])
      await other.heartbeat('r1', at(5), at(20))
      expect(await store.listReleases(queue)).toMatchObject([{id: release.id, leaseExpiresAt: at(20)}])
      await other.transitionRelease(release.id, ['running'], 'succeeded', {finishedAt: at(6)})
      expect(await store.listReleases(queue)).toEqual([])
      expect(await store.listReleases({project: 'shop'})).toMatchObject([{id: release.id, status: 'succeeded', finishedAt: at(6), leaseExpiresAt: null}])
    })

    it('lists the queue as of one state, also while another store ends the release at its head', async () => {
      const other = await second()
      const queue = {project: 'shop', environment: 'prod', statuses: ['pending_approval' as const, 'queued' as const, 'running' as const], order: 'asc' as const, limit: 1}
      const ids: number[] = []
      for (let i = 0; i < 60; i++) ids.push((await store.insertRelease(newRelease())).release.id)
      for (const id of ids.slice(0, -1)) {
        expect((await store.listReleases(queue)).map((release) => release.id)).toEqual([id])
        // Changed since it was listed (read again), and ending while the listing reads: the head listed
        // is the one ending, as it was, or the next one; never none while releases are active.
        await other.transitionRelease(id, ['queued'], 'running', {startedAt: at(1), replica: 'r1', leaseExpiresAt: at(16)})
        const [listed] = await Promise.all([store.listReleases(queue), other.transitionRelease(id, ['running'], 'succeeded', {finishedAt: at(2)})])
        expect(listed).toHaveLength(1)
        expect([
          [id, 'running'],
          [id + 1, 'queued'],
        ]).toContainEqual([listed[0].id, listed[0].status])
      }
    })

    it('transitions a release by compare-and-set, writing the owner and lease, clearing the lease at the end', async () => {
      const {release} = await store.insertRelease(newRelease())
      expect(await store.transitionRelease(release.id, ['running'], 'succeeded')).toBeNull()
      const running = await store.transitionRelease(release.id, ['queued'], 'running', {startedAt: at(1), replica: 'r1', leaseExpiresAt: at(16)})
      expect(running).toMatchObject({status: 'running', startedAt: at(1), replica: 'r1', leaseExpiresAt: at(16)})
      // Two callers race for one transition: exactly one wins.
      const other = await second()
      const outcomes = await Promise.all([
        store.transitionRelease(release.id, ['running'], 'failed', {finishedAt: at(2), error: 'boom'}),
        other.transitionRelease(release.id, ['running'], 'cancelled', {finishedAt: at(2)}),
      ])
      expect(outcomes.filter(Boolean)).toHaveLength(1)
      const ended = await store.getRelease(release.id)
      expect(ended).toMatchObject({replica: 'r1', leaseExpiresAt: null, finishedAt: at(2)})
      expect(['failed', 'cancelled']).toContain(ended?.status)

      const approved = (await store.insertRelease(newRelease({status: 'pending_approval'}))).release
      const decided = await store.transitionRelease(approved.id, ['pending_approval'], 'queued', {decision: {decision: 'approved', by: 'bo', at: at(3), comment: 'ok'}})
      expect(decided?.decision).toEqual({decision: 'approved', by: 'bo', at: at(3), comment: 'ok'})
    })

    it('knows the last ended release per app', async () => {
      const a = (await store.insertRelease(newRelease({status: 'succeeded'}))).release
      const b = (await store.insertRelease(newRelease({status: 'rejected', resources: [{name: 'web', action: 'create', fromVersion: null, toVersion: '1'}]}))).release
      await store.insertRelease(newRelease({status: 'queued'}))
      const last = await store.lastReleasePerApp('shop', 'prod')
      expect(Object.fromEntries(last)).toEqual({api: {id: a.id, status: 'succeeded', type: 'full'}, web: {id: b.id, status: 'rejected', type: 'full'}})
    })

    it('inserts the tasks of several releases at once, and gives each release back its own, in order', async () => {
      const {release: a} = await store.insertRelease(newRelease())
      const {release: b} = await store.insertRelease(newRelease())
      const {release: c} = await store.insertRelease(newRelease())
      // 400 tasks each: their rows span several statements, a statement's rows span releases.
      const plan = (prefix: string) => Array.from({length: 400}, (_, i) => newTask(`${prefix}-${i}`))
      const inserted = await store.insertTasks([
        {releaseId: b.id, tasks: plan('b')},
        {releaseId: a.id, tasks: []},
        {releaseId: c.id, tasks: plan('c')},
      ])
      expect(inserted.map((tasks) => tasks.length)).toEqual([400, 0, 400])
      expect(inserted[0].map((task) => task.resource)).toEqual(plan('b').map((task) => task.resource))
      expect(inserted[2].every((task) => task.releaseId === c.id)).toBe(true)
      expect((await store.listTasks(b.id)).map((task) => task.id).sort((x, y) => x - y)).toEqual(inserted[0].map((task) => task.id).sort((x, y) => x - y))
      expect(await store.listTasks(a.id)).toEqual([])
    })

    it('keeps tasks, in batches above 999 bound parameters', async () => {
      const {release} = await store.insertRelease(newRelease())
      const tasks = Array.from({length: 700}, (_, i) => newTask(`app-${i}`, {level: i % 3}))
      tasks.push(newTask('beforeTarget@eu', {kind: 'hook', resource: null, hook: 'beforeTarget', target: 'eu'}))
      const inserted = (await store.insertTasks([{releaseId: release.id, tasks}]))[0]
      expect(inserted).toHaveLength(701)
      expect(new Set(inserted.map((task) => task.id)).size).toBe(701)
      expect(inserted[700]).toMatchObject({resource: null, hook: 'beforeTarget', target: 'eu', status: 'pending', releaseId: release.id})
      await store.updateTask(inserted[0].id, {status: 'succeeded', exitCode: 0, startedAt: at(1), finishedAt: at(2)})
      const listed = await store.listTasks(release.id)
      expect(listed).toHaveLength(701)
      expect(listed.map((task) => task.level)).toEqual([...listed.map((task) => task.level)].sort())
      expect(listed.find((task) => task.id === inserted[0].id)).toMatchObject({status: 'succeeded', exitCode: 0, startedAt: at(1), finishedAt: at(2), attempt: 1, attempts: 1})
      const starting = inserted.slice(1, 700).map((task) => task.id)
      await store.updateTasks(starting, {status: 'running', startedAt: at(3)})
      const after = await store.listTasks(release.id)
      expect(after.filter((task) => task.status === 'running' && task.startedAt === at(3)).map((task) => task.id).sort()).toEqual([...starting].sort())
      expect(after.find((task) => task.id === inserted[700].id)).toMatchObject({status: 'pending', startedAt: null})
      // Attempts: how many a task may take, and the one it is at.
      const [retried] = (await store.insertTasks([{releaseId: release.id, tasks: [newTask('flaky', {attempts: 3})]}]))[0]
      expect(retried).toMatchObject({attempt: 1, attempts: 3})
      await store.updateTask(retried.id, {status: 'running', attempt: 2})
      expect((await store.listTasks(release.id)).find((task) => task.id === retried.id)).toMatchObject({status: 'running', attempt: 2, attempts: 3})
    })

    it('keeps a log line with a NUL in it (a deploy printed one): the NUL as U+2400, which PostgreSQL stores', async () => {
      const {release} = await store.insertRelease(newRelease())
      await store.appendLogs([{releaseId: release.id, taskId: null, resource: 'web', target: null, stream: 'stdout', line: 'before\0after', at: at(1)}])
      expect((await store.readLogs(release.id, 0, 10)).map((line) => line.line)).toEqual(['before\u2400after'])
    })

    it('keeps log lines, pages them, and deletes those of old releases', async () => {
      const {release} = await store.insertRelease(newRelease({status: 'succeeded'}))
      await store.transitionRelease(release.id, ['succeeded'], 'succeeded', {finishedAt: at(10)})
      const lines = Array.from({length: 300}, (_, i) => ({releaseId: release.id, taskId: null, resource: i % 2 ? 'api' : 'web', target: null, stream: 'stdout' as const, line: `line ${i}`, at: at(i)}))
      const ids = await store.appendLogs(lines)
      expect(ids).toHaveLength(300)
      expect(ids.every((id, i) => i === 0 || id > ids[i - 1])).toBe(true)
      expect((await store.logLinesBetween(release.id, ids[10], ids[12])).map((line) => line.line)).toEqual(['line 10', 'line 11', 'line 12'])
      const page = await store.readLogs(release.id, 0, 100)
      expect(page).toHaveLength(100)
      expect(page[0]).toMatchObject({line: 'line 0', resource: 'web', releaseId: release.id, attempt: null})
      const [second] = await store.appendLogs([{...lines[0], line: 'attempt two', attempt: 2}])
      expect((await store.logLinesBetween(release.id, second, second))[0]).toMatchObject({line: 'attempt two', attempt: 2})
      const next = await store.readLogs(release.id, page[99].id, 1000, {resource: 'api'})
      expect(next).toHaveLength(100)
      expect(next.every((line) => line.resource === 'api' && line.id > page[99].id)).toBe(true)
      expect(await store.logsDeletedAt(release.id)).toBeNull()
      expect(await store.deleteLogsEndedBefore(at(5), at(20), 10)).toEqual([])
      expect(await store.deleteLogsEndedBefore(at(11), at(20), 10)).toEqual([release.id])
      expect(await store.logsDeletedAt(release.id)).toBe(at(20))
      expect(await store.readLogs(release.id, 0, 10)).toEqual([])
    })

    it('lists an app history of successful deploys', async () => {
      const {release} = await store.insertRelease(newRelease({status: 'succeeded'}))
      const [deploy, failed] = (await store.insertTasks([{releaseId: release.id, tasks: [newTask('api'), newTask('api', {key: 'api@2'})]}]))[0]
      await store.updateTask(deploy.id, {status: 'succeeded', finishedAt: at(3)})
      await store.updateTask(failed.id, {status: 'failed', finishedAt: at(4)})
      expect(await store.appHistory('shop', 'prod', 'api', 10)).toEqual([
        {releaseId: release.id, type: 'full', action: 'update', fromVersion: '1', toVersion: '2', target: null, triggeredBy: 'ada', finishedAt: at(3)},
      ])
    })

    it('keeps settings at both scopes with their change log', async () => {
      const controlPlane = {project: null, environment: null, parallel: true, maxParallel: 4, approval: null, approvalsRequired: null, queueMode: null, updatedBy: 'ada', updatedAt: T0}
      const environment = {project: 'shop', environment: 'prod', parallel: null, maxParallel: null, approval: true, approvalsRequired: 2, queueMode: 'supersede' as const, updatedBy: 'bo', updatedAt: at(1)}
      await store.saveSettings(controlPlane, [{project: null, environment: null, setting: 'parallel', oldValue: null, newValue: 'true', changedBy: 'ada', changedAt: T0}])
      await store.saveSettings(environment, [{project: 'shop', environment: 'prod', setting: 'approval', oldValue: null, newValue: 'true', changedBy: 'bo', changedAt: at(1)}])
      await store.saveSettings({...environment, approval: false, updatedAt: at(2)}, [])
      expect(await store.getSettings(null, null)).toEqual(controlPlane)
      expect(await store.settingsFor('shop', 'prod')).toEqual({controlPlane, environment: {...environment, approval: false, updatedAt: at(2)}})
      expect(await store.listSettings()).toHaveLength(2)
      expect((await store.listSettingsChanges('shop', 'prod', 10)).map((change) => change.setting)).toEqual(['approval'])
      expect(await store.listSettingsChanges(null, null, 10)).toHaveLength(1)
    })

    it('keeps tokens by name, finds them by the digest of their secret, rotates and deletes them', async () => {
      const token = {
        name: 'ci-shop',
        hash: 'a'.repeat(64),
        grants: [{role: 'deployer' as const, project: 'shop', environment: 'staging'}],
        createdAt: T0,
        createdBy: 'admin',
        expiresAt: at(90 * 86_400),
        lifetimeMs: 90 * 86_400_000,
        lastUsedAt: null,
        rotatedAt: null,
        configured: false,
      }
      expect(await store.insertToken(token)).toBe(true)
      expect(await store.insertToken({...token, hash: 'b'.repeat(64)})).toBe(false)
      expect(await store.tokenByHash('a'.repeat(64))).toEqual(token)
      expect(await store.tokenByHash('b'.repeat(64))).toBeNull()
      await store.touchToken('ci-shop', at(5))
      expect((await store.getToken('ci-shop'))?.lastUsedAt).toBe(at(5))
      const rotated = await store.rotateToken('ci-shop', 'c'.repeat(64), at(100), at(6))
      expect(rotated).toMatchObject({name: 'ci-shop', hash: 'c'.repeat(64), expiresAt: at(100), rotatedAt: at(6), lastUsedAt: at(5), lifetimeMs: 90 * 86_400_000})
      expect(await store.tokenByHash('a'.repeat(64))).toBeNull()
      expect(await store.rotateToken('nobody', 'd'.repeat(64), null, at(6))).toBeNull()
      // A token given to server start replaces the one of its name, and takes its secret from any other.
      await store.insertToken({...token, name: 'other', hash: 'e'.repeat(64)})
      await store.putToken({...token, name: 'admin', hash: 'e'.repeat(64), grants: [{role: 'admin', project: null, environment: null}], configured: true})
      await store.putToken({...token, name: 'admin', hash: 'e'.repeat(64), grants: [{role: 'admin', project: null, environment: null}], configured: true, createdAt: at(9)})
      expect((await store.listTokens()).map((listed) => listed.name)).toEqual(['admin', 'ci-shop'])
      expect(await store.tokenByHash('e'.repeat(64))).toMatchObject({name: 'admin', configured: true, createdAt: T0})
      expect(await store.deleteToken('ci-shop')).toBe(true)
      expect(await store.deleteToken('ci-shop')).toBe(false)
      expect(await store.tokenByHash('c'.repeat(64))).toBeNull()
    })

    it('appends to the audit log, lists it newest first by scope, actor and time, refuses changes, and deletes only what is past the cutoff', async () => {
      const entry = {
        at: T0,
        actor: 'ada',
        action: 'release.trigger',
        method: 'POST',
        path: '/v1/projects/shop/environments/prod/releases',
        project: 'shop',
        environment: 'prod',
        target: null,
        status: 201,
        outcome: 'succeeded' as const,
        address: '127.0.0.1',
        detail: null,
      }
      await store.appendAudit([entry])
      await store.appendAudit([{...entry, at: at(1), actor: 'bo', environment: 'staging', status: 403, outcome: 'denied', detail: 'forbidden: no'}])
      await store.appendAudit([{...entry, at: at(2), actor: null, project: null, environment: null, status: 401, outcome: 'unauthenticated'}])
      const all = await store.listAudit({limit: 10})
      expect(all.map((listed) => listed.at)).toEqual([at(2), at(1), T0])
      expect(all[2]).toEqual({id: all[2].id, ...entry})
      expect((await store.listAudit({project: 'shop', limit: 10})).map((listed) => listed.actor)).toEqual(['bo', 'ada'])
      expect((await store.listAudit({project: 'shop', environment: 'prod', limit: 10})).map((listed) => listed.actor)).toEqual(['ada'])
      expect((await store.listAudit({actor: 'bo', limit: 10})).map((listed) => listed.outcome)).toEqual(['denied'])
      expect((await store.listAudit({since: at(1), limit: 10})).map((listed) => listed.at)).toEqual([at(2), at(1)])
      expect(await store.listAudit({limit: 1})).toHaveLength(1)
      // Append-only: the database itself refuses to change an entry.
      await expect(sql`update audit set actor = 'mallory'`.execute((store as unknown as {db: Kysely<unknown>}).db)).rejects.toThrow(/append-only/)
      expect(await store.deleteAuditBefore(at(2), 1)).toBe(1)
      expect(await store.deleteAuditBefore(at(2), 10)).toBe(1)
      expect((await store.listAudit({limit: 10})).map((listed) => listed.at)).toEqual([at(2)])
      // Many at once (a group commit): in their order, across several statements.
      const many = Array.from({length: 300}, (_, index) => ({...entry, at: at(3), actor: `user-${index}`}))
      await store.appendAudit(many)
      expect((await store.listAudit({since: at(3), limit: 1000})).map((listed) => listed.actor).reverse()).toEqual(many.map((listed) => listed.actor))
      // A request's path with %00 in it: PostgreSQL stores no NUL in text; the entry keeps U+2400 in its place.
      await store.appendAudit([{...entry, at: at(4), path: '/v1/projects/ev\0il/environments/prod/releases', project: 'ev\0il', outcome: 'unauthenticated', status: 401}])
      expect(await store.listAudit({since: at(4), limit: 10})).toMatchObject([{path: '/v1/projects/ev\u2400il/environments/prod/releases', project: 'ev\u2400il'}])
    })

    it('records each approver of a release once', async () => {
      const {release} = await store.insertRelease(newRelease({status: 'pending_approval'}))
      expect(await store.addApproval(release.id, {by: 'bo', at: at(1), comment: 'ok'})).toBe(true)
      expect(await store.addApproval(release.id, {by: 'bo', at: at(2), comment: null})).toBe(false)
      expect(await store.addApproval(release.id, {by: 'cy', at: at(3), comment: null})).toBe(true)
      expect(await store.listApprovals(release.id)).toEqual([
        {by: 'bo', at: at(1), comment: 'ok'},
        {by: 'cy', at: at(3), comment: null},
      ])
    })

    it('keeps pauses once per level', async () => {
      const pause = {level: 'project' as const, project: 'shop', environment: null, by: 'ada', at: T0, reason: 'freeze'}
      expect(await store.addPause(pause)).toEqual({pause, created: true})
      expect(await store.addPause({...pause, by: 'bo'})).toEqual({pause, created: false})
      await store.addPause({...pause, level: 'environment', environment: 'prod', reason: null})
      expect((await store.listPauses('shop', 'prod')).map((p) => p.level)).toEqual(['project', 'environment'])
      expect(await store.removePause('shop', null)).toBe(true)
      expect(await store.removePause('shop', null)).toBe(false)
      expect(await store.listPauses('shop', null)).toHaveLength(1)
      // The control plane's pause (pause --all) holds every environment, and comes first.
      const all = {level: 'control-plane' as const, project: null, environment: null, by: 'cy', at: at(1), reason: 'holidays'}
      expect(await store.addPause(all)).toEqual({pause: all, created: true})
      expect(await store.addPause({...all, by: 'dee'})).toEqual({pause: all, created: false})
      await store.upsertProject({name: 'blog', blueprint: {project: 'blog'} as unknown as Blueprint, file: 'relctl.yaml', baseDir: '/srv/blog', createdAt: T0, appliedAt: T0})
      await store.addPause({...pause, project: 'blog'})
      expect(await store.listPauses('shop', 'prod')).toEqual([all, {...pause, level: 'environment', environment: 'prod', reason: null}])
      expect(await store.listPauses('shop', null)).toEqual([all, {...pause, level: 'environment', environment: 'prod', reason: null}])
      expect((await store.listPauses(null, null)).map((p) => `${p.level}:${p.project}`)).toEqual(['control-plane:null', 'project:blog', 'environment:shop'])
      expect(await store.removePause(null, null)).toBe(true)
      expect((await store.listPauses('shop', 'prod')).map((p) => p.level)).toEqual(['environment'])
    })

    it('keeps freezes: by scope, the ended one-off windows left out; deleted with their environment', async () => {
      await store.insertEnvironment({project: 'shop', name: 'dev', createdAt: T0})
      await store.upsertProject({name: 'blog', blueprint: {project: 'blog'} as unknown as Blueprint, file: 'relctl.yaml', baseDir: '/srv/blog', createdAt: T0, appliedAt: T0})
      const base = {from: null, to: null, cron: null, durationMs: null, timezone: 'UTC', reason: 'year-end', createdBy: 'ada', createdAt: T0}
      const all = await store.insertFreeze({...base, project: null, environment: null, from: at(100), to: at(200)})
      const shop = await store.insertFreeze({...base, project: 'shop', environment: null, cron: '0 18 * * 5', durationMs: 62 * 3_600_000, timezone: 'Europe/Berlin'})
      const prod = await store.insertFreeze({...base, project: 'shop', environment: 'prod', from: at(0), to: at(50)})
      const dev = await store.insertFreeze({...base, project: 'shop', environment: 'dev', from: at(0), to: at(500)})
      const blog = await store.insertFreeze({...base, project: 'blog', environment: null, from: at(0), to: at(500)})
      expect(all).toEqual({...base, id: all.id, project: null, environment: null, from: at(100), to: at(200)})
      expect(await store.getFreeze(shop.id)).toEqual({...base, id: shop.id, project: 'shop', environment: null, cron: '0 18 * * 5', durationMs: 62 * 3_600_000, timezone: 'Europe/Berlin'})
      const ids = (freezes: {id: number}[]) => freezes.map((freeze) => freeze.id)
      expect(ids(await store.freezesFor('shop', 'prod', at(10)))).toEqual([all.id, shop.id, prod.id])
      // A one-off window that has ended is no longer read; a recurring one never ends.
      expect(ids(await store.freezesFor('shop', 'prod', at(50)))).toEqual([all.id, shop.id])
      expect(ids(await store.listFreezes(at(10)))).toEqual([all.id, shop.id, prod.id, dev.id, blog.id])
      expect(ids(await store.listFreezes(at(10), {project: 'shop'}))).toEqual([all.id, shop.id, prod.id, dev.id])
      expect(ids(await store.listFreezes(at(10), {project: 'shop', environment: 'dev'}))).toEqual([all.id, shop.id, dev.id])
      expect(ids(await store.listFreezes(at(300)))).toEqual([shop.id, dev.id, blog.id])
      expect(await store.deleteFreeze(blog.id)).toBe(true)
      expect(await store.deleteFreeze(blog.id)).toBe(false)
      expect(await store.getFreeze(blog.id)).toBeNull()
      await store.deleteEnvironment('shop', 'dev')
      expect(await store.getFreeze(dev.id)).toBeNull()
    })

    it('in a transaction, reads of the policy tables (answered again from the first read) see its own writes, and not those of a savepoint rolled back', async () => {
      const pause = {level: 'environment' as const, project: 'shop', environment: 'prod', by: 'ada', at: T0, reason: null}
      const base = {cron: null, durationMs: null, timezone: 'UTC', reason: 'year-end', createdBy: 'ada', createdAt: T0}
      const settings = {project: 'shop', environment: 'prod', parallel: true, maxParallel: 3, approval: null, approvalsRequired: null, queueMode: null, updatedBy: 'ada', updatedAt: T0}
      await store.transaction(async (tx) => {
        expect(await tx.listPauses('shop', 'prod')).toEqual([])
        await tx.addPause(pause)
        expect(await tx.listPauses('shop', 'prod')).toEqual([pause])
        const undone = tx.savepoint(async () => {
          await tx.removePause('shop', 'prod')
          expect(await tx.listPauses('shop', 'prod')).toEqual([])
          throw new Error('undone')
        })
        await expect(undone).rejects.toThrow('undone')
        expect(await tx.listPauses('shop', 'prod')).toEqual([pause])

        const ids = (freezes: {id: number}[]) => freezes.map((freeze) => freeze.id)
        const freeze = await tx.insertFreeze({...base, project: 'shop', environment: 'prod', from: at(0), to: at(50)})
        expect(ids(await tx.freezesFor('shop', 'prod', at(10)))).toEqual([freeze.id])
        // A later time leaves out the window that has ended by then; an earlier one sees it again.
        expect(await tx.freezesFor('shop', 'prod', at(60))).toEqual([])
        expect(ids(await tx.freezesFor('shop', 'prod', at(10)))).toEqual([freeze.id])
        await tx.deleteFreeze(freeze.id)
        expect(await tx.freezesFor('shop', 'prod', at(10))).toEqual([])

        expect((await tx.settingsFor('shop', 'prod')).environment).toBeNull()
        await tx.saveSettings(settings, [])
        expect((await tx.settingsFor('shop', 'prod')).environment).toEqual(settings)
        expect(await tx.getSettings('shop', 'prod')).toEqual(settings)
        // The control plane's scope (null) is not a project or environment named "null".
        await tx.saveSettings({...settings, project: null, environment: null}, [])
        expect(await tx.getSettings(null, null)).toEqual({...settings, project: null, environment: null})
        expect(await tx.getSettings('null', 'null')).toBeNull()

        expect(await tx.listBlockedVersions('shop')).toEqual([])
        const block = {project: 'shop', app: 'api', version: '3.3.0', reason: 'memory leak', by: 'ada', at: at(1)}
        await tx.blockVersion(block)
        expect(await tx.listBlockedVersions('shop')).toEqual([block])
        await tx.unblockVersion('shop', 'api', '3.3.0')
        expect(await tx.listBlockedVersions('shop')).toEqual([])

        expect(await tx.getEnvironment('shop', 'dev')).toBeNull()
        await tx.insertEnvironment({project: 'shop', name: 'dev', createdAt: T0})
        expect(await tx.getEnvironment('shop', 'dev')).toMatchObject({project: 'shop', name: 'dev'})
        expect((await tx.getProject('shop'))?.baseDir).toBe('/srv/shop')
        await tx.upsertProject({name: 'shop', blueprint: {project: 'shop'} as unknown as Blueprint, file: 'relctl.yaml', baseDir: '/srv/shop2', createdAt: T0, appliedAt: at(2)})
        expect((await tx.getProject('shop'))?.baseDir).toBe('/srv/shop2')
      })
    })

    it('keeps blocked versions once per project, app and version', async () => {
      const block = {project: 'shop', app: 'api', version: '3.3.0', reason: 'memory leak', by: 'ada', at: at(1)}
      expect(await store.blockVersion(block)).toEqual({block, created: true})
      expect(await store.blockVersion({...block, by: 'bo', reason: 'again'})).toEqual({block, created: false})
      await store.blockVersion({...block, version: '3.2.9', at: at(2)})
      await store.blockVersion({...block, app: 'web', at: at(3)})
      expect((await store.listBlockedVersions('shop')).map((b) => `${b.app} ${b.version}`)).toEqual(['api 3.3.0', 'api 3.2.9', 'web 3.3.0'])
      expect((await store.listBlockedVersions('shop', 'api')).map((b) => b.version)).toEqual(['3.3.0', '3.2.9'])
      expect(await store.listBlockedVersions('blog')).toEqual([])
      expect(await store.unblockVersion('shop', 'api', '3.3.0')).toEqual(block)
      expect(await store.unblockVersion('shop', 'api', '3.3.0')).toBeNull()
      expect((await store.listBlockedVersions('shop', 'api')).map((b) => b.version)).toEqual(['3.2.9'])
    })

    it('keeps schedules: one caller advances past a slot, one run per slot', async () => {
      const schedule = {project: 'shop', environment: 'prod', rule: {every: '1h'}, type: 'full' as const, resources: ['api'], paused: false, nextRunAt: at(3600), createdBy: 'ada', createdAt: T0, updatedAt: T0}
      await store.upsertSchedule(schedule)
      expect(await store.getSchedule('shop', 'prod')).toEqual(schedule)
      expect(await store.listSchedules()).toHaveLength(1)
      expect(await store.setSchedulePaused('shop', 'prod', true, at(1))).toBe(true)
      expect(await store.getSchedule('shop', 'prod')).toMatchObject({paused: true, updatedAt: at(1)})
      const other = await second()
      const advanced = await Promise.all([store.advanceSchedule('shop', 'prod', at(3600), at(7200)), other.advanceSchedule('shop', 'prod', at(3600), at(7200))])
      expect(advanced.filter(Boolean)).toHaveLength(1)
      const runs = Array.from({length: 200}, (_, i) => ({slotAt: at(i * 60), recordedAt: at(i * 60), outcome: 'missed' as const, releaseId: null, reason: null}))
      await store.insertScheduleRuns('shop', 'prod', runs)
      await expect(store.insertScheduleRuns('shop', 'prod', [runs[0]])).rejects.toThrow()
      const listed = await store.listScheduleRuns('shop', 'prod', 3)
      expect(listed.map((run) => run.slotAt)).toEqual([at(199 * 60), at(198 * 60), at(197 * 60)])
      expect(await store.deleteSchedule('shop', 'prod')).toBe(true)
      expect(await store.deleteSchedule('shop', 'prod')).toBe(false)
    })

    it('rolls a transaction back when its function throws', async () => {
      await expect(
        store.transaction(async (tx) => {
          await tx.insertRelease(newRelease({idempotencyKey: 'gone'}))
          await tx.appendEvents([{kind: 'release.started', project: 'shop', environment: 'prod', releaseId: null, taskId: null, apps: null, data: {}, at: T0}])
          throw new Error('changed my mind')
        }),
      ).rejects.toThrow('changed my mind')
      expect(await store.findByIdempotencyKey('gone')).toBeNull()
      expect(await store.listEvents(0, 10)).toEqual([])
    })

    it('keeps replicas and their heartbeats, renewing the leases of their runs', async () => {
      const replica = {id: 'r1', host: 'box', pid: 42, url: 'http://box:7420', version: '0.1.0', capacity: 8, leaseMs: 15_000, startedAt: T0, heartbeatAt: T0, stopping: false}
      await store.upsertReplica(replica)
      await store.upsertReplica({...replica, id: 'r2', startedAt: at(1), heartbeatAt: at(1), url: null})
      await store.upsertReplica({...replica, pid: 43})
      expect(await store.getReplica('r1')).toEqual({...replica, pid: 43})
      expect(await store.getReplica('nope')).toBeNull()
      const mine = (await store.insertRelease(newRelease())).release
      const theirs = (await store.insertRelease(newRelease())).release
      await store.transitionRelease(mine.id, ['queued'], 'running', {replica: 'r1', leaseExpiresAt: at(15)})
      await store.transitionRelease(theirs.id, ['queued'], 'running', {replica: 'r2', leaseExpiresAt: at(15)})
      expect(await store.heartbeat('r1', at(10), at(25))).toBe(1)
      expect(await store.getRelease(mine.id)).toMatchObject({leaseExpiresAt: at(25)})
      expect(await store.getRelease(theirs.id)).toMatchObject({leaseExpiresAt: at(15)})
      expect((await store.listReplicas(at(5))).map((r) => r.id)).toEqual(['r1'])
      expect((await store.listReplicas(T0)).map((r) => r.id)).toEqual(['r1', 'r2'])
      expect((await store.runsOf('r1')).map((r) => r.id)).toEqual([mine.id])
      expect((await store.expiredRuns(at(20))).map((r) => r.id)).toEqual([theirs.id])
      expect(await store.expiredRuns(at(15))).toEqual([])
      await store.setReplicaStopping('r1')
      expect(await store.getReplica('r1')).toMatchObject({stopping: true})
      await store.deleteReplica('r2')
      expect(await store.getReplica('r2')).toBeNull()
    })

    it('records cancel requests on running releases only, for their owner', async () => {
      const running = (await store.insertRelease(newRelease())).release
      const queued = (await store.insertRelease(newRelease())).release
      await store.transitionRelease(running.id, ['queued'], 'running', {replica: 'r1', leaseExpiresAt: at(15)})
      expect(await store.requestCancel(queued.id, 'ada', at(1))).toBe(false)
      expect(await store.requestCancel(running.id, 'ada', at(1))).toBe(true)
      expect(await store.requestCancel(running.id, 'bo', at(2))).toBe(true)
      expect(await store.cancelRequests('r1')).toEqual([{releaseId: running.id, by: 'ada', at: at(1)}])
      expect(await store.cancelRequests('r2')).toEqual([])
      await store.transitionRelease(running.id, ['running'], 'cancelled')
      expect(await store.cancelRequests('r1')).toEqual([])
    })

    it('names the environments with queued releases', async () => {
      await store.insertEnvironment({project: 'shop', name: 'dev', createdAt: T0})
      await store.insertRelease(newRelease({environment: 'prod'}))
      await store.insertRelease(newRelease({environment: 'prod'}))
      await store.insertRelease(newRelease({environment: 'dev', status: 'running'}))
      expect(await store.environmentsWithQueued()).toEqual([{project: 'shop', environment: 'prod'}])
    })

    it('appends events with strictly increasing sequence numbers, visible only after commit', async () => {
      const event = (i: number) => ({kind: 'task.started' as const, project: 'shop', environment: 'prod', releaseId: i % 2, taskId: i, apps: [`app${i}`], data: {status: 'running', i}, at: at(i)})
      // 9 columns a row: 200 rows are above 999 bound parameters.
      await store.appendEvents(Array.from({length: 200}, (_, i) => event(i)))
      const all = await store.listEvents(0, 1000)
      expect(all.map((e) => e.taskId)).toEqual(Array.from({length: 200}, (_, i) => i))
      expect(all.every((e, i) => i === 0 || e.seq > all[i - 1].seq)).toBe(true)
      expect(all[3]).toMatchObject({kind: 'task.started', data: {status: 'running', i: 3}, releaseId: 1, apps: ['app3'], at: at(3)})
      expect((await store.listEvents(all[9].seq, 5, {releaseId: 0})).map((e) => e.taskId)).toEqual([10, 12, 14, 16, 18])

      const reader = await second()
      const last = all[199].seq
      const {wait: held, open: release} = gate()
      let appended!: () => void
      const wasAppended = new Promise<void>((resolve) => (appended = resolve))
      const writing = store.transaction(async (tx) => {
        await tx.appendEvents([event(500)])
        appended()
        await held
      })
      await wasAppended
      expect(await reader.listEvents(last, 10)).toEqual([])
      release()
      await writing
      expect((await reader.listEvents(last, 10)).map((e) => e.taskId)).toEqual([500])
    })

    it('prunes old events up to what the outbox has read, and keeps the horizon', async () => {
      const event = (i: number, when: string) => ({kind: 'pause.changed' as const, project: 'shop', environment: 'prod', releaseId: null, taskId: null, apps: null, data: {i}, at: when})
      expect(await store.lastEventSeq()).toBe(0)
      expect(await store.eventHorizon()).toBe(0)
      await store.appendEvents([event(1, at(1)), event(2, at(2)), event(3, at(3)), event(4, at(100))])
      const seqs = (await store.listEvents(0, 10)).map((e) => e.seq)
      expect(await store.lastEventSeq()).toBe(seqs[3])
      // Older than the cutoff are the first three; the outbox has read only the first two.
      expect(await store.pruneEvents(at(50), seqs[1], 100)).toBe(2)
      expect(await store.eventHorizon()).toBe(seqs[1])
      expect((await store.listEvents(0, 10)).map((e) => e.seq)).toEqual(seqs.slice(2))
      expect(await store.pruneEvents(at(50), seqs[3], 100)).toBe(1)
      expect(await store.eventHorizon()).toBe(seqs[2])
    })

    it('keeps notification subscriptions and an outbox: in order per subscription, claimed once, retried, pruned', async () => {
      await store.appendEvents([{kind: 'pause.changed', project: 'shop', environment: 'prod', releaseId: null, taskId: null, apps: null, data: {}, at: T0}])
      const base = {url: 'https://hooks.example/a', secret: 's'.repeat(20), project: 'shop', environment: null, events: ['release.*'], createdBy: 'ada', createdAt: T0}
      const a = await store.insertNotification({...base, kind: 'webhook'})
      const b = await store.insertNotification({...base, kind: 'slack', secret: null})
      expect(a).toMatchObject({kind: 'webhook', events: ['release.*'], afterSeq: await store.lastEventSeq(), failingSince: null})
      expect((await store.listNotifications()).map((n) => n.id)).toEqual([a.id, b.id])
      // The outbox starts at the last event, and only one transaction holds it at a time.
      const position = await store.transaction((tx) => tx.lockOutbox())
      expect(position).toBe(await store.lastEventSeq())
      await store.transaction(async (tx) => {
        await tx.lockOutbox()
        await tx.advanceOutbox(position + 3)
      })
      expect(await store.transaction((tx) => tx.lockOutbox())).toBe(position + 3)
      const delivery = (notificationId: number, eventSeq: number) => ({notificationId, eventSeq, eventKind: 'release.started', event: {seq: eventSeq}, nextAttemptAt: at(0), createdAt: at(0)})
      await store.insertDeliveries([delivery(a.id, 11), delivery(a.id, 12), delivery(b.id, 11)])
      await store.insertDeliveries([delivery(a.id, 11)]) // again: left as it is
      expect(await store.pendingDeliveryCounts()).toEqual(new Map([[a.id, 2], [b.id, 1]]))
      // Each subscription's oldest, once: a second claimer gets nothing while the claims hold.
      const claimed = await store.claimDeliveries('r1', at(1), at(61), 10)
      expect(claimed.map((d) => [d.notificationId, d.eventSeq])).toEqual([[a.id, 11], [b.id, 11]])
      expect(await store.claimDeliveries('r2', at(2), at(62), 10)).toEqual([])
      const first = claimed[0]
      await store.recordAttempt({deliveryId: first.id, attempt: 1, at: at(3), statusCode: 503, error: 'busy', durationMs: 12}, {status: 'pending', nextAttemptAt: at(10)}, 'HTTP 503')
      expect((await store.getNotification(a.id))?.failingSince).toBe(at(3))
      // Not due yet, and it still holds back the next one of its subscription.
      expect(await store.claimDeliveries('r2', at(5), at(65), 10)).toEqual([])
      const again = await store.claimDeliveries('r2', at(10), at(70), 10)
      expect(again.map((d) => [d.eventSeq, d.attempts])).toEqual([[11, 1]])
      await store.recordAttempt({deliveryId: first.id, attempt: 2, at: at(11), statusCode: 200, error: null, durationMs: 9}, {status: 'delivered', nextAttemptAt: at(11)}, 'HTTP 200')
      expect(await store.getNotification(a.id)).toMatchObject({failingSince: null, lastOutcome: 'HTTP 200', lastAttemptAt: at(11)})
      expect((await store.claimDeliveries('r1', at(12), at(72), 10)).map((d) => d.eventSeq)).toEqual([12])
      const test = await store.insertClaimedDelivery({notificationId: a.id, eventSeq: null, eventKind: 'test', event: {test: true}, nextAttemptAt: at(13), createdAt: at(13)}, 'r1', at(73))
      expect(test).toMatchObject({eventSeq: null, status: 'pending'})
      const listed = await store.listDeliveries(a.id, 10)
      expect(listed.map((d) => d.eventSeq)).toEqual([null, 12, 11])
      expect(listed[2]).toMatchObject({status: 'delivered', attempts: 2, endedAt: at(11), attemptLog: [{attempt: 1, statusCode: 503, error: 'busy'}, {attempt: 2, statusCode: 200}]})
      expect(await store.pruneDeliveries(at(12), 10)).toBe(1)
      expect(await store.deleteNotification(a.id)).toBe(true)
      expect(await store.deleteNotification(a.id)).toBe(false)
      expect(await store.listDeliveries(a.id, 10)).toEqual([])
    })

    it("writes a transaction's events at its end, in order, without those of a savepoint rolled back", async () => {
      const event = (i: number) => ({kind: 'task.started' as const, project: 'shop', environment: 'prod', releaseId: 1, taskId: i, apps: null, data: {i}, at: at(i)})
      const inside: number[] = []
      await store.transaction(async (tx) => {
        await tx.appendEvents([event(1)])
        await tx.savepoint(() => tx.appendEvents([event(2)]))
        await expect(
          tx.savepoint(async () => {
            await tx.appendEvents([event(3)])
            throw new Error('undone')
          }),
        ).rejects.toThrow('undone')
        await tx.appendEvents([event(4), event(5)])
        inside.push(...(await tx.listEvents(0, 10)).map((e) => e.taskId as number))
      })
      // Not written while the transaction ran: all at its end.
      expect(inside).toEqual([])
      const written = await store.listEvents(0, 10)
      expect(written.map((e) => e.taskId)).toEqual([1, 2, 4, 5])
      expect(written.every((e, i) => i === 0 || e.seq > written[i - 1].seq)).toBe(true)
      await expect(
        store.transaction(async (tx) => {
          await tx.appendEvents([event(6)])
          throw new Error('rolled back')
        }),
      ).rejects.toThrow('rolled back')
      expect((await store.listEvents(0, 10)).map((e) => e.taskId)).toEqual([1, 2, 4, 5])
    })

    it('keeps pipeline runs: inserted once per idempotency key (also when two inserts race), listed, patched', async () => {
      const first = await store.insertPipelineRun(newRun({idempotencyKey: 'run-1'}))
      expect(first.created).toBe(true)
      expect(first.run).toEqual({
        id: first.run.id,
        project: 'shop',
        pipeline: 'main',
        status: 'queued',
        plan: PLAN,
        step: 0,
        approvals: [],
        decision: null,
        waiting: null,
        supersededBy: null,
        error: null,
        rollingBack: false,
        createdBy: 'ci',
        source: 'cli',
        comment: null,
        idempotencyKey: 'run-1',
        createdAt: T0,
        startedAt: null,
        finishedAt: null,
      })
      expect(await store.insertPipelineRun(newRun({idempotencyKey: 'run-1', comment: 'retry'}))).toEqual({run: first.run, created: false})
      expect(await store.findPipelineRunByKey('run-1')).toEqual(first.run)
      expect(await store.findPipelineRunByKey('nope')).toBeNull()
      const other = await second()
      const raced = await Promise.all([store.insertPipelineRun(newRun({idempotencyKey: 'run-2'})), other.insertPipelineRun(newRun({idempotencyKey: 'run-2'}))])
      expect(raced.filter((result) => result.created)).toHaveLength(1)
      expect(raced[0].run.id).toBe(raced[1].run.id)
      const another = await store.insertPipelineRun(newRun({pipeline: 'hotfix', createdAt: at(3)}))

      const patched = await store.updatePipelineRun(first.run.id, {
        status: 'running',
        step: 2,
        approvals: [{stage: 2, by: 'dana', at: at(4), comment: 'ok'}],
        waiting: {reason: 'soak', message: 'soaks', stage: 1, until: at(600)},
        supersededBy: another.run.id,
        error: 'stage 2 failed',
        rollingBack: true,
        startedAt: at(1),
      })
      expect(patched).toMatchObject({status: 'running', step: 2, approvals: [{stage: 2, by: 'dana', at: at(4), comment: 'ok'}], waiting: {reason: 'soak', until: at(600)}, supersededBy: another.run.id, error: 'stage 2 failed', rollingBack: true, startedAt: at(1)})
      expect(await store.updatePipelineRun(first.run.id, {waiting: null, rollingBack: false, status: 'cancelled', decision: {decision: 'cancelled', by: 'ada', at: at(5), comment: null}, finishedAt: at(5)})).toMatchObject({
        waiting: null,
        rollingBack: false,
        status: 'cancelled',
        decision: {decision: 'cancelled', by: 'ada', at: at(5), comment: null},
        finishedAt: at(5),
        step: 2,
      })
      expect(await store.updatePipelineRun(first.run.id, {})).toMatchObject({id: first.run.id, status: 'cancelled'})
      expect(await store.updatePipelineRun(9999, {status: 'failed'})).toBeNull()
      expect(await store.getPipelineRun(9999)).toBeNull()

      const ids = (filter: Parameters<Store['listPipelineRuns']>[0]) => store.listPipelineRuns(filter).then((runs) => runs.map((run) => run.id))
      expect(await ids({})).toEqual([another.run.id, raced[0].run.id, first.run.id])
      expect(await ids({project: 'shop', pipeline: 'main', order: 'asc'})).toEqual([first.run.id, raced[0].run.id])
      expect(await ids({statuses: ['queued', 'running'], order: 'asc', limit: 1})).toEqual([raced[0].run.id])
      expect(await ids({project: 'other'})).toEqual([])
    })

    it("keeps a pipeline run's releases: one per step, environment and kind, or a note instead", async () => {
      const {run} = await store.insertPipelineRun(newRun())
      const {release} = await store.insertRelease(newRelease())
      const link = {runId: run.id, step: 1, environment: 'prod', kind: 'deploy' as const, releaseId: release.id, note: null, createdAt: at(2)}
      expect(await store.insertPipelineLink(link)).toBe(true)
      expect(await store.insertPipelineLink({...link, releaseId: null, note: 'again'})).toBe(false)
      expect(await store.insertPipelineLink({...link, kind: 'rollback', releaseId: null, note: 'not rolled back: nothing changed', createdAt: at(3)})).toBe(true)
      expect(await store.insertPipelineLink({...link, step: 0, createdAt: at(1)})).toBe(true)
      expect(await store.listPipelineLinks(run.id)).toEqual([
        {...link, step: 0, createdAt: at(1)},
        link,
        {...link, kind: 'rollback', releaseId: null, note: 'not rolled back: nothing changed', createdAt: at(3)},
      ])
      expect(await store.listPipelineLinks(run.id + 1)).toEqual([])
    })

    it('holds a pipeline run only inside a transaction', async () => {
      const {run} = await store.insertPipelineRun(newRun())
      await expect(store.lockPipelineRun(run.id)).rejects.toThrow(/transaction/)
      expect(await store.transaction((tx) => tx.lockPipelineRun(run.id))).toMatchObject({id: run.id})
      expect(await store.transaction((tx) => tx.lockPipelineRun(run.id + 100))).toBeNull()
    })

    it('checks that the admission turn is taken inside a transaction', async () => {
      await expect(store.lockEnvironment('shop', 'prod')).rejects.toThrow(/transaction/)
      await store.transaction(async (tx) => {
        await tx.lockEnvironment('shop', 'prod')
        await tx.notifyAdmit('shop', 'prod')
        await tx.notifyCancel(1)
      })
    })
  })
}

/** What only a store that several replicas share does: the turn, wakeups and migrations across connections. */
export interface SharedStoreFactory extends StoreFactory {
  /** The URL of a new, empty database that nothing has migrated yet. */
  freshUrl(): Promise<string>
  openAt(url: string): Promise<Store>
  /** How many connections to the last open()'s database wait for a lock now. */
  waitingForLocks(): Promise<number>
}

export function sharedStoreContract(name: string, factory: SharedStoreFactory): void {
  describe(`shared store contract: ${name}`, () => {
    const opened: Store[] = []
    const track = (store: Store) => {
      opened.push(store)
      return store
    }
    afterEach(async () => {
      openGates()
      for (const store of opened.splice(0)) await store.close()
    })

    async function seeded() {
      const store = track(await factory.open())
      await store.upsertProject({name: 'shop', blueprint: {} as unknown as Blueprint, file: 'relctl.yaml', baseDir: '/srv', createdAt: T0, appliedAt: T0})
      await store.insertEnvironment({project: 'shop', name: 'prod', createdAt: T0})
      await store.insertEnvironment({project: 'shop', name: 'dev', createdAt: T0})
      return {store, other: track(await factory.openSecond())}
    }

    it('lockEnvironment makes a second transaction wait until the first commits', async () => {
      const {store, other} = await seeded()
      const order: string[] = []
      const {wait: held, open: release} = gate()
      let locked!: () => void
      const firstLocked = new Promise<void>((resolve) => (locked = resolve))
      const first = store.transaction(async (tx) => {
        await tx.lockEnvironment('shop', 'prod')
        locked()
        await held
        await tx.insertRelease(newRelease())
        order.push('first commits')
      })
      await firstLocked
      const secondTurn = other.transaction(async (tx) => {
        await tx.lockEnvironment('shop', 'prod')
        order.push('second locked')
        return (await tx.activeLocks('shop', 'prod')).length
      })
      await eventually(async () => (await factory.waitingForLocks()) === 1, 'the second transaction to wait for the turn')
      // Another environment's turn is free meanwhile.
      await track(await factory.openSecond()).transaction((tx) => tx.lockEnvironment('shop', 'dev'))
      expect(order).toEqual([])
      release()
      await first
      expect(await secondTurn).toBe(1)
      expect(order).toEqual(['first commits', 'second locked'])
    })

    it('renews leases without waiting for a run another transaction holds, so a heartbeat and a turn never wait for each other', async () => {
      const {store, other} = await seeded()
      const [held, free] = [(await store.insertRelease(newRelease())).release, (await store.insertRelease(newRelease())).release]
      for (const {id} of [held, free]) await store.transitionRelease(id, ['queued'], 'running', {replica: 'r1', leaseExpiresAt: at(15)})
      // A turn that holds one run's row (it records its cancel request) and has not committed yet.
      const {wait: committing, open: commit} = gate()
      let holding!: () => void
      const rowHeld = new Promise<void>((resolve) => (holding = resolve))
      const turn = store.transaction(async (tx) => {
        await tx.requestCancel(held.id, 'ada', at(2))
        holding()
        await committing
        // Then it wants the other run's row too: had the heartbeat waited for the first while holding
        // this one, the two would wait for each other.
        await tx.requestCancel(free.id, 'ada', at(2))
      })
      await rowHeld
      let renewed = false
      const heartbeat = other.heartbeat('r1', at(10), at(25)).finally(() => (renewed = true))
      await eventually(async () => renewed || (await factory.waitingForLocks()) > 0, 'the heartbeat to renew, or to wait for the turn')
      expect(renewed ? 'renewed' : 'waits for the turn').toBe('renewed')
      expect(await heartbeat).toBe(1)
      commit()
      await turn
      expect(await store.getRelease(free.id)).toMatchObject({leaseExpiresAt: at(25)})
      expect(await store.getRelease(held.id)).toMatchObject({leaseExpiresAt: at(15)})
      expect((await store.cancelRequests('r1')).map((request) => request.releaseId)).toEqual([held.id, free.id])
      expect(await other.heartbeat('r1', at(20), at(35))).toBe(2)
    })

    it('renews the lease of a run whose log lines another transaction is writing (their foreign key does not hold it back)', async () => {
      const {store, other} = await seeded()
      const {release} = await store.insertRelease(newRelease())
      await store.transitionRelease(release.id, ['queued'], 'running', {replica: 'r1', leaseExpiresAt: at(15)})
      const {wait: committing, open: commit} = gate()
      let writing!: () => void
      const linesWritten = new Promise<void>((resolve) => (writing = resolve))
      const flush = store.transaction(async (tx) => {
        await tx.appendLogs([{releaseId: release.id, taskId: null, resource: 'web', target: null, stream: 'stdout', line: 'deploying', at: at(2)}])
        writing()
        await committing
      })
      await linesWritten
      expect(await other.heartbeat('r1', at(10), at(25))).toBe(1)
      commit()
      await flush
      expect(await store.getRelease(release.id)).toMatchObject({leaseExpiresAt: at(25)})
    })

    it('wakes events listeners of this store and of another one after a commit that appended events', async () => {
      const {store, other} = await seeded()
      let here = 0
      let there = 0
      await store.listen({events: () => here++})
      await other.listen({events: () => there++})
      await expect(
        store.transaction(async (tx) => {
          await tx.appendEvents([{kind: 'pause.changed', project: 'shop', environment: 'prod', releaseId: null, taskId: null, apps: null, data: {}, at: T0}])
          throw new Error('rolled back')
        }),
      ).rejects.toThrow('rolled back')
      expect(here).toBe(0)
      await store.appendEvents([{kind: 'pause.changed', project: 'shop', environment: 'prod', releaseId: null, taskId: null, apps: null, data: {}, at: T0}])
      await eventually(() => here > 0 && there > 0, 'both listeners to hear of the commit')
    })

    it('delivers notifyAdmit and notifyCancel to a listener of another store only after commit, and never on rollback', async () => {
      const {store, other} = await seeded()
      const admits: string[] = []
      const cancels: number[] = []
      await other.listen({admit: (project, environment) => admits.push(`${project}/${environment}`), cancel: (id) => cancels.push(id)})
      const {wait: held, open: release} = gate()
      let notified!: () => void
      const wasNotified = new Promise<void>((resolve) => (notified = resolve))
      const committing = store.transaction(async (tx) => {
        await tx.notifyAdmit('shop', 'prod')
        await tx.notifyCancel(7)
        notified()
        await held
      })
      await wasNotified
      await expect(
        store.transaction(async (tx) => {
          await tx.notifyAdmit('shop', 'dev')
          throw new Error('rolled back')
        }),
      ).rejects.toThrow('rolled back')
      // A later, committed notification as a marker: anything sent before it has arrived when it has.
      await store.notifyCancel(99)
      await eventually(() => cancels.includes(99), 'the marker notification')
      expect(admits).toEqual([])
      release()
      await committing
      await eventually(() => admits.length === 1 && cancels.includes(7), 'the committed notifications')
      expect(admits).toEqual(['shop/prod'])
      expect(cancels).toEqual([99, 7])
    })

    it("numbers events in commit order: a long transaction's events are written at its end, after another's that committed meanwhile", async () => {
      const {store, other} = await seeded()
      const event = (name: string) => ({kind: 'pause.changed' as const, project: 'shop', environment: 'prod', releaseId: null, taskId: null, apps: null, data: {name}, at: T0})
      const {wait: held, open: release} = gate()
      let appended!: () => void
      const wasAppended = new Promise<void>((resolve) => (appended = resolve))
      const long = store.transaction(async (tx) => {
        await tx.appendEvents([event('long')])
        appended()
        await held
      })
      await wasAppended
      // While the long transaction is still open, another one's events commit without waiting for it.
      await other.appendEvents([event('short')])
      release()
      await long
      const written = await store.listEvents(0, 10)
      expect(written.map((e) => (e.data as {name: string}).name)).toEqual(['short', 'long'])
      expect(written[1].seq).toBeGreaterThan(written[0].seq)
    })

    it('lockPipelineRun makes a second transaction wait until the first commits', async () => {
      const {store, other} = await seeded()
      const {run} = await store.insertPipelineRun(newRun())
      const {wait: held, open: release} = gate()
      let locked!: () => void
      const firstLocked = new Promise<void>((resolve) => (locked = resolve))
      const first = store.transaction(async (tx) => {
        await tx.lockPipelineRun(run.id)
        locked()
        await held
        await tx.updatePipelineRun(run.id, {step: 1})
      })
      await firstLocked
      const secondSees = other.transaction(async (tx) => (await tx.lockPipelineRun(run.id))?.step)
      await eventually(async () => (await factory.waitingForLocks()) === 1, 'the second transaction to wait for the run')
      release()
      await first
      expect(await secondSees).toBe(1)
    })

    it('migrates one fresh database from two stores at once', async () => {
      const url = await factory.freshUrl()
      const [a, b] = await Promise.all([factory.openAt(url), factory.openAt(url)])
      track(a)
      track(b)
      await a.upsertProject({name: 'shop', blueprint: {} as unknown as Blueprint, file: 'f', baseDir: '/', createdAt: T0, appliedAt: T0})
      expect((await b.listProjects()).map((p) => p.name)).toEqual(['shop'])
      const third = track(await factory.openAt(url))
      expect(await third.listEvents(0, 1)).toEqual([])
    })
  })
}
