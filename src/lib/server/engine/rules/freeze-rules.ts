// Freeze arithmetic, pure: when a freeze's windows open and close, which hold at an instant, and until
// when releases stay frozen. A one-off window is two instants; a recurring one starts at each run of a
// cron rule in its time zone (DST included, as schedules: rules/schedule-rules.ts) and lasts its duration
// on that time zone's wall clock, so "Friday 18:00 for 62h" ends on Monday 08:00 local time also on the
// weekend the clocks change.
import type {ScopeLevel} from '../../../api/domain.js'
import {DurationError, parseDuration} from '../../../api/duration.js'
import type {FreezeWindow} from '../../../api/schemas.js'
import {ControlPlaneError, invalid} from '../../errors.js'
import type {FreezeRecord, NewFreeze} from '../../store/store.js'
import {type CompiledRule, compileRule, lastRunAtOrBefore, nextRunAfter} from './schedule-rules.js'

/** How many windows in a row are followed when they touch (one freeze's ends as another's starts). */
const MAX_CHAINED_WINDOWS = 1000
/** A recurring window lasts at least this long, and at most this long. */
const MIN_DURATION_MS = 1000
const MAX_DURATION_MS = 366 * 86_400_000

export interface Window {
  startsAt: Date
  endsAt: Date
}

/** What holds an environment frozen at an instant: the windows in force and when releases may start again. */
export interface FreezeHold {
  /** the window in force that ends last (the one a message names), with its freeze */
  freeze: FreezeRecord
  window: Window
  /** when no window holds any more: windows that overlap or touch are followed to their end */
  until: Date
  /** every freeze with a window in force */
  freezes: FreezeRecord[]
}

export function levelOf(scope: {project: string | null; environment: string | null}): ScopeLevel {
  return scope.project === null ? 'control-plane' : scope.environment === null ? 'project' : 'environment'
}

/** "the control plane", "project shop", "shop/prod" */
function scopeText(scope: {project: string | null; environment: string | null}): string {
  if (scope.project === null) return 'the whole control plane'
  return scope.environment === null ? `project ${scope.project}` : `${scope.project}/${scope.environment}`
}

// ---- time zones ----

function checkTimeZone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', {timeZone: timezone})
  } catch {
    throw invalid(`unknown time zone "${timezone}"`, 'use an IANA name such as UTC, Europe/Berlin or America/New_York')
  }
}

const formats = new Map<string, Intl.DateTimeFormat>()

/** The wall-clock time of an instant in a time zone, as milliseconds of a UTC clock showing the same digits. */
function wallClock(instant: number, timezone: string): number {
  let format = formats.get(timezone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric'})
    formats.set(timezone, format)
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(instant)).map((part) => [part.type, part.value]))
  const seconds = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second))
  return seconds + (((instant % 1000) + 1000) % 1000)
}

/**
 * The instant a wall-clock time (digits as a UTC clock's milliseconds) has in a time zone. A time that
 * happens twice (clocks fall back) is its first occurrence; one that never happens (clocks spring forward)
 * is read with the offset before the change, which lands as far after the change as it was into the gap.
 */
export function zonedToUtc(local: number, timezone: string): number {
  const before = local - 86_400_000
  const after = local + 86_400_000
  const offsets = [wallClock(before, timezone) - before, wallClock(after, timezone) - after]
  const candidates = [...new Set(offsets.map((offset) => local - offset))].filter((instant) => wallClock(instant, timezone) === local)
  if (candidates.length > 0) return Math.min(...candidates)
  return local - offsets[0]
}

const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?$/
const ABSOLUTE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i

/**
 * A point in time as a person writes it for --from and --to: 2026-12-20, 2026-12-20T18:00 or with seconds,
 * read in the time zone; or with its own offset (2026-12-20T18:00Z, ...+01:00), which says it all.
 */
export function parseFreezeTime(text: string, timezone: string, flag: string): Date {
  const trimmed = text.trim()
  if (ABSOLUTE_TIME.test(trimmed)) {
    const instant = Date.parse(trimmed.replace(' ', 'T'))
    if (Number.isFinite(instant)) return new Date(instant)
  }
  const match = LOCAL_TIME.exec(trimmed)
  if (match) {
    const [, year, month, day, hour = '0', minute = '0', second = '0', millis = '0'] = match
    const local = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second), Number(millis.padEnd(3, '0')))
    const back = new Date(local)
    // Date.UTC rolls 2026-02-30 over into March: a date that does not exist is refused instead.
    if (back.getUTCMonth() === Number(month) - 1 && back.getUTCDate() === Number(day) && Number(hour) < 24 && Number(minute) < 60 && Number(second) < 60) {
      return new Date(zonedToUtc(local, timezone))
    }
  }
  throw invalid(
    `${flag}: "${text}" is not a date and time`,
    `write 2026-12-20T18:00 (read in --timezone, default UTC), or with an offset: 2026-12-20T18:00Z, 2026-12-20T18:00+01:00`,
  )
}

// ---- freezes as asked for ----

export interface FreezeInput {
  from?: string
  to?: string
  cron?: string
  duration?: string
  timezone?: string
}

/** Checks a freeze as a user wrote it; throws an invalid-input error that says how to write it. */
export function compileFreeze(input: FreezeInput, now: Date): Pick<NewFreeze, 'from' | 'to' | 'cron' | 'durationMs' | 'timezone'> {
  const timezone = input.timezone ?? 'UTC'
  checkTimeZone(timezone)
  const oneOff = input.from !== undefined || input.to !== undefined
  const recurring = input.cron !== undefined || input.duration !== undefined
  if (oneOff === recurring) {
    throw invalid('a freeze is one window (--from and --to) or a recurring one (--cron and --duration)', 'e.g. --from 2026-12-20T18:00 --to 2027-01-04T08:00, or --cron "0 18 * * 5" --duration 62h')
  }
  if (oneOff) {
    if (input.from === undefined || input.to === undefined) throw invalid(`a one-off freeze needs both --from and --to; ${input.from === undefined ? '--from' : '--to'} is missing`)
    const from = parseFreezeTime(input.from, timezone, '--from')
    const to = parseFreezeTime(input.to, timezone, '--to')
    if (to.getTime() <= from.getTime()) throw invalid(`--to (${to.toISOString()}) must be after --from (${from.toISOString()})`)
    if (to.getTime() <= now.getTime()) throw invalid(`the window ended already (--to is ${to.toISOString()}, now is ${now.toISOString()}); a freeze that never holds changes nothing`)
    return {from: from.toISOString(), to: to.toISOString(), cron: null, durationMs: null, timezone}
  }
  if (input.cron === undefined || input.duration === undefined) throw invalid(`a recurring freeze needs both --cron and --duration; ${input.cron === undefined ? '--cron' : '--duration'} is missing`)
  let durationMs: number
  try {
    durationMs = parseDuration(input.duration)
  } catch (error) {
    if (error instanceof DurationError) throw invalid(`--duration: ${error.message}`)
    throw error
  }
  if (durationMs < MIN_DURATION_MS || durationMs > MAX_DURATION_MS) throw invalid('--duration must be between 1s and 366d')
  const rule = compileRule({cron: input.cron, timezone}, now)
  const compiled = {from: null, to: null, cron: rule.kind === 'cron' ? rule.expression : input.cron, durationMs, timezone}
  checkNoOverlap(compiled, now)
  return compiled
}

// ---- windows ----

function cronOf(freeze: Pick<FreezeRecord, 'cron' | 'timezone'>): Extract<CompiledRule, {kind: 'cron'}> {
  return {kind: 'cron', expression: freeze.cron as string, timezone: freeze.timezone}
}

/** The end of a recurring window that starts at `start`: its duration later on the time zone's wall clock. */
function recurringEnd(freeze: Pick<FreezeRecord, 'durationMs' | 'timezone'>, start: Date): Date {
  return new Date(zonedToUtc(wallClock(start.getTime(), freeze.timezone) + (freeze.durationMs as number), freeze.timezone))
}

/**
 * Refuses a recurring freeze whose windows would overlap (a duration as long as the time between two
 * starts, looked at over the next year): it would never lift between them, which is a pause.
 */
function checkNoOverlap(freeze: Pick<FreezeRecord, 'cron' | 'durationMs' | 'timezone'>, now: Date): void {
  const rule = cronOf(freeze)
  const horizon = now.getTime() + 366 * 86_400_000
  let start = nextRunAfter(rule, now)
  for (let count = 0; count < 1000 && start.getTime() < horizon; count++) {
    const next = nextRunAfter(rule, start)
    if (recurringEnd(freeze, start).getTime() > next.getTime()) {
      throw invalid(
        `the windows would overlap: one starts at ${start.toISOString()} and lasts until ${recurringEnd(freeze, start).toISOString()}, after the next one starts (${next.toISOString()})`,
        'use a shorter --duration, or a rule with fewer runs; to stop releases until further notice, pause them (relctl pause)',
      )
    }
    start = next
  }
}

/** Recurring windows worked out, by freeze: a window holds for every instant inside it, no window until the next start. */
const recurringWindows = new Map<string, {from: number; until: number; window: Window | null}>()
const RECURRING_WINDOWS_KEPT = 1000

function recurringWindowAt(freeze: FreezeRecord, at: Date): Window | null {
  const key = `${freeze.id}\u0000${freeze.cron}\u0000${freeze.durationMs}\u0000${freeze.timezone}`
  const cached = recurringWindows.get(key)
  if (cached && cached.from <= at.getTime() && at.getTime() < cached.until) return cached.window
  const rule = cronOf(freeze)
  const start = lastRunAtOrBefore(rule, at)
  let window: Window | null = null
  if (start) {
    const endsAt = recurringEnd(freeze, start)
    if (endsAt.getTime() > at.getTime()) window = {startsAt: start, endsAt}
  }
  const entry = window ? {from: window.startsAt.getTime(), until: window.endsAt.getTime(), window} : {from: at.getTime(), until: nextRunAfter(rule, at).getTime(), window}
  if (recurringWindows.size >= RECURRING_WINDOWS_KEPT) recurringWindows.clear()
  recurringWindows.set(key, entry)
  return window
}

/** The window of a freeze in force at `at`, if any. */
export function windowAt(freeze: FreezeRecord, at: Date): Window | null {
  if (freeze.cron !== null) return recurringWindowAt(freeze, at)
  const startsAt = new Date(freeze.from as string)
  const endsAt = new Date(freeze.to as string)
  return startsAt.getTime() <= at.getTime() && at.getTime() < endsAt.getTime() ? {startsAt, endsAt} : null
}

/** The next window of a freeze that starts after `at` (not the one in force). */
export function nextWindow(freeze: FreezeRecord, at: Date): Window | null {
  if (freeze.cron === null) {
    const startsAt = new Date(freeze.from as string)
    return startsAt.getTime() > at.getTime() ? {startsAt, endsAt: new Date(freeze.to as string)} : null
  }
  const startsAt = nextRunAfter(cronOf(freeze), at)
  return {startsAt, endsAt: recurringEnd(freeze, startsAt)}
}

/**
 * Whether releases are frozen at `now` by any of the freezes given, and until when: the windows in force
 * are followed while another freeze's window opens before (or as) the last one ends.
 */
export function freezeAt(freezes: FreezeRecord[], now: Date): FreezeHold | null {
  const inForce = freezes.map((freeze) => ({freeze, window: windowAt(freeze, now)})).filter((entry): entry is {freeze: FreezeRecord; window: Window} => entry.window !== null)
  if (inForce.length === 0) return null
  const longest = inForce.reduce((best, entry) => (entry.window.endsAt.getTime() > best.window.endsAt.getTime() ? entry : best))
  let until = longest.window.endsAt
  for (let count = 0; count < MAX_CHAINED_WINDOWS; count++) {
    const later = freezes.map((freeze) => windowAt(freeze, until)).filter((window): window is Window => window !== null && window.endsAt.getTime() > until.getTime())
    if (later.length === 0) break
    until = new Date(Math.max(...later.map((window) => window.endsAt.getTime())))
  }
  return {freeze: longest.freeze, window: longest.window, until, freezes: inForce.map((entry) => entry.freeze)}
}

/** The window of each freeze in force at `now`, and the next window of each, in the order they start. */
export function windowsOf(freezes: FreezeRecord[], now: Date): FreezeWindow[] {
  const windows: FreezeWindow[] = []
  for (const freeze of freezes) {
    const scope = {freeze: freeze.id, level: levelOf(freeze), project: freeze.project, environment: freeze.environment, reason: freeze.reason}
    const current = windowAt(freeze, now)
    if (current) windows.push({...scope, startsAt: current.startsAt.toISOString(), endsAt: current.endsAt.toISOString(), inForce: true})
    const next = nextWindow(freeze, now)
    if (next) windows.push({...scope, startsAt: next.startsAt.toISOString(), endsAt: next.endsAt.toISOString(), inForce: false})
  }
  return windows.sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.freeze - b.freeze)
}

// ---- wording ----

/** "freeze until 2027-01-04T07:00:00.000Z: year-end (freeze 3 on project shop, by alice)" */
export function describeFreeze(hold: FreezeHold): string {
  const others = hold.freezes.length > 1 ? `; ${hold.freezes.length - 1} more freeze${hold.freezes.length > 2 ? 's hold' : ' holds'} too` : ''
  return `freeze until ${hold.until.toISOString()}: ${hold.freeze.reason} (freeze ${hold.freeze.id} on ${scopeText(hold.freeze)}, by ${hold.freeze.createdBy}${others})`
}

/** The refusal of a trigger while a freeze holds: which window, until when, why, and the ways through. */
export function frozenError(hold: FreezeHold): ControlPlaneError {
  return new ControlPlaneError('frozen', `releases are frozen: ${describeFreeze(hold)}; nothing was queued`, {
    hint: 'to start it when the freeze ends, trigger with --on-freeze queue; an operator may start it now with --override-freeze --reason "..."',
  })
}
