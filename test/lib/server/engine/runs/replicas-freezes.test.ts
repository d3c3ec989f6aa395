// Issue 14 across replicas: two engines on one PostgreSQL database, one clock. Expiry is enforced by the
// sweep of every replica and recorded once; the end of a freeze window is seen by a replica that did not
// add the freeze (the other one is gone); a deadline stored with the claim is enforced by the owner.
import {describe, expect, it} from 'vitest'

import type {Release, TriggerRequest} from '../../../../../src/lib/api/schemas.js'
import {Engine} from '../../../../../src/lib/server/engine/engine.js'
import {openPostgresStore} from '../../../../../src/lib/server/store/postgres.js'
import type {Store} from '../../../../../src/lib/server/store/store.js'
import {quietLog, SHOP_BLUEPRINT, tempDir, testClock, waitFor, waitForFinal} from '../../../../helpers/engine.js'
import {freshDatabase} from '../../../../helpers/postgres.js'

const T0 = '2026-12-21T10:00:00.000Z'
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString()
const alice = {subject: 'alice', idempotencyKey: null}
const selective = (name: string): TriggerRequest => ({type: 'selective', resources: [{name}]})

/** Two engines on one fresh database, sharing a clock; each sweeps every leaseMs / 3. */
async function twoReplicas(leaseMs: number, blueprint = SHOP_BLUEPRINT) {
  const url = await freshDatabase()
  const dir = tempDir()
  const clock = testClock(T0)
  const stores: Store[] = [await openPostgresStore(url), await openPostgresStore(url)]
  const engines = stores.map((store, index) => new Engine({store, log: quietLog, now: clock, replica: {id: `replica-${index}`, leaseMs}}))
  await engines[0].applyProject(blueprint, 'relctl.yaml', dir)
  await Promise.all(engines.map((engine) => engine.start()))
  const stopped = new Set<number>()
  return {
    dir,
    clock,
    stores,
    engines,
    async stop(index: number) {
      if (stopped.has(index)) return
      stopped.add(index)
      await engines[index].shutdown(0)
      await stores[index].close()
    },
    async close() {
      for (const index of [0, 1]) await this.stop(index)
    },
  }
}

async function release(engine: Engine, request: TriggerRequest): Promise<Release> {
  const outcome = await engine.trigger('shop', 'prod', request, alice)
  if ('dryRun' in outcome) throw new Error('expected a release')
  return outcome.release
}

describe('freezes, expiry and deadlines across replicas (PostgreSQL)', () => {
  it('every replica sweeps expired queued releases, and each is cancelled once', async () => {
    const replicas = await twoReplicas(1500)
    try {
      const [a, b] = replicas.engines
      await a.addFreeze({project: 'shop', environment: 'prod', from: at(-1), to: at(600), reason: 'hold'}, 'ops')
      const queued = await Promise.all(Array.from({length: 6}, (_, index) => release(index % 2 ? a : b, {...selective(index % 2 ? 'web' : 'worker'), onFreeze: 'queue', expireAfter: '10m'})))
      replicas.clock.set(at(10))
      const ended = await Promise.all(queued.map((queuedRelease) => waitForFinal(a, queuedRelease.id, 20_000)))
      expect(ended.map((endedRelease) => [endedRelease.status, endedRelease.endReason])).toEqual(queued.map(() => ['cancelled', 'expired']))
      for (const queuedRelease of queued) {
        const events = await replicas.stores[0].listEvents(0, 1000, {releaseId: queuedRelease.id})
        expect(events.filter((event) => event.kind === 'release.cancelled')).toHaveLength(1)
      }
    } finally {
      await replicas.close()
    }
  })

  it('a window that ends is seen by the other replica: what it held starts there, though the replica that added the freeze is gone', async () => {
    const replicas = await twoReplicas(1500)
    try {
      const [a, b] = replicas.engines
      await a.addFreeze({project: 'shop', from: at(-1), to: at(30), reason: 'year-end'}, 'ops')
      const held = await release(a, {...selective('worker'), onFreeze: 'queue'})
      expect(held.waitingFor?.reason).toBe('freeze')
      await replicas.stop(0)
      replicas.clock.set(at(30))
      const done = await waitForFinal(b, held.id, 20_000)
      expect(done).toMatchObject({status: 'succeeded', replica: 'replica-1'})
    } finally {
      await replicas.close()
    }
  })

  it('a deadline is stored with the claim: the replica that runs the release stops it, and it ends failed once', async () => {
    const blueprint = `project: shop
resources:
  slow:
    driver: exec
    exec: { deploy: sleep 30 }
environments:
  prod: {}
`
    const replicas = await twoReplicas(60_000, blueprint)
    try {
      const [a, b] = replicas.engines
      const started = await release(b, {...selective('slow'), deadline: '10s'})
      const running = await waitFor(async () => {
        const current = await a.getRelease(started.id)
        return current.tasks?.[0]?.status === 'running' ? current : undefined
      }, 'the deploy to run')
      expect(running.deadlineAt).toBe(new Date(Date.parse(T0) + 10_000).toISOString())
      replicas.clock.advance(10_000)
      const failed = await waitForFinal(a, started.id, 20_000)
      expect(failed).toMatchObject({status: 'failed', endReason: 'deadline', replica: running.replica})
      const events = await replicas.stores[0].listEvents(0, 1000, {releaseId: started.id})
      expect(events.filter((event) => event.kind === 'release.failed')).toHaveLength(1)
    } finally {
      await replicas.close()
    }
  })
})
