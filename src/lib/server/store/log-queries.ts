// The SQL of task logs: appending batches, reading pages, and the retention cleanup.
import type {Kysely, Transaction} from 'kysely'

import {rowBatches} from './batches.js'
import type {NewLogLine, StoredLogLine} from './store.js'
import type {Database} from './tables.js'

type Db = Kysely<Database> | Transaction<Database>

export async function appendLogs(db: Db, lines: NewLogLine[]): Promise<void> {
  const rows = lines.map((line) => ({release_id: line.releaseId, task_id: line.taskId, resource: line.resource, target: line.target, stream: line.stream, line: line.line, at: line.at}))
  for (const batch of rowBatches(rows)) await db.insertInto('task_logs').values(batch).execute()
}

export async function readLogs(db: Db, releaseId: number, afterId: number, limit: number, filter: {resource?: string; target?: string}): Promise<StoredLogLine[]> {
  let query = db.selectFrom('task_logs').selectAll().where('release_id', '=', releaseId).where('id', '>', afterId)
  if (filter.resource) query = query.where('resource', '=', filter.resource)
  if (filter.target) query = query.where('target', '=', filter.target)
  const rows = await query.orderBy('id').limit(limit).execute()
  return rows.map((row) => ({
    id: Number(row.id),
    releaseId: Number(row.release_id),
    taskId: row.task_id === null ? null : Number(row.task_id),
    resource: row.resource,
    target: row.target,
    stream: row.stream as StoredLogLine['stream'],
    line: row.line,
    at: row.at,
  }))
}

export async function logsDeletedAt(db: Db, releaseId: number): Promise<string | null> {
  const row = await db.selectFrom('releases').select('logs_deleted_at').where('id', '=', releaseId).executeTakeFirst()
  return row?.logs_deleted_at ?? null
}

/** Run in a transaction: deletes the lines of up to `limit` releases that ended before the cutoff and notes when. */
export async function deleteLogsEndedBefore(db: Db, cutoff: string, at: string, limit: number): Promise<number[]> {
  const rows = await db.selectFrom('releases').select('id').where('finished_at', '<', cutoff).where('logs_deleted_at', 'is', null).orderBy('finished_at').limit(limit).execute()
  const ids = rows.map((row) => Number(row.id))
  if (ids.length === 0) return ids
  await db.deleteFrom('task_logs').where('release_id', 'in', ids).execute()
  await db.updateTable('releases').set({logs_deleted_at: at}).where('id', 'in', ids).execute()
  return ids
}
