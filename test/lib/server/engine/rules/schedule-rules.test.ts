import {describe, expect, it} from 'vitest'

import type {ScheduleRule} from '../../../../../src/lib/api/schemas.js'
import {type CompiledRule, compileRule, dueRuns, MIN_INTERVAL_MS, nextRunAfter} from '../../../../../src/lib/server/engine/rules/schedule-rules.js'
import {ControlPlaneError} from '../../../../../src/lib/server/errors.js'

// Every date here is fixed: no test reads the real clock.
const ANCHOR = new Date('2026-03-02T10:00:00.000Z')
const d = (iso: string) => new Date(iso)
const iso = (dates: Date[]) => dates.map((date) => date.toISOString())
const HOUR = 3_600_000

function refused(rule: ScheduleRule): ControlPlaneError {
  try {
    compileRule(rule, ANCHOR)
  } catch (error) {
    expect(error).toBeInstanceOf(ControlPlaneError)
    const cpe = error as ControlPlaneError
    expect(cpe.code).toBe('invalid_input')
    expect(cpe.status).toBe(422)
    return cpe
  }
  throw new Error(`expected ${JSON.stringify(rule)} to be refused`)
}

const cron = (expression: string, timezone?: string) => compileRule({cron: expression, ...(timezone && {timezone})}, ANCHOR)
const every = (interval: string, anchor = ANCHOR) => compileRule({every: interval}, anchor)

/** The first n runs strictly after `from`. */
function runs(rule: CompiledRule, from: string, n: number): string[] {
  const out: string[] = []
  let at = d(from)
  for (let i = 0; i < n; i++) {
    at = nextRunAfter(rule, at)
    out.push(at.toISOString())
  }
  return out
}

describe('compileRule: validation', () => {
  it('needs exactly one of every and cron', () => {
    for (const rule of [{}, {every: '1h', cron: '0 3 * * *'}, {every: '', cron: ''}]) {
      const error = refused(rule)
      expect(error.message).toBe('a schedule needs exactly one of --every or --cron')
      expect(error.extra.hint).toBe('e.g. --every 6h, or --cron "0 3 * * 1-5"')
    }
  })

  it('refuses a time zone with an interval', () => {
    expect(refused({every: '6h', timezone: 'Europe/Berlin'}).message).toBe('--timezone goes with --cron; an --every interval is the same in every time zone')
  })

  it('refuses an interval that is not a duration, with the forms that are', () => {
    const error = refused({every: 'soon'})
    expect(error.message).toBe('--every: "soon" is not a duration; write a number and a unit, such as 1500ms, 30s, 15m, 6h, 1d, 2w or 1h30m')
    expect(refused({every: '6 hours'}).message).toMatch(/^--every: "6 hours" is not a duration/)
    expect(refused({every: '0s'}).message).toBe('--every: "0s" must be longer than zero')
  })

  it('refuses intervals below one second, and accepts one second', () => {
    expect(MIN_INTERVAL_MS).toBe(1000)
    expect(refused({every: '500ms'}).message).toBe('--every must be at least 1s')
    expect(refused({every: '999ms'}).message).toBe('--every must be at least 1s')
    expect(compileRule({every: '1s'}, ANCHOR)).toEqual({kind: 'every', everyMs: 1000, anchor: ANCHOR.getTime()})
  })

  it('compiles minutes, hours, days, weeks and sums, anchored at the given time', () => {
    expect(every('30m')).toEqual({kind: 'every', everyMs: 30 * 60_000, anchor: ANCHOR.getTime()})
    expect(every('6h')).toMatchObject({everyMs: 6 * HOUR})
    expect(every('1d')).toMatchObject({everyMs: 24 * HOUR})
    expect(every('2w')).toMatchObject({everyMs: 14 * 24 * HOUR})
    expect(every('1h30m')).toMatchObject({everyMs: 90 * 60_000})
  })

  it('refuses cron expressions with 4 or 6 fields, and macros, saying how to write one', () => {
    for (const expression of ['* * * *', '0 0 3 * * *', '@daily']) {
      const error = refused({cron: expression})
      expect(error.message).toBe(`"${expression}" is not a five-field cron expression`)
      expect(error.extra.hint).toBe('write minute hour day-of-month month day-of-week, e.g. "0 3 * * 1-5" for 03:00 on weekdays')
    }
  })

  it('refuses a field out of range or with bad characters, naming the fields', () => {
    for (const [expression, detail] of [
      ['61 * * * *', '61'],
      ['* 24 * * *', '24'],
      ['* * 32 * *', '32'],
      ['* * * 13 *', '13'],
      ['* * * * 8', '8'],
      ['foo * * * *', 'foo'],
    ] as const) {
      const error = refused({cron: expression})
      expect(error.message, expression).toMatch(new RegExp(`^"${expression.replace(/\*/g, '\\*')}" is not a valid cron expression: .*${detail}`))
      expect(error.extra.hint).toBe('fields: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12) day-of-week (0-7)')
    }
  })

  it('refuses an unknown time zone with examples of valid ones', () => {
    const error = refused({cron: '0 3 * * 1-5', timezone: 'Mars/Olympus_Mons'})
    expect(error.message).toBe('unknown time zone "Mars/Olympus_Mons"')
    expect(error.extra.hint).toBe('use an IANA name such as UTC, Europe/Berlin or America/New_York')
  })

  it('normalises white space, defaults the time zone to UTC and keeps a given one', () => {
    expect(compileRule({cron: '  0   3 * *\t1-5 '}, ANCHOR)).toEqual({kind: 'cron', expression: '0 3 * * 1-5', timezone: 'UTC'})
    expect(cron('0 3 * * 1-5', 'Europe/Berlin')).toEqual({kind: 'cron', expression: '0 3 * * 1-5', timezone: 'Europe/Berlin'})
    expect(cron('0 3 * * MON-FRI')).toMatchObject({kind: 'cron', expression: '0 3 * * MON-FRI'})
  })
})

describe('nextRunAfter: every', () => {
  const rule = every('6h') // anchor 10:00Z: runs at 16:00, 22:00, 04:00, ...

  it('counts whole intervals from the anchor', () => {
    expect(nextRunAfter(rule, ANCHOR).toISOString()).toBe('2026-03-02T16:00:00.000Z')
    expect(nextRunAfter(rule, d('2026-03-02T13:17:42.123Z')).toISOString()).toBe('2026-03-02T16:00:00.000Z')
    expect(nextRunAfter(rule, d('2026-03-05T11:00:00.000Z')).toISOString()).toBe('2026-03-05T16:00:00.000Z')
    expect(runs(rule, '2026-03-02T10:00:00.000Z', 4)).toEqual([
      '2026-03-02T16:00:00.000Z',
      '2026-03-02T22:00:00.000Z',
      '2026-03-03T04:00:00.000Z',
      '2026-03-03T10:00:00.000Z',
    ])
  })

  it('is strictly after: on a run it gives the next one, a millisecond before it gives that run', () => {
    expect(nextRunAfter(rule, d('2026-03-02T16:00:00.000Z')).toISOString()).toBe('2026-03-02T22:00:00.000Z')
    expect(nextRunAfter(rule, d('2026-03-02T15:59:59.999Z')).toISOString()).toBe('2026-03-02T16:00:00.000Z')
    expect(nextRunAfter(rule, d('2026-03-02T16:00:00.001Z')).toISOString()).toBe('2026-03-02T22:00:00.000Z')
  })

  it('gives the anchor itself for a time before the anchor', () => {
    expect(nextRunAfter(rule, d('2026-03-01T00:00:00.000Z')).toISOString()).toBe('2026-03-02T10:00:00.000Z')
    expect(nextRunAfter(rule, d('2026-03-02T09:59:59.999Z')).toISOString()).toBe('2026-03-02T10:00:00.000Z')
  })

  it('does not drift: the 1000th run is exactly anchor + 1000 intervals, whatever the query points', () => {
    const seconds = every('1s', d('2026-03-02T10:00:00.250Z'))
    expect(nextRunAfter(seconds, d('2026-03-02T10:16:39.999Z')).toISOString()).toBe('2026-03-02T10:16:40.250Z')
    const weekly = every('1w')
    expect(nextRunAfter(weekly, d('2026-12-31T00:00:00.000Z')).toISOString()).toBe('2027-01-04T10:00:00.000Z')
  })

  it('is wall-clock independent: 1d across a DST change is always 24 hours', () => {
    const daily = every('1d', d('2026-03-07T07:30:00.000Z')) // 02:30 EST in New York
    expect(runs(daily, '2026-03-07T07:30:00.000Z', 3)).toEqual(['2026-03-08T07:30:00.000Z', '2026-03-09T07:30:00.000Z', '2026-03-10T07:30:00.000Z'])
  })
})

describe('nextRunAfter: cron in UTC', () => {
  it('finds the next matching minute, strictly after', () => {
    const rule = cron('0 3 * * *')
    expect(nextRunAfter(rule, d('2026-03-02T02:59:59.999Z')).toISOString()).toBe('2026-03-02T03:00:00.000Z')
    expect(nextRunAfter(rule, d('2026-03-02T03:00:00.000Z')).toISOString()).toBe('2026-03-03T03:00:00.000Z')
    expect(nextRunAfter(rule, d('2026-03-02T03:00:00.500Z')).toISOString()).toBe('2026-03-03T03:00:00.000Z')
    expect(runs(cron('*/15 * * * *'), '2026-03-02T02:59:59.999Z', 3)).toEqual(['2026-03-02T03:00:00.000Z', '2026-03-02T03:15:00.000Z', '2026-03-02T03:30:00.000Z'])
  })

  it('follows weekdays: 0 3 * * 1-5 skips the weekend (2026-03-06 is a Friday)', () => {
    expect(runs(cron('0 3 * * 1-5'), '2026-03-05T12:00:00.000Z', 3)).toEqual(['2026-03-06T03:00:00.000Z', '2026-03-09T03:00:00.000Z', '2026-03-10T03:00:00.000Z'])
    // 0 and 7 both mean Sunday
    expect(runs(cron('0 3 * * 7'), '2026-03-02T00:00:00.000Z', 2)).toEqual(['2026-03-08T03:00:00.000Z', '2026-03-15T03:00:00.000Z'])
    expect(runs(cron('0 3 * * 0'), '2026-03-02T00:00:00.000Z', 2)).toEqual(['2026-03-08T03:00:00.000Z', '2026-03-15T03:00:00.000Z'])
  })

  it('handles months and leap days', () => {
    expect(runs(cron('0 0 1 * *'), '2026-01-31T06:30:00.000Z', 2)).toEqual(['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'])
    expect(nextRunAfter(cron('0 0 29 2 *'), d('2026-01-01T00:00:00.000Z')).toISOString()).toBe('2028-02-29T00:00:00.000Z')
  })
})

describe('nextRunAfter: cron in a time zone with DST', () => {
  // America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
  const NY = 'America/New_York'

  it('weekdays at 03:00 New York time move from 08:00Z to 07:00Z across the spring change', () => {
    expect(runs(cron('0 3 * * 1-5', NY), '2026-03-05T12:00:00.000Z', 3)).toEqual([
      '2026-03-06T08:00:00.000Z', // Fri, EST
      '2026-03-09T07:00:00.000Z', // Mon, EDT (the Sunday of the change is not a weekday)
      '2026-03-10T07:00:00.000Z',
    ])
  })

  it('weekdays at 03:00 New York time move from 07:00Z to 08:00Z across the autumn change', () => {
    expect(runs(cron('0 3 * * 1-5', NY), '2026-10-29T12:00:00.000Z', 3)).toEqual([
      '2026-10-30T07:00:00.000Z', // Fri, EDT
      '2026-11-02T08:00:00.000Z', // Mon, EST
      '2026-11-03T08:00:00.000Z',
    ])
  })

  it('30 2 * * * on the spring-forward day (02:30 does not exist) runs once, at 03:30 EDT, and never twice', () => {
    const rule = cron('30 2 * * *', NY)
    const slots = runs(rule, '2026-03-06T12:00:00.000Z', 4)
    expect(slots).toEqual([
      '2026-03-07T07:30:00.000Z', // 02:30 EST
      '2026-03-08T07:30:00.000Z', // 03:30 EDT: 02:30 was skipped by the clock change
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
      '2026-03-10T06:30:00.000Z',
    ])
    expect(new Set(slots).size).toBe(slots.length)
    // asked from inside the missing hour's neighbourhood
    expect(nextRunAfter(rule, d('2026-03-08T06:59:00.000Z')).toISOString()).toBe('2026-03-08T07:30:00.000Z') // 01:59 EST
    expect(nextRunAfter(rule, d('2026-03-08T07:30:00.000Z')).toISOString()).toBe('2026-03-09T06:30:00.000Z')
  })

  it('an hourly rule has no 02:00 on the spring-forward day', () => {
    expect(runs(cron('0 * * * *', NY), '2026-03-08T06:30:00.000Z', 3)).toEqual([
      '2026-03-08T07:00:00.000Z', // 03:00 EDT follows 01:00 EST
      '2026-03-08T08:00:00.000Z',
      '2026-03-08T09:00:00.000Z',
    ])
  })

  it('30 1 * * * on the fall-back day (01:30 happens twice) runs once a day', () => {
    expect(runs(cron('30 1 * * *', NY), '2026-10-30T12:00:00.000Z', 4)).toEqual([
      '2026-10-31T05:30:00.000Z',
      '2026-11-01T05:30:00.000Z', // the first 01:30 (EDT)
      '2026-11-02T06:30:00.000Z', // EST
      '2026-11-03T06:30:00.000Z',
    ])
  })

  // nextRunAfter promises "the first run strictly after `after`". Chained from the first 01:30 (EDT)
  // it skips the second 01:30 (EST, 06:30Z); asked from 01:10 EST it answers 06:30Z. A rule's runs
  // must not depend on where one starts counting: otherwise a control plane that comes back (or a
  // schedule that is set) during the repeated hour fires a second time that day.
  it('the runs of a rule do not depend on the time one asks from (fall-back hour)', () => {
    const rule = cron('30 1 * * *', NY)
    const chained = runs(rule, '2026-10-31T12:00:00.000Z', 2) // Nov 1 05:30Z, Nov 2 06:30Z
    for (const from of ['2026-11-01T05:45:00.000Z', '2026-11-01T06:00:00.000Z', '2026-11-01T06:10:00.000Z', '2026-11-01T06:29:00.000Z']) {
      expect(nextRunAfter(rule, d(from)).toISOString(), `next run after ${from}`).toBe(chained[1])
    }
  })

  // Cron's own rule for the repeated hour (vixie cron, cronie: man 8 cron) applies only to jobs at a
  // particular time; "jobs which are specified with wildcards are run based on the new time
  // immediately". An every-15-minutes rule must not go quiet for the hour that repeats.
  it('an hourly rule runs every real hour through the fall-back hour', () => {
    expect(runs(cron('0 * * * *', NY), '2026-11-01T04:30:00.000Z', 3)).toEqual([
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T06:00:00.000Z', // 01:00 EST
      '2026-11-01T07:00:00.000Z', // 02:00 EST
    ])
  })

  it('an every-15-minutes rule keeps its cadence through the fall-back hour', () => {
    const quarter = runs(cron('*/15 * * * *', NY), '2026-11-01T04:50:00.000Z', 9)
    const gaps = quarter.slice(1).map((at, i) => (Date.parse(at) - Date.parse(quarter[i])) / 60_000)
    expect(quarter[0]).toBe('2026-11-01T05:00:00.000Z')
    expect(gaps).toEqual([15, 15, 15, 15, 15, 15, 15, 15])
  })

  it('Europe/Berlin: weekdays at 03:00 local across both changes of 2026', () => {
    // 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET
    expect(runs(cron('0 3 * * 1-5', 'Europe/Berlin'), '2026-03-26T12:00:00.000Z', 2)).toEqual(['2026-03-27T02:00:00.000Z', '2026-03-30T01:00:00.000Z'])
    expect(runs(cron('0 3 * * 1-5', 'Europe/Berlin'), '2026-10-22T12:00:00.000Z', 2)).toEqual(['2026-10-23T01:00:00.000Z', '2026-10-26T02:00:00.000Z'])
    expect(runs(cron('30 2 * * *', 'Europe/Berlin'), '2026-03-27T12:00:00.000Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:30:00.000Z', // 03:30 CEST: 02:30 did not exist
      '2026-03-30T00:30:00.000Z',
    ])
    expect(runs(cron('30 2 * * *', 'Europe/Berlin'), '2026-10-23T12:00:00.000Z', 3)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z', // the first 02:30 (CEST), once
      '2026-10-26T01:30:00.000Z',
    ])
  })

  it('the same expression in UTC and in a zone differs by the offset', () => {
    expect(nextRunAfter(cron('0 9 * * *'), d('2026-06-01T00:00:00.000Z')).toISOString()).toBe('2026-06-01T09:00:00.000Z')
    expect(nextRunAfter(cron('0 9 * * *', 'Europe/Berlin'), d('2026-06-01T00:00:00.000Z')).toISOString()).toBe('2026-06-01T07:00:00.000Z')
    expect(nextRunAfter(cron('0 9 * * *', NY), d('2026-06-01T00:00:00.000Z')).toISOString()).toBe('2026-06-01T13:00:00.000Z')
  })
})

describe('dueRuns: catch-up', () => {
  const hourly = every('1h') // anchor 10:00Z

  it('returns nothing when the first run is not due yet', () => {
    expect(dueRuns(hourly, d('2026-03-02T11:00:00.000Z'), d('2026-03-02T10:59:59.999Z'))).toEqual([])
  })

  it('returns the first run alone when it is just due', () => {
    expect(iso(dueRuns(hourly, d('2026-03-02T11:00:00.000Z'), d('2026-03-02T11:00:00.000Z')))).toEqual(['2026-03-02T11:00:00.000Z'])
    expect(iso(dueRuns(hourly, d('2026-03-02T11:00:00.000Z'), d('2026-03-02T11:59:59.999Z')))).toEqual(['2026-03-02T11:00:00.000Z'])
  })

  it('returns every missed run, oldest first, including one exactly at now', () => {
    expect(iso(dueRuns(hourly, d('2026-03-02T11:00:00.000Z'), d('2026-03-02T13:30:00.000Z')))).toEqual([
      '2026-03-02T11:00:00.000Z',
      '2026-03-02T12:00:00.000Z',
      '2026-03-02T13:00:00.000Z',
    ])
    expect(iso(dueRuns(hourly, d('2026-03-02T11:00:00.000Z'), d('2026-03-02T14:00:00.000Z')))).toHaveLength(4)
  })

  it('keeps the newest `limit` runs', () => {
    expect(iso(dueRuns(hourly, d('2026-03-02T11:00:00.000Z'), d('2026-03-02T15:10:00.000Z'), 2))).toEqual(['2026-03-02T14:00:00.000Z', '2026-03-02T15:00:00.000Z'])
    expect(iso(dueRuns(hourly, d('2026-03-02T11:00:00.000Z'), d('2026-03-02T15:10:00.000Z'), 1))).toEqual(['2026-03-02T15:00:00.000Z'])
    // the default keeps 100
    const many = dueRuns(every('1s'), d('2026-03-02T10:00:01.000Z'), d('2026-03-02T10:10:00.000Z'))
    expect(many).toHaveLength(100)
    expect(many[99].toISOString()).toBe('2026-03-02T10:10:00.000Z')
    expect(many[0].toISOString()).toBe('2026-03-02T10:08:21.000Z')
  })

  it('catches up cron runs across a DST change, each local 02:30 once', () => {
    expect(iso(dueRuns(cron('30 2 * * *', 'America/New_York'), d('2026-03-07T07:30:00.000Z'), d('2026-03-09T12:00:00.000Z')))).toEqual([
      '2026-03-07T07:30:00.000Z',
      '2026-03-08T07:30:00.000Z',
      '2026-03-09T06:30:00.000Z',
    ])
  })
})
