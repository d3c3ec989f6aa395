// What replicas share: who is alive, the leases of their runs, cancel requests, wakeup payloads and events.
import {sql} from 'kysely'

import type {CancelRequest, NewEvent, ReleaseRecord, ReplicaRecord, StoredEvent} from '../store.js'
import {eventLoopSlices, rowBatches} from './batches.js'
import * as codec from './codecs.js'
import {byCodePoint, type Db, inTransaction, precompiled} from './db.js'

/** Where a wakeup goes: every replica listens on both. */
export const WAKEUP_CHANNELS = {admit: 'relctl_admit', cancel: 'relctl_cancel'} as const
export type WakeupChannel = (typeof WAKEUP_CHANNELS)[keyof typeof WAKEUP_CHANNELS]

/** An admit wakeup names an environment. */
export function admitPayload(project: string, environment: string): string {
  return JSON.stringify([project, environment])
}

export function parseAdmitPayload(payload: string): {project: string; environment: string} | null {
  const parsed: unknown = JSON.parse(payload)
  return Array.isArray(parsed) && parsed.length === 2 && parsed.every((part) => typeof part === 'string') ? {project: parsed[0], environment: parsed[1]} : null
}


export async function upsertReplica(db: Db, replica: ReplicaRecord): Promise<void> {
  const {id: _id, ...values} = codec.replicaRow(replica)
  await db
    .insertInto('replicas')
    .values(codec.replicaRow(replica))
    .onConflict((oc) => oc.column('id').doUpdateSet(values))
    .execute()
}

export async function getReplica(db: Db, id: string): Promise<ReplicaRecord | null> {
  const row = await db.selectFrom('replicas').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? codec.toReplica(row) : null
}

export async function listReplicas(db: Db, heartbeatSince: string): Promise<ReplicaRecord[]> {
  const rows = await db.selectFrom('replicas').selectAll().where('heartbeat_at', '>=', heartbeatSince).orderBy('started_at').orderBy('id').execute()
  return rows.map(codec.toReplica)
}

export function heartbeat(db: Db, replica: string, at: string, leaseExpiresAt: string): Promise<number> {
  return inTransaction(db, async (db) => {
    await db.updateTable('replicas').set({heartbeat_at: at}).where('id', '=', replica).execute()
    const renewed = await db
      .updateTable('releases')
      .set({lease_expires_at: leaseExpiresAt, revision: codec.nextRevision})
      .where('replica', '=', replica)
      .where('status', '=', 'running')
      .executeTakeFirst()
    return Number(renewed.numUpdatedRows)
  })
}

export async function setReplicaStopping(db: Db, replica: string): Promise<void> {
  await db.updateTable('replicas').set({stopping: 1}).where('id', '=', replica).execute()
}

export async function deleteReplica(db: Db, replica: string): Promise<void> {
  await db.deleteFrom('replicas').where('id', '=', replica).execute()
}

export async function expiredRuns(db: Db, before: string): Promise<ReleaseRecord[]> {
  const rows = await db.selectFrom('releases').selectAll().where('status', '=', 'running').where('lease_expires_at', '<', before).orderBy('id').execute()
  return rows.map(codec.toRelease)
}

export async function runsOf(db: Db, replica: string): Promise<ReleaseRecord[]> {
  const rows = await db.selectFrom('releases').selectAll().where('status', '=', 'running').where('replica', '=', replica).orderBy('id').execute()
  return rows.map(codec.toRelease)
}

export async function requestCancel(db: Db, releaseId: number, by: string, at: string): Promise<boolean> {
  // The first request stands: who asked first and when.
  const result = await db
    .updateTable('releases')
    .set({cancel_requested_by: sql<string>`coalesce(cancel_requested_by, ${by})`, cancel_requested_at: sql<string>`coalesce(cancel_requested_at, ${at})`, revision: codec.nextRevision})
    .where('id', '=', releaseId)
    .where('status', '=', 'running')
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

export async function cancelRequests(db: Db, replica: string): Promise<CancelRequest[]> {
  const rows = await db
    .selectFrom('releases')
    .select(['id', 'cancel_requested_by', 'cancel_requested_at'])
    .where('status', '=', 'running')
    .where('replica', '=', replica)
    .where('cancel_requested_at', 'is not', null)
    .orderBy('id')
    .execute()
  return rows.map((row) => ({releaseId: Number(row.id), by: row.cancel_requested_by as string, at: row.cancel_requested_at as string}))
}

export async function environmentsWithQueued(db: Db): Promise<{project: string; environment: string}[]> {
  const rows = await db.selectFrom('releases').select(['project', 'environment']).distinct().where('status', '=', 'queued').execute()
  return rows
    .map((row) => ({project: row.project, environment: row.environment}))
    .sort((a, b) => byCodePoint(a.project, b.project) || byCodePoint(a.environment, b.environment))
}

export async function listEvents(db: Db, afterSeq: number, limit: number, filter: {releaseId?: number} = {}): Promise<StoredEvent[]> {
  let query = db.selectFrom('events').selectAll().where('seq', '>', afterSeq)
  if (filter.releaseId !== undefined) query = query.where('release_id', '=', filter.releaseId)
  const rows = await query.orderBy('seq').limit(limit).execute()
  return rows.map(codec.toEvent)
}

/** Run inside the transaction that holds the event-order lock (see DialectQuirks.lockEventOrder). */
type EventRow = ReturnType<typeof codec.eventRow>
const insertOneEvent = precompiled((db: Db, kind: EventRow['kind'], project: EventRow['project'], environment: EventRow['environment'], releaseId: EventRow['release_id'], taskId: EventRow['task_id'], data: EventRow['data'], at: EventRow['at']) =>
  db.insertInto('events').values({kind, project, environment, release_id: releaseId, task_id: taskId, data, at}),
)

export async function insertEvents(db: Db, events: NewEvent[]): Promise<void> {
  const rows = events.map(codec.eventRow)
  // Most changes record one event: that statement is precompiled.
  if (rows.length === 1) {
    const [{kind, project, environment, release_id, task_id, data, at}] = rows
    await insertOneEvent(db, kind, project, environment, release_id, task_id, data, at)
    return
  }
  // The start of a big release is thousands of events: timers and requests run between its statements.
  const betweenStatements = eventLoopSlices()
  for (const batch of rowBatches(rows)) {
    await betweenStatements()
    await db.insertInto('events').values(batch).execute()
  }
}
