// The events table: appends in commit order, reads after a sequence number, and the retention cleanup
// with the horizon it leaves (events at or before it are gone; a reader resuming there must start over).
import {sql} from 'kysely'

import {AT_COMMIT} from '../postgres-round-trips.js'
import type {NewEvent, StoredEvent} from '../store.js'
import {eventLoopSlices, rowBatches} from './batches.js'
import * as codec from './codecs.js'
import {type Db, precompiled} from './db.js'

export async function listEvents(db: Db, afterSeq: number, limit: number, filter: {releaseId?: number} = {}): Promise<StoredEvent[]> {
  let query = db.selectFrom('events').selectAll().where('seq', '>', afterSeq)
  if (filter.releaseId !== undefined) query = query.where('release_id', '=', filter.releaseId)
  const rows = await query.orderBy('seq').limit(limit).execute()
  return rows.map(codec.toEvent)
}

export const lastEvent = precompiled((db: Db) => db.selectFrom('events').select((eb) => eb.fn.max('seq').as('seq')))

/** The sequence number of the last event appended; 0 before the first. */
export async function lastEventSeq(db: Db): Promise<number> {
  const [{seq}] = await lastEvent(db)
  return seq === null ? 0 : Number(seq)
}

/**
 * Run inside the transaction that holds the event-order lock (see DialectQuirks.lockEventOrder). Nothing
 * reads their answer: on PostgreSQL they go with the commit (postgres-round-trips.ts).
 */
type EventRow = ReturnType<typeof codec.eventRow>
const insertOneEvent = precompiled(
  (db: Db, kind: EventRow['kind'], project: EventRow['project'], environment: EventRow['environment'], releaseId: EventRow['release_id'], taskId: EventRow['task_id'], data: EventRow['data'], at: EventRow['at'], apps: EventRow['apps']) =>
    db.insertInto('events').values({kind, project, environment, release_id: releaseId, task_id: taskId, data, at, apps}).modifyEnd(sql.raw(AT_COMMIT)),
)

export async function insertEvents(db: Db, events: NewEvent[]): Promise<void> {
  const rows = events.map(codec.eventRow)
  // Most changes record one event: that statement is precompiled.
  if (rows.length === 1) {
    const [{kind, project, environment, release_id, task_id, data, at, apps}] = rows
    await insertOneEvent(db, kind, project, environment, release_id, task_id, data, at, apps ?? null)
    return
  }
  const batches = rowBatches(rows)
  // Those of one statement go with the commit; the start of a big release is thousands of events:
  // timers and requests run between their statements.
  if (batches.length === 1) {
    await db.insertInto('events').values(batches[0]).modifyEnd(sql.raw(AT_COMMIT)).execute()
    return
  }
  const betweenStatements = eventLoopSlices()
  for (const batch of batches) {
    await betweenStatements()
    await db.insertInto('events').values(batch).execute()
  }
}

/** Events at or before this sequence number were deleted by the retention cleanup; 0 while none were. */
export async function eventHorizon(db: Db): Promise<number> {
  const row = await db.selectFrom('event_horizon').select('pruned_through').where('id', '=', 1).executeTakeFirst()
  return row ? Number(row.pruned_through) : 0
}

/**
 * Deletes up to `limit` of the oldest events appended before the cutoff and not after `keepAfter` (what
 * the notification outbox has not read yet stays), and moves the horizon past them. Returns how many.
 */
export async function pruneEvents(db: Db, cutoff: string, keepAfter: number, limit: number): Promise<number> {
  const last = await db
    .selectFrom('events')
    .select('seq')
    .where('at', '<', cutoff)
    .where('seq', '<=', keepAfter)
    .orderBy('seq')
    .limit(limit)
    .execute()
  if (last.length === 0) return 0
  const through = Number(last[last.length - 1].seq)
  const deleted = await db.deleteFrom('events').where('seq', '<=', through).executeTakeFirst()
  await db
    .insertInto('event_horizon')
    .values({id: 1, pruned_through: through})
    .onConflict((oc) => oc.column('id').doUpdateSet({pruned_through: through}))
    .execute()
  return Number(deleted.numDeletedRows)
}
