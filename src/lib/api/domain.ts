// Domain vocabulary shared by the CLI and the control plane; no dependencies, cheap to import.

export const RELEASE_TYPES = ['launch', 'full', 'selective', 'custom', 'destroy', 'rollback'] as const
export const RELEASE_STATUSES = ['pending_approval', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'rejected'] as const
export const FINAL_RELEASE_STATUSES = ['succeeded', 'failed', 'cancelled', 'rejected'] as const
export const TASK_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled', 'interrupted'] as const
export const ACTIONS = ['create', 'update', 'delete'] as const
export const SYNC_STATES = ['Synced', 'OutOfSync', 'Unknown'] as const
export const HEALTH_STATES = ['Healthy', 'Progressing', 'Degraded', 'Missing', 'Unknown'] as const
export const SOURCES = ['cli', 'api', 'schedule', 'pipeline'] as const
export const SETTING_SOURCES = ['default', 'control-plane', 'environment'] as const
export const DEFAULT_MAX_PARALLEL = 10
export const WAIT_REASONS = ['serial', 'conflict', 'max-parallel', 'approval', 'paused', 'freeze', 'capacity'] as const
/**
 * Why a release ended when the engine ended it on its own: it ran past its --deadline (failed), it was not
 * started within its --expire-after (cancelled), or a newer release of a supersede queue replaced it
 * (cancelled). null for every other end.
 */
export const END_REASONS = ['deadline', 'expired', 'superseded'] as const
/** An environment's queue: first in, first out (the default), or a newer release replaces the queued ones it covers. */
export const QUEUE_MODES = ['fifo', 'supersede'] as const
export const DEFAULT_QUEUE_MODE = 'fifo'
/** Where a freeze or a pause applies: the whole control plane, one project (every environment), or one environment. */
export const SCOPE_LEVELS = ['control-plane', 'project', 'environment'] as const
/** How many attempts a resource's deploy may take (blueprint retries.attempts). */
export const MAX_ATTEMPTS = 10
/** How many distinct approvers a release needs where the approval workflow is on, unless set (settings set-approval --required). */
export const DEFAULT_APPROVALS_REQUIRED = 1
export const MAX_APPROVALS_REQUIRED = 20

/**
 * Roles of a token's grants, from the least to the most it may do. What each may do is stated once, on
 * the server (server/access/roles.ts); docs/security.md has the table.
 */
export const ROLES = ['viewer', 'deployer', 'approver', 'operator', 'admin'] as const
/** The name of the token the control plane makes at its first start (or takes from --token, --token-file, RELCTL_SERVER_TOKEN). */
export const ADMIN_TOKEN_NAME = 'admin'
/** Every token starts with this, so that secret scanners can find one that leaked. */
export const TOKEN_PREFIX = 'relctl_'

/** A pipeline run: queued behind an older run of its pipeline (queue: fifo), running, or ended. */
export const PIPELINE_RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'rejected', 'superseded'] as const
export const FINAL_PIPELINE_RUN_STATUSES = ['succeeded', 'failed', 'cancelled', 'rejected', 'superseded'] as const
/** What a pipeline run waits for, when it waits. */
export const PIPELINE_WAIT_REASONS = ['queue', 'approval', 'release', 'soak', 'paused', 'freeze', 'rollback'] as const

export type ReleaseType = (typeof RELEASE_TYPES)[number]
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number]
export type TaskStatus = (typeof TASK_STATUSES)[number]
export type Action = (typeof ACTIONS)[number]
export type Health = (typeof HEALTH_STATES)[number]
export type SyncState = (typeof SYNC_STATES)[number]
export type WaitReason = (typeof WAIT_REASONS)[number]
export type Role = (typeof ROLES)[number]
export type EndReason = (typeof END_REASONS)[number]
export type QueueMode = (typeof QUEUE_MODES)[number]
export type ScopeLevel = (typeof SCOPE_LEVELS)[number]
export type PipelineRunStatus = (typeof PIPELINE_RUN_STATUSES)[number]
export type PipelineWaitReason = (typeof PIPELINE_WAIT_REASONS)[number]

export function isFinalRunStatus(status: PipelineRunStatus): boolean {
  return (FINAL_PIPELINE_RUN_STATUSES as readonly string[]).includes(status)
}

/**
 * Names of projects, environments, resources, targets and steps: the one rule, checked by the blueprint
 * parser and by the API's schemas alike.
 */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/
export const NAME_RULE = 'use lower-case letters, digits, ".", "_" and "-", starting and ending with a letter or digit (at most 63)'

/** Versions are free text without control characters (NUL, newline, tab, DEL...): they reach drivers as arguments. */
export const VERSION_PATTERN = /^[^\u0000-\u001f\u007f-\u009f]{1,200}$/u
export const VERSION_RULE = 'use 1 to 200 characters without control characters (NUL, newline, tab...), e.g. "1.4.2"'

/** Synced: what is deployed is what is desired, and the app is still in the blueprint. */
export function appSync(app: {removed: boolean; desiredVersion: string | null; deployedVersion: string | null}): SyncState {
  return !app.removed && app.deployedVersion !== null && app.deployedVersion === app.desiredVersion ? 'Synced' : 'OutOfSync'
}

/** A comma-separated list as flags and query strings give it ("api, web,,api" -> ["api", "web"]). */
export function splitList(text: string): string[] {
  return [...new Set(text.split(',').map((item) => item.trim()).filter(Boolean))]
}

/** A release that still holds its environment's queue or locks: waiting for approval, queued or running. */
export const ACTIVE_STATUSES: ReleaseStatus[] = ['pending_approval', 'queued', 'running']

/** A listing of one environment's queue: every active status, oldest first (the head of its queue when it has a limit). */
export function isQueueListing(filter: {project?: string; environment?: string; statuses?: readonly ReleaseStatus[]; order?: 'asc' | 'desc'}): boolean {
  const statuses = new Set(filter.statuses ?? [])
  return Boolean(filter.project && filter.environment) && filter.order === 'asc' && statuses.size === ACTIVE_STATUSES.length && ACTIVE_STATUSES.every((status) => statuses.has(status))
}

export function isFinalStatus(status: ReleaseStatus): boolean {
  return (FINAL_RELEASE_STATUSES as readonly string[]).includes(status)
}

/** Error codes of the API's error body, and the CLI exit code each maps to. */
export const ERROR_EXIT_CODES = {
  invalid_input: 2,
  invalid_blueprint: 2,
  plan_too_large: 2,
  too_large: 2,
  not_found: 9,
  unauthorized: 7,
  forbidden: 7,
  throttled: 7,
  state_lock: 5,
  paused: 6,
  /** a freeze window is open (trigger with --on-freeze queue, or an operator's --override-freeze) */
  frozen: 6,
  /** the release would deploy a version blocked with relctl app block */
  blocked_version: 2,
  /** an event stream resumed from an event older than the retention: start over from now */
  gone: 2,
  /** a replica that is stopping, or serves as many streams as it may: try another or later */
  unavailable: 8,
  internal: 1,
} as const

export type ErrorCode = keyof typeof ERROR_EXIT_CODES

export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  releaseFailed: 3,
  timeout: 4,
  stateLock: 5,
  paused: 6,
  auth: 7,
  unreachable: 8,
  notFound: 9,
  /** a wait ended by SIGINT (Ctrl-C) or SIGTERM; the release goes on (128 + the signal's number) */
  interrupted: 130,
  terminated: 143,
} as const

/** The signals that end a wait, and the exit code of each. */
export const SIGNAL_EXIT_CODES = {SIGINT: EXIT.interrupted, SIGTERM: EXIT.terminated} as const
