import {describe, expect, it} from 'vitest'

import {DurationError, formatDuration, parseDuration} from '../../../src/lib/api/duration.js'

describe('parseDuration', () => {
  it.each([
    ['1500ms', 1500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['6h', 21_600_000],
    ['1d', 86_400_000],
    ['2w', 1_209_600_000],
    ['1h30m', 5_400_000],
    ['1d12h', 129_600_000],
    ['1m30s500ms', 90_500],
    ['1.5s', 1500],
    ['0.5h', 1_800_000],
    ['  45s  ', 45_000],
  ])('parses %j as %i ms', (text, expected) => {
    expect(parseDuration(text)).toBe(expected)
  })

  it('rounds fractional milliseconds', () => {
    expect(parseDuration('1.4ms')).toBe(1)
    expect(parseDuration('0.0015s')).toBe(2)
  })

  it.each(['', '   ', '30', 'abc', '5x', '-5s', '1 h', 'h1', '1h 30m', '1.s', '.5s', '1S', '30sec', '1h30', '1e3ms'])('rejects %j and shows the valid forms', (text) => {
    let caught: unknown
    try {
      parseDuration(text)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(DurationError)
    const message = (caught as Error).message
    expect(message).toContain(`"${text}" is not a duration`)
    for (const form of ['1500ms', '30s', '15m', '6h', '1d', '2w', '1h30m']) expect(message).toContain(form)
  })

  it.each(['0s', '0ms', '0h0m', '0.0s'])('rejects the zero duration %j', (text) => {
    expect(() => parseDuration(text)).toThrow(DurationError)
    expect(() => parseDuration(text)).toThrow(`"${text}" must be longer than zero`)
  })

  it('is an Error subclass callers can tell apart', () => {
    expect(() => parseDuration('nope')).toThrow(Error)
    expect(new DurationError('x')).toBeInstanceOf(Error)
  })
})

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [999, '999ms'],
    [1000, '1.0s'],
    [12_300, '12.3s'],
    [59_000, '59.0s'],
    [60_000, '1m00s'],
    [245_000, '4m05s'],
    [3_599_000, '59m59s'],
    [3_600_000, '1h00m'],
    [7_800_000, '2h10m'],
    [90_000_000, '25h00m'],
  ])('formats %i ms as %j', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected)
  })

  it('round-trips with parseDuration for whole minutes and hours', () => {
    expect(parseDuration(formatDuration(245_000))).toBe(245_000)
    expect(parseDuration(formatDuration(7_800_000))).toBe(7_800_000)
    expect(parseDuration(formatDuration(850))).toBe(850)
  })
})

describe('formatDuration at unit boundaries', () => {
  // 59_950 ms and above round up to 60.0 seconds; every other 60-second value prints as 1m00s.
  it('never prints "60.0s"', () => {
    expect([59_950, 59_999].map(formatDuration)).toEqual(['1m00s', '1m00s'])
  })
})
