// Table shapes as the database holds them. Booleans are 0/1 integers and times ISO-8601 text,
// so that SQLite and PostgreSQL share one schema and one set of queries.
import type {Generated} from 'kysely'

export interface ProjectsTable {
  name: string
  blueprint: string
  file: string
  base_dir: string
  created_at: string
  applied_at: string
}

export interface EnvironmentsTable {
  project: string
  name: string
  created_at: string
}

export interface AppsTable {
  project: string
  environment: string
  name: string
  kind: string
  desired_version: string | null
  deployed_version: string | null
  health: string
  removed: number
  drift: string | null
  updated_at: string
}

export interface ReleasesTable {
  id: Generated<number>
  project: string
  environment: string
  type: string
  status: string
  resources: string
  lock_set: string
  refresh: number
  force: number
  allow_destructive: number
  comment: string | null
  triggered_by: string
  source: string
  idempotency_key: string | null
  error: string | null
  created_at: string
  started_at: string | null
  finished_at: string | null
  decision: string | null
  decided_by: string | null
  decided_at: string | null
  decision_comment: string | null
  options: string
  logs_deleted_at: Generated<string | null>
  /** the replica that claimed the run: it runs it, or ran it */
  replica: Generated<string | null>
  /** while running: the owner's claim, renewed by its heartbeat; null once the release ends */
  lease_expires_at: Generated<string | null>
  cancel_requested_by: Generated<string | null>
  cancel_requested_at: Generated<string | null>
  /** deadline | expired | superseded: why the engine ended it on its own */
  end_reason: Generated<string | null>
  /** JSON {by, reason, at}: it starts while a freeze holds */
  freeze_override: Generated<string | null>
  /** --deadline in milliseconds (options.deadlineMs again, for the claim that reads the queue) */
  deadline_ms: Generated<number | null>
  /** while running with a deadline: when its owner stops it */
  deadline_at: Generated<string | null>
  /** with --expire-after: when a sweep cancels it if it has not started */
  expires_at: Generated<string | null>
  /** counted up by every update of the row (nextRevision): listings read again only what changed */
  revision: Generated<number>
}

export interface TasksTable {
  id: Generated<number>
  release_id: number
  resource: string
  action: string
  from_version: string | null
  to_version: string | null
  depends_on: string
  key: string | null
  kind: string
  hook: string | null
  target: string | null
  step: string | null
  after: string
  level: number
  status: string
  exit_code: number | null
  error: string | null
  started_at: string | null
  finished_at: string | null
  /** the attempt running or last run */
  attempt: Generated<number>
  /** how many attempts it may take (blueprint retries) */
  max_attempts: Generated<number>
}

export interface TaskLogsTable {
  id: Generated<number>
  release_id: number
  task_id: number | null
  resource: string | null
  target: string | null
  stream: string
  line: string
  at: string
  /** the attempt of its task that wrote it; null for the release's own lines */
  attempt: Generated<number | null>
}

export interface SettingsTable {
  project: string
  environment: string
  parallel: number | null
  max_parallel: number | null
  approval: number | null
  approvals_required: Generated<number | null>
  /** fifo | supersede; null inherits */
  queue_mode: Generated<string | null>
  updated_by: string
  updated_at: string
}

export interface SettingsChangesTable {
  id: Generated<number>
  project: string
  environment: string
  setting: string
  old_value: string | null
  new_value: string | null
  changed_by: string
  changed_at: string
}

export interface PausesTable {
  project: string
  environment: string
  paused_by: string
  paused_at: string
  reason: string | null
}

export interface SchedulesTable {
  project: string
  environment: string
  rule: string
  release_type: string
  resources: string
  paused: number
  next_run_at: string
  created_by: string
  created_at: string
  updated_at: string
}

export interface ScheduleRunsTable {
  id: Generated<number>
  project: string
  environment: string
  slot_at: string
  recorded_at: string
  outcome: string
  release_id: number | null
  reason: string | null
}

export interface ReplicasTable {
  id: string
  host: string
  pid: number
  url: string | null
  version: string
  capacity: number
  lease_ms: number
  started_at: string
  heartbeat_at: string
  stopping: number
}

export interface EventsTable {
  seq: Generated<number>
  kind: string
  project: string | null
  environment: string | null
  release_id: number | null
  task_id: number | null
  /** JSON: the state after the change */
  data: string
  at: string
  /** JSON: the apps the event is about: "*" for all of its environment's, a list, or null for none in particular */
  apps: string | null
}

/** One row: events up to this sequence number were deleted by the retention cleanup. */
export interface EventHorizonTable {
  id: number
  pruned_through: number
}

/** A notification subscription: where to deliver which events of which scope. */
export interface NotificationsTable {
  id: Generated<number>
  /** webhook | slack */
  kind: string
  url: string
  /** the webhook's signing secret; null for Slack */
  secret: string | null
  project: string | null
  environment: string | null
  /** JSON: kind patterns */
  events: string
  created_by: string
  created_at: string
  /** deliveries start after this event: a subscription hears of what happens after it is made */
  after_seq: number
  /** set while its deliveries fail; cleared by a success */
  failing_since: string | null
  last_attempt_at: string | null
  /** "HTTP 200", "timeout", ... */
  last_outcome: string | null
}

/** The outbox: one row per event and subscription, delivered in order per subscription. */
export interface NotificationDeliveriesTable {
  id: Generated<number>
  notification_id: number
  /** null for a test delivery */
  event_seq: number | null
  event_kind: string
  /** JSON: the event as the stream shows it */
  event: string
  /** pending | delivered | failed (gave up) */
  status: string
  attempts: Generated<number>
  next_attempt_at: string
  created_at: string
  ended_at: string | null
  /** the replica sending it, until when */
  claimed_by: string | null
  claimed_until: string | null
}

export interface NotificationAttemptsTable {
  id: Generated<number>
  delivery_id: number
  attempt: number
  at: string
  status_code: number | null
  error: string | null
  duration_ms: number
}

/** One row: how far the outbox has read the events. */
export interface NotificationOutboxTable {
  id: number
  last_seq: number
}

export interface TokensTable {
  name: string
  /** sha256 of the secret, hex; the secret itself is never stored */
  hash: string
  /** JSON: the grants, [{role, project, environment}] */
  grants: string
  created_at: string
  created_by: string
  expires_at: string | null
  /** how long the token lives from its creation or rotation; null: no expiry */
  lifetime_ms: number | null
  last_used_at: string | null
  rotated_at: string | null
  /** 1: given to server start, which sets it again at each start */
  configured: number
}

/** Append-only: an UPDATE is refused by a trigger; only the retention cleanup deletes. */
export interface AuditTable {
  id: Generated<number>
  at: string
  actor: string | null
  action: string
  method: string
  path: string
  project: string | null
  environment: string | null
  target: string | null
  status: number
  outcome: string
  address: string
  detail: string | null
}

export interface ApprovalsTable {
  release_id: number
  approver: string
  at: string
  comment: string | null
}

/** A freeze: releases do not start while one of its windows is open. '' for the scope a key does not name. */
export interface FreezesTable {
  id: Generated<number>
  /** '' for the control plane */
  project: string
  /** '' for the project level (or the control plane) */
  environment: string
  /** a one-off window: UTC instants */
  starts_at: string | null
  ends_at: string | null
  /** a recurring window: cron rule and wall-clock duration in the time zone */
  cron: string | null
  duration_ms: number | null
  timezone: string
  reason: string
  created_by: string
  created_at: string
}

/** A version of an app blocked in a project. */
export interface BlockedVersionsTable {
  project: string
  app: string
  version: string
  reason: string
  blocked_by: string
  blocked_at: string
}

/** A pipeline run: a plan fixed at its creation, the step it is at, its gates' state. */
export interface PipelineRunsTable {
  id: Generated<number>
  project: string
  pipeline: string
  status: string
  /** JSON: the stages and steps the run follows */
  plan: string
  step: number
  /** JSON: [{stage, by, at, comment}] */
  approvals: string
  /** JSON {decision, by, at, comment} of a rejection or a cancel, or null */
  decision: string | null
  /** JSON: what it waits for, as last decided, or null */
  waiting: string | null
  superseded_by: number | null
  error: string | null
  rolling_back: number
  created_by: string
  source: string
  comment: string | null
  idempotency_key: string | null
  created_at: string
  started_at: string | null
  finished_at: string | null
}

/** The releases a pipeline run made: one per step, environment and kind (deploy, rollback); a note instead where it could not. */
export interface PipelineRunReleasesTable {
  run_id: number
  step: number
  environment: string
  kind: string
  release_id: number | null
  note: string | null
  created_at: string
}

export interface Database {
  freezes: FreezesTable
  blocked_versions: BlockedVersionsTable
  pipeline_runs: PipelineRunsTable
  pipeline_run_releases: PipelineRunReleasesTable
  notifications: NotificationsTable
  notification_deliveries: NotificationDeliveriesTable
  notification_attempts: NotificationAttemptsTable
  notification_outbox: NotificationOutboxTable
  tokens: TokensTable
  audit: AuditTable
  approvals: ApprovalsTable
  replicas: ReplicasTable
  events: EventsTable
  event_horizon: EventHorizonTable
  pauses: PausesTable
  schedules: SchedulesTable
  schedule_runs: ScheduleRunsTable
  settings: SettingsTable
  settings_changes: SettingsChangesTable
  projects: ProjectsTable
  environments: EnvironmentsTable
  apps: AppsTable
  releases: ReleasesTable
  tasks: TasksTable
  task_logs: TaskLogsTable
}
