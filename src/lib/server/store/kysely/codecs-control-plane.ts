// Row codecs of the control plane's own records: replicas, the event log, notifications with their
// deliveries and attempts, tokens and the audit trail.
import type {Insertable, Selectable} from 'kysely'

import type {AuditEntry, Grant} from '../../../api/access.js'
import type {EventKind} from '../../../api/events.js'
import type {
  DeliveryAttempt,
  DeliveryRecord,
  DeliveryStatus,
  NewAuditEntry,
  NewDelivery,
  NewEvent,
  NewNotification,
  NotificationRecord,
  ReplicaRecord,
  StoredEvent,
  TokenRecord,
} from '../store.js'
import type {
  AuditTable,
  EventsTable,
  NotificationAttemptsTable,
  NotificationDeliveriesTable,
  NotificationsTable,
  ReplicasTable,
  TokensTable,
} from '../schema/tables.js'
import {bit, id, nullableId, storable} from './codecs-shared.js'

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

/** What a request named goes into its audit entry as it came, even a refused one (see storable). */
export function auditRow(entry: NewAuditEntry): Insertable<AuditTable> {
  return {
    at: entry.at,
    actor: storable(entry.actor),
    action: entry.action,
    method: storable(entry.method),
    path: storable(entry.path),
    project: storable(entry.project),
    environment: storable(entry.environment),
    target: storable(entry.target),
    status: entry.status,
    outcome: entry.outcome,
    address: storable(entry.address),
    detail: storable(entry.detail),
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
