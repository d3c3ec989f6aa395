// A release's deadlines as a trigger asks for them (--deadline, --expire-after), pure: read, checked and
// turned into instants. A deadline counts from the start of the run; an expiry from the trigger.
import {DurationError, parseDuration} from '../../../api/duration.js'
import {invalid} from '../../errors.js'

/** The shortest deadline or expiry accepted. */
export const MIN_DEADLINE_MS = 1000
/** The longest: a release that may run or wait longer than this needs no deadline. */
export const MAX_DEADLINE_MS = 30 * 86_400_000

function readDeadline(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined
  let ms: number
  try {
    ms = parseDuration(text)
  } catch (error) {
    if (error instanceof DurationError) throw invalid(`${flag}: ${error.message}`)
    throw error
  }
  if (ms < MIN_DEADLINE_MS || ms > MAX_DEADLINE_MS) throw invalid(`${flag} must be between 1s and 30d`, `e.g. ${flag} 30m`)
  return ms
}

/** The deadline and expiry a request asks for, in milliseconds. */
export function readDeadlines(request: {deadline?: string; expireAfter?: string}): {deadlineMs?: number; expireAfterMs?: number} {
  const deadlineMs = readDeadline(request.deadline, '--deadline')
  const expireAfterMs = readDeadline(request.expireAfter, '--expire-after')
  return {...(deadlineMs !== undefined && {deadlineMs}), ...(expireAfterMs !== undefined && {expireAfterMs})}
}

/** An instant some milliseconds after another, as the store records it. */
export function after(at: string, ms: number): string {
  return new Date(Date.parse(at) + ms).toISOString()
}
