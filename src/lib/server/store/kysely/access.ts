// Tokens (looked up by the hash of their secret), the audit log, and who approved which release.
import type {AuditEntry} from '../../../api/access.js'
import type {Approval} from '../../../api/schemas.js'
import type {AuditFilter, NewAuditEntry, TokenRecord} from '../store.js'
import * as codec from './codecs.js'
import {rowBatches} from './batches.js'
import {byCodePoint, type Db, inTransaction, precompiled} from './db.js'

const tokenByHashRows = precompiled((db: Db, hash: string) => db.selectFrom('tokens').selectAll().where('hash', '=', hash))

export async function insertToken(db: Db, token: TokenRecord): Promise<boolean> {
  const result = await db
    .insertInto('tokens')
    .values(codec.tokenRow(token))
    .onConflict((oc) => oc.column('name').doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1
}

export async function putToken(db: Db, token: TokenRecord): Promise<void> {
  const row = codec.tokenRow(token)
  // Another token holding this secret gives it up first: a secret names one token.
  await db.deleteFrom('tokens').where('hash', '=', row.hash).where('name', '!=', row.name).execute()
  const {name: _name, created_at: _createdAt, created_by: _createdBy, last_used_at: _lastUsedAt, ...update} = row
  await db
    .insertInto('tokens')
    .values(row)
    .onConflict((oc) => oc.column('name').doUpdateSet(update))
    .execute()
}

export async function tokenByHash(db: Db, hash: string): Promise<TokenRecord | null> {
  const [row] = await tokenByHashRows(db, hash)
  return row ? codec.toToken(row) : null
}

export async function getToken(db: Db, name: string): Promise<TokenRecord | null> {
  const row = await db.selectFrom('tokens').selectAll().where('name', '=', name).executeTakeFirst()
  return row ? codec.toToken(row) : null
}

export async function listTokens(db: Db): Promise<TokenRecord[]> {
  const rows = await db.selectFrom('tokens').selectAll().execute()
  return rows.map(codec.toToken).sort((a, b) => byCodePoint(a.name, b.name))
}

export async function rotateToken(db: Db, name: string, hash: string, expiresAt: string | null, rotatedAt: string): Promise<TokenRecord | null> {
  const row = await db
    .updateTable('tokens')
    .set({hash, expires_at: expiresAt, rotated_at: rotatedAt})
    .where('name', '=', name)
    .returningAll()
    .executeTakeFirst()
  return row ? codec.toToken(row) : null
}

export async function deleteToken(db: Db, name: string): Promise<boolean> {
  const result = await db.deleteFrom('tokens').where('name', '=', name).executeTakeFirst()
  return Number(result.numDeletedRows) === 1
}

export async function touchToken(db: Db, name: string, at: string): Promise<void> {
  await db.updateTable('tokens').set({last_used_at: at}).where('name', '=', name).execute()
}

export async function appendAudit(db: Db, entries: NewAuditEntry[]): Promise<void> {
  const batches = rowBatches(entries.map(codec.auditRow))
  // One statement is atomic by itself; several share a transaction, so that none is kept alone.
  if (batches.length === 1) await db.insertInto('audit').values(batches[0]).execute()
  else if (batches.length > 1) {
    await inTransaction(db, async (trx) => {
      for (const batch of batches) await trx.insertInto('audit').values(batch).execute()
    })
  }
}

export async function listAudit(db: Db, filter: AuditFilter): Promise<AuditEntry[]> {
  let query = db.selectFrom('audit').selectAll()
  if (filter.project) query = query.where('project', '=', filter.project)
  if (filter.environment) query = query.where('environment', '=', filter.environment)
  if (filter.actor) query = query.where('actor', '=', filter.actor)
  if (filter.since) query = query.where('at', '>=', filter.since)
  const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute()
  return rows.map(codec.toAudit)
}

export async function deleteAuditBefore(db: Db, cutoff: string, limit: number): Promise<number> {
  const ids = db.selectFrom('audit').select('id').where('at', '<', cutoff).orderBy('id').limit(limit)
  const result = await db.deleteFrom('audit').where('id', 'in', ids).executeTakeFirst()
  return Number(result.numDeletedRows)
}

export async function addApproval(db: Db, releaseId: number, approval: Approval): Promise<boolean> {
  const result = await db
    .insertInto('approvals')
    .values(codec.approvalRow(releaseId, approval))
    .onConflict((oc) => oc.columns(['release_id', 'approver']).doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1
}

export async function listApprovals(db: Db, releaseId: number): Promise<Approval[]> {
  const rows = await db.selectFrom('approvals').selectAll().where('release_id', '=', releaseId).orderBy('at').orderBy('approver').execute()
  return rows.map(codec.toApproval)
}
