// The SQLite store's commits: what must be durable is fsynced (the write-ahead log) before the caller
// hears of it, commits made meanwhile share one fsync, progress reports wait for the next one, and
// statements are prepared once per SQL text.
import BetterSqlite3 from 'better-sqlite3'
import {mkdtempSync, rmSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {openSqliteStore} from '../../../../src/lib/server/store/sqlite.js'
import type {ProjectRecord, Store} from '../../../../src/lib/server/store/store.js'
import {newRelease} from './store-contract.js'

const root = mkdtempSync(join(tmpdir(), 'relctl-sqlite-durability-'))
afterAll(() => rmSync(root, {recursive: true, force: true}))

/** The prototype of node's FileHandle, whose sync() is the fsync the store runs. */
async function fileHandlePrototype() {
  const handle = await open(join(root, 'probe'), 'w')
  await handle.close()
  return Object.getPrototypeOf(handle) as {sync(): Promise<void>}
}

describe('SQLite store commits', () => {
  let store: Store
  let count = 0
  /** fsyncs started, and how many of them have completed */
  const fsyncs = {started: 0, completed: 0}

  beforeEach(async () => {
    store = await openSqliteStore(join(root, `store-${++count}.db`))
    const prototype = await fileHandlePrototype()
    const sync = prototype.sync
    fsyncs.started = 0
    fsyncs.completed = 0
    vi.spyOn(prototype, 'sync').mockImplementation(async function (this: unknown) {
      fsyncs.started++
      await sync.call(this)
      fsyncs.completed++
    })
  })

  afterEach(async () => {
    vi.restoreAllMocks()
    await store.close()
  })

  it('fsyncs an accepted release before the transaction that recorded it resolves', async () => {
    const {release} = await store.transaction((tx) => tx.insertRelease(newRelease()))
    expect(fsyncs.completed).toBe(1)
    expect(await store.getRelease(release.id)).toMatchObject({id: release.id, status: 'queued'})
    // a read commits nothing that needs an fsync
    expect(fsyncs.started).toBe(1)
  })

  it('fsyncs a write made outside a transaction before it resolves', async () => {
    await store.insertRelease(newRelease())
    expect(fsyncs.completed).toBe(1)
  })

  it('lets progress reports wait for the next durable commit', async () => {
    const {release} = await store.transaction((tx) => tx.insertRelease(newRelease()))
    const [[task]] = await store.insertTasks([
      {
        releaseId: release.id,
        tasks: [{key: 'api', kind: 'deploy', resource: 'api', hook: null, target: null, step: null, action: 'update', fromVersion: '1', toVersion: '2', dependsOn: [], after: [], level: 0}],
      },
    ])
    const durable = fsyncs.completed
    await store.transaction(async (tx) => {
      await tx.updateTask(task.id, {status: 'running', startedAt: '2026-01-01T00:00:01.000Z'})
      await tx.appendEvents([{kind: 'task.started', project: 'shop', environment: 'prod', releaseId: release.id, taskId: task.id, apps: ['api'], data: {status: 'running'}, at: '2026-01-01T00:00:01.000Z'}])
    })
    await store.appendLogs([{releaseId: release.id, taskId: task.id, resource: 'api', target: null, stream: 'stdout', line: 'deploying', at: '2026-01-01T00:00:01.000Z'}])
    expect(fsyncs.started).toBe(durable)
    // the release's end is durable again, and its fsync covers the task's status before it
    await store.transitionRelease(release.id, ['queued'], 'failed', {finishedAt: '2026-01-01T00:00:02.000Z', error: 'stopped'})
    expect(fsyncs.completed).toBe(durable + 1)
  })

  it("fsyncs an app's new desired version, not its observed health", async () => {
    const at = '2026-01-01T00:00:00.000Z'
    await store.upsertProject({name: 'shop', blueprint: {resources: [], environments: []} as unknown as ProjectRecord['blueprint'], file: 'relctl.yaml', baseDir: root, createdAt: at, appliedAt: at})
    await store.insertEnvironment({project: 'shop', name: 'prod', createdAt: at})
    await store.upsertApp({project: 'shop', environment: 'prod', name: 'api', kind: 'application', desiredVersion: '1', deployedVersion: '1', health: 'Healthy', removed: false, drift: null, updatedAt: at})
    const durable = fsyncs.completed
    await store.updateApp('shop', 'prod', 'api', {health: 'Progressing'}, at)
    expect(fsyncs.started).toBe(durable)
    await store.updateApp('shop', 'prod', 'api', {desiredVersion: '2'}, at)
    expect(fsyncs.completed).toBe(durable + 1)
  })

  it('shares one fsync among the commits made while one is under way', async () => {
    const accepted = await Promise.all(Array.from({length: 20}, (_, index) => store.transaction((tx) => tx.insertRelease(newRelease({idempotencyKey: `key-${index}`})))))
    expect(accepted.every(({created}) => created)).toBe(true)
    // the first commit's fsync, and one more for all that committed while it ran
    expect(fsyncs.started).toBeLessThanOrEqual(2)
    expect(fsyncs.completed).toBe(fsyncs.started)
  })

  it('does not fsync a transaction that rolled back', async () => {
    await expect(
      store.transaction(async (tx) => {
        await tx.insertRelease(newRelease())
        throw new Error('changed my mind')
      }),
    ).rejects.toThrow('changed my mind')
    expect(fsyncs.started).toBe(0)
    expect(await store.listReleases({})).toEqual([])
  })

  it('prepares each statement once, however often it runs', async () => {
    const {release} = await store.transaction((tx) => tx.insertRelease(newRelease()))
    const prepare = vi.spyOn(BetterSqlite3.prototype, 'prepare')
    for (let read = 0; read < 50; read++) expect((await store.getRelease(release.id))?.id).toBe(release.id)
    expect(prepare.mock.calls.map(([sql]) => sql)).toEqual(['select * from "releases" where "id" = ?'])
  })
})
