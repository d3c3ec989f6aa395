// Small pure rules of issue 14: which queued releases a new one supersedes, which blocked versions a
// release meets (and the refusal's words), and deadlines as a trigger asks for them.
import {describe, expect, it} from 'vitest'

import {blockedVersionError, blocksMet} from '../../../../../src/lib/server/engine/rules/blocks.js'
import {after, readDeadlines} from '../../../../../src/lib/server/engine/rules/deadlines.js'
import {coversLockSet, supersededBy} from '../../../../../src/lib/server/engine/rules/queue.js'
import {ControlPlaneError} from '../../../../../src/lib/server/errors.js'

describe('supersede: a newer release covers the waiting releases whose lock set its own holds', () => {
  it('covers: the whole environment covers everything; a list covers its subsets only', () => {
    expect(coversLockSet('*', '*')).toBe(true)
    expect(coversLockSet('*', ['api'])).toBe(true)
    expect(coversLockSet(['api', 'web'], ['api'])).toBe(true)
    expect(coversLockSet(['api', 'web'], ['api', 'web'])).toBe(true)
    expect(coversLockSet(['api'], ['api', 'web'])).toBe(false)
    expect(coversLockSet(['api'], '*')).toBe(false)
    expect(coversLockSet(['web'], ['api'])).toBe(false)
  })

  it('supersedes queued and pending releases it covers, never a running one', () => {
    const waiting = [
      {id: 1, status: 'running', lockSet: ['api'] as string[]},
      {id: 2, status: 'queued', lockSet: ['api'] as string[]},
      {id: 3, status: 'pending_approval', lockSet: ['api', 'web'] as string[]},
      {id: 4, status: 'queued', lockSet: '*' as const},
      {id: 5, status: 'queued', lockSet: ['db'] as string[]},
    ]
    expect(supersededBy(['api', 'web'], waiting)).toEqual([2, 3])
    expect(supersededBy('*', waiting)).toEqual([2, 3, 4, 5])
    expect(supersededBy(['cache'], waiting)).toEqual([])
  })
})

describe('blocked versions', () => {
  const block = {project: 'shop', app: 'api', version: '3.3.0', reason: 'memory leak', by: 'ada', at: '2026-11-02T10:00:00.000Z'}

  it('are met by a deploy to that version of that app, not by deletes, other apps or other versions', () => {
    expect(blocksMet([{name: 'api', toVersion: '3.3.0', action: 'update'}], [block])).toEqual([block])
    expect(blocksMet([{name: 'api', toVersion: '3.3.0'}], [block])).toEqual([block])
    expect(blocksMet([{name: 'api', toVersion: '3.3.0', action: 'delete'}], [block])).toEqual([])
    expect(blocksMet([{name: 'api', toVersion: '3.3.1', action: 'create'}, {name: 'web', toVersion: '3.3.0', action: 'update'}], [block])).toEqual([])
    expect(blocksMet([{name: 'api', toVersion: null, action: 'update'}], [block])).toEqual([])
  })

  it('are refused with exit 2 (blocked_version), naming who blocked it, when and why, and how to get past it', () => {
    const error = blockedVersionError([block, {...block, app: 'web', by: 'bo', reason: 'CVE'}], 'this selective release would deploy a blocked version')
    expect(error).toBeInstanceOf(ControlPlaneError)
    expect(error.code).toBe('blocked_version')
    expect(error.status).toBe(422)
    expect(error.message).toBe(
      'this selective release would deploy a blocked version: api 3.3.0 is blocked in project shop by ada since 2026-11-02T10:00:00.000Z: memory leak; web 3.3.0 is blocked in project shop by bo since 2026-11-02T10:00:00.000Z: CVE',
    )
    expect(error.extra.hint).toBe('choose another version (relctl app set api --version V -p shop -e ENV), or lift the block: relctl app unblock api 3.3.0 -p shop')
  })
})

describe('deadlines as a trigger asks for them', () => {
  it('reads --deadline and --expire-after into milliseconds; absent is absent', () => {
    expect(readDeadlines({})).toEqual({})
    expect(readDeadlines({deadline: '30m', expireAfter: '2h'})).toEqual({deadlineMs: 1_800_000, expireAfterMs: 7_200_000})
    expect(readDeadlines({expireAfter: '1h30m'})).toEqual({expireAfterMs: 5_400_000})
    expect(after('2026-11-02T10:00:00.000Z', 1_800_000)).toBe('2026-11-02T10:30:00.000Z')
  })

  it('refuses what is not a duration, and durations under a second or over 30 days', () => {
    expect(() => readDeadlines({deadline: 'soon'})).toThrow('--deadline: "soon" is not a duration')
    expect(() => readDeadlines({expireAfter: '500ms'})).toThrow('--expire-after must be between 1s and 30d')
    expect(() => readDeadlines({deadline: '31d'})).toThrow('--deadline must be between 1s and 30d')
  })
})
