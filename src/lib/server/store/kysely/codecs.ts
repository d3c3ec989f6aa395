// Row encodings, in one place: how each record is stored (booleans as 0/1, lists and objects as JSON
// text, "none" as '' where a key column cannot be null) and read back.
import {type Insertable, type Selectable, sql, type Updateable} from 'kysely'

import type {EndReason, QueueMode, ReleaseStatus} from '../../../api/domain.js'
import type {AuditEntry, Grant} from '../../../api/access.js'
import type {EventKind} from '../../../api/events.js'
import type {Approval, BlockedVersion, Decision, PauseState, Release, ScheduleRun, SettingsChange} from '../../../api/schemas.js'
import type {
  AppRecord,
  DeliveryAttempt,
  DeliveryRecord,
  DeliveryStatus,
  FreezeRecord,
  LockSet,
  NewDelivery,
  NewNotification,
  NotificationRecord,
  NewAuditEntry,
  NewEvent,
  NewFreeze,
  NewLogLine,
  NewPipelineRun,
  NewRelease,
  NewTask,
  PipelineLinkRecord,
  PipelineRunPatch,
  PipelineRunRecord,
  ProjectRecord,
  ReleaseRecord,
  ReplicaRecord,
  ScheduleRecord,
  SettingsRecord,
  StoredEvent,
  StoredLogLine,
  TaskRecord,
  TokenRecord,
} from '../store.js'
import type {
  ApprovalsTable,
  AppsTable,
  AuditTable,
  BlockedVersionsTable,
  Database,
  EventsTable,
  FreezesTable,
  NotificationAttemptsTable,
  NotificationDeliveriesTable,
  NotificationsTable,
  PausesTable,
  PipelineRunReleasesTable,
  PipelineRunsTable,
  ReleasesTable,
  ReplicasTable,
  ScheduleRunsTable,
  SchedulesTable,
  SettingsChangesTable,
  SettingsTable,
  TaskLogsTable,
  TasksTable,
  TokensTable,
} from '../schema/tables.js'

export const bit = (value: boolean) => (value ? 1 : 0)
/** The revision a release's row gets in every update of it: listings read again only the rows whose revision moved. */
export const nextRevision = sql<number>`revision + 1`
const flag = (value: number | null) => (value === null ? null : value === 1)
/** Integer keys: PostgreSQL's bigserial arrives as a string. */
const id = (value: number | string) => Number(value)
const nullableId = (value: number | string | null) => (value === null ? null : Number(value))

export function projectRow(project: ProjectRecord): Insertable<Database['projects']> {
  return {
    name: project.name,
    blueprint: JSON.stringify(project.blueprint),
    file: project.file,
    base_dir: project.baseDir,
    created_at: project.createdAt,
    applied_at: project.appliedAt,
  }
}

/**
 * Parsed blueprints by project and the apply they came from: a project's blueprint changes only with an
 * apply, which sets a new applied_at, so most reads of a project need neither its text nor a parse.
 */
const parsedBlueprints = new Map<string, {appliedAt: string; blueprint: ProjectRecord['blueprint']}>()
const PARSED_BLUEPRINTS_KEPT = 100

/** The blueprint of the project as last applied at appliedAt, when it has been parsed already. */
export function knownBlueprint(project: string, appliedAt: string): ProjectRecord['blueprint'] | null {
  const cached = parsedBlueprints.get(project)
  return cached?.appliedAt === appliedAt ? cached.blueprint : null
}

/** The stored blueprint, parsed once per apply; shared by every reader, so frozen. */
function parseBlueprint(project: string, appliedAt: string, text: string): ProjectRecord['blueprint'] {
  const known = knownBlueprint(project, appliedAt)
  if (known) return known
  const parsed = JSON.parse(text) as ProjectRecord['blueprint']
  // Blueprints applied before pipelines existed have none.
  parsed.pipelines ??= []
  const blueprint = deepFreeze(parsed)
  parsedBlueprints.delete(project)
  if (parsedBlueprints.size >= PARSED_BLUEPRINTS_KEPT) parsedBlueprints.delete(parsedBlueprints.keys().next().value as string)
  parsedBlueprints.set(project, {appliedAt, blueprint})
  return blueprint
}

/** An apply of this process: the next read parses what it stored. */
export function forgetBlueprint(project: string): void {
  parsedBlueprints.delete(project)
}

/** A value shared by every reader from now on, frozen so that none of them changes it for the others. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

export function toProject(row: Selectable<Database['projects']>, known?: ProjectRecord['blueprint']): ProjectRecord {
  return {
    name: row.name,
    blueprint: known ?? parseBlueprint(row.name, row.applied_at, row.blueprint),
    file: row.file,
    baseDir: row.base_dir,
    createdAt: row.created_at,
    appliedAt: row.applied_at,
  }
}

export function appRow(app: AppRecord): Insertable<AppsTable> {
  return {
    project: app.project,
    environment: app.environment,
    name: app.name,
    kind: app.kind,
    desired_version: app.desiredVersion,
    deployed_version: app.deployedVersion,
    health: app.health,
    removed: bit(app.removed),
    drift: app.drift ? JSON.stringify(app.drift) : null,
    updated_at: app.updatedAt,
  }
}

export function toApp(row: Selectable<AppsTable>): AppRecord {
  return {
    project: row.project,
    environment: row.environment,
    name: row.name,
    kind: row.kind,
    desiredVersion: row.desired_version,
    deployedVersion: row.deployed_version,
    health: row.health as AppRecord['health'],
    removed: row.removed === 1,
    drift: row.drift ? JSON.parse(row.drift) : null,
    updatedAt: row.updated_at,
  }
}

export function releaseRow(release: NewRelease): Insertable<ReleasesTable> {
  return {
    project: release.project,
    environment: release.environment,
    type: release.type,
    status: release.status,
    resources: JSON.stringify(release.resources),
    lock_set: JSON.stringify(release.lockSet),
    refresh: bit(release.refresh),
    force: bit(release.force),
    allow_destructive: bit(release.allowDestructive),
    comment: release.comment,
    triggered_by: release.triggeredBy,
    source: release.source,
    idempotency_key: release.idempotencyKey,
    error: null,
    created_at: release.createdAt,
    started_at: null,
    finished_at: null,
    decision: null,
    decided_by: null,
    decided_at: null,
    decision_comment: null,
    options: JSON.stringify(release.options),
    freeze_override: release.freezeOverride ? JSON.stringify(release.freezeOverride) : null,
    expires_at: release.expiresAt,
    deadline_ms: release.options.deadlineMs ?? null,
  }
}

export function toRelease(row: Selectable<ReleasesTable>): ReleaseRecord {
  return {
    id: id(row.id),
    project: row.project,
    environment: row.environment,
    type: row.type as Release['type'],
    status: row.status as ReleaseStatus,
    resources: JSON.parse(row.resources),
    lockSet: parseLockSet(row.lock_set),
    refresh: row.refresh === 1,
    force: row.force === 1,
    allowDestructive: row.allow_destructive === 1,
    comment: row.comment,
    triggeredBy: row.triggered_by,
    source: row.source as Release['source'],
    idempotencyKey: row.idempotency_key,
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    options: JSON.parse(row.options ?? '{}'),
    decision:
      row.decision && row.decided_by && row.decided_at
        ? {decision: row.decision as Decision['decision'], by: row.decided_by, at: row.decided_at, comment: row.decision_comment}
        : null,
    replica: row.replica,
    leaseExpiresAt: row.lease_expires_at,
    endReason: row.end_reason as EndReason | null,
    freezeOverride: row.freeze_override ? JSON.parse(row.freeze_override) : null,
    deadlineAt: row.deadline_at,
    expiresAt: row.expires_at,
  }
}

/** Lock sets parsed by text: every admission reads the whole queue, whose lock sets repeat. Shared, so frozen. */
const parsedLockSets = new Map<string, LockSet>()
const PARSED_LOCK_SETS_KEPT = 10_000

export function parseLockSet(text: string): LockSet {
  let lockSet = parsedLockSets.get(text)
  if (lockSet === undefined) {
    lockSet = deepFreeze(JSON.parse(text) as LockSet)
    if (parsedLockSets.size >= PARSED_LOCK_SETS_KEPT) parsedLockSets.clear()
    parsedLockSets.set(text, lockSet)
  }
  return lockSet
}

export function taskRow(releaseId: number, task: NewTask): Insertable<TasksTable> {
  return {
    release_id: releaseId,
    key: task.key,
    kind: task.kind,
    // Hooks have no resource; the column holds '' for them.
    resource: task.resource ?? '',
    hook: task.hook,
    target: task.target,
    step: task.step,
    action: task.action,
    from_version: task.fromVersion,
    to_version: task.toVersion,
    depends_on: JSON.stringify(task.dependsOn),
    after: JSON.stringify(task.after),
    level: task.level,
    status: 'pending',
    exit_code: null,
    error: null,
    started_at: null,
    finished_at: null,
    max_attempts: task.attempts,
  }
}

export function toTask(row: Selectable<TasksTable>): TaskRecord {
  return {
    id: id(row.id),
    releaseId: id(row.release_id),
    key: row.key ?? row.resource,
    kind: row.kind as TaskRecord['kind'],
    resource: row.resource || null,
    hook: row.hook as TaskRecord['hook'],
    target: row.target,
    step: row.step,
    action: row.action as TaskRecord['action'],
    fromVersion: row.from_version,
    toVersion: row.to_version,
    dependsOn: JSON.parse(row.depends_on),
    after: JSON.parse(row.after),
    level: row.level,
    status: row.status as TaskRecord['status'],
    exitCode: row.exit_code,
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    attempt: row.attempt,
    attempts: row.max_attempts,
  }
}

export function logLineRow(line: NewLogLine): Insertable<TaskLogsTable> {
  return {release_id: line.releaseId, task_id: line.taskId, resource: line.resource, target: line.target, stream: line.stream, line: line.line, at: line.at, attempt: line.attempt ?? null}
}

export function toLogLine(row: Selectable<TaskLogsTable>): StoredLogLine {
  return {
    id: id(row.id),
    releaseId: id(row.release_id),
    taskId: nullableId(row.task_id),
    resource: row.resource,
    target: row.target,
    stream: row.stream as StoredLogLine['stream'],
    line: row.line,
    at: row.at,
    attempt: row.attempt,
  }
}

/** The control-plane scope is project '' and environment ''; NULL settings mean "inherit". */
export function settingsRow(settings: SettingsRecord): Insertable<SettingsTable> {
  return {
    project: settings.project ?? '',
    environment: settings.environment ?? '',
    parallel: settings.parallel === null ? null : bit(settings.parallel),
    max_parallel: settings.maxParallel,
    approval: settings.approval === null ? null : bit(settings.approval),
    approvals_required: settings.approvalsRequired,
    queue_mode: settings.queueMode,
    updated_by: settings.updatedBy,
    updated_at: settings.updatedAt,
  }
}

export function toSettings(row: Selectable<SettingsTable>): SettingsRecord {
  return {
    project: row.project || null,
    environment: row.environment || null,
    parallel: flag(row.parallel),
    maxParallel: row.max_parallel,
    approval: flag(row.approval),
    approvalsRequired: row.approvals_required,
    queueMode: row.queue_mode as QueueMode | null,
    updatedBy: row.updated_by,
    updatedAt: row.updated_at,
  }
}

export function settingsChangeRow(change: SettingsChange): Insertable<SettingsChangesTable> {
  return {
    project: change.project ?? '',
    environment: change.environment ?? '',
    setting: change.setting,
    old_value: change.oldValue,
    new_value: change.newValue,
    changed_by: change.changedBy,
    changed_at: change.changedAt,
  }
}

export function toSettingsChange(row: Selectable<SettingsChangesTable>): SettingsChange {
  return {
    project: row.project || null,
    environment: row.environment || null,
    setting: row.setting,
    oldValue: row.old_value,
    newValue: row.new_value,
    changedBy: row.changed_by,
    changedAt: row.changed_at,
  }
}

/** A project-level pause has environment ''; the control plane's has project '' too. */
export function pauseRow(pause: PauseState): Insertable<PausesTable> {
  return {project: pause.project ?? '', environment: pause.environment ?? '', paused_by: pause.by, paused_at: pause.at, reason: pause.reason}
}

export function toPause(row: Selectable<PausesTable>): PauseState {
  return {
    level: row.environment ? 'environment' : row.project ? 'project' : 'control-plane',
    project: row.project || null,
    environment: row.environment || null,
    by: row.paused_by,
    at: row.paused_at,
    reason: row.reason,
  }
}

/** The control plane's freezes have project ''; a project's have environment ''. */
export function freezeRow(freeze: NewFreeze): Insertable<FreezesTable> {
  return {
    project: freeze.project ?? '',
    environment: freeze.environment ?? '',
    starts_at: freeze.from,
    ends_at: freeze.to,
    cron: freeze.cron,
    duration_ms: freeze.durationMs,
    timezone: freeze.timezone,
    reason: freeze.reason,
    created_by: freeze.createdBy,
    created_at: freeze.createdAt,
  }
}

export function toFreeze(row: Selectable<FreezesTable>): FreezeRecord {
  return {
    id: id(row.id),
    project: row.project || null,
    environment: row.environment || null,
    from: row.starts_at,
    to: row.ends_at,
    cron: row.cron,
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    timezone: row.timezone,
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: row.created_at,
  }
}

export function blockRow(block: BlockedVersion): Insertable<BlockedVersionsTable> {
  return {project: block.project, app: block.app, version: block.version, reason: block.reason, blocked_by: block.by, blocked_at: block.at}
}

export function toBlock(row: Selectable<BlockedVersionsTable>): BlockedVersion {
  return {project: row.project, app: row.app, version: row.version, reason: row.reason, by: row.blocked_by, at: row.blocked_at}
}

export function scheduleRow(schedule: ScheduleRecord): Insertable<SchedulesTable> {
  return {
    project: schedule.project,
    environment: schedule.environment,
    rule: JSON.stringify(schedule.rule),
    release_type: schedule.type,
    resources: JSON.stringify(schedule.resources),
    paused: bit(schedule.paused),
    next_run_at: schedule.nextRunAt,
    created_by: schedule.createdBy,
    created_at: schedule.createdAt,
    updated_at: schedule.updatedAt,
  }
}

export function toSchedule(row: Selectable<SchedulesTable>): ScheduleRecord {
  return {
    project: row.project,
    environment: row.environment,
    rule: JSON.parse(row.rule),
    type: row.release_type as ScheduleRecord['type'],
    resources: JSON.parse(row.resources),
    paused: row.paused === 1,
    nextRunAt: row.next_run_at,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function scheduleRunRow(project: string, environment: string, run: ScheduleRun): Insertable<ScheduleRunsTable> {
  return {project, environment, slot_at: run.slotAt, recorded_at: run.recordedAt, outcome: run.outcome, release_id: run.releaseId, reason: run.reason}
}

export function toScheduleRun(row: Selectable<ScheduleRunsTable>): ScheduleRun {
  return {
    slotAt: row.slot_at,
    recordedAt: row.recorded_at,
    outcome: row.outcome as ScheduleRun['outcome'],
    releaseId: nullableId(row.release_id),
    reason: row.reason,
  }
}

export function replicaRow(replica: ReplicaRecord): Insertable<ReplicasTable> {
  return {
    id: replica.id,
    host: replica.host,
    pid: replica.pid,
    url: replica.url,
    version: replica.version,
    capacity: replica.capacity,
    lease_ms: replica.leaseMs,
    started_at: replica.startedAt,
    heartbeat_at: replica.heartbeatAt,
    stopping: bit(replica.stopping),
  }
}

export function toReplica(row: Selectable<ReplicasTable>): ReplicaRecord {
  return {
    id: row.id,
    host: row.host,
    pid: row.pid,
    url: row.url,
    version: row.version,
    capacity: row.capacity,
    leaseMs: row.lease_ms,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    stopping: row.stopping === 1,
  }
}

export function eventRow(event: NewEvent): Insertable<EventsTable> {
  return {
    kind: event.kind,
    project: event.project,
    environment: event.environment,
    release_id: event.releaseId,
    task_id: event.taskId,
    data: JSON.stringify(event.data ?? null),
    at: event.at,
    apps: event.apps === null ? null : JSON.stringify(event.apps),
  }
}

export function toEvent(row: Selectable<EventsTable>): StoredEvent {
  return {
    seq: id(row.seq),
    kind: row.kind as EventKind,
    project: row.project,
    environment: row.environment,
    releaseId: nullableId(row.release_id),
    taskId: nullableId(row.task_id),
    data: JSON.parse(row.data),
    at: row.at,
    apps: row.apps === null ? null : JSON.parse(row.apps),
  }
}

export function notificationRow(notification: NewNotification, afterSeq: number): Insertable<NotificationsTable> {
  const {kind, url, secret, project, environment, events, createdBy, createdAt} = notification
  return {kind, url, secret, project, environment, events: JSON.stringify(events), created_by: createdBy, created_at: createdAt, after_seq: afterSeq}
}

export function toNotification(row: Selectable<NotificationsTable>): NotificationRecord {
  return {
    id: id(row.id),
    kind: row.kind as NotificationRecord['kind'],
    url: row.url,
    secret: row.secret,
    project: row.project,
    environment: row.environment,
    events: JSON.parse(row.events),
    createdBy: row.created_by,
    createdAt: row.created_at,
    afterSeq: id(row.after_seq),
    failingSince: row.failing_since,
    lastAttemptAt: row.last_attempt_at,
    lastOutcome: row.last_outcome,
  }
}

export function deliveryRow(delivery: NewDelivery): Insertable<NotificationDeliveriesTable> {
  const {notificationId, eventSeq, eventKind, event, nextAttemptAt, createdAt} = delivery
  return {notification_id: notificationId, event_seq: eventSeq, event_kind: eventKind, event: JSON.stringify(event), status: 'pending', next_attempt_at: nextAttemptAt, created_at: createdAt}
}

export function toDelivery(row: Selectable<NotificationDeliveriesTable>): DeliveryRecord {
  return {
    id: id(row.id),
    notificationId: id(row.notification_id),
    eventSeq: nullableId(row.event_seq),
    eventKind: row.event_kind,
    event: JSON.parse(row.event),
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    endedAt: row.ended_at,
  }
}

export function attemptRow(attempt: DeliveryAttempt): Insertable<NotificationAttemptsTable> {
  const {deliveryId, attempt: number, at, statusCode, error, durationMs} = attempt
  return {delivery_id: deliveryId, attempt: number, at, status_code: statusCode, error, duration_ms: Math.round(durationMs)}
}

export function toAttempt(row: Selectable<NotificationAttemptsTable>): DeliveryAttempt {
  return {deliveryId: id(row.delivery_id), attempt: row.attempt, at: row.at, statusCode: row.status_code, error: row.error, durationMs: row.duration_ms}
}

export function tokenRow(token: TokenRecord): Insertable<TokensTable> {
  return {
    name: token.name,
    hash: token.hash,
    grants: JSON.stringify(token.grants),
    created_at: token.createdAt,
    created_by: token.createdBy,
    expires_at: token.expiresAt,
    lifetime_ms: token.lifetimeMs,
    last_used_at: token.lastUsedAt,
    rotated_at: token.rotatedAt,
    configured: bit(token.configured),
  }
}

export function toToken(row: Selectable<TokensTable>): TokenRecord {
  return {
    name: row.name,
    hash: row.hash,
    grants: JSON.parse(row.grants) as Grant[],
    createdAt: row.created_at,
    createdBy: row.created_by,
    expiresAt: row.expires_at,
    // PostgreSQL's bigint arrives as a string
    lifetimeMs: row.lifetime_ms === null ? null : Number(row.lifetime_ms),
    lastUsedAt: row.last_used_at,
    rotatedAt: row.rotated_at,
    configured: row.configured === 1,
  }
}

export function auditRow(entry: NewAuditEntry): Insertable<AuditTable> {
  return {
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    method: entry.method,
    path: entry.path,
    project: entry.project,
    environment: entry.environment,
    target: entry.target,
    status: entry.status,
    outcome: entry.outcome,
    address: entry.address,
    detail: entry.detail,
  }
}

export function toAudit(row: Selectable<AuditTable>): AuditEntry {
  return {
    id: id(row.id),
    at: row.at,
    actor: row.actor,
    action: row.action,
    method: row.method,
    path: row.path,
    project: row.project,
    environment: row.environment,
    target: row.target,
    status: row.status,
    outcome: row.outcome as AuditEntry['outcome'],
    address: row.address,
    detail: row.detail,
  }
}

export function approvalRow(releaseId: number, approval: Approval): Insertable<ApprovalsTable> {
  return {release_id: releaseId, approver: approval.by, at: approval.at, comment: approval.comment}
}

export function toApproval(row: Selectable<ApprovalsTable>): Approval {
  return {by: row.approver, at: row.at, comment: row.comment}
}

export function pipelineRunRow(run: NewPipelineRun): Insertable<PipelineRunsTable> {
  return {
    project: run.project,
    pipeline: run.pipeline,
    status: run.status,
    plan: JSON.stringify(run.plan),
    step: 0,
    approvals: '[]',
    decision: null,
    waiting: null,
    superseded_by: null,
    error: null,
    rolling_back: 0,
    created_by: run.createdBy,
    source: run.source,
    comment: run.comment,
    idempotency_key: run.idempotencyKey,
    created_at: run.createdAt,
    started_at: null,
    finished_at: null,
  }
}

/** The columns a patch of a run writes. */
export function pipelineRunPatch(patch: PipelineRunPatch): Updateable<PipelineRunsTable> {
  const row: Updateable<PipelineRunsTable> = {}
  if (patch.status !== undefined) row.status = patch.status
  if (patch.step !== undefined) row.step = patch.step
  if (patch.approvals !== undefined) row.approvals = JSON.stringify(patch.approvals)
  if (patch.decision !== undefined) row.decision = patch.decision === null ? null : JSON.stringify(patch.decision)
  if (patch.waiting !== undefined) row.waiting = patch.waiting === null ? null : JSON.stringify(patch.waiting)
  if (patch.supersededBy !== undefined) row.superseded_by = patch.supersededBy
  if (patch.error !== undefined) row.error = patch.error
  if (patch.rollingBack !== undefined) row.rolling_back = bit(patch.rollingBack)
  if (patch.startedAt !== undefined) row.started_at = patch.startedAt
  if (patch.finishedAt !== undefined) row.finished_at = patch.finishedAt
  return row
}

export function toPipelineRun(row: Selectable<PipelineRunsTable>): PipelineRunRecord {
  return {
    id: id(row.id),
    project: row.project,
    pipeline: row.pipeline,
    status: row.status as PipelineRunRecord['status'],
    plan: JSON.parse(row.plan),
    step: Number(row.step),
    approvals: JSON.parse(row.approvals),
    decision: row.decision ? JSON.parse(row.decision) : null,
    waiting: row.waiting ? JSON.parse(row.waiting) : null,
    supersededBy: nullableId(row.superseded_by),
    error: row.error,
    rollingBack: row.rolling_back === 1,
    createdBy: row.created_by,
    source: row.source as PipelineRunRecord['source'],
    comment: row.comment,
    idempotencyKey: row.idempotency_key,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  }
}

export function pipelineLinkRow(link: PipelineLinkRecord): Insertable<PipelineRunReleasesTable> {
  return {run_id: link.runId, step: link.step, environment: link.environment, kind: link.kind, release_id: link.releaseId, note: link.note, created_at: link.createdAt}
}

export function toPipelineLink(row: Selectable<PipelineRunReleasesTable>): PipelineLinkRecord {
  return {
    runId: id(row.run_id),
    step: Number(row.step),
    environment: row.environment,
    kind: row.kind as PipelineLinkRecord['kind'],
    releaseId: nullableId(row.release_id),
    note: row.note,
    createdAt: row.created_at,
  }
}
