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

  it('an entry the database refuses in a batch fails alone: the others of its batch are stored', async () => {
    const audit = new AuditLog(t.store, 86_400_000, quietLog)
    const original = t.store.appendAudit.bind(t.store)
    const writes = vi.spyOn(t.store, 'appendAudit').mockImplementation(async (entries) => {
      if (entries.some((stored) => stored.actor === 'refused')) throw new Error('invalid byte sequence (injected)')
      return original(entries)
    })
    try {
      const first = audit.append(entry('before'))
      const batch = [audit.append(entry('kept-1')), audit.append(entry('refused')), audit.append(entry('kept-2'))]
      await first
      expect((await Promise.allSettled(batch)).map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
      const actors = (await t.store.listAudit({limit: 1000})).map((stored) => stored.actor)
      expect(actors).toEqual(expect.arrayContaining(['kept-1', 'kept-2']))
      expect(actors).not.toContain('refused')
    } finally {
      writes.mockRestore()
    }
  })

  it('while the database refuses every write, the waiting appends are rejected; once it accepts again, the next ones are stored', async () => {
    const audit = new AuditLog(t.store, 86_400_000, quietLog)
    const original = t.store.appendAudit.bind(t.store)
    let down = false
    const writes = vi.spyOn(t.store, 'appendAudit').mockImplementation(async (entries) => {
      if (down) throw new Error('disk I/O error (injected)')
      return original(entries)
    })
    try {
      const first = audit.append(entry('first'))
      down = true
      const failing = [audit.append(entry('lost-1')), audit.append(entry('lost-2'))]
      await first
      expect((await Promise.allSettled(failing)).map((outcome) => outcome.status)).toEqual(['rejected', 'rejected'])
      down = false
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
