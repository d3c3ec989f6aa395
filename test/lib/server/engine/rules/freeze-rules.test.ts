// Freeze arithmetic: local times in a time zone, one-off and recurring windows (DST included), what holds
// at an instant and until when, and the words of a refusal. Every date here is fixed: no test reads the
// real clock.
import {describe, expect, it} from 'vitest'

import {
  compileFreeze,
  describeFreeze,
  type FreezeInput,
  freezeAt,
  frozenError,
  nextWindow,
  parseFreezeTime,
  windowAt,
  windowsOf,
  zonedToUtc,
} from '../../../../../src/lib/server/engine/rules/freeze-rules.js'
import {ControlPlaneError} from '../../../../../src/lib/server/errors.js'
import type {FreezeRecord} from '../../../../../src/lib/server/store/store.js'

const NOW = new Date('2026-11-02T10:00:00.000Z')
const d = (iso: string) => new Date(iso)
const HOUR = 3_600_000
let nextId = 1

function freeze(fields: Partial<FreezeRecord>): FreezeRecord {
  return {id: nextId++, project: 'shop', environment: null, from: null, to: null, cron: null, durationMs: null, timezone: 'UTC', reason: 'year-end', createdBy: 'ada', createdAt: NOW.toISOString(), ...fields}
}

function refused(input: FreezeInput, now = NOW): ControlPlaneError {
  try {
    compileFreeze(input, now)
  } catch (error) {
    expect(error).toBeInstanceOf(ControlPlaneError)
    expect((error as ControlPlaneError).code).toBe('invalid_input')
    return error as ControlPlaneError
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused`)
}

const window = (found: {startsAt: Date; endsAt: Date} | null) => found && [found.startsAt.toISOString(), found.endsAt.toISOString()]

describe('parseFreezeTime: a point in time as people write it', () => {
  it('reads a local date and time in the time zone, in winter and in summer', () => {
    expect(parseFreezeTime('2026-12-20T18:00', 'Europe/Berlin', '--from').toISOString()).toBe('2026-12-20T17:00:00.000Z')
    expect(parseFreezeTime('2026-07-01 18:00:30', 'Europe/Berlin', '--from').toISOString()).toBe('2026-07-01T16:00:30.000Z')
    expect(parseFreezeTime('2026-12-24', 'America/New_York', '--from').toISOString()).toBe('2026-12-24T05:00:00.000Z')
    expect(parseFreezeTime('2026-12-20T18:00', 'UTC', '--from').toISOString()).toBe('2026-12-20T18:00:00.000Z')
  })

  it('takes an offset of its own over the time zone', () => {
    expect(parseFreezeTime('2026-12-20T18:00Z', 'Europe/Berlin', '--from').toISOString()).toBe('2026-12-20T18:00:00.000Z')
    expect(parseFreezeTime('2026-12-20T18:00:05+01:00', 'America/New_York', '--to').toISOString()).toBe('2026-12-20T17:00:05.000Z')
  })

  it('reads a time the clocks skip as the same time after the change, and a repeated one as its first occurrence', () => {
    // 2026-03-29 02:30 does not happen in Berlin (02:00 CET -> 03:00 CEST): it is 03:30 CEST.
    expect(parseFreezeTime('2026-03-29T02:30', 'Europe/Berlin', '--from').toISOString()).toBe('2026-03-29T01:30:00.000Z')
    // 2026-10-25 02:30 happens twice in Berlin: the first is still CEST.
    expect(parseFreezeTime('2026-10-25T02:30', 'Europe/Berlin', '--from').toISOString()).toBe('2026-10-25T00:30:00.000Z')
    expect(new Date(zonedToUtc(Date.UTC(2026, 9, 25, 3, 30), 'Europe/Berlin')).toISOString()).toBe('2026-10-25T02:30:00.000Z')
  })

  it('refuses what is not a date and time, naming the flag and the forms that work', () => {
    for (const text of ['tomorrow', '2026-02-30T10:00', '2026-12-20T25:00', '20.12.2026']) {
      expect(() => parseFreezeTime(text, 'UTC', '--from'), text).toThrow(`--from: "${text}" is not a date and time`)
    }
    try {
      parseFreezeTime('soon', 'UTC', '--to')
    } catch (error) {
      expect((error as ControlPlaneError).extra.hint).toContain('2026-12-20T18:00Z')
    }
  })
})

describe('compileFreeze: validation', () => {
  it('keeps a one-off window as two instants, and a recurring one as its rule', () => {
    expect(compileFreeze({from: '2026-12-20T18:00', to: '2027-01-04T08:00', timezone: 'Europe/Berlin'}, NOW)).toEqual({
      from: '2026-12-20T17:00:00.000Z',
      to: '2027-01-04T07:00:00.000Z',
      cron: null,
      durationMs: null,
      timezone: 'Europe/Berlin',
    })
    expect(compileFreeze({cron: ' 0  18 * * 5', duration: '62h', timezone: 'Europe/Berlin'}, NOW)).toEqual({from: null, to: null, cron: '0 18 * * 5', durationMs: 62 * HOUR, timezone: 'Europe/Berlin'})
    expect(compileFreeze({cron: '0 18 * * 5', duration: '1h'}, NOW).timezone).toBe('UTC')
  })

  it('refuses a mix, a half, a window that ends before it starts or has ended, bad rules, zones and durations', () => {
    expect(refused({from: '2026-12-20', cron: '0 18 * * 5', duration: '1h'}).message).toContain('a freeze is one window (--from and --to) or a recurring one (--cron and --duration)')
    expect(refused({}).message).toContain('a freeze is one window')
    expect(refused({from: '2026-12-20'}).message).toBe('a one-off freeze needs both --from and --to; --to is missing')
    expect(refused({duration: '2h'}).message).toBe('a recurring freeze needs both --cron and --duration; --cron is missing')
    expect(refused({from: '2026-12-20T10:00Z', to: '2026-12-20T09:00Z'}).message).toBe('--to (2026-12-20T09:00:00.000Z) must be after --from (2026-12-20T10:00:00.000Z)')
    expect(refused({from: '2026-10-01', to: '2026-10-02'}).message).toContain('the window ended already')
    expect(refused({from: '2026-12-20', to: '2026-12-21', timezone: 'Mars/Olympus'}).message).toBe('unknown time zone "Mars/Olympus"')
    expect(refused({cron: '61 * * * *', duration: '1h'}).message).toContain('is not a valid cron expression')
    expect(refused({cron: '0 18 * * 5', duration: 'a week'}).message).toContain('--duration: "a week" is not a duration')
    expect(refused({cron: '0 18 * * 5', duration: '400d'}).message).toBe('--duration must be between 1s and 366d')
  })

  it('refuses a recurring freeze whose windows would overlap: that never lifts, which is a pause', () => {
    const error = refused({cron: '0 18 * * 5', duration: '8d'})
    expect(error.message).toMatch(/^the windows would overlap: one starts at .* and lasts until .*, after the next one starts/)
    expect(error.extra.hint).toContain('relctl pause')
    expect(refused({cron: '*/10 * * * *', duration: '11m'}).message).toContain('the windows would overlap')
    // Back to back is not overlapping.
    expect(compileFreeze({cron: '0 * * * *', duration: '1h'}, NOW).durationMs).toBe(HOUR)
  })
})

describe('windows', () => {
  it('a one-off window holds from its start, inclusive, to its end, exclusive', () => {
    const oneOff = freeze({from: '2026-12-20T17:00:00.000Z', to: '2027-01-04T07:00:00.000Z'})
    expect(windowAt(oneOff, d('2026-12-20T16:59:59.999Z'))).toBeNull()
    expect(window(windowAt(oneOff, d('2026-12-20T17:00:00.000Z')))).toEqual(['2026-12-20T17:00:00.000Z', '2027-01-04T07:00:00.000Z'])
    expect(windowAt(oneOff, d('2027-01-04T07:00:00.000Z'))).toBeNull()
    expect(window(nextWindow(oneOff, NOW))).toEqual(['2026-12-20T17:00:00.000Z', '2027-01-04T07:00:00.000Z'])
    expect(nextWindow(oneOff, d('2026-12-21T00:00:00.000Z'))).toBeNull()
  })

  it('a recurring window starts at each run of its rule and lasts its duration on the wall clock, across DST', () => {
    const weekends = freeze({cron: '0 18 * * 5', durationMs: 62 * HOUR, timezone: 'Europe/Berlin'})
    // An ordinary winter weekend: Friday 18:00 CET to Monday 08:00 CET, 62 hours.
    expect(window(windowAt(weekends, d('2026-12-05T12:00:00.000Z')))).toEqual(['2026-12-04T17:00:00.000Z', '2026-12-07T07:00:00.000Z'])
    // The clocks go forward on Sunday 29 March: still Friday 18:00 to Monday 08:00 local, 61 real hours.
    expect(window(windowAt(weekends, d('2026-03-29T12:00:00.000Z')))).toEqual(['2026-03-27T17:00:00.000Z', '2026-03-30T06:00:00.000Z'])
    // They go back on Sunday 25 October: 63 real hours.
    expect(window(windowAt(weekends, d('2026-10-24T12:00:00.000Z')))).toEqual(['2026-10-23T16:00:00.000Z', '2026-10-26T07:00:00.000Z'])
    expect(windowAt(weekends, d('2026-10-26T07:00:00.000Z'))).toBeNull()
    // On a weekday: none in force, the next is Friday's.
    expect(windowAt(weekends, d('2026-12-09T12:00:00.000Z'))).toBeNull()
    expect(window(nextWindow(weekends, d('2026-12-09T12:00:00.000Z')))).toEqual(['2026-12-11T17:00:00.000Z', '2026-12-14T07:00:00.000Z'])
    // In a window, the next one is the one after it.
    expect(window(nextWindow(weekends, d('2026-12-05T12:00:00.000Z')))).toEqual(['2026-12-11T17:00:00.000Z', '2026-12-14T07:00:00.000Z'])
  })

  it('answers the same for instants inside one window and right after it (the worked-out windows are kept)', () => {
    const nights = freeze({cron: '0 22 * * *', durationMs: 9 * HOUR, timezone: 'UTC'})
    for (const at of ['2026-11-02T22:00:00.000Z', '2026-11-03T03:00:00.000Z', '2026-11-03T06:59:59.999Z']) {
      expect(window(windowAt(nights, d(at))), at).toEqual(['2026-11-02T22:00:00.000Z', '2026-11-03T07:00:00.000Z'])
    }
    expect(windowAt(nights, d('2026-11-03T07:00:00.000Z'))).toBeNull()
    expect(windowAt(nights, d('2026-11-03T21:59:59.999Z'))).toBeNull()
    expect(window(windowAt(nights, d('2026-11-03T22:00:00.000Z')))).toEqual(['2026-11-03T22:00:00.000Z', '2026-11-04T07:00:00.000Z'])
    // Back in time, after a later answer: still right.
    expect(window(windowAt(nights, d('2026-11-02T23:00:00.000Z')))).toEqual(['2026-11-02T22:00:00.000Z', '2026-11-03T07:00:00.000Z'])
  })
})

describe('freezeAt: what holds and until when', () => {
  it('nothing holds without a window in force', () => {
    expect(freezeAt([], NOW)).toBeNull()
    expect(freezeAt([freeze({from: '2026-12-20T00:00:00.000Z', to: '2026-12-21T00:00:00.000Z'})], NOW)).toBeNull()
  })

  it('follows windows that touch or overlap to their end, and names the one that ends last', () => {
    const first = freeze({project: null, from: '2026-11-02T09:00:00.000Z', to: '2026-11-02T11:00:00.000Z', reason: 'maintenance'})
    const second = freeze({environment: 'prod', from: '2026-11-02T10:30:00.000Z', to: '2026-11-02T12:00:00.000Z', reason: 'release train'})
    const touching = freeze({from: '2026-11-02T12:00:00.000Z', to: '2026-11-02T13:00:00.000Z', reason: 'lunch'})
    const later = freeze({from: '2026-11-02T13:30:00.000Z', to: '2026-11-02T14:00:00.000Z'})
    const hold = freezeAt([first, later, touching, second], NOW)
    expect(hold?.freeze.id).toBe(first.id)
    expect(hold?.until.toISOString()).toBe('2026-11-02T13:00:00.000Z')
    expect(hold?.freezes.map((held) => held.id)).toEqual([first.id])
    const inBoth = freezeAt([first, second, touching], d('2026-11-02T10:45:00.000Z'))
    expect(inBoth?.freeze.id).toBe(second.id)
    expect(inBoth?.freezes.map((held) => held.id)).toEqual([first.id, second.id])
    expect(describeFreeze(inBoth as NonNullable<typeof inBoth>)).toBe(
      `freeze until 2026-11-02T13:00:00.000Z: release train (freeze ${second.id} on shop/prod, by ada; 1 more freeze holds too)`,
    )
  })

  it('says it all in the refusal of a trigger: frozen (exit 6), the window, its end, its reason and the ways through', () => {
    const weekends = freeze({cron: '0 18 * * 5', durationMs: 62 * HOUR, timezone: 'Europe/Berlin', reason: 'weekends'})
    const error = frozenError(freezeAt([weekends], d('2026-12-05T12:00:00.000Z')) as NonNullable<ReturnType<typeof freezeAt>>)
    expect(error.code).toBe('frozen')
    expect(error.status).toBe(423)
    expect(error.message).toBe(`releases are frozen: freeze until 2026-12-07T07:00:00.000Z: weekends (freeze ${weekends.id} on project shop, by ada); nothing was queued`)
    expect(error.extra.hint).toBe('to start it when the freeze ends, trigger with --on-freeze queue; an operator may start it now with --override-freeze --reason "..."')
    const all = freeze({project: null, from: '2026-12-05T00:00:00.000Z', to: '2026-12-06T00:00:00.000Z', reason: 'holidays'})
    expect(describeFreeze(freezeAt([all], d('2026-12-05T12:00:00.000Z')) as NonNullable<ReturnType<typeof freezeAt>>)).toContain('on the whole control plane')
  })
})

describe('windowsOf: what env show lists', () => {
  it('the window in force of each freeze and the next one, by start', () => {
    const weekends = freeze({cron: '0 18 * * 5', durationMs: 62 * HOUR, timezone: 'Europe/Berlin', reason: 'weekends'})
    const yearEnd = freeze({environment: 'prod', from: '2026-12-20T17:00:00.000Z', to: '2027-01-04T07:00:00.000Z'})
    const windows = windowsOf([yearEnd, weekends], d('2026-12-05T12:00:00.000Z'))
    expect(windows.map((entry) => [entry.freeze, entry.level, entry.inForce, entry.startsAt])).toEqual([
      [weekends.id, 'project', true, '2026-12-04T17:00:00.000Z'],
      [weekends.id, 'project', false, '2026-12-11T17:00:00.000Z'],
      [yearEnd.id, 'environment', false, '2026-12-20T17:00:00.000Z'],
    ])
  })
})
