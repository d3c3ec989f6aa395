// Schedule arithmetic, pure: when the runs of a rule fall. `every` rules count whole intervals from
// their anchor (the time the schedule was set), so they never drift; cron rules follow the wall clock
// of their time zone, DST included (cron-parser).
import {CronExpressionParser} from 'cron-parser'

import {DurationError, parseDuration} from '../../../api/duration.js'
import type {ScheduleRule} from '../../../api/schemas.js'
import {invalid} from '../../errors.js'

export const MIN_INTERVAL_MS = 1000

export type CompiledRule = {kind: 'every'; everyMs: number; anchor: number} | {kind: 'cron'; expression: string; timezone: string}

/** Checks a rule as a user wrote it; throws an invalid-input error that says how to write it. */
export function compileRule(rule: ScheduleRule, anchor: Date): CompiledRule {
  if (Boolean(rule.every) === Boolean(rule.cron)) throw invalid('a schedule needs exactly one of --every or --cron', 'e.g. --every 6h, or --cron "0 3 * * 1-5"')
  if (rule.every) {
    if (rule.timezone) throw invalid('--timezone goes with --cron; an --every interval is the same in every time zone')
    let everyMs: number
    try {
      everyMs = parseDuration(rule.every)
    } catch (error) {
      if (error instanceof DurationError) throw invalid(`--every: ${error.message}`)
      throw error
    }
    if (everyMs < MIN_INTERVAL_MS) throw invalid('--every must be at least 1s')
    return {kind: 'every', everyMs, anchor: anchor.getTime()}
  }
  const expression = (rule.cron as string).trim().replace(/\s+/g, ' ')
  if (expression.split(' ').length !== 5) {
    throw invalid(`"${rule.cron}" is not a five-field cron expression`, 'write minute hour day-of-month month day-of-week, e.g. "0 3 * * 1-5" for 03:00 on weekdays')
  }
  const timezone = rule.timezone ?? 'UTC'
  try {
    new Intl.DateTimeFormat('en-US', {timeZone: timezone})
  } catch {
    throw invalid(`unknown time zone "${timezone}"`, 'use an IANA name such as UTC, Europe/Berlin or America/New_York')
  }
  try {
    CronExpressionParser.parse(expression, {tz: timezone, strict: false})
  } catch (error) {
    throw invalid(`"${rule.cron}" is not a valid cron expression: ${(error as Error).message}`, 'fields: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12) day-of-week (0-7)')
  }
  return {kind: 'cron', expression, timezone}
}

/** The first run strictly after `after`. */
export function nextRunAfter(rule: CompiledRule, after: Date): Date {
  if (rule.kind === 'every') {
    const elapsed = after.getTime() - rule.anchor
    const intervals = elapsed < 0 ? 0 : Math.floor(elapsed / rule.everyMs) + 1
    return new Date(rule.anchor + intervals * rule.everyMs)
  }
  const next = CronExpressionParser.parse(rule.expression, {currentDate: after, tz: rule.timezone}).next().toDate()
  return isRepeatedRun(rule, next) ? nextRunAfter(rule, next) : next
}

/**
 * When clocks fall back, a wall-clock time happens twice. As in cron(8), a rule for a particular time (no
 * wildcard in its minute and hour fields) runs at the first occurrence only; wildcard rules keep their
 * cadence in real time. True for a run at the second occurrence, which does not happen.
 */
function isRepeatedRun(rule: Extract<CompiledRule, {kind: 'cron'}>, run: Date): boolean {
  const [minute, hour] = rule.expression.split(' ')
  if (minute.includes('*') || hour.includes('*')) return false
  const wallClock = localMinute(rule.timezone)
  return [30, 60].some((minutes) => wallClock(new Date(run.getTime() - minutes * 60_000)) === wallClock(run))
}

/** The last run of a cron rule at or before `at` (the runs are those of nextRunAfter); null when there is none. */
export function lastRunAtOrBefore(rule: Extract<CompiledRule, {kind: 'cron'}>, at: Date): Date | null {
  const runs = CronExpressionParser.parse(rule.expression, {currentDate: new Date(at.getTime() + 1), tz: rule.timezone})
  // A repeated wall-clock time is skipped; the one before it is a run.
  for (let tries = 0; tries < 3; tries++) {
    let run: Date
    try {
      run = runs.prev().toDate()
    } catch {
      // a rule whose runs never come (30 February) has none before either
      return null
    }
    if (!isRepeatedRun(rule, run)) return run
  }
  return null
}

function localMinute(timeZone: string): (date: Date) => string {
  const format = new Intl.DateTimeFormat('en-CA', {timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'})
  return (date) => format.format(date)
}

/**
 * The runs due from `firstDue` (itself due) up to `now`, oldest first, at most `limit` (the newest kept).
 * A control plane that was down fires only the newest and records the others as missed.
 */
export function dueRuns(rule: CompiledRule, firstDue: Date, now: Date, limit = 100): Date[] {
  if (firstDue.getTime() > now.getTime()) return []
  const due: Date[] = [firstDue]
  for (let next = nextRunAfter(rule, firstDue); next.getTime() <= now.getTime(); next = nextRunAfter(rule, next)) {
    due.push(next)
    if (due.length > limit) due.shift()
  }
  return due
}
