// The records the Store reads and writes: projects, environments and apps, releases and their tasks and
// log lines, settings, freezes, replicas, events, notifications and deliveries, tokens and the audit
// log, pipeline runs; and the filters and patches its methods take. store.ts re-exports them all.
import type {EventKind} from '../../api/events.js'
import type {Action, EndReason, Health, PipelineRunStatus, QueueMode, ReleaseStatus, ReleaseType, TaskStatus} from '../../api/domain.js'
import type {AuditEntry, Grant} from '../../api/access.js'
import type {AppState, Decision, FreezeOverride, Release, ReleaseOptions, ReleaseResource, Schedule, Task} from '../../api/schemas.js'
import type {Blueprint} from '../blueprint/blueprint.js'
import type {PipelinePlan} from '../engine/rules/pipeline-plan.js'
import type {RunLink, RunWaiting, StageApproval} from '../engine/rules/pipeline-runs.js'

/** What a release locks: the whole environment, or some of its resources. */
export type LockSet = '*' | string[]

export interface ProjectRecord {
  name: string
  blueprint: Blueprint
  file: string
  baseDir: string
  createdAt: string
  appliedAt: string
}

export interface EnvironmentRecord {
  project: string
  name: string
  createdAt: string
}

export interface AppRecord {
  project: string
  environment: string
  name: string
  kind: string
  desiredVersion: string | null
  deployedVersion: string | null
  health: Health
  removed: boolean
  drift: AppState['drift']
  updatedAt: string
}

export type ReleaseRecord = Omit<Release, 'queuePosition' | 'waitingFor' | 'tasks'> & {
  lockSet: LockSet
  /** while running: until when the owner's claim holds unless renewed; null once it ended */
  leaseExpiresAt: string | null
}

export interface NewRelease {
  project: string
  environment: string
  type: ReleaseType
  status: ReleaseStatus
  resources: ReleaseResource[]
  lockSet: LockSet
  refresh: boolean
  force: boolean
  allowDestructive: boolean
  comment: string | null
  triggeredBy: string
  source: Release['source']
  idempotencyKey: string | null
  options: ReleaseOptions
  createdAt: string
  /** it starts even while a freeze holds */
  freezeOverride: FreezeOverride | null
  /** when a sweep cancels it unless it has started (--expire-after) */
  expiresAt: string | null
}

export type NewTask = Omit<Task, 'id' | 'status' | 'exitCode' | 'error' | 'startedAt' | 'finishedAt' | 'attempt'>

export type TaskRecord = Task & {releaseId: number}

/** A release's planned tasks, to be inserted. */
export interface ReleaseTasks {
  releaseId: number
  tasks: NewTask[]
}

export interface NewLogLine {
  releaseId: number
  taskId: number | null
  resource: string | null
  target: string | null
  stream: 'stdout' | 'stderr' | 'system'
  line: string
  at: string
  /** the attempt of its task that wrote it (retries); null or absent for the release's own lines */
  attempt?: number | null
}

export interface StoredLogLine extends NewLogLine {
  id: number
  attempt: number | null
}

export interface ReleaseFilter {
  project?: string
  environment?: string
  statuses?: ReleaseStatus[]
  limit?: number
  /** newest first (history, the default) or oldest first (the queue) */
  order?: 'asc' | 'desc'
}

/** Settings at one scope: the control plane (project and environment null) or one environment. null = inherit. */
export interface SettingsRecord {
  project: string | null
  environment: string | null
  parallel: boolean | null
  maxParallel: number | null
  approval: boolean | null
  /** distinct approvers a release needs */
  approvalsRequired: number | null
  queueMode: QueueMode | null
  updatedBy: string
  updatedAt: string
}

export interface ReleaseTransitionFields {
  startedAt?: string
  finishedAt?: string
  error?: string | null
  decision?: Decision
  /** the replica that claims the run (queued -> running); the lease it holds until renewed */
  replica?: string
  leaseExpiresAt?: string
  /** a claim with a deadline: when its owner stops it */
  deadlineAt?: string
  /** why the engine ended it on its own */
  endReason?: EndReason
}

/** A freeze as stored: a one-off window (from, to) or a recurring one (cron, durationMs) in a time zone. */
export interface FreezeRecord {
  id: number
  /** null: the whole control plane */
  project: string | null
  /** null: the whole project (or control plane) */
  environment: string | null
  from: string | null
  to: string | null
  cron: string | null
  durationMs: number | null
  timezone: string
  reason: string
  createdBy: string
  createdAt: string
}

export type NewFreeze = Omit<FreezeRecord, 'id'>

/** An active release as admission sees it: its place, status and lock set, and whether freezes hold it. */
export interface ActiveLock {
  id: number
  status: 'pending_approval' | 'queued' | 'running'
  lockSet: LockSet
  /** it was triggered with --override-freeze */
  overridesFreeze: boolean
  /** --deadline: how long it may run once claimed */
  deadlineMs: number | null
}

/** A control-plane process serving the database; alive while its heartbeat is younger than its lease. */
export interface ReplicaRecord {
  id: string
  host: string
  pid: number
  url: string | null
  version: string
  capacity: number
  leaseMs: number
  startedAt: string
  heartbeatAt: string
  /** shutting down: it admits nothing new and finishes what it runs */
  stopping: boolean
}

/** An append to the events table: every change the control plane records, in the transaction that makes it. */
export interface NewEvent {
  kind: EventKind
  /** null: the whole control plane */
  project: string | null
  /** null: the whole project (or control plane) */
  environment: string | null
  releaseId: number | null
  taskId: number | null
  /** the apps it is about, for streams that follow one app: all of the environment's, some, or none in particular */
  apps: LockSet | null
  /** the state after the change, as the API shows it */
  data: unknown
  at: string
}

export interface StoredEvent extends NewEvent {
  /** monotonic across the database: the order in which the changes committed, for resume */
  seq: number
}

/** A notification subscription: where to deliver the events of a scope that match its patterns. */
export interface NotificationRecord {
  id: number
  kind: 'webhook' | 'slack'
  url: string
  /** the webhook's signing secret; null for Slack */
  secret: string | null
  project: string | null
  environment: string | null
  /** kind patterns, wildcards allowed */
  events: string[]
  createdBy: string
  createdAt: string
  /** events after this one are delivered: a subscription hears of what happens once it exists */
  afterSeq: number
  /** since when its deliveries fail; null while they succeed */
  failingSince: string | null
  lastAttemptAt: string | null
  /** "HTTP 200", "timeout after 10s", ... */
  lastOutcome: string | null
}

export type NewNotification = Omit<NotificationRecord, 'id' | 'afterSeq' | 'failingSince' | 'lastAttemptAt' | 'lastOutcome'>

export type DeliveryStatus = 'pending' | 'delivered' | 'failed'

/** One event (or a test) for one subscription, in the outbox until delivered or given up. */
export interface DeliveryRecord {
  id: number
  notificationId: number
  /** null for a test */
  eventSeq: number | null
  eventKind: string
  /** the event as the stream shows it */
  event: unknown
  status: DeliveryStatus
  attempts: number
  nextAttemptAt: string
  createdAt: string
  endedAt: string | null
}

export type NewDelivery = Pick<DeliveryRecord, 'notificationId' | 'eventSeq' | 'eventKind' | 'event' | 'nextAttemptAt' | 'createdAt'>

export interface DeliveryAttempt {
  deliveryId: number
  attempt: number
  at: string
  statusCode: number | null
  error: string | null
  durationMs: number
}

/** A running release whose owner has been asked to stop it. */
export interface CancelRequest {
  releaseId: number
  by: string
  at: string
}

export type ScheduleRecord = Omit<Schedule, 'runs'>

export interface AppHistoryRow {
  releaseId: number
  type: Release['type']
  action: Action
  fromVersion: string | null
  toVersion: string | null
  target: string | null
  triggeredBy: string
  finishedAt: string
}

/** A token as stored: its secret only as a hash. */
export interface TokenRecord {
  name: string
  /** sha256 of the secret, hex */
  hash: string
  grants: Grant[]
  createdAt: string
  createdBy: string
  expiresAt: string | null
  /** how long it lives from its creation or rotation (a rotation renews it); null: no expiry */
  lifetimeMs: number | null
  lastUsedAt: string | null
  rotatedAt: string | null
  /** given to server start: set again at every start, so not rotated or revoked through the API */
  configured: boolean
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>

export interface AuditFilter {
  project?: string
  environment?: string
  actor?: string
  /** entries at or after this instant (ISO) */
  since?: string
  limit: number
}

export type AppPatch = Partial<Pick<AppRecord, 'desiredVersion' | 'deployedVersion' | 'health' | 'removed' | 'kind' | 'drift'>>

/** A task's change of status, with what it ended with. */
export interface TaskPatch {
  status: TaskStatus
  exitCode?: number | null
  error?: string | null
  startedAt?: string
  finishedAt?: string
  /** which attempt runs (retries) */
  attempt?: number
}

/** A pipeline run as stored: the plan it follows, fixed at its creation, and where it is. */
export interface PipelineRunRecord {
  id: number
  project: string
  pipeline: string
  status: PipelineRunStatus
  plan: PipelinePlan
  /** the step it is at (an index into plan.steps); the steps before it are done */
  step: number
  approvals: StageApproval[]
  /** who rejected or cancelled it */
  decision: {decision: 'rejected' | 'cancelled'; by: string; at: string; comment: string | null} | null
  /** what it waited for when it was last looked at */
  waiting: RunWaiting | null
  /** a newer run of its pipeline (queue: supersede): it starts no other stage */
  supersededBy: number | null
  error: string | null
  /** failing, and rolling back the failed stage (onFailure: rollback) */
  rollingBack: boolean
  createdBy: string
  source: 'cli' | 'api'
  comment: string | null
  idempotencyKey: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

export type NewPipelineRun = Pick<PipelineRunRecord, 'project' | 'pipeline' | 'status' | 'plan' | 'createdBy' | 'source' | 'comment' | 'idempotencyKey' | 'createdAt'>

export type PipelineRunPatch = Partial<Pick<PipelineRunRecord, 'status' | 'step' | 'approvals' | 'decision' | 'waiting' | 'supersededBy' | 'error' | 'rollingBack' | 'startedAt' | 'finishedAt'>>

export interface PipelineLinkRecord extends RunLink {
  runId: number
  createdAt: string
}

export interface PipelineRunFilter {
  project?: string
  pipeline?: string
  statuses?: PipelineRunStatus[]
  limit?: number
  /** newest first (the default) or oldest first */
  order?: 'asc' | 'desc'
}
