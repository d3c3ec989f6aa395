// Who may call each route: one line per route, in one table. A route without a line here cannot be
// registered (buildHttpServer refuses to start), and test/lib/server/http/access-matrix.test.ts checks
// every route of the table against every role, in scope and out of it.
//
// A rule names the permission the route needs (server/access/roles.ts says which roles have it), what
// it does in words (for the refusal), the audit action of a route that changes something, and where to
// read the scope it acts on. Scopes are read before the request is validated, from the raw request, so a
// reader never trusts a shape: anything it cannot read asks for the control plane, the widest scope.
import type {FastifyRequest} from 'fastify'

import {releaseNotFound} from '../engine/lookups.js'
import {Pipelines} from '../engine/pipelines.js'
import {ControlPlaneError} from '../errors.js'
import {CONTROL_PLANE, type Permission, type Scope} from '../access/roles.js'
import type {Store} from '../store/store.js'

export interface ScopeReader {
  /** where the scope comes from, for the tests that build requests from this table */
  readonly from: 'control-plane' | 'params' | 'query' | 'body' | 'release' | 'freeze' | 'pipeline' | 'run'
  /** the scope, or the scopes, every one of which the grants must cover (a pipeline acts in several environments) */
  read(request: FastifyRequest, store: Store): Scope | readonly Scope[] | Promise<Scope | readonly Scope[]>
}

export type AccessRule =
  /** no token needed */
  | {readonly kind: 'public'}
  /** any accepted token */
  | {readonly kind: 'signed-in'}
  | {
      readonly kind: 'permission'
      readonly permission: Permission
      /** in a refusal: "token ci-shop (...) may not <does>" */
      readonly does: string
      readonly scope: ScopeReader
      /** the audit action; every route that changes something has one, and is audited */
      readonly action?: string
      /** a listing: a grant anywhere inside the scope lets it through, and the route shows only what the grants reach */
      readonly within?: boolean
      /** of several scopes, one is enough (reading a pipeline run: any of its environments); otherwise every one is needed */
      readonly some?: boolean
      /** what the request acted on, when its parameters do not say (the project a blueprint applied) */
      readonly target?: (answer: unknown) => string | null
    }

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null)

function scopeOf(fields: unknown): Scope {
  const {project, environment} = (fields && typeof fields === 'object' ? fields : {}) as Record<string, unknown>
  const name = text(project)
  return name === null ? CONTROL_PLANE : {project: name, environment: text(environment)}
}

const controlPlane: ScopeReader = {from: 'control-plane', read: () => CONTROL_PLANE}
/** :project and :environment of the path */
const params: ScopeReader = {from: 'params', read: (request) => scopeOf(request.params)}
/** ?project=&environment= */
const query: ScopeReader = {from: 'query', read: (request) => scopeOf(request.query)}
/** {"project", "environment"} of the body */
const body: ScopeReader = {from: 'body', read: (request) => scopeOf(request.body)}
/** the project and environment of release :id */
const release: ScopeReader = {
  from: 'release',
  async read(request, store) {
    const raw = text((request.params as Record<string, unknown>).id)
    const id = raw !== null && /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN
    if (!Number.isSafeInteger(id)) return CONTROL_PLANE
    const found = await store.getRelease(id)
    if (!found) throw releaseNotFound(id)
    return {project: found.project, environment: found.environment}
  },
}

/** the scope of freeze :id */
const freeze: ScopeReader = {
  from: 'freeze',
  async read(request, store) {
    const raw = text((request.params as Record<string, unknown>).id)
    const id = raw !== null && /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN
    if (!Number.isSafeInteger(id)) return CONTROL_PLANE
    const found = await store.getFreeze(id)
    if (!found) throw new ControlPlaneError('not_found', `freeze ${id} not found`, {hint: 'list freezes with: relctl freeze list'})
    return {project: found.project, environment: found.environment}
  },
}

/**
 * The environments of pipeline :pipeline of :project: running it acts in each. A project or pipeline
 * that does not exist reads as the whole project (its 404 comes later, to those who may run one there).
 */
const pipeline: ScopeReader = {
  from: 'pipeline',
  async read(request, store) {
    const {project, pipeline: name} = request.params as Record<string, unknown>
    const scope = scopeOf(request.params)
    if (scope.project === null || typeof name !== 'string') return scope
    const found = (await store.getProject(project as string))?.blueprint.pipelines.find((candidate) => candidate.name === name)
    if (!found) return {project: scope.project, environment: null}
    return found.stages.flatMap((stage) => stage.environments).map((environment) => ({project: scope.project, environment}))
  },
}

/** The environments of pipeline run :run (all of them, or those of the stage it waits to have approved); an unknown id is a 404. */
const run = (which: 'all' | 'gate'): ScopeReader => ({
  from: 'run',
  async read(request, store) {
    const raw = text((request.params as Record<string, unknown>).run)
    const id = raw !== null && /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN
    if (!Number.isSafeInteger(id)) return CONTROL_PLANE
    const found = await store.getPipelineRun(id)
    if (!found) throw new ControlPlaneError('not_found', `pipeline run ${id} not found`, {hint: 'list runs with: relctl pipeline list -p PROJECT'})
    return Pipelines.environmentsOf(found, which).map((environment) => ({project: found.project, environment}))
  },
})

const PUBLIC: AccessRule = {kind: 'public'}
const SIGNED_IN: AccessRule = {kind: 'signed-in'}
const reads = (does: string, scope: ScopeReader): AccessRule => ({kind: 'permission', permission: 'read', does, scope})
/** Reads what several scopes share: a grant on any one of them will do. */
const readsAny = (does: string, scope: ScopeReader): AccessRule => ({kind: 'permission', permission: 'read', does, scope, some: true})
const lists = (does: string, scope: ScopeReader): AccessRule => ({kind: 'permission', permission: 'read', does, scope, within: true})
const needs = (permission: Permission, does: string, scope: ScopeReader): AccessRule => ({kind: 'permission', permission, does, scope})
const acts = (permission: Permission, action: string, does: string, scope: ScopeReader, target?: (answer: unknown) => string | null): AccessRule => ({
  kind: 'permission',
  permission,
  does,
  scope,
  action,
  ...(target && {target}),
})

const ENV = '/v1/projects/:project/environments/:environment'

/** The project a blueprint apply answered with. */
function appliedProject(answer: unknown): string | null {
  const name = text((answer as {project?: {name?: unknown}} | null)?.project?.name)
  return name === null ? null : `project ${name}`
}

/** The freeze an add answered with. */
function addedFreeze(answer: unknown): string | null {
  const id = (answer as {id?: unknown} | null)?.id
  return typeof id === 'number' ? `freeze ${id}` : null
}

/** Every route: "METHOD /path" as fastify registers it → its rule. */
export const ROUTE_RULES: Readonly<Record<string, AccessRule>> = {
  'GET /healthz': PUBLIC,
  'GET /openapi.json': SIGNED_IN,
  'GET /v1/whoami': SIGNED_IN,
  'GET /v1/replicas': reads('see the replicas', controlPlane),

  'POST /v1/projects': acts('admin', 'project.apply', 'apply blueprints (their deploy commands run on the control plane)', controlPlane, appliedProject),
  'GET /v1/projects': lists('list projects', controlPlane),
  'GET /v1/projects/:project': lists('read this project', params),
  'GET /v1/projects/:project/environments': lists('list the environments of this project', params),
  [`GET ${ENV}`]: reads('read this environment', params),

  [`GET ${ENV}/apps`]: reads('read apps', params),
  [`PUT ${ENV}/apps/:app/version`]: acts('deploy', 'app.set', 'set app versions', params),
  // Blocking a version stops everyone's releases of it, like a pause: operate, on the project.
  'POST /v1/projects/:project/apps/:app/block': acts('operate', 'app.block', 'block versions', params),
  'POST /v1/projects/:project/apps/:app/unblock': acts('operate', 'app.unblock', 'unblock versions', params),
  'GET /v1/projects/:project/blocked-versions': reads('read blocked versions', params),
  [`GET ${ENV}/apps/:app/history`]: reads('read app history', params),

  [`POST ${ENV}/releases`]: acts('deploy', 'release.trigger', 'trigger releases', params),
  [`POST ${ENV}/sync`]: acts('deploy', 'release.sync', 'sync apps', params),
  'POST /v1/releases/:id/rollback': acts('deploy', 'release.rollback', 'roll back releases', release),
  'POST /v1/releases/:id/retry': acts('deploy', 'release.retry', 'retry releases', release),
  'GET /v1/releases': reads('read releases', query),
  'GET /v1/releases/:id': reads('read releases', release),
  'GET /v1/releases/:id/logs': reads('read release logs', release),
  'POST /v1/releases/:id/cancel': acts('deploy', 'release.cancel', 'cancel releases', release),
  'POST /v1/releases/:id/approve': acts('approve', 'release.approve', 'approve releases', release),
  'POST /v1/releases/:id/reject': acts('approve', 'release.reject', 'reject releases', release),

  'POST /v1/projects/:project/pipelines/:pipeline/runs': acts('deploy', 'pipeline.run', 'run pipelines', pipeline),
  'GET /v1/projects/:project/pipeline-runs': lists('list pipeline runs', params),
  'GET /v1/pipeline-runs/:run': readsAny('read pipeline runs', run('all')),
  'POST /v1/pipeline-runs/:run/approve': acts('approve', 'pipeline.approve', 'approve pipeline runs', run('gate')),
  'POST /v1/pipeline-runs/:run/reject': acts('approve', 'pipeline.reject', 'reject pipeline runs', run('gate')),
  'POST /v1/pipeline-runs/:run/cancel': acts('deploy', 'pipeline.cancel', 'cancel pipeline runs', run('all')),
  [`POST ${ENV}/promote`]: acts('deploy', 'release.promote', 'promote versions', params),

  'GET /v1/settings': reads('read settings', query),
  'PUT /v1/settings/parallel': acts('operate', 'settings.parallel', 'change settings', body),
  'PUT /v1/settings/approval': acts('operate', 'settings.approval', 'change settings', body),
  'PUT /v1/settings/queue': acts('operate', 'settings.queue', 'change settings', body),

  'POST /v1/pause': acts('operate', 'pause', 'pause releases', controlPlane),
  'POST /v1/resume': acts('operate', 'resume', 'resume releases', controlPlane),
  'POST /v1/projects/:project/pause': acts('operate', 'pause', 'pause releases', params),
  'POST /v1/projects/:project/resume': acts('operate', 'resume', 'resume releases', params),
  [`POST ${ENV}/pause`]: acts('operate', 'pause', 'pause releases', params),
  [`POST ${ENV}/resume`]: acts('operate', 'resume', 'resume releases', params),
  [`PUT ${ENV}/schedule`]: acts('operate', 'schedule.set', 'set schedules', params),
  [`GET ${ENV}/schedule`]: reads('read schedules', params),
  [`DELETE ${ENV}/schedule`]: acts('operate', 'schedule.delete', 'delete schedules', params),
  [`POST ${ENV}/schedule/pause`]: acts('operate', 'schedule.pause', 'pause schedules', params),
  [`POST ${ENV}/schedule/resume`]: acts('operate', 'schedule.resume', 'resume schedules', params),
  'POST /v1/freezes': acts('operate', 'freeze.add', 'add freezes', body, addedFreeze),
  'GET /v1/freezes': lists('read freezes', query),
  'DELETE /v1/freezes/:id': acts('operate', 'freeze.delete', 'delete freezes', freeze),

  // The stream lets through a token that may read anything inside the scope asked for, and then carries
  // only the events its grants reach (http/events.ts).
  'GET /v1/events': lists('read events', query),
  'POST /v1/notifications': acts('admin', 'notification.add', 'add notifications', controlPlane),
  'GET /v1/notifications': needs('admin', 'list notifications', controlPlane),
  'DELETE /v1/notifications/:id': acts('admin', 'notification.remove', 'remove notifications', controlPlane),
  'POST /v1/notifications/:id/test': acts('admin', 'notification.test', 'test notifications', controlPlane),
  'GET /v1/notifications/:id/deliveries': needs('admin', 'read notification deliveries', controlPlane),

  'POST /v1/tokens': acts('admin', 'token.create', 'create tokens', controlPlane),
  'GET /v1/tokens': needs('admin', 'list tokens', controlPlane),
  'POST /v1/tokens/:name/rotate': acts('admin', 'token.rotate', 'rotate tokens', controlPlane),
  'DELETE /v1/tokens/:name': acts('admin', 'token.revoke', 'revoke tokens', controlPlane),
  'GET /v1/audit': needs('admin', 'read the audit log', query),
}

/** The rule of a route; HEAD is GET's. */
export function ruleOf(method: string, url: string): AccessRule | undefined {
  return ROUTE_RULES[`${method === 'HEAD' ? 'GET' : method} ${url}`]
}

export function isMutating(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD'
}
