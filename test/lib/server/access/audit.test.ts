// The audit log over a real SQLite store: entries of concurrent requests share a write (a group
// commit), every one is stored in the order it arrived, and a write that fails fails only its batch.
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {AuditLog} from '../../../../src/lib/server/access/audit.js'
import {createTestEngine, quietLog, type TestEngine} from '../../../helpers/engine.js'

let t: TestEngine

beforeAll(async () => {
  t = await createTestEngine(null)
})

afterAll(() => t?.close())

const entry = (actor: string) => ({
  actor,
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
})

describe('AuditLog', () => {
  it('stores the entries of 100 concurrent requests, in their order, in two writes', async () => {
    const audit = new AuditLog(t.store, 86_400_000, quietLog)
    const writes = vi.spyOn(t.store, 'appendAudit')
    try {
      const actors = Array.from({length: 100}, (_, index) => `user-${index}`)
      await Promise.all(actors.map((actor) => audit.append(entry(actor))))
      // The first entry is written alone; the 99 that arrived during that write share the next.
      expect(writes.mock.calls.map(([entries]) => entries.length)).toEqual([1, 99])
      const listed = await t.store.listAudit({limit: 1000})
      expect(listed.map((stored) => stored.actor).reverse()).toEqual(actors)
    } finally {
      writes.mockRestore()
    }
  })

  it('a write that fails rejects the appends of its batch only; the next batch is stored', async () => {
    const audit = new AuditLog(t.store, 86_400_000, quietLog)
    const original = t.store.appendAudit.bind(t.store)
    let calls = 0
    const writes = vi.spyOn(t.store, 'appendAudit').mockImplementation(async (entries) => {
      if (++calls === 2) throw new Error('disk I/O error (injected)')
      return original(entries)
    })
    try {
      const first = audit.append(entry('first'))
      const failing = [audit.append(entry('lost-1')), audit.append(entry('lost-2'))]
      await first
      expect((await Promise.allSettled(failing)).map((outcome) => outcome.status)).toEqual(['rejected', 'rejected'])
      await audit.append(entry('after'))
      const actors = (await t.store.listAudit({limit: 1000})).map((stored) => stored.actor)
      expect(actors).toEqual(expect.arrayContaining(['first', 'after']))
      expect(actors).not.toContain('lost-1')
      expect(actors).not.toContain('lost-2')
    } finally {
      writes.mockRestore()
    }
  })
})
