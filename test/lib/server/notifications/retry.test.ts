// When a failed notification is tried again and when it is given up (docs/notifications.md): a doubling
// wait from --notify-retry-min, varied by up to 20% either way, never more than an hour; given up once
// --notify-retry-for has passed since the delivery was queued; a test delivery is tried once.
import {describe, expect, it} from 'vitest'

import {DEFAULT_NOTIFY_RETRY_FOR_MS, DEFAULT_NOTIFY_RETRY_MIN_MS} from '../../../../src/lib/api/events.js'
import {givesUp, MAX_RETRY_DELAY_MS, retryDelayMs} from '../../../../src/lib/server/notifications/retry.js'

const HOUR = 3_600_000
const middle = () => 0.5
const lowest = () => 0
const highest = () => 0.999_999_999

describe('retryDelayMs', () => {
  it('doubles from the minimum with each failed try: 10s, 20s, 40s, ... (without jitter)', () => {
    const delays = Array.from({length: 9}, (_, index) => retryDelayMs(index + 1, DEFAULT_NOTIFY_RETRY_MIN_MS, middle))
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 1_280_000, 2_560_000])
  })

  it('never waits more than an hour, however many tries failed', () => {
    expect(MAX_RETRY_DELAY_MS).toBe(HOUR)
    for (const attempt of [10, 11, 20, 100, 2000]) {
      for (const random of [lowest, middle, highest]) expect(retryDelayMs(attempt, DEFAULT_NOTIFY_RETRY_MIN_MS, random)).toBeLessThanOrEqual(HOUR)
    }
    // 10s × 2^9 = 5,120s: capped; the cap holds at the top of the jitter too (it is applied last).
    expect(retryDelayMs(10, DEFAULT_NOTIFY_RETRY_MIN_MS, middle)).toBe(HOUR)
    expect(retryDelayMs(10, DEFAULT_NOTIFY_RETRY_MIN_MS, highest)).toBe(HOUR)
    expect(retryDelayMs(1, 3_300_000, highest)).toBe(HOUR) // 55 minutes × 1.2 is more than an hour
    expect(retryDelayMs(2000, DEFAULT_NOTIFY_RETRY_MIN_MS, highest)).toBe(HOUR)
  })

  it('varies each wait by up to 20% either way', () => {
    expect(retryDelayMs(1, 10_000, lowest)).toBe(8000)
    expect(retryDelayMs(1, 10_000, highest)).toBeCloseTo(12_000, 3)
    expect(retryDelayMs(3, 10_000, lowest)).toBe(32_000)
    expect(retryDelayMs(3, 10_000, highest)).toBeCloseTo(48_000, 2)
  })

  it('follows --notify-retry-min', () => {
    expect([1, 2, 3].map((attempt) => retryDelayMs(attempt, 250, middle))).toEqual([250, 500, 1000])
  })

  it('by default, a delivery that keeps failing is tried 33 times over about 24 hours, then given up', () => {
    // The tries a delivery that always fails gets, at the middle of the jitter, from its first try on.
    let elapsed = 0
    let attempts = 1
    while (!givesUp({createdAt: new Date(0).toISOString(), test: false}, new Date(elapsed), DEFAULT_NOTIFY_RETRY_FOR_MS)) {
      elapsed += retryDelayMs(attempts, DEFAULT_NOTIFY_RETRY_MIN_MS, middle)
      attempts++
    }
    // 9 doubling waits (10s ... 2,560s: 5,110s in all), then hourly until 24h have passed.
    expect(attempts).toBe(1 + 9 + Math.ceil((DEFAULT_NOTIFY_RETRY_FOR_MS - 5_110_000) / HOUR))
    expect(elapsed).toBeGreaterThanOrEqual(DEFAULT_NOTIFY_RETRY_FOR_MS)
    expect(elapsed).toBeLessThan(DEFAULT_NOTIFY_RETRY_FOR_MS + HOUR)
  })
})

describe('givesUp', () => {
  const createdAt = '2026-12-06T20:00:00.000Z'
  const after = (ms: number) => new Date(Date.parse(createdAt) + ms)

  it('keeps retrying until --notify-retry-for has passed since the delivery was queued, then gives up', () => {
    expect(givesUp({createdAt, test: false}, after(0), DEFAULT_NOTIFY_RETRY_FOR_MS)).toBe(false)
    expect(givesUp({createdAt, test: false}, after(23 * HOUR), DEFAULT_NOTIFY_RETRY_FOR_MS)).toBe(false)
    expect(givesUp({createdAt, test: false}, after(24 * HOUR - 1), DEFAULT_NOTIFY_RETRY_FOR_MS)).toBe(false)
    expect(givesUp({createdAt, test: false}, after(24 * HOUR), DEFAULT_NOTIFY_RETRY_FOR_MS)).toBe(true)
    expect(givesUp({createdAt, test: false}, after(30 * HOUR), DEFAULT_NOTIFY_RETRY_FOR_MS)).toBe(true)
    expect(givesUp({createdAt, test: false}, after(2 * HOUR), 2 * HOUR)).toBe(true)
  })

  it('a test delivery (notify test) is never retried', () => {
    expect(givesUp({createdAt, test: true}, after(0), DEFAULT_NOTIFY_RETRY_FOR_MS)).toBe(true)
  })
})
