// The SQL of task logs: appending batches, reading pages, and the retention cleanup.
import type {NewLogLine, StoredLogLine} from '../store.js'
import {rowBatches} from './batches.js'
import * as codec from './codecs.js'
import {type Db, inTransaction} from './db.js'

/** Inserts the lines; returns their ids, in the order given. */
export async function appendLogs(db: Db, lines: NewLogLine[]): Promise<number[]> {
  const ids: number[] = []
  for (const batch of rowBatches(lines.map(codec.logLineRow))) {
    for (const row of await db.insertInto('task_logs').values(batch).returning('id').execute()) ids.push(Number(row.id))
  }
  return ids
}

/** The lines of a release with ids from..to, in order. */
export async function logLinesBetween(db: Db, releaseId: number, fromId: number, toId: number): Promise<StoredLogLine[]> {
  const rows = await db.selectFrom('task_logs').selectAll().where('release_id', '=', releaseId).where('id', '>=', fromId).where('id', '<=', toId).orderBy('id').execute()
  return rows.map(codec.toLogLine)
}

export async function readLogs(db: Db, releaseId: number, afterId: number, limit: number, filter: {resource?: string; target?: string}): Promise<StoredLogLine[]> {
  let query = db.selectFrom('task_logs').selectAll().where('release_id', '=', releaseId).where('id', '>', afterId)
  if (filter.resource) query = query.where('resource', '=', filter.resource)
  if (filter.target) query = query.where('target', '=', filter.target)
  const rows = await query.orderBy('id').limit(limit).execute()
  return rows.map(codec.toLogLine)
}

export async function logsDeletedAt(db: Db, releaseId: number): Promise<string | null> {
  const row = await db.selectFrom('releases').select('logs_deleted_at').where('id', '=', releaseId).executeTakeFirst()
  return row?.logs_deleted_at ?? null
}

/** Deletes the lines of up to `limit` releases that ended before the cutoff and notes when, in one transaction. */
export function deleteLogsEndedBefore(db: Db, cutoff: string, at: string, limit: number): Promise<number[]> {
  return inTransaction(db, (trx) => deleteInTransaction(trx, cutoff, at, limit))
}

async function deleteInTransaction(db: Db, cutoff: string, at: string, limit: number): Promise<number[]> {
  const rows = await db.selectFrom('releases').select('id').where('finished_at', '<', cutoff).where('logs_deleted_at', 'is', null).orderBy('finished_at').limit(limit).execute()
  const ids = rows.map((row) => Number(row.id))
  if (ids.length === 0) return ids
  await db.deleteFrom('task_logs').where('release_id', 'in', ids).execute()
  await db.updateTable('releases').set({logs_deleted_at: at, revision: codec.nextRevision}).where('id', 'in', ids).execute()
  return ids
}
