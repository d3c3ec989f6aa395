// Durations as people write them: "1500ms", "30s", "15m", "6h", "1d", "2w", or a sum such as "1h30m".
// Shared by the blueprint (timeouts, simulate durations) and the CLI (--timeout, --interval).

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/

export class DurationError extends Error {}

/** Parses a duration into milliseconds; throws DurationError with a message that shows valid forms. */
export function parseDuration(text: string): number {
  const trimmed = String(text).trim()
  if (!WHOLE.test(trimmed)) {
    throw new DurationError(`"${text}" is not a duration; write a number and a unit, such as 1500ms, 30s, 15m, 6h, 1d, 2w or 1h30m`)
  }
  let total = 0
  for (const match of trimmed.matchAll(PART)) total += Number(match[1]) * UNIT_MS[match[2]]
  if (total <= 0) throw new DurationError(`"${text}" must be longer than zero`)
  return Math.round(total)
}

/** Formats milliseconds compactly for people: 850ms, 12.3s, 4m05s, 2h10m. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  // Below 59.95 s one decimal cannot round up to "60.0s".
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`
  const totalSeconds = Math.round(ms / 1000)
  if (totalSeconds < 3600) {
    const minutes = Math.floor(totalSeconds / 60)
    return `${minutes}m${String(totalSeconds % 60).padStart(2, '0')}s`
  }
  const totalMinutes = Math.round(totalSeconds / 60)
  return `${Math.floor(totalMinutes / 60)}h${String(totalMinutes % 60).padStart(2, '0')}m`
}

/** A duration as the blueprint would write it, in whole units: 10m, 1h30m, 2s, 1500ms. */
export function durationText(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ]
  if (ms % 1000 !== 0) return `${Math.round(ms)}ms`
  let left = ms
  let text = ''
  for (const [unit, size] of units) {
    if (left >= size) {
      text += `${Math.floor(left / size)}${unit}`
      left %= size
    }
  }
  return text || '0s'
}
