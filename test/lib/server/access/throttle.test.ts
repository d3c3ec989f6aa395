import {describe, expect, it} from 'vitest'

import {FAILED_AUTH_BURST, FAILED_AUTH_INTERVAL_MS} from '../../../../src/lib/server/access/limits.js'
import {AuthThrottle} from '../../../../src/lib/server/access/throttle.js'

function throttleAt(start = 0) {
  let now = start
  const throttle = new AuthThrottle(undefined, undefined, () => now)
  return {throttle, advance: (ms: number) => (now += ms)}
}

describe('AuthThrottle: failed authentications per address', () => {
  it('lets 10 failures through at once, then one per 6 s', () => {
    expect([FAILED_AUTH_BURST, FAILED_AUTH_INTERVAL_MS]).toEqual([10, 6000])
    const {throttle, advance} = throttleAt()
    for (let failure = 0; failure < 10; failure++) {
      expect(throttle.retryAfterMs('10.0.0.1')).toBe(0)
      throttle.failed('10.0.0.1')
    }
    expect(throttle.retryAfterMs('10.0.0.1')).toBe(6000)
    advance(2500)
    expect(throttle.retryAfterMs('10.0.0.1')).toBe(3500)
    advance(3500)
    expect(throttle.retryAfterMs('10.0.0.1')).toBe(0)
    throttle.failed('10.0.0.1')
    expect(throttle.retryAfterMs('10.0.0.1')).toBe(6000)
    // 2,000 guesses now take hours, not a second
    let waited = 0
    for (let guess = 0; guess < 2000; guess++) {
      const wait = throttle.retryAfterMs('10.0.0.1')
      advance(wait)
      waited += wait
      throttle.failed('10.0.0.1')
    }
    expect(waited / 3_600_000).toBeGreaterThan(3)
  })

  it('keeps addresses apart, and forgets a drained one', () => {
    const {throttle, advance} = throttleAt()
    for (let failure = 0; failure < 10; failure++) throttle.failed('10.0.0.1')
    expect(throttle.retryAfterMs('10.0.0.1')).toBeGreaterThan(0)
    expect(throttle.retryAfterMs('10.0.0.2')).toBe(0)
    advance(60_000)
    expect(throttle.retryAfterMs('10.0.0.1')).toBe(0)
  })
})
