// Settings at both scopes with their change log, and pauses.
import type {PauseState, SettingsChange} from '../../../api/schemas.js'
import type {SettingsRecord} from '../store.js'
import {rowBatches} from './batches.js'
import * as codec from './codecs.js'
import {byCodePoint, type Db, precompiled} from './db.js'

export async function getSettings(db: Db, project: string | null, environment: string | null): Promise<SettingsRecord | null> {
  const row = await db
    .selectFrom('settings')
    .selectAll()
    .where('project', '=', project ?? '')
    .where('environment', '=', environment ?? '')
    .executeTakeFirst()
  return row ? codec.toSettings(row) : null
}

const settingsRows = precompiled((db: Db, project: string, environment: string) =>
  db
    .selectFrom('settings')
    .selectAll()
    .where((eb) => eb.or([eb.and([eb('project', '=', ''), eb('environment', '=', '')]), eb.and([eb('project', '=', project), eb('environment', '=', environment)])])),
)
// The control plane's pause (project '' and environment '') first, then the project's, then the environment's.
const pausesOfEnvironment = precompiled((db: Db, project: string, environment: string) =>
  db
    .selectFrom('pauses')
    .selectAll()
    .where((eb) => eb.or([eb.and([eb('project', '=', ''), eb('environment', '=', '')]), eb.and([eb('project', '=', project), eb('environment', 'in', ['', environment])])]))
    .orderBy('project')
    .orderBy('environment'),
)

export async function settingsFor(db: Db, project: string, environment: string): Promise<{controlPlane: SettingsRecord | null; environment: SettingsRecord | null}> {
  const rows = await settingsRows(db, project, environment)
  const settings = rows.map(codec.toSettings)
  return {
    controlPlane: settings.find((row) => row.project === null) ?? null,
    environment: settings.find((row) => row.project !== null) ?? null,
  }
}

export async function listSettings(db: Db): Promise<SettingsRecord[]> {
  return (await db.selectFrom('settings').selectAll().execute()).map(codec.toSettings)
}

export async function saveSettings(db: Db, settings: SettingsRecord, changes: SettingsChange[]): Promise<void> {
  const values = codec.settingsRow(settings)
  await db
    .insertInto('settings')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['project', 'environment']).doUpdateSet({
        parallel: values.parallel,
        max_parallel: values.max_parallel,
        approval: values.approval,
        approvals_required: values.approvals_required,
        queue_mode: values.queue_mode,
        updated_by: values.updated_by,
        updated_at: values.updated_at,
      }),
    )
    .execute()
  if (changes.length === 0) return
  for (const batch of rowBatches(changes.map(codec.settingsChangeRow))) await db.insertInto('settings_changes').values(batch).execute()
}

export async function listSettingsChanges(db: Db, project: string | null, environment: string | null, limit: number): Promise<SettingsChange[]> {
  const rows = await db
    .selectFrom('settings_changes')
    .selectAll()
    .where('project', '=', project ?? '')
    .where('environment', '=', environment ?? '')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
  return rows.map(codec.toSettingsChange)
}

export async function listPauses(db: Db, project: string | null, environment: string | null): Promise<PauseState[]> {
  if (project !== null && environment !== null) return (await pausesOfEnvironment(db, project, environment)).map(codec.toPause)
  let query = db.selectFrom('pauses').selectAll()
  if (project !== null) query = query.where((eb) => eb.or([eb.and([eb('project', '=', ''), eb('environment', '=', '')]), eb('project', '=', project)]))
  const rows = await query.execute()
  // Control plane, then projects, then environments, in code-point order (collations differ).
  const rank = (row: {project: string; environment: string}) => (row.project === '' ? 0 : row.environment === '' ? 1 : 2)
  rows.sort((a, b) => rank(a) - rank(b) || byCodePoint(a.project, b.project) || byCodePoint(a.environment, b.environment))
  return rows.map(codec.toPause)
}

export async function addPause(db: Db, pause: PauseState): Promise<{pause: PauseState; created: boolean}> {
  const result = await db
    .insertInto('pauses')
    .values(codec.pauseRow(pause))
    .onConflict((oc) => oc.columns(['project', 'environment']).doNothing())
    .executeTakeFirst()
  if (Number(result.numInsertedOrUpdatedRows ?? 0) === 1) return {pause, created: true}
  const row = await db
    .selectFrom('pauses')
    .selectAll()
    .where('project', '=', pause.project ?? '')
    .where('environment', '=', pause.environment ?? '')
    .executeTakeFirstOrThrow()
  return {pause: codec.toPause(row), created: false}
}

export async function removePause(db: Db, project: string | null, environment: string | null): Promise<boolean> {
  const result = await db.deleteFrom('pauses').where('project', '=', project ?? '').where('environment', '=', environment ?? '').executeTakeFirst()
  return Number(result.numDeletedRows) === 1
}
