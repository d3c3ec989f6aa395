// Reads that several parts of the engine start with: a project or environment that must exist (or a
// not-found error that lists what does), and an environment's effective settings and admission policy.
import {type EnvironmentSpec, plainEnvironment} from '../blueprint/blueprint.js'
import {ControlPlaneError, notFound} from '../errors.js'
import type {ProjectRecord, Store} from '../store/store.js'
import {type AdmissionPolicy, toPolicy} from './rules/admission.js'
import {freezeAt, type FreezeHold} from './rules/freeze-rules.js'
import {type EffectiveSettings, effectiveSettings} from './rules/settings.js'

export async function requireProject(store: Store, name: string): Promise<ProjectRecord> {
  const project = await store.getProject(name)
  if (!project) {
    const known = (await store.listProjects()).map((p) => p.name)
    throw notFound('project', name, known, 'declare it with: relctl project apply -f relctl.yaml')
  }
  return project
}

export async function requireEnvironment(store: Store, project: ProjectRecord, environment: string): Promise<void> {
  if (!(await store.getEnvironment(project.name, environment))) {
    const known = (await store.listEnvironments(project.name)).map((env) => env.name)
    throw notFound('environment', environment, known, 'add it under "environments:" in the blueprint and apply it', `project ${project.name}`)
  }
}

/** The project, once it and its environment are known to exist. */
export async function requireProjectEnvironment(store: Store, projectName: string, environment: string): Promise<ProjectRecord> {
  const project = await requireProject(store, projectName)
  await requireEnvironment(store, project, environment)
  return project
}

export function releaseNotFound(id: number): ControlPlaneError {
  return new ControlPlaneError('not_found', `release ${id} not found`, {hint: 'list releases with: relctl release list'})
}

/** The environment as the blueprint declares it; one removed meanwhile plans as a plain environment. */
export function environmentSpec(project: ProjectRecord, name: string): EnvironmentSpec {
  return project.blueprint.environments.find((environment) => environment.name === name) ?? plainEnvironment(name)
}

export function inBlueprintOrder<T extends {name: string}>(project: ProjectRecord, environments: T[]): T[] {
  const order = project.blueprint.environments.map((environment) => environment.name)
  return [...environments].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name))
}

export async function effectiveSettingsOf(store: Store, project: string, environment: string): Promise<EffectiveSettings> {
  const rows = await store.settingsFor(project, environment)
  return effectiveSettings(rows.controlPlane, rows.environment)
}

/** The freeze that holds an environment at `now` (the control plane's, its project's or its own), if any. */
export async function freezeHoldOf(store: Store, project: string, environment: string, now: Date): Promise<FreezeHold | null> {
  return freezeAt(await store.freezesFor(project, environment, now.toISOString()), now)
}

export async function policyFor(store: Store, project: string, environment: string, now: Date): Promise<AdmissionPolicy> {
  const [settings, pauses, hold] = await Promise.all([effectiveSettingsOf(store, project, environment), store.listPauses(project, environment), freezeHoldOf(store, project, environment, now)])
  return toPolicy(environment, settings, pauses, hold)
}

/**
 * What an environment's turn reads whatever its changes, asked for with its lock (EnvironmentTurns'
 * readAhead): the policy its admission decides by and, on PostgreSQL, what triggers and claims check
 * (read whether or not the turn has any, in the lock's message); in process (SQLite) a read has no
 * round trip to share, and those are read when needed.
 */
export function readTurnAhead(store: Store, project: string, environment: string, now: Date): Promise<unknown> {
  const policy = policyFor(store, project, environment, now)
  if (store.dialect === 'sqlite') return policy
  return Promise.all([policy, store.getProject(project), store.getEnvironment(project, environment), store.listBlockedVersions(project)])
}
