// `project apply`: bring the stored project, its environments and app states in line with a blueprint,
// in one transaction, and say what changed. Removed resources stay in environments (marked removed)
// until a release with --allow-destructive deletes them. Dropping deployed state (an environment with
// deployed apps, or a deployed resource) is refused unless the apply allows it; a dry run does it all
// in a transaction that is rolled back.
import {ACTIVE_STATUSES} from '../../api/domain.js'
import type {ApplyResponse, Change, DroppedApp} from '../../api/schemas.js'
import {type Blueprint, parseBlueprint, type ResourceSpec} from '../blueprint/blueprint.js'
import {ControlPlaneError, invalid} from '../errors.js'
import type {AppRecord, ProjectRecord, Store} from '../store/store.js'
import type {EngineContext} from './context.js'
import {nowOf} from './context.js'
import {changeApp, deleteApp, putApp} from './runs/transitions.js'
import type {Views} from './views.js'

/** The version an app wants when the blueprint names none. */
export const UNVERSIONED = 'latest'

export interface ApplyInput {
  blueprint: Blueprint
  file: string
  baseDir: string
  now: string
  allowDestructive: boolean
}

export interface ApplyResult {
  project: ProjectRecord
  created: boolean
  changes: Change[]
  /** deployed app states the blueprint drops: their environment goes, or their resource newly goes */
  dropped: DroppedApp[]
}

async function droppedApps(store: Store, blueprint: Blueprint, environments: {name: string}[]): Promise<DroppedApp[]> {
  const wantedEnvironments = new Set(blueprint.environments.map((environment) => environment.name))
  const wantedResources = new Set(blueprint.resources.map((spec) => spec.name))
  const dropped: DroppedApp[] = []
  for (const environment of environments) {
    const environmentGoes = !wantedEnvironments.has(environment.name)
    for (const app of await store.listApps(blueprint.project, environment.name)) {
      if (app.deployedVersion === null) continue
      // An app already marked removed was dropped (and allowed) by an earlier apply.
      if (environmentGoes || (!app.removed && !wantedResources.has(app.name))) {
        dropped.push({environment: environment.name, resource: app.name, deployedVersion: app.deployedVersion})
      }
    }
  }
  return dropped
}

function refuseDropping(dropped: DroppedApp[], file: string) {
  const list = dropped.map((app) => `${app.environment}/${app.resource} (deployed version ${app.deployedVersion})`)
  return new ControlPlaneError('invalid_input', `${file} drops deployed state: ${list.join(', ')}`, {
    hint: `check the diff with: relctl project apply --file ${file} --dry-run; apply it anyway with --allow-destructive`,
    details: dropped.map((app) => ({path: `${app.environment}/${app.resource}`, message: `deployed version ${app.deployedVersion}`})),
  })
}

/** Thrown inside the transaction of a dry run so that it rolls back; carries what the apply did. */
class ApplyRolledBack {
  constructor(readonly result: ApplyResult) {}
}

export interface ApplyOutcome extends Omit<ApplyResponse, 'project'> {
  project: ProjectRecord
}

/** applyBlueprint in one transaction; with dryRun, the same work rolled back, so the diff is exact. */
export async function applyInTransaction(
  store: Store,
  input: Omit<ApplyInput, 'allowDestructive'> & {allowDestructive?: boolean; dryRun?: boolean},
  hasActiveReleases: (tx: Store, environment: string) => Promise<boolean>,
): Promise<ApplyOutcome> {
  const {allowDestructive = false, dryRun = false} = input
  let result: ApplyResult
  try {
    result = await store.transaction(async (tx) => {
      const applied = await applyBlueprint(tx, {...input, allowDestructive: allowDestructive || dryRun}, (environment) => hasActiveReleases(tx, environment))
      if (dryRun) throw new ApplyRolledBack(applied)
      return applied
    })
  } catch (error) {
    if (!(error instanceof ApplyRolledBack)) throw error
    result = error.result
  }
  return {
    project: result.project,
    created: result.created,
    changed: result.changes.some((change) => change.change !== 'unchanged'),
    changes: result.changes,
    dryRun,
    dropped: result.dropped,
    needsAllowDestructive: result.dropped.length > 0 && !allowDestructive,
  }
}

function resourceDiff(before: ResourceSpec, after: ResourceSpec): string | null {
  const fields: string[] = []
  if (before.version !== after.version) fields.push(`version ${before.version ?? UNVERSIONED} -> ${after.version ?? UNVERSIONED}`)
  for (const key of ['kind', 'driver', 'dependsOn', 'exec', 'simulate', 'timeoutMs'] as const) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) fields.push(key === 'timeoutMs' ? 'timeout' : key)
  }
  return fields.length > 0 ? fields.join(', ') : null
}

function newApp(project: string, environment: string, spec: ResourceSpec, now: string): AppRecord {
  return {
    project,
    environment,
    name: spec.name,
    kind: spec.kind,
    desiredVersion: spec.version ?? UNVERSIONED,
    deployedVersion: null,
    health: 'Missing',
    removed: false,
    drift: null,
    updatedAt: now,
  }
}

export async function applyBlueprint(store: Store, input: ApplyInput, hasActiveReleases: (environment: string) => Promise<boolean>): Promise<ApplyResult> {
  const {blueprint, now} = input
  const name = blueprint.project
  const existing = await store.getProject(name)
  const changes: Change[] = []
  const previous = new Map((existing?.blueprint.resources ?? []).map((spec) => [spec.name, spec]))

  const project: ProjectRecord = {
    name,
    blueprint,
    file: input.file,
    baseDir: input.baseDir,
    createdAt: existing?.createdAt ?? now,
    appliedAt: now,
  }

  const environments = await store.listEnvironments(name)
  const wanted = new Set(blueprint.environments.map((environment) => environment.name))
  for (const environment of environments.filter((env) => !wanted.has(env.name))) {
    if (await hasActiveReleases(environment.name)) {
      throw invalid(
        `environment "${environment.name}" was removed from the blueprint but has releases queued or running`,
        `wait for them or cancel them (relctl release list -p ${name} -e ${environment.name} --active), then apply again`,
      )
    }
  }

  const dropped = await droppedApps(store, blueprint, environments)
  if (dropped.length > 0 && !input.allowDestructive) throw refuseDropping(dropped, input.file)

  if (!existing) changes.push({kind: 'project', name, change: 'created'})
  else if (JSON.stringify(existing.blueprint) !== JSON.stringify(blueprint) || existing.baseDir !== input.baseDir) {
    changes.push({kind: 'project', name, change: 'updated'})
  } else {
    changes.push({kind: 'project', name, change: 'unchanged'})
  }
  await store.upsertProject(project)

  for (const spec of blueprint.resources) {
    const before = previous.get(spec.name)
    if (!before) changes.push({kind: 'resource', name: spec.name, change: 'created'})
    else {
      const diff = resourceDiff(before, spec)
      if (diff) changes.push({kind: 'resource', name: spec.name, change: 'updated', detail: diff})
    }
  }
  // Where a removed resource is still deployed it stays (marked removed); elsewhere it goes at once.
  const keptIn = new Map<string, string[]>()
  for (const before of previous.values()) {
    if (!blueprint.resources.some((spec) => spec.name === before.name)) keptIn.set(before.name, [])
  }

  for (const environment of environments.filter((env) => !wanted.has(env.name))) {
    await store.deleteEnvironment(name, environment.name)
    const deployed = dropped.filter((app) => app.environment === environment.name).map((app) => `${app.resource} ${app.deployedVersion}`)
    const detail = deployed.length > 0 ? `deleted with the state of its deployed apps: ${deployed.join(', ')}` : 'no app was deployed there'
    changes.push({kind: 'environment', name: environment.name, change: 'removed', detail})
  }

  const known = new Set(environments.map((environment) => environment.name))
  for (const environment of blueprint.environments) {
    if (!known.has(environment.name)) {
      await store.insertEnvironment({project: name, name: environment.name, createdAt: now})
      for (const spec of blueprint.resources) await putApp(store, newApp(name, environment.name, spec, now))
      changes.push({kind: 'environment', name: environment.name, change: 'created'})
      continue
    }
    const apps = new Map((await store.listApps(name, environment.name)).map((app) => [app.name, app]))
    for (const spec of blueprint.resources) {
      const app = apps.get(spec.name)
      if (!app) {
        await putApp(store, newApp(name, environment.name, spec, now))
        continue
      }
      const before = previous.get(spec.name)
      // The blueprint's version is the declared desired version: a change to it wins over `app set`.
      const versionChanged = before !== undefined && before.version !== spec.version
      if (versionChanged || app.removed || app.kind !== spec.kind) {
        await changeApp(
          store,
          name,
          environment.name,
          spec.name,
          {removed: false, kind: spec.kind, ...(versionChanged && {desiredVersion: spec.version ?? UNVERSIONED})},
          now,
        )
      }
    }
    for (const app of apps.values()) {
      if (blueprint.resources.some((spec) => spec.name === app.name)) continue
      // Never deployed: nothing to delete, so nothing to keep.
      if (app.deployedVersion === null) await deleteApp(store, name, environment.name, app.name, now)
      else {
        if (!app.removed) await changeApp(store, name, environment.name, app.name, {removed: true}, now)
        if (keptIn.has(app.name)) keptIn.get(app.name)?.push(environment.name)
      }
    }
  }
  for (const [resource, environments] of keptIn) {
    const goneWith = dropped.filter((app) => app.resource === resource && !wanted.has(app.environment)).map((app) => app.environment)
    const parts = [
      ...(environments.length > 0 ? [`still deployed in ${environments.join(', ')}: kept there until a release with --allow-destructive deletes it`] : []),
      ...(goneWith.length > 0 ? [`deployed in ${goneWith.join(', ')}, deleted with that environment`] : []),
    ]
    changes.push({kind: 'resource', name: resource, change: 'removed', detail: parts.length > 0 ? parts.join('; ') : 'it was not deployed anywhere, so it is gone'})
  }

  return {project, created: !existing, changes, dropped}
}

/** Parses and applies a blueprint; a parse error answers with every problem and where it is. */
export async function applyProject(
  ctx: EngineContext,
  views: Views,
  content: string,
  file: string,
  baseDir: string,
  options: {allowDestructive?: boolean; dryRun?: boolean} = {},
): Promise<ApplyResponse> {
  let blueprint: Blueprint
  try {
    blueprint = parseBlueprint(content, file)
  } catch (error) {
    const problems = (error as {problems?: {path: string; message: string; line?: number; column?: number}[]}).problems
    if (!problems) throw error
    throw new ControlPlaneError('invalid_blueprint', (error as Error).message, {
      hint: 'fix the problems listed and apply again',
      details: problems.map((problem) => ({
        path: problem.path,
        message: problem.line ? `line ${problem.line}: ${problem.message}` : problem.message,
      })),
    })
  }
  const {project, ...outcome} = await applyInTransaction(ctx.store, {blueprint, file, baseDir, now: nowOf(ctx), ...options}, async (tx, environment) =>
    (await tx.listReleases({project: blueprint.project, environment, statuses: ACTIVE_STATUSES})).length > 0,
  )
  // A dry run wrote no environment, so the blueprint's are the ones the project would have.
  return {...outcome, project: {...(await views.projectView(project)), ...(outcome.dryRun && {environments: blueprint.environments.map((environment) => environment.name)})}}
}
