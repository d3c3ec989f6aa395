// Row codecs of releases and what hangs off them: releases (with their parsed lock sets), tasks, log lines,
// approvals, and the pipeline runs that chain releases with their links to them.
import {type Insertable, type Selectable, sql, type Updateable} from 'kysely'

import type {EndReason, ReleaseStatus} from '../../../api/domain.js'
import type {Approval, Decision, Release} from '../../../api/schemas.js'
import type {
  LockSet,
  NewLogLine,
  NewPipelineRun,
  NewRelease,
  NewTask,
  PipelineLinkRecord,
  PipelineRunPatch,
  PipelineRunRecord,
  ReleaseRecord,
  StoredLogLine,
  TaskRecord,
} from '../store.js'
import type {ApprovalsTable, PipelineRunReleasesTable, PipelineRunsTable, ReleasesTable, TaskLogsTable, TasksTable} from '../schema/tables.js'
import {bit, deepFreeze, id, nullableId, storable} from './codecs-shared.js'

/** The revision a release's row gets in every update of it: listings read again only the rows whose revision moved. */
export const nextRevision = sql<number>`revision + 1`

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

/** A deploy's output line as it printed it (see storable: a NUL would make PostgreSQL refuse the batch). */
export function logLineRow(line: NewLogLine): Insertable<TaskLogsTable> {
  return {release_id: line.releaseId, task_id: line.taskId, resource: line.resource, target: line.target, stream: line.stream, line: storable(line.line), at: line.at, attempt: line.attempt ?? null}
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
