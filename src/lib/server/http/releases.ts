import {Type} from '@sinclair/typebox'
import type {FastifyInstance, FastifyRequest} from 'fastify'

import {ACTIVE_STATUSES, RELEASE_STATUSES, type ReleaseStatus, splitList} from '../../api/domain.js'
import {
  AppHistoryEntry,
  DecisionRequest,
  DryRun,
  LogsResponse,
  Release,
  RetryRequest,
  RollbackRequest,
  Name,
  SyncRequest,
  SyncResponse,
  TriggerRequest,
  TriggerResponse,
  WaitingFor,
} from '../../api/schemas.js'
import {invalid} from '../errors.js'
import type {Engine} from '../engine/engine.js'
import {actorOf, auditDetail, requirePermission} from './auth.js'
import {AppParams, EnvironmentParams, errorResponses, IdempotencyHeaders, idempotencyKeyOf, ReleaseParams} from './common.js'
import {ReleaseListJson} from './release-list-json.js'

const ListQuery = Type.Object({
  project: Type.Optional(Name),
  environment: Type.Optional(Name),
  status: Type.Optional(Type.String({description: 'comma-separated statuses'})),
  active: Type.Optional(Type.Boolean({description: 'only pending, queued and running releases'})),
  limit: Type.Optional(Type.Integer({minimum: 1, maximum: 1000, default: 50})),
})

const LogsQuery = Type.Object({
  after: Type.Optional(Type.Integer({minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'the `next` of the previous page'})),
  limit: Type.Optional(Type.Integer({minimum: 1, maximum: 5000, default: 1000})),
  resource: Type.Optional(Type.Union([Name, Type.Unsafe<string>({type: 'string', enum: ['beforeTarget', 'afterTarget']})], {description: 'a task: the resource, or the hook (beforeTarget, afterTarget)'})),
  target: Type.Optional(Name),
})

function parseStatuses(text: string | undefined): ReleaseStatus[] | undefined {
  if (!text) return undefined
  const statuses = splitList(text)
  const unknown = statuses.filter((status) => !(RELEASE_STATUSES as readonly string[]).includes(status))
  if (unknown.length > 0) throw invalid(`unknown status ${unknown.join(', ')}`, `use: ${RELEASE_STATUSES.join(', ')}`)
  return statuses as ReleaseStatus[]
}

/**
 * A request that overrides freezes needs operate on its scope besides deploy (a refusal is 403, exit 7),
 * and its reason goes into its audit entry.
 */
function checkFreezeOverride(request: FastifyRequest, body: {overrideFreeze?: {reason: string}} | undefined): void {
  if (!body?.overrideFreeze) return
  requirePermission(request, 'operate', 'override freezes')
  auditDetail(request, `override-freeze: ${body.overrideFreeze.reason}`)
}

export function registerReleaseRoutes(app: FastifyInstance, engine: Engine) {
  const listJson = new ReleaseListJson()
  app.post<{Params: {project: string; environment: string}; Body: TriggerRequest}>(
    '/v1/projects/:project/environments/:environment/releases',
    {
      schema: {
        tags: ['releases'],
        summary: 'Trigger a release; durable before the answer. The same Idempotency-Key returns the same release.',
        params: EnvironmentParams,
        headers: IdempotencyHeaders,
        body: TriggerRequest,
        response: {200: Type.Union([TriggerResponse, DryRun]), 201: TriggerResponse, ...errorResponses},
      },
    },
    async (request, reply) => {
      checkFreezeOverride(request, request.body)
      const result = await engine.trigger(request.params.project, request.params.environment, request.body, {subject: actorOf(request), idempotencyKey: idempotencyKeyOf(request)})
      // A dry run answers with its plan instead of a release.
      return 'dryRun' in result ? result : reply.code(result.created ? 201 : 200).send(result)
    },
  )

  app.post<{Params: {project: string; environment: string}; Body: SyncRequest}>(
    '/v1/projects/:project/environments/:environment/sync',
    {
      schema: {
        tags: ['releases'],
        summary: 'One selective release of the out-of-sync apps among those named (all of them with force)',
        params: EnvironmentParams,
        headers: IdempotencyHeaders,
        body: SyncRequest,
        response: {200: Type.Union([SyncResponse, DryRun]), ...errorResponses},
      },
    },
    async (request) => {
      checkFreezeOverride(request, request.body)
      const {apps, force, refresh, dryRun, comment, source, ...controls} = request.body
      return engine.sync(
        request.params.project,
        request.params.environment,
        apps,
        {force: force ?? false, refresh: refresh ?? false, dryRun: dryRun ?? false, comment: comment ?? null, source: source ?? 'api', ...controls},
        {subject: actorOf(request), idempotencyKey: idempotencyKeyOf(request)},
      )
    },
  )

  app.post<{Params: {id: number}; Body: RollbackRequest}>(
    '/v1/releases/:id/rollback',
    {
      schema: {
        tags: ['releases'],
        summary: 'A new release of type rollback that puts back the versions the release changed',
        params: ReleaseParams,
        headers: IdempotencyHeaders,
        body: RollbackRequest,
        response: {200: Type.Union([TriggerResponse, DryRun]), 201: TriggerResponse, ...errorResponses},
      },
    },
    async (request, reply) => {
      checkFreezeOverride(request, request.body)
      const result = await engine.rollback(request.params.id, request.body ?? {}, {subject: actorOf(request), idempotencyKey: idempotencyKeyOf(request)})
      return 'dryRun' in result ? result : reply.code(result.created ? 201 : 200).send(result)
    },
  )

  app.post<{Params: {id: number}; Body: RetryRequest}>(
    '/v1/releases/:id/retry',
    {
      schema: {
        tags: ['releases'],
        summary: 'A new release of what an ended release did not get done (failed, skipped, cancelled tasks), at the same versions and with the same options',
        params: ReleaseParams,
        headers: IdempotencyHeaders,
        body: RetryRequest,
        response: {200: Type.Union([TriggerResponse, DryRun]), 201: TriggerResponse, ...errorResponses},
      },
    },
    async (request, reply) => {
      checkFreezeOverride(request, request.body)
      const result = await engine.retry(request.params.id, request.body ?? {}, {subject: actorOf(request), idempotencyKey: idempotencyKeyOf(request)})
      return 'dryRun' in result ? result : reply.code(result.created ? 201 : 200).send(result)
    },
  )

  app.get<{Params: {project: string; environment: string; app: string}; Querystring: {limit?: number}}>(
    '/v1/projects/:project/environments/:environment/apps/:app/history',
    {
      schema: {
        tags: ['apps'],
        summary: 'Versions of an app deployed in an environment, and by which releases, newest first',
        params: AppParams,
        querystring: Type.Object({limit: Type.Optional(Type.Integer({minimum: 1, maximum: 1000, default: 50}))}),
        response: {200: Type.Array(AppHistoryEntry), ...errorResponses},
      },
    },
    async (request) => engine.appHistory(request.params.project, request.params.environment, request.params.app, request.query.limit ?? 50),
  )

  app.get<{Querystring: {project?: string; environment?: string; status?: string; active?: boolean; limit?: number}}>(
    '/v1/releases',
    {schema: {tags: ['releases'], summary: 'Releases, newest first; with active=true the queue, oldest first', querystring: ListQuery, response: {200: Type.Array(Release), ...errorResponses}}},
    async (request, reply) => {
      const {project, environment, status, active, limit} = request.query
      if (environment && !project) throw invalid('an environment filter needs a project', 'pass --project too')
      // The queue reads oldest first, so that a limit keeps its head; history reads newest first.
      const releases = await engine.listReleases({project, environment, statuses: active ? ACTIVE_STATUSES : parseStatuses(status), limit: limit ?? 50, order: active ? 'asc' : 'desc'})
      reply.type('application/json; charset=utf-8')
      return listJson.json(releases, {release: reply.compileSerializationSchema(Release), waitingFor: reply.compileSerializationSchema(WaitingFor)})
    },
  )

  app.get<{Params: {id: number}}>(
    '/v1/releases/:id',
    {schema: {tags: ['releases'], summary: 'One release with its plan (tasks) and, when queued, what it waits for', params: ReleaseParams, response: {200: Release, ...errorResponses}}},
    async (request) => engine.getRelease(request.params.id),
  )

  app.get<{Params: {id: number}; Querystring: {after?: number; limit?: number; resource?: string; target?: string}}>(
    '/v1/releases/:id/logs',
    {schema: {tags: ['releases'], summary: 'Task log lines after a cursor', params: ReleaseParams, querystring: LogsQuery, response: {200: LogsResponse, ...errorResponses}}},
    async (request) =>
      engine.readLogs(request.params.id, request.query.after ?? 0, request.query.limit ?? 1000, {resource: request.query.resource, target: request.query.target}),
  )

  app.post<{Params: {id: number}}>(
    '/v1/releases/:id/cancel',
    {schema: {tags: ['releases'], summary: 'Remove a queued release from the queue, or stop a running one', params: ReleaseParams, response: {200: Release, ...errorResponses}}},
    async (request) => engine.cancel(request.params.id, actorOf(request)),
  )

  for (const [verb, decision] of [['approve', 'approved'], ['reject', 'rejected']] as const) {
    app.post<{Params: {id: number}; Body: DecisionRequest}>(
      `/v1/releases/:id/${verb}`,
      {
        schema: {
          tags: ['releases'],
          summary: decision === 'approved' ? 'Approve a release pending approval: it joins the queue' : 'Reject a release pending approval',
          params: ReleaseParams,
          body: Type.Optional(DecisionRequest),
          response: {200: Release, ...errorResponses},
        },
      },
      async (request) => engine.decide(request.params.id, decision, actorOf(request), request.body?.comment ?? null),
    )
  }
}
