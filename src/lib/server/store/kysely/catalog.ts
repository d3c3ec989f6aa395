// Projects, their environments and the apps of each environment.
import type {Selectable} from 'kysely'

import type {AppPatch, AppRecord, EnvironmentRecord, ProjectRecord} from '../store.js'
import type {AppsTable} from '../schema/tables.js'
import {eachRowSets, valueBatches} from './batches.js'
import * as codec from './codecs.js'
import {byCodePoint, type Db, precompiled} from './db.js'

const projectHead = precompiled((db: Db, name: string) => db.selectFrom('projects').select(['name', 'file', 'base_dir', 'created_at', 'applied_at']).where('name', '=', name))
const environmentRow = precompiled((db: Db, project: string, name: string) => db.selectFrom('environments').selectAll().where('project', '=', project).where('name', '=', name))

export async function getProject(db: Db, name: string): Promise<ProjectRecord | null> {
  // The blueprint is the big column and changes only with an apply: it is read when applied_at moved.
  const [head] = await projectHead(db, name)
  if (!head) return null
  const blueprint = codec.knownBlueprint(head.name, head.applied_at)
  if (blueprint) return codec.toProject({...head, blueprint: ''}, blueprint)
  const row = await db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst()
  return row ? codec.toProject(row) : null
}

export async function listProjects(db: Db): Promise<ProjectRecord[]> {
  const rows = await db.selectFrom('projects').selectAll().execute()
  return rows.sort((a, b) => byCodePoint(a.name, b.name)).map((row) => codec.toProject(row))
}

export async function upsertProject(db: Db, project: ProjectRecord): Promise<void> {
  const values = codec.projectRow(project)
  codec.forgetBlueprint(project.name)
  await db
    .insertInto('projects')
    .values(values)
    .onConflict((oc) => oc.column('name').doUpdateSet({blueprint: values.blueprint, file: values.file, base_dir: values.base_dir, applied_at: values.applied_at}))
    .execute()
}

export async function listEnvironments(db: Db, project: string): Promise<EnvironmentRecord[]> {
  const rows = await db.selectFrom('environments').selectAll().where('project', '=', project).orderBy('created_at').orderBy('name').execute()
  return rows.map((row) => ({project: row.project, name: row.name, createdAt: row.created_at}))
}

export async function getEnvironment(db: Db, project: string, name: string): Promise<EnvironmentRecord | null> {
  const [row] = await environmentRow(db, project, name)
  return row ? {project: row.project, name: row.name, createdAt: row.created_at} : null
}

export async function insertEnvironment(db: Db, environment: EnvironmentRecord): Promise<void> {
  await db.insertInto('environments').values({project: environment.project, name: environment.name, created_at: environment.createdAt}).execute()
}

export async function deleteEnvironment(db: Db, project: string, name: string): Promise<void> {
  // What belongs to the environment goes with it; its release history stays.
  for (const table of ['apps', 'settings', 'settings_changes', 'pauses', 'schedules', 'freezes'] as const) {
    await db.deleteFrom(table).where('project', '=', project).where('environment', '=', name).execute()
  }
  await db.deleteFrom('environments').where('project', '=', project).where('name', '=', name).execute()
}

export async function listApps(db: Db, project: string, environment: string, names?: string[]): Promise<AppRecord[]> {
  const query = db.selectFrom('apps').selectAll().where('project', '=', project).where('environment', '=', environment)
  let rows: Selectable<AppsTable>[]
  if (names) {
    rows = []
    // project and environment are the statement's other two parameters
    for (const batch of valueBatches(names, 2)) rows.push(...(await query.where('name', 'in', batch).execute()))
  } else {
    rows = await query.execute()
  }
  // Sorted here, not by the database: collations differ between databases and their locales.
  rows.sort((a, b) => byCodePoint(a.name, b.name))
  return rows.map(codec.toApp)
}

export async function upsertApp(db: Db, app: AppRecord): Promise<void> {
  const values = codec.appRow(app)
  await db
    .insertInto('apps')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['project', 'environment', 'name']).doUpdateSet({
        kind: values.kind,
        desired_version: values.desired_version,
        deployed_version: values.deployed_version,
        health: values.health,
        removed: values.removed,
        drift: values.drift,
        updated_at: values.updated_at,
      }),
    )
    .execute()
}

export async function updateApp(db: Db, project: string, environment: string, name: string, patch: AppPatch, at: string): Promise<AppRecord | null> {
  const row = await db.updateTable('apps').set(appChanges(patch, at)).where('project', '=', project).where('environment', '=', environment).where('name', '=', name).returningAll().executeTakeFirst()
  return row ? codec.toApp(row) : null
}

export async function updateApps(db: Db, project: string, environment: string, names: string[], patch: AppPatch, at: string): Promise<AppRecord[]> {
  const changes = appChanges(patch, at)
  const updated: AppRecord[] = []
  // project, environment and the changed values are the statement's other parameters
  for (const batch of valueBatches(names, 2 + Object.keys(changes).length)) {
    const rows = await db.updateTable('apps').set(changes).where('project', '=', project).where('environment', '=', environment).where('name', 'in', batch).returningAll().execute()
    updated.push(...rows.map(codec.toApp))
  }
  return updated
}

/** Several apps of one environment, each with its own change and time; the apps as they now are. */
export async function updateAppsEach(db: Db, project: string, environment: string, changes: {name: string; patch: AppPatch; at: string}[]): Promise<AppRecord[]> {
  const updated: AppRecord[] = []
  for (const [names, set] of eachRowSets('name', changes.map(({name, patch, at}) => ({key: name, changes: appChanges(patch, at)})))) {
    const rows = await db.updateTable('apps').set(set).where('project', '=', project).where('environment', '=', environment).where('name', 'in', names).returningAll().execute()
    updated.push(...rows.map(codec.toApp))
  }
  return updated
}

function appChanges(patch: AppPatch, at: string) {
  return {
    ...(patch.desiredVersion !== undefined && {desired_version: patch.desiredVersion}),
    ...(patch.deployedVersion !== undefined && {deployed_version: patch.deployedVersion}),
    ...(patch.health !== undefined && {health: patch.health}),
    ...(patch.removed !== undefined && {removed: codec.bit(patch.removed)}),
    ...(patch.kind !== undefined && {kind: patch.kind}),
    ...(patch.drift !== undefined && {drift: patch.drift ? JSON.stringify(patch.drift) : null}),
    updated_at: at,
  }
}

export async function deleteApp(db: Db, project: string, environment: string, name: string): Promise<void> {
  await db.deleteFrom('apps').where('project', '=', project).where('environment', '=', environment).where('name', '=', name).execute()
}
