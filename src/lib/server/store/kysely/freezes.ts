// Freezes and blocked versions: what holds releases back besides pauses.
import type {BlockedVersion} from '../../../api/schemas.js'
import type {FreezeRecord, NewFreeze} from '../store.js'
import * as codec from './codecs.js'
import {byCodePoint, type Db, precompiled} from './db.js'

export async function insertFreeze(db: Db, freeze: NewFreeze): Promise<FreezeRecord> {
  const row = await db.insertInto('freezes').values(codec.freezeRow(freeze)).returningAll().executeTakeFirstOrThrow()
  return codec.toFreeze(row)
}

export async function getFreeze(db: Db, id: number): Promise<FreezeRecord | null> {
  const row = await db.selectFrom('freezes').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? codec.toFreeze(row) : null
}

export async function deleteFreeze(db: Db, id: number): Promise<boolean> {
  const result = await db.deleteFrom('freezes').where('id', '=', id).executeTakeFirst()
  return Number(result.numDeletedRows) === 1
}

// Read in every admission turn: the control plane's, the project's and the environment's freezes that
// have not ended (recurring ones never end).
const freezesOfEnvironment = precompiled((db: Db, project: string, environment: string, now: string) =>
  db
    .selectFrom('freezes')
    .selectAll()
    .where((eb) => eb.or([eb('project', '=', ''), eb.and([eb('project', '=', project), eb('environment', 'in', ['', environment])])]))
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', now)]))
    .orderBy('id'),
)

export async function freezesFor(db: Db, project: string, environment: string, now: string): Promise<FreezeRecord[]> {
  return (await freezesOfEnvironment(db, project, environment, now)).map(codec.toFreeze)
}

export async function listFreezes(db: Db, now: string, scope?: {project: string; environment?: string}): Promise<FreezeRecord[]> {
  let query = db
    .selectFrom('freezes')
    .selectAll()
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', now)]))
  if (scope) {
    const {project, environment} = scope
    query = query.where((eb) =>
      eb.or([eb('project', '=', ''), environment === undefined ? eb('project', '=', project) : eb.and([eb('project', '=', project), eb('environment', 'in', ['', environment])])]),
    )
  }
  return (await query.orderBy('id').execute()).map(codec.toFreeze)
}

export async function blockVersion(db: Db, block: BlockedVersion): Promise<{block: BlockedVersion; created: boolean}> {
  const result = await db
    .insertInto('blocked_versions')
    .values(codec.blockRow(block))
    .onConflict((oc) => oc.columns(['project', 'app', 'version']).doNothing())
    .executeTakeFirst()
  if (Number(result.numInsertedOrUpdatedRows ?? 0) === 1) return {block, created: true}
  const row = await db
    .selectFrom('blocked_versions')
    .selectAll()
    .where('project', '=', block.project)
    .where('app', '=', block.app)
    .where('version', '=', block.version)
    .executeTakeFirstOrThrow()
  return {block: codec.toBlock(row), created: false}
}

export async function unblockVersion(db: Db, project: string, app: string, version: string): Promise<BlockedVersion | null> {
  const row = await db.deleteFrom('blocked_versions').where('project', '=', project).where('app', '=', app).where('version', '=', version).returningAll().executeTakeFirst()
  return row ? codec.toBlock(row) : null
}

export async function listBlockedVersions(db: Db, project: string, app?: string): Promise<BlockedVersion[]> {
  let query = db.selectFrom('blocked_versions').selectAll().where('project', '=', project)
  if (app !== undefined) query = query.where('app', '=', app)
  const rows = await query.execute()
  // Oldest first; ties (one instant) by app and version in code-point order.
  rows.sort((a, b) => byCodePoint(a.blocked_at, b.blocked_at) || byCodePoint(a.app, b.app) || byCodePoint(a.version, b.version))
  return rows.map(codec.toBlock)
}
