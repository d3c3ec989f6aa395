// The event stream's vocabulary, shared by the CLI and the control plane; no dependencies, cheap to import.
// Every change the control plane records appends one event of one of these kinds, carrying the state
// after the change (docs/events.md).
import type {ReleaseStatus} from './domain.js'

export const EVENT_KINDS = [
  'release.created',
  'release.pending_approval',
  'release.approved',
  'release.rejected',
  'release.queued',
  'release.started',
  'release.succeeded',
  'release.failed',
  'release.cancelled',
  'task.started',
  'task.ended',
  'app.changed',
  'log',
  'pause.changed',
  'freeze.changed',
  'block.changed',
  'settings.changed',
  'schedule.fired',
  'schedule.skipped',
  'replica.lost',
  'pipeline.created',
  'pipeline.started',
  'pipeline.stage',
  'pipeline.waiting',
  'pipeline.approved',
  'pipeline.rejected',
  'pipeline.succeeded',
  'pipeline.failed',
  'pipeline.cancelled',
  'pipeline.superseded',
] as const

export type EventKind = (typeof EVENT_KINDS)[number]

/** The event a release's new status appends: `running` reads as started. */
export function releaseStatusEvent(status: ReleaseStatus): EventKind {
  return status === 'running' ? 'release.started' : (`release.${status}` as EventKind)
}

/** The release kinds that end a release. */
export const RELEASE_END_EVENTS: readonly EventKind[] = ['release.succeeded', 'release.failed', 'release.cancelled', 'release.rejected']

/** How long the event stream's heartbeat comment waits, and a long poll at most. */
export const STREAM_HEARTBEAT_MS = 15_000
export const LONG_POLL_MAX_MS = 60_000

/**
 * What a filter on kinds may say: kinds, and `*` for any run of characters (`release.*`, `*.failed`,
 * `*`). A pattern that matches no kind is a typo: it gets the list of kinds instead of silence.
 */
export function kindPatternProblem(pattern: string): string | null {
  if (pattern === '') return 'an empty kind pattern; give kinds such as release.*,task.ended'
  return EVENT_KINDS.some(kindMatcher([pattern])) ? null : `"${pattern}" matches no event kind; the kinds are ${EVENT_KINDS.join(', ')}`
}

/** A test of kinds against patterns; no patterns match everything. */
export function kindMatcher(patterns: readonly string[]): (kind: string) => boolean {
  if (patterns.length === 0 || patterns.includes('*')) return () => true
  const regex = new RegExp(`^(?:${patterns.map((pattern) => pattern.split('*').map(escapeRegex).join('.*')).join('|')})$`)
  return (kind) => regex.test(kind)
}

function escapeRegex(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
}

/** Events are kept this long (server start --event-retention); a stream cannot resume from before it. */
export const DEFAULT_EVENT_RETENTION = '7d'
export const DEFAULT_EVENT_RETENTION_MS = 7 * 86_400_000

/** A failed notification is retried after this (server start --notify-retry-min), then twice as long each time, up to an hour. */
export const DEFAULT_NOTIFY_RETRY_MIN = '10s'
export const DEFAULT_NOTIFY_RETRY_MIN_MS = 10_000
/** ...for this long before it is given up (server start --notify-retry-for). */
export const DEFAULT_NOTIFY_RETRY_FOR = '24h'
export const DEFAULT_NOTIFY_RETRY_FOR_MS = 86_400_000
/** The internal networks notifications may reach unless server start --notify-allow-network says otherwise: this machine. */
export const DEFAULT_NOTIFY_ALLOWED_NETWORKS = ['127.0.0.1/32']
