// The ends of runs that reach one turn together (recordRunEnds), on SQLite and on PostgreSQL: the same
// statements for all of them, each release's records and events as its end alone gives them, and the
// records of a release another replica ended first left as they are.
import {afterEach, describe, expect, it, vi} from 'vitest'

import {type DeferredWrite, recordRunEnds, recordTaskEnd, type RunEnd, type TaskEnd} from '../../../../../src/lib/server/engine/runs/transitions.js'
import {KyselyStore} from '../../../../../src/lib/server/store/kysely/store.js'
import {openPostgresStore} from '../../../../../src/lib/server/store/postgres.js'
import {openSqliteStore} from '../../../../../src/lib/server/store/sqlite.js'
import type {ReleaseRecord, Store, TaskRecord} from '../../../../../src/lib/server/store/store.js'
import {tempDir} from '../../../../helpers/engine.js'
import {freshDatabase} from '../../../../helpers/postgres.js'
import {newRelease} from '../../store/store-contract.js'

const T0 = '2026-01-01T00:00:00.000Z'
const stores: Store[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const store of stores.splice(0)) await store.close()
})

/** A running release of one app, with its one task, and the app. */
async function running(store: Store, app: string): Promise<{release: ReleaseRecord; task: TaskRecord}> {
  await store.upsertApp({project: 'shop', environment: 'prod', name: app, kind: 'simulate', desiredVersion: '2', deployedVersion: '1', health: 'Progressing', removed: false, drift: null, updatedAt: T0})
  const {release} = await store.insertRelease(newRelease({resources: [{name: app, action: 'update', fromVersion: '1', toVersion: '2'}], lockSet: [app]}))
  const started = (await store.transitionRelease(release.id, ['queued'], 'running', {startedAt: T0, replica: 'r1', leaseExpiresAt: T0})) as ReleaseRecord
  const [[task]] = await store.insertTasks([{releaseId: release.id, tasks: [{key: app, kind: 'deploy', resource: app, hook: null, target: null, step: null, action: 'update', fromVersion: '1', toVersion: '2', dependsOn: [], after: [], level: 0, attempts: 1}]}])
  return {release: started, task}
}

function taskEnd(task: TaskRecord, ok: boolean, app: TaskEnd['app'], at: string): DeferredWrite {
  const end: TaskEnd = {task, change: {status: ok ? 'succeeded' : 'failed', finishedAt: at, exitCode: ok ? 0 : 2, error: ok ? null : 'exit code 2'}, app, at}
  return {apply: (tx) => recordTaskEnd(tx, {project: 'shop', environment: 'prod'}, end), taskEnd: end}
}

function line(release: ReleaseRecord, text: string) {
  return {project: 'shop', environment: 'prod', releaseId: release.id, taskId: null, resource: null, target: null, stream: 'system' as const, line: text, at: T0, attempt: null}
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`the ends of runs recorded together (${dialect})`, () => {
    async function open(): Promise<Store> {
      const store = dialect === 'sqlite' ? await openSqliteStore(`${tempDir()}/relctl.db`) : await openPostgresStore(await freshDatabase())
      stores.push(store)
      await store.upsertProject({name: 'shop', blueprint: {project: 'shop'} as never, file: 'relctl.yaml', baseDir: '/srv/shop', createdAt: T0, appliedAt: T0})
      await store.insertEnvironment({project: 'shop', name: 'prod', createdAt: T0})
      return store
    }

    it('one statement per kind of write for all of them; each release with its task, app and events in its own order', async () => {
      const store = await open()
      const ok = await Promise.all(['a1', 'a2', 'a3'].map((app) => running(store, app)))
      const failed = await running(store, 'b1')
      const elsewhere = await running(store, 'c1')
      const closure = await running(store, 'd1')
      // Another replica's sweep ended this one first: its records stay as that sweep left them.
      await store.transitionRelease(elsewhere.release.id, ['running'], 'failed', {finishedAt: T0, error: 'replica r1 stopped answering'})
      await store.updateTask(elsewhere.task.id, {status: 'interrupted', finishedAt: T0})
      const applied: number[] = []
      const ends: RunEnd[] = [
        ...ok.map(({release, task}, i) => ({release, status: 'succeeded' as const, fields: {error: null}, lines: [line(release, `done ${i}`)], writes: [taskEnd(task, true, {deployedVersion: '2', health: 'Healthy' as const, drift: null}, `2026-01-01T00:00:0${i + 1}.000Z`)]})),
        {release: failed.release, status: 'failed', fields: {error: 'task failed: b1'}, lines: [], writes: [taskEnd(failed.task, false, {health: 'Degraded'}, '2026-01-01T00:00:05.000Z')]},
        {release: elsewhere.release, status: 'succeeded', fields: {error: null}, lines: [line(elsewhere.release, 'its last line')], writes: [taskEnd(elsewhere.task, true, {deployedVersion: '2', health: 'Healthy', drift: null}, T0)]},
        // A write that is not a task's end is made as it is, in its place.
        {release: closure.release, status: 'succeeded', fields: {error: null}, lines: [], writes: [{apply: async () => void applied.push(closure.release.id)}, taskEnd(closure.task, true, null, T0)]},
      ]
      const moves = vi.spyOn(KyselyStore.prototype, 'transitionReleases')
      const tasks = vi.spyOn(KyselyStore.prototype, 'updateTasksEach')
      const apps = vi.spyOn(KyselyStore.prototype, 'updateAppsEach')
      const recorded = await recordRunEnds(store, ends, '2026-01-01T00:01:00.000Z')

      expect(recorded.map((release) => release?.status ?? null)).toEqual(['succeeded', 'succeeded', 'succeeded', 'failed', null, 'succeeded'])
      // Two kinds of end (succeeded, failed with its error): two compare-and-sets; one statement for the tasks and one for the apps.
      expect(moves).toHaveBeenCalledTimes(2)
      expect(tasks).toHaveBeenCalledTimes(1)
      expect(tasks.mock.calls[0][0]).toHaveLength(4)
      expect(apps).toHaveBeenCalledTimes(1)
      expect(apps.mock.calls[0][1]).toBe('prod')
      expect(applied).toEqual([closure.release.id])

      for (const [i, {release, task}] of ok.entries()) {
        expect(await store.getRelease(release.id)).toMatchObject({status: 'succeeded', finishedAt: '2026-01-01T00:01:00.000Z', leaseExpiresAt: null})
        expect((await store.listTasks(release.id))[0]).toMatchObject({id: task.id, status: 'succeeded', exitCode: 0, finishedAt: `2026-01-01T00:00:0${i + 1}.000Z`})
        const events = await store.listEvents(0, 100, {releaseId: release.id})
        expect(events.map((event) => event.kind).slice(-3)).toEqual(['log', 'task.ended', 'release.succeeded'])
      }
      expect((await store.listApps('shop', 'prod')).map(({name, deployedVersion, health, updatedAt}) => ({name, deployedVersion, health, updatedAt}))).toEqual([
        {name: 'a1', deployedVersion: '2', health: 'Healthy', updatedAt: '2026-01-01T00:00:01.000Z'},
        {name: 'a2', deployedVersion: '2', health: 'Healthy', updatedAt: '2026-01-01T00:00:02.000Z'},
        {name: 'a3', deployedVersion: '2', health: 'Healthy', updatedAt: '2026-01-01T00:00:03.000Z'},
        {name: 'b1', deployedVersion: '1', health: 'Degraded', updatedAt: '2026-01-01T00:00:05.000Z'},
        {name: 'c1', deployedVersion: '1', health: 'Progressing', updatedAt: T0},
        {name: 'd1', deployedVersion: '1', health: 'Progressing', updatedAt: T0},
      ])
      const appEvents = (await store.listEvents(0, 1000)).filter((event) => event.kind === 'app.changed').map((event) => (event.data as {name: string}).name)
      expect(appEvents).toEqual(['a1', 'a2', 'a3', 'b1'])
      expect(await store.getRelease(failed.release.id)).toMatchObject({status: 'failed', error: 'task failed: b1'})
      // Ended elsewhere: its status, error and task as the sweep left them; its last line is kept.
      expect(await store.getRelease(elsewhere.release.id)).toMatchObject({status: 'failed', error: 'replica r1 stopped answering'})
      expect((await store.listTasks(elsewhere.release.id))[0].status).toBe('interrupted')
      expect((await store.listEvents(0, 100, {releaseId: elsewhere.release.id})).map((event) => event.kind)).not.toContain('task.ended')
      expect((await store.readLogs(elsewhere.release.id, 0, 10)).map((stored) => stored.line)).toEqual(['its last line'])
    })
  })
}
