// Log retention over a real engine and SQLite store: the lines of a release that ended before the
// cutoff are deleted and the release says so; a release that ended after it keeps its lines.
import {afterEach, describe, expect, it} from 'vitest'

import {Retention} from '../../../src/lib/server/retention.js'
import {createTestEngine, quietLog, type TestEngine, waitForFinal} from '../../helpers/engine.js'

const DAY = 86_400_000
const alice = {subject: 'alice', idempotencyKey: null}
let opened: TestEngine[] = []

afterEach(async () => {
  for (const t of opened.splice(0)) await t.close()
})

describe('log retention', () => {
  it('deletes the lines of releases that ended before the cutoff, keeps recent ones and the records', async () => {
    // The engine's clock decides when releases end: the first one 40 days ago, the second one today.
    let now = new Date('2026-01-01T00:00:00.000Z')
    const t = await createTestEngine(undefined, {now: () => now})
    opened.push(t)
    const old = await waitForFinal(t.engine, (await t.engine.trigger('shop', 'prod', {type: 'selective', resources: [{name: 'worker'}]}, alice)).release.id)
    now = new Date(now.getTime() + 40 * DAY)
    const recent = await waitForFinal(t.engine, (await t.engine.trigger('shop', 'prod', {type: 'selective', resources: [{name: 'db'}]}, alice)).release.id)
    expect([old.status, recent.status]).toEqual(['succeeded', 'succeeded'])
    expect((await t.engine.readLogs(old.id, 0, 1000)).lines.length).toBeGreaterThan(0)

    const retention = new Retention({store: t.store, logRetentionMs: 30 * DAY, eventRetentionMs: 7 * DAY, log: quietLog, now: () => now})
    expect(await retention.sweepLogs()).toBe(1)

    const oldLogs = await t.engine.readLogs(old.id, 0, 1000)
    expect(oldLogs.lines).toEqual([])
    expect(oldLogs.logsDeletedAt).toBe(now.toISOString())
    expect((await t.engine.getRelease(old.id)).status).toBe('succeeded')

    const recentLogs = await t.engine.readLogs(recent.id, 0, 1000)
    expect(recentLogs.logsDeletedAt).toBeNull()
    expect(recentLogs.lines.some((line) => line.line.includes('deployed db'))).toBe(true)

    // A second sweep has nothing left to do.
    expect(await retention.sweepLogs()).toBe(0)
  })
})
