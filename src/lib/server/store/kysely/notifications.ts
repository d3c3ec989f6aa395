// Notification subscriptions and their outbox: the cursor that reads events into it, claims of the
// deliveries due (each subscription's oldest first, so that it gets its events in order), attempts.
import {sql} from 'kysely'

import type {DeliveryAttempt, DeliveryRecord, DeliveryStatus, NewDelivery, NewNotification, NotificationRecord} from '../store.js'
import {rowBatches} from './batches.js'
import * as codec from './codecs.js'
import type {Db} from './db.js'
import {lastEventSeq} from './events.js'

export async function insertNotification(db: Db, notification: NewNotification): Promise<NotificationRecord> {
  const row = await db.insertInto('notifications').values(codec.notificationRow(notification, await lastEventSeq(db))).returningAll().executeTakeFirstOrThrow()
  return codec.toNotification(row)
}

export async function listNotifications(db: Db): Promise<NotificationRecord[]> {
  return (await db.selectFrom('notifications').selectAll().orderBy('id').execute()).map(codec.toNotification)
}

export async function getNotification(db: Db, id: number): Promise<NotificationRecord | null> {
  const row = await db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? codec.toNotification(row) : null
}

export async function deleteNotification(db: Db, id: number): Promise<boolean> {
  // The attempts and deliveries go with it (foreign keys cascade; spelled out for databases that do not enforce them).
  const deliveries = db.selectFrom('notification_deliveries').select('id').where('notification_id', '=', id)
  await db.deleteFrom('notification_attempts').where('delivery_id', 'in', deliveries).execute()
  await db.deleteFrom('notification_deliveries').where('notification_id', '=', id).execute()
  const result = await db.deleteFrom('notifications').where('id', '=', id).executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

export async function pendingDeliveryCounts(db: Db): Promise<Map<number, number>> {
  const rows = await db
    .selectFrom('notification_deliveries')
    .select(['notification_id', (eb) => eb.fn.countAll<number>().as('pending')])
    .where('status', '=', 'pending')
    .groupBy('notification_id')
    .execute()
  return new Map(rows.map((row) => [Number(row.notification_id), Number(row.pending)]))
}

/** `lockRows`: the database locks rows (PostgreSQL's FOR UPDATE); SQLite's one connection already serializes. */
export async function lockOutbox(db: Db, lockRows: boolean): Promise<number> {
  await db
    .insertInto('notification_outbox')
    .values({id: 1, last_seq: await lastEventSeq(db)})
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
  let query = db.selectFrom('notification_outbox').select('last_seq').where('id', '=', 1)
  if (lockRows) query = query.forUpdate()
  const row = await query.executeTakeFirstOrThrow()
  return Number(row.last_seq)
}

export async function advanceOutbox(db: Db, seq: number): Promise<void> {
  await db.updateTable('notification_outbox').set({last_seq: seq}).where('id', '=', 1).where('last_seq', '<', seq).execute()
}

export async function insertDeliveries(db: Db, deliveries: NewDelivery[]): Promise<void> {
  for (const batch of rowBatches(deliveries.map(codec.deliveryRow))) {
    await db
      .insertInto('notification_deliveries')
      .values(batch)
      .onConflict((oc) => oc.columns(['notification_id', 'event_seq']).doNothing())
      .execute()
  }
}

export async function claimDeliveries(db: Db, replica: string, now: string, until: string, limit: number): Promise<DeliveryRecord[]> {
  const candidates = await db
    .selectFrom('notification_deliveries as d')
    .select('d.id')
    .where('d.status', '=', 'pending')
    .where('d.next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('d.claimed_until', 'is', null), eb('d.claimed_until', '<', now)]))
    .where(({not, exists, selectFrom}) =>
      not(
        exists(
          selectFrom('notification_deliveries as e')
            .select(sql.lit(1).as('one'))
            .whereRef('e.notification_id', '=', 'd.notification_id')
            .where('e.status', '=', 'pending')
            .where('e.event_seq', 'is not', null)
            .whereRef('e.event_seq', '<', 'd.event_seq'),
        ),
      ),
    )
    .orderBy('d.id')
    .limit(limit)
    .execute()
  const claimed: DeliveryRecord[] = []
  for (const {id} of candidates) {
    // A compare-and-set per row: of two replicas that picked the same delivery, one sends it.
    const row = await db
      .updateTable('notification_deliveries')
      .set({claimed_by: replica, claimed_until: until})
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
      .returningAll()
      .executeTakeFirst()
    if (row) claimed.push(codec.toDelivery(row))
  }
  return claimed
}

export async function insertClaimedDelivery(db: Db, delivery: NewDelivery, replica: string, until: string): Promise<DeliveryRecord> {
  const row = await db
    .insertInto('notification_deliveries')
    .values({...codec.deliveryRow(delivery), claimed_by: replica, claimed_until: until})
    .returningAll()
    .executeTakeFirstOrThrow()
  return codec.toDelivery(row)
}

export async function recordAttempt(db: Db, attempt: DeliveryAttempt, next: {status: DeliveryStatus; nextAttemptAt: string}, outcome: string): Promise<void> {
  await db.insertInto('notification_attempts').values(codec.attemptRow(attempt)).execute()
  const delivery = await db
    .updateTable('notification_deliveries')
    .set({
      status: next.status,
      attempts: attempt.attempt,
      next_attempt_at: next.nextAttemptAt,
      claimed_by: null,
      claimed_until: null,
      ...(next.status !== 'pending' && {ended_at: attempt.at}),
    })
    .where('id', '=', attempt.deliveryId)
    .returning('notification_id')
    .executeTakeFirst()
  if (!delivery) return
  const failed = next.status !== 'delivered'
  await db
    .updateTable('notifications')
    .set({
      last_attempt_at: attempt.at,
      last_outcome: outcome,
      failing_since: failed ? sql<string>`coalesce(failing_since, ${attempt.at})` : null,
    })
    .where('id', '=', delivery.notification_id)
    .execute()
}

export async function listDeliveries(db: Db, notificationId: number, limit: number): Promise<(DeliveryRecord & {attemptLog: DeliveryAttempt[]})[]> {
  const rows = await db.selectFrom('notification_deliveries').selectAll().where('notification_id', '=', notificationId).orderBy('id', 'desc').limit(limit).execute()
  if (rows.length === 0) return []
  const attempts = await db
    .selectFrom('notification_attempts')
    .selectAll()
    .where(
      'delivery_id',
      'in',
      rows.map((row) => row.id),
    )
    .orderBy('delivery_id')
    .orderBy('attempt')
    .execute()
  const byDelivery = new Map<number, DeliveryAttempt[]>()
  for (const attempt of attempts.map(codec.toAttempt)) byDelivery.set(attempt.deliveryId, [...(byDelivery.get(attempt.deliveryId) ?? []), attempt])
  return rows.map((row) => ({...codec.toDelivery(row), attemptLog: byDelivery.get(Number(row.id)) ?? []}))
}

export async function pruneDeliveries(db: Db, cutoff: string, limit: number): Promise<number> {
  const ended = await db.selectFrom('notification_deliveries').select('id').where('status', '!=', 'pending').where('ended_at', '<', cutoff).orderBy('id').limit(limit).execute()
  if (ended.length === 0) return 0
  const ids = ended.map((row) => row.id)
  await db.deleteFrom('notification_attempts').where('delivery_id', 'in', ids).execute()
  await db.deleteFrom('notification_deliveries').where('id', 'in', ids).execute()
  return ids.length
}
