// Environment turns and the events table, on a real engine over SQLite and over PostgreSQL: a burst of
// triggers shares turns and a failing one is undone alone; every status change leaves an event, in the
// order the changes happened; two engines on one PostgreSQL database admit as one.
import {describe, expect, it, vi} from 'vitest'

import {execDriver} from '../../../../../src/lib/server/drivers/exec.js'
import {Engine} from '../../../../../src/lib/server/engine/engine.js'
import {EnvironmentTurns, MAX_CHANGES_PER_TURN, type Together} from '../../../../../src/lib/server/engine/runs/turns.js'
import {KyselyStore} from '../../../../../src/lib/server/store/kysely/store.js'
import {openPostgresStore} from '../../../../../src/lib/server/store/postgres.js'
import type {NewRelease, Store, StoredEvent} from '../../../../../src/lib/server/store/store.js'
import {caught, createTestEngine, failing, quietLog, SHOP_BLUEPRINT, tempDir, waitFor, waitForFinal} from '../../../../helpers/engine.js'
import {freshDatabase} from '../../../../helpers/postgres.js'

async function eventsOf(store: Store, releaseId: number): Promise<StoredEvent[]> {
  return store.listEvents(0, 10_000, {releaseId})
}

function statuses(events: StoredEvent[], kind: string): string[] {
  return events.filter((event) => event.kind === kind).map((event) => (event.data as {status: string}).status)
}

describe('environment turns (SQLite)', () => {
  it('a burst of triggers shares turns; one that is refused is answered alone, without undoing the turn, and the others are accepted', async () => {
    const t = await createTestEngine()
    const savepoints = vi.spyOn(KyselyStore.prototype, 'savepoint')
    try {
      await t.engine.setParallel({enabled: true, max: 10, project: 'shop', environment: 'prod'}, 'test')
      const requests = Array.from({length: 20}, (_, index) =>
        t.engine.trigger('shop', 'prod', {type: 'selective', resources: [{name: index === 7 ? 'nope' : 'worker'}]}, {subject: 'test', idempotencyKey: `burst-${index}`}),
      )
      const settled = await Promise.allSettled(requests)
      // A refusal comes before its trigger writes anything: the turn it was in is not made again.
      expect(savepoints).not.toHaveBeenCalled()
      const refused = settled.filter((outcome) => outcome.status === 'rejected')
      expect(refused).toHaveLength(1)
      expect(String((refused[0] as PromiseRejectedResult).reason.message)).toContain('"nope"')
      const accepted = settled.flatMap((outcome) => (outcome.status === 'fulfilled' && 'release' in outcome.value ? [outcome.value.release.id] : []))
      expect(new Set(accepted).size).toBe(19)
      for (const id of accepted) expect((await waitForFinal(t.engine, id)).status).toBe('succeeded')
      // The same resource all along: they ran one after another, never two at once.
      const releases = await Promise.all(accepted.map((id) => t.engine.getRelease(id)))
      const spans = releases.map((release) => [Date.parse(release.startedAt as string), Date.parse(release.finishedAt as string)]).sort((a, b) => a[0] - b[0])
      for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1])
    } finally {
      savepoints.mockRestore()
      await t.close()
    }
  })

  it('a trigger of a burst whose insert the database refuses fails alone: its turn is made again with a savepoint around each change', async () => {
    const t = await createTestEngine()
    await t.engine.shutdown(0)
    const engine = new Engine({store: failing(t.store, 'insertRelease', 'disk I/O error (injected)', (release) => (release as NewRelease).idempotencyKey === 'burst-7'), log: quietLog})
    const savepoints = vi.spyOn(KyselyStore.prototype, 'savepoint')
    try {
      await engine.start()
      await engine.setParallel({enabled: true, max: 10, project: 'shop', environment: 'prod'}, 'test')
      const settled = await Promise.allSettled(
        Array.from({length: 20}, (_, index) => engine.trigger('shop', 'prod', {type: 'selective', resources: [{name: 'worker'}]}, {subject: 'test', idempotencyKey: `burst-${index}`})),
      )
      expect(savepoints).toHaveBeenCalled()
      const refused = settled.flatMap((outcome, index) => (outcome.status === 'rejected' ? [[index, String(outcome.reason.message)]] : []))
      expect(refused).toEqual([[7, 'disk I/O error (injected)']])
      const accepted = settled.flatMap((outcome) => (outcome.status === 'fulfilled' && 'release' in outcome.value ? [outcome.value.release.id] : []))
      expect(new Set(accepted).size).toBe(19)
      for (const id of accepted) expect((await waitForFinal(engine, id)).status).toBe('succeeded')
    } finally {
      savepoints.mockRestore()
      await engine.shutdown(0)
      await t.close()
    }
  })

  it('the triggers of a turn are recorded together; one with --on-conflict fail, or in a supersede queue, reads the queue as those before it left it', async () => {
    const t = await createTestEngine()
    const insert = KyselyStore.prototype.insertRelease
    const inserting = {now: 0, most: 0}
    const inserts = vi.spyOn(KyselyStore.prototype, 'insertRelease').mockImplementation(async function (this: KyselyStore, release: NewRelease) {
      inserting.most = Math.max(inserting.most, ++inserting.now)
      try {
        // A slow insert: a trigger that did not wait for those before it would read the queue without them.
        await new Promise((resolve) => setTimeout(resolve, 20))
        return await insert.call(this, release)
      } finally {
        inserting.now--
      }
    })
    try {
      await t.engine.setParallel({enabled: true, max: 10, project: 'shop', environment: 'prod'}, 'test')
      const trigger = (name: string, onConflict?: 'fail') => t.engine.trigger('shop', 'prod', {type: 'selective', resources: [{name}], onConflict}, {subject: 'test', idempotencyKey: null})
      // The first takes the turn alone; those that arrive while it is made share the next one.
      const [first, ...burst] = await Promise.allSettled([trigger('worker'), trigger('web'), trigger('web'), trigger('web'), trigger('web', 'fail')])
      expect(first.status).toBe('fulfilled')
      expect(inserting.most).toBeGreaterThan(1)
      const webs = burst.slice(0, 3).map((outcome) => (outcome.status === 'fulfilled' && 'release' in outcome.value ? outcome.value.release.id : 0))
      const last = burst[3] as PromiseRejectedResult
      expect(last.status).toBe('rejected')
      expect(last.reason.message).toContain(`state lock held by release ${Math.min(...webs)}`)

      await t.engine.setQueue({project: 'shop', environment: 'prod', mode: 'supersede'}, 'test')
      const [, ...superseding] = await Promise.all([trigger('worker'), trigger('web'), trigger('web'), trigger('web')])
      const [older, newer, newest] = superseding.map((outcome) => ('release' in outcome ? outcome.release.id : 0))
      expect(await t.engine.getRelease(older)).toMatchObject({status: 'cancelled', error: `superseded by release ${newer}`})
      expect(await t.engine.getRelease(newer)).toMatchObject({status: 'cancelled', error: `superseded by release ${newest}`})
    } finally {
      inserts.mockRestore()
      await t.close()
    }
  })

  it('a burst whose changes all succeed takes no savepoint (on PostgreSQL, two round trips fewer per change and claim)', async () => {
    const t = await createTestEngine()
    const savepoints = vi.spyOn(KyselyStore.prototype, 'savepoint')
    try {
      await t.engine.setParallel({enabled: true, max: 10, project: 'shop', environment: 'prod'}, 'test')
      const outcomes = await Promise.all(
        Array.from({length: 12}, (_, index) => t.engine.trigger('shop', 'prod', {type: 'selective', resources: [{name: index % 2 ? 'worker' : 'web'}]}, {subject: 'test', idempotencyKey: null})),
      )
      for (const outcome of outcomes) expect((await waitForFinal(t.engine, 'release' in outcome ? outcome.release.id : 0)).status).toBe('succeeded')
      expect(savepoints).not.toHaveBeenCalled()
    } finally {
      savepoints.mockRestore()
      await t.close()
    }
  })

  it(`a burst of more than ${MAX_CHANGES_PER_TURN} triggers is split into turns: releases start before the last trigger of the burst is recorded`, async () => {
    const burst = 3 * MAX_CHANGES_PER_TURN
    const names = Array.from({length: burst}, (_, index) => `app${index}`)
    const blueprint = ['project: many', 'resources:', ...names.map((name) => `  ${name}: { driver: simulate, simulate: { duration: 5s } }`), 'environments:', '  prod: {}'].join('\n')
    const t = await createTestEngine(blueprint)
    try {
      await t.engine.setParallel({enabled: true, max: burst, project: 'many', environment: 'prod'}, 'test')
      const outcomes = await Promise.all(names.map((name) => t.engine.trigger('many', 'prod', {type: 'selective', resources: [{name}]}, {subject: 'test', idempotencyKey: null})))
      const ids = outcomes.map((outcome) => ('release' in outcome ? outcome.release.id : 0)).sort((a, b) => a - b)
      const events = (await t.store.listEvents(0, 10_000)).filter((event) => event.kind === 'release.created' || event.kind === 'release.started')
      const seqOf = (kind: string, id: number) => events.find((event) => event.kind === kind && event.releaseId === id)?.seq as number
      // The first trigger has a turn of its own; the next ones share turns of at most MAX_CHANGES_PER_TURN,
      // each of which starts its releases at its end, so the second release starts long before the last is recorded.
      const lastCreated = seqOf('release.created', ids.at(-1) as number)
      expect(seqOf('release.started', ids[1])).toBeLessThan(lastCreated)
      const startedBeforeLast = ids.filter((id) => seqOf('release.started', id) < lastCreated)
      expect(startedBeforeLast.length).toBeGreaterThanOrEqual(burst - MAX_CHANGES_PER_TURN)
    } finally {
      await t.close()
    }
  })

  describe('releases that start in one turn are claimed together', () => {
    const names = ['a1', 'a2', 'a3', 'a4']
    const blueprint = ['project: four', 'resources:', ...names.map((name) => `  ${name}: { version: "1.0.0", driver: simulate, simulate: { duration: 50ms } }`), 'environments:', '  prod: {}'].join('\n')

    /** Four releases queued behind a freeze; deleting it admits them in one turn. */
    async function heldThenAdmitted(t: Awaited<ReturnType<typeof createTestEngine>>, beforeAdmission: () => Promise<unknown> = async () => undefined) {
      await t.engine.setParallel({enabled: true, max: 10, project: 'four', environment: 'prod'}, 'test')
      const now = Date.now()
      const freeze = await t.engine.addFreeze({project: 'four', environment: 'prod', from: new Date(now - 1000).toISOString(), to: new Date(now + 600_000).toISOString(), reason: 'hold'}, 'test')
      const ids: number[] = []
      for (const name of names) {
        const outcome = await t.engine.trigger('four', 'prod', {type: 'selective', resources: [{name}], onFreeze: 'queue'}, {subject: 'test', idempotencyKey: null})
        if ('release' in outcome) ids.push(outcome.release.id)
      }
      await beforeAdmission()
      await t.engine.deleteFreeze(freeze.id, 'test')
      const ended = await Promise.all(ids.map((id) => waitForFinal(t.engine, id)))
      const events = (await t.store.listEvents(0, 10_000)).filter((event) => event.releaseId !== null && ids.includes(event.releaseId))
      return {ids, ended, events}
    }

    it('their starts are written together: the four release.started events in a row, then their tasks', async () => {
      const t = await createTestEngine(blueprint)
      try {
        const {ended, events} = await heldThenAdmitted(t)
        expect(ended.map((release) => release.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded'])
        const startKinds = events.filter((event) => event.kind === 'release.started' || event.kind === 'task.started').map((event) => event.kind)
        expect(startKinds).toEqual(['release.started', 'release.started', 'release.started', 'release.started', 'task.started', 'task.started', 'task.started', 'task.started'])
        expect(new Set(ended.map((release) => release.startedAt)).size).toBe(1)
      } finally {
        await t.close()
      }
    })

    it('one that cannot start fails alone, with nothing of its claim kept; the others start', async () => {
      const t = await createTestEngine(blueprint)
      try {
        const {ids, ended, events} = await heldThenAdmitted(t, () => t.engine.blockVersion('four', 'a2', '1.0.0', 'bad build', 'ops'))
        expect(ended.map((release) => release.status)).toEqual(['succeeded', 'failed', 'succeeded', 'succeeded'])
        expect(ended[1].error).toMatch(/^could not start: release \d+ would deploy a blocked version: a2 1.0.0 is blocked in project four by ops/)
        expect(ended[1].tasks).toEqual([])
        expect(events.filter((event) => event.releaseId === ids[1]).map((event) => event.kind)).toEqual(['release.created', 'release.queued', 'release.failed'])
      } finally {
        await t.close()
      }
    })
  })

  it('every status change leaves an event in order: queued, running, each task, succeeded', async () => {
    const t = await createTestEngine()
    try {
      const outcome = await t.engine.trigger('shop', 'staging', {type: 'selective', resources: [{name: 'db'}, {name: 'api'}]}, {subject: 'test', idempotencyKey: null})
      if (!('release' in outcome)) throw new Error('expected a release')
      const {release} = outcome
      // The turn that claimed it recorded the start of its first task: the answer shows it running.
      expect(release.tasks?.map(({key, status}) => ({key, status}))).toEqual([
        {key: 'db', status: 'running'},
        {key: 'api', status: 'pending'},
      ])
      expect(release.tasks?.[0].startedAt).toBe(release.startedAt)
      await waitForFinal(t.engine, release.id)
      const events = await eventsOf(t.store, release.id)
      const seqs = events.map((event) => event.seq)
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
      const releaseEvents = events.filter((event) => event.kind.startsWith('release.'))
      expect(releaseEvents.map((event) => event.kind)).toEqual(['release.created', 'release.queued', 'release.started', 'release.succeeded'])
      expect(releaseEvents.map((event) => (event.data as {status: string}).status)).toEqual(['queued', 'queued', 'running', 'succeeded'])
      expect(statuses(events, 'task.started')).toEqual(['running', 'running'])
      expect(statuses(events, 'task.ended')).toEqual(['succeeded', 'succeeded'])
      const keys = events.filter((event) => event.kind.startsWith('task.')).map((event) => (event.data as {key: string}).key)
      expect(keys).toEqual(['db', 'db', 'api', 'api'])
      expect(events.at(-1)).toMatchObject({kind: 'release.succeeded', project: 'shop', environment: 'staging', releaseId: release.id, apps: expect.arrayContaining(['db', 'api'])})
      expect((events.find((event) => event.kind === 'release.started')?.data as {replica: string}).replica).toBe((await t.engine.listReplicas())[0].id)
      // Each task's app changed as it ran and when it ended, in the same order.
      const appChanges = (await t.store.listEvents(0, 10_000)).filter((event) => event.kind === 'app.changed' && event.seq > seqs[0])
      expect(appChanges.map((event) => `${(event.data as {name: string}).name}:${(event.data as {health: string}).health}`)).toEqual(['db:Progressing', 'db:Healthy', 'api:Progressing', 'api:Healthy'])

      const cancelled = await caught(t.engine.cancel(release.id, 'test'))
      expect(cancelled.message).toContain('already succeeded')
    } finally {
      await t.close()
    }
  })
})

/**
 * The database refuses the first call of a store method whose arguments match, as when its connection
 * dropped (`meanwhile` runs at that moment); later calls go through. `calls.matching` counts the
 * matching calls, `calls.refused` those refused.
 */
function refuseFirst<K extends 'transitionReleases' | 'updateTask'>(method: K, matches: (...args: Parameters<KyselyStore[K]>) => boolean, meanwhile?: () => void) {
  const original = KyselyStore.prototype[method] as (...args: unknown[]) => Promise<unknown>
  const calls = {matching: 0, refused: 0}
  const spy = vi.spyOn(KyselyStore.prototype, method).mockImplementation(function (this: KyselyStore, ...args: unknown[]) {
    if (!(matches as (...args: unknown[]) => boolean)(...args) || calls.matching++ > 0) return original.apply(this, args)
    calls.refused++
    meanwhile?.()
    return Promise.reject(new Error('Connection terminated unexpectedly'))
  } as never)
  return {spy, calls}
}

describe('a release whose end the database refused', () => {
  it('is recorded by the next try, with its last task and log lines: it does not stay running', async () => {
    const t = await createTestEngine()
    // The database refuses the first end of a release.
    const {spy, calls} = refuseFirst('transitionReleases', (_ids, _from, to) => to === 'succeeded')
    try {
      const outcome = await t.engine.trigger('shop', 'staging', {type: 'selective', resources: [{name: 'worker'}]}, {subject: 'test', idempotencyKey: null})
      if (!('release' in outcome)) throw new Error('expected a release')
      const ended = await waitForFinal(t.engine, outcome.release.id)
      expect(calls.refused).toBe(1)
      expect(ended.status).toBe('succeeded')
      expect(ended.tasks?.map(({key, status}) => ({key, status}))).toEqual([{key: 'worker', status: 'succeeded'}])
      expect((await t.store.listApps('shop', 'staging', ['worker']))[0]).toMatchObject({health: 'Healthy', deployedVersion: expect.any(String)})
      const lines = (await t.engine.readLogs(outcome.release.id, 0, 100)).lines.map((line) => line.line)
      expect(lines.filter((line) => line.startsWith(`release ${outcome.release.id} (selective) started`))).toHaveLength(1)
      // Its last line was still in the writer's buffer when the first try took it: the next try wrote it.
      expect(lines.filter((line) => line.startsWith('deployed worker'))).toHaveLength(1)
    } finally {
      spy.mockRestore()
      await t.close()
    }
  })
})

describe('a release ended elsewhere while its end was tried again', () => {
  it('keeps what the other replica recorded: the next try writes none of the run\'s own task and app changes', async () => {
    const t = await createTestEngine()
    let release = 0
    let task = 0
    // The first try is refused, and meanwhile another replica's sweep ends the release (its lease lapsed).
    const {spy, calls} = refuseFirst('transitionReleases', (_ids, _from, to) => to === 'succeeded', () => {
      void t.store.transitionRelease(release, ['running'], 'failed', {finishedAt: new Date().toISOString(), error: 'replica r0 stopped answering'})
      void t.store.updateTask(task, {status: 'interrupted', finishedAt: new Date().toISOString()})
    })
    try {
      const outcome = await t.engine.trigger('shop', 'staging', {type: 'selective', resources: [{name: 'worker'}]}, {subject: 'test', idempotencyKey: null})
      if (!('release' in outcome)) throw new Error('expected a release')
      release = outcome.release.id
      task = outcome.release.tasks?.[0].id as number
      await waitFor(() => calls.matching === 2, 'the second try of the end')
      // Turns of one environment run one after another: once a later release there has ended, that try has committed.
      const later = await t.engine.trigger('shop', 'staging', {type: 'selective', resources: [{name: 'db'}]}, {subject: 'test', idempotencyKey: null})
      if (!('release' in later)) throw new Error('expected a release')
      await waitForFinal(t.engine, later.release.id)
      const ended = await t.engine.getRelease(release)
      expect(ended).toMatchObject({status: 'failed', error: 'replica r0 stopped answering'})
      expect(ended.tasks?.map(({key, status}) => ({key, status}))).toEqual([{key: 'worker', status: 'interrupted'}])
      expect((await t.store.listApps('shop', 'staging', ['worker']))[0].deployedVersion).toBeNull()
      expect((await eventsOf(t.store, release)).map((event) => event.kind)).not.toContain('task.ended')
    } finally {
      spy.mockRestore()
      await t.close()
    }
  })
})

describe('a task change the database refused while the release ran', () => {
  it('is recorded with the release\'s end, with the changes after it, in order; the run goes on', async () => {
    const t = await createTestEngine()
    // The database refuses the end of the release's first task.
    const {spy, calls} = refuseFirst('updateTask', (_id, change) => change.status === 'succeeded')
    try {
      const outcome = await t.engine.trigger('shop', 'staging', {type: 'selective', resources: [{name: 'db'}, {name: 'api'}]}, {subject: 'test', idempotencyKey: null})
      if (!('release' in outcome)) throw new Error('expected a release')
      const ended = await waitForFinal(t.engine, outcome.release.id)
      expect(calls.refused).toBe(1)
      expect(ended.status).toBe('succeeded')
      expect(ended.tasks?.map(({key, status, startedAt, finishedAt}) => ({key, status, started: startedAt !== null, finished: finishedAt !== null}))).toEqual([
        {key: 'db', status: 'succeeded', started: true, finished: true},
        {key: 'api', status: 'succeeded', started: true, finished: true},
      ])
      const taskEvents = (await eventsOf(t.store, outcome.release.id)).filter((event) => event.kind.startsWith('task.'))
      expect(taskEvents.map((event) => `${event.kind}:${(event.data as {key: string}).key}`)).toEqual(['task.started:db', 'task.ended:db', 'task.started:api', 'task.ended:api'])
    } finally {
      spy.mockRestore()
      await t.close()
    }
  })
})

describe('a driver that throws instead of answering', () => {
  it('fails its task, and the release ends failed: the run does not lose it', async () => {
    const t = await createTestEngine(`project: shop
resources:
  web:
    driver: simulate
    simulate: { duration: 10ms }
environments:
  prod:
    targets: [eu-1]
    rollout: { targets: sequential }
    hooks: { beforeTarget: ./hook.sh }
`)
    const spy = vi.spyOn(execDriver, 'runHook').mockRejectedValue(new Error('spawn /bin/sh EAGAIN'))
    try {
      const outcome = await t.engine.trigger('shop', 'prod', {type: 'selective', resources: [{name: 'web'}]}, {subject: 'test', idempotencyKey: null})
      if (!('release' in outcome)) throw new Error('expected a release')
      const ended = await waitForFinal(t.engine, outcome.release.id)
      expect(spy).toHaveBeenCalledTimes(1)
      expect(ended.status).toBe('failed')
      expect(ended.tasks?.find((task) => task.key === 'beforeTarget@eu-1')).toMatchObject({status: 'failed', error: 'internal error: spawn /bin/sh EAGAIN'})
    } finally {
      spy.mockRestore()
      await t.close()
    }
  })
})

describe('two engines on one PostgreSQL database', () => {
  it('admit as one: releases of one environment never overlap, and each runs on the engine that claimed it', async () => {
    const url = await freshDatabase()
    const dir = tempDir()
    const stores = [await openPostgresStore(url), await openPostgresStore(url)]
    const engines = stores.map((store, index) => new Engine({store, log: quietLog, replica: {id: `engine-${index}`, leaseMs: 3000}}))
    try {
      await engines[0].applyProject(SHOP_BLUEPRINT, 'relctl.yaml', dir)
      await Promise.all(engines.map((engine) => engine.start()))
      const ids: number[] = []
      await Promise.all(
        Array.from({length: 12}, async (_, index) => {
          const outcome = await engines[index % 2].trigger('shop', 'prod', {type: 'selective', resources: [{name: 'worker'}]}, {subject: 'test', idempotencyKey: null})
          if ('release' in outcome) ids.push(outcome.release.id)
        }),
      )
      const releases = await Promise.all(ids.map((id) => waitForFinal(engines[0], id, 30_000)))
      expect(releases.every((release) => release.status === 'succeeded')).toBe(true)
      expect(new Set(releases.map((release) => release.replica)).size).toBeGreaterThanOrEqual(1)
      const spans = releases.map((release) => [Date.parse(release.startedAt as string), Date.parse(release.finishedAt as string)]).sort((a, b) => a[0] - b[0])
      for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1])
      const replicas = await waitFor(async () => {
        const alive = await engines[1].listReplicas()
        return alive.length === 2 ? alive : undefined
      }, 'both engines to be listed')
      expect(replicas.map((replica) => [replica.id, replica.self]).sort()).toEqual([
        ['engine-0', false],
        ['engine-1', true],
      ])
    } finally {
      for (const engine of engines) await engine.shutdown(0)
      for (const store of stores) await store.close()
    }
  })
})

describe('changes of one kind in a turn', () => {
  it('are made at once, in their order, each answered; made again one by one under savepoints when they fail together', async () => {
    const t = await createTestEngine()
    try {
      const admitted: boolean[] = []
      const turns = new EnvironmentTurns<never, null>(t.store, {readAhead: async () => undefined, admit: async (_tx, _turn, isolated) => (admitted.push(isolated), {claims: [], report: null}), committed() {}, aborted() {}})
      const calls: number[][] = []
      const double: Together<number, number> = async (_tx, items) => {
        calls.push(items)
        if (items.includes(13) && items.length > 1) throw new Error('13 fails with the others')
        return items.map((item) => item * 2)
      }
      /** The items taken while a turn is held: they share the next one. */
      const takenWhileBusy = async (items: number[]) => {
        let release: (() => void) | undefined
        const busy = turns.take('shop', 'prod', () => new Promise<void>((resolve) => (release = resolve)))
        await waitFor(() => release !== undefined, 'the holding turn to begin')
        const results = items.map((item) => turns.takeTogether('shop', 'prod', double, item).then(({value}) => value))
        release?.()
        await busy
        return Promise.allSettled(results)
      }
      expect(await takenWhileBusy([1, 2, 3])).toEqual([2, 4, 6].map((value) => ({status: 'fulfilled', value})))
      expect(calls).toEqual([[1, 2, 3]])
      expect(admitted).toEqual([false, false])

      calls.length = 0
      expect(await takenWhileBusy([4, 13, 5])).toEqual([8, 26, 10].map((value) => ({status: 'fulfilled', value})))
      expect(calls).toEqual([[4, 13, 5], [4], [13], [5]])
    } finally {
      await t.close()
    }
  })
})
