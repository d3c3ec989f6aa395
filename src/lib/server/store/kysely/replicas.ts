// What replicas share: who is alive, the leases of their runs, cancel requests and wakeup payloads.
import {sql} from 'kysely'

import type {CancelRequest, ReleaseRecord, ReplicaRecord} from '../store.js'
import * as codec from './codecs.js'
import {byCodePoint, type Db, inTransaction} from './db.js'

/** Where a wakeup goes: every replica listens on all of them. */
export const WAKEUP_CHANNELS = {admit: 'relctl_admit', cancel: 'relctl_cancel', events: 'relctl_events'} as const
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

/**
 * Renews the replica's row and the leases of its runs. On PostgreSQL it skips a run whose row another
 * transaction holds: a turn that is ending or claiming it. Waiting for it instead, while holding the
 * rows renewed so far, could close a cycle with a turn that then wants one of those (PostgreSQL ends
 * the cycle only after its deadlock_timeout, a second, during which the environment admits nothing). A
 * run skipped is renewed by the next heartbeat, a third of a lease later. The lock is the one the
 * update takes anyway (NO KEY UPDATE): a stronger one would also skip the runs whose log lines or tasks
 * another transaction is inserting (their foreign keys hold a KEY SHARE lock on the release).
 */
export function heartbeat(db: Db, dialect: 'sqlite' | 'postgres', replica: string, at: string, leaseExpiresAt: string): Promise<number> {
  return inTransaction(db, async (db) => {
    await db.updateTable('replicas').set({heartbeat_at: at}).where('id', '=', replica).execute()
    const runs = db.selectFrom('releases').select('id').where('replica', '=', replica).where('status', '=', 'running')
    const renewed = await db
      .updateTable('releases')
      .set({lease_expires_at: leaseExpiresAt, revision: codec.nextRevision})
      // SQLite has one writer at a time: no row is ever held by another transaction.
      .where('id', 'in', dialect === 'postgres' ? runs.forNoKeyUpdate().skipLocked() : runs)
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
