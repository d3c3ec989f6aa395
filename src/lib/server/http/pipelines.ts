// Pipelines: start a run (or its dry run), list and read runs, decide their approval gates, cancel them;
// and promote an environment's deployed versions to another.
import {Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'

import {
  PipelineDecisionRequest,
  PipelineDryRun,
  PipelineRun,
  PipelineRunsQuery,
  PipelineRunSummary,
  PromoteRequest,
  PromoteResponse,
  RunPipelineRequest,
  RunPipelineResponse,
} from '../../api/pipeline-schemas.js'
import {Name} from '../../api/schemas.js'
import type {Engine} from '../engine/engine.js'
import {actorOf, canRead} from './auth.js'
import {EnvironmentParams, errorResponses, idempotencyKeyOf, IdempotencyHeaders, ProjectParams} from './common.js'

const PipelineParams = Type.Object({project: Name, pipeline: Name})
const RunParams = Type.Object({run: Type.Integer({minimum: 1, maximum: Number.MAX_SAFE_INTEGER})})

export function registerPipelineRoutes(app: FastifyInstance, engine: Engine) {
  app.post<{Params: {project: string; pipeline: string}; Body: RunPipelineRequest}>(
    '/v1/projects/:project/pipelines/:pipeline/runs',
    {
      schema: {
        tags: ['pipelines'],
        summary: 'Start a run of a pipeline (durable before the answer; the same Idempotency-Key returns the same run), or answer its whole order with dryRun',
        params: PipelineParams,
        headers: IdempotencyHeaders,
        body: RunPipelineRequest,
        response: {200: Type.Union([RunPipelineResponse, PipelineDryRun]), 201: RunPipelineResponse, ...errorResponses},
      },
    },
    async (request, reply) => {
      const result = await engine.runPipeline(request.params.project, request.params.pipeline, request.body, {subject: actorOf(request), idempotencyKey: idempotencyKeyOf(request)})
      return 'dryRun' in result ? result : reply.code(result.created ? 201 : 200).send(result)
    },
  )

  app.get<{Params: {project: string}; Querystring: {pipeline?: string; active?: boolean; limit?: number}}>(
    '/v1/projects/:project/pipeline-runs',
    {
      schema: {
        tags: ['pipelines'],
        summary: 'Runs of the project\'s pipelines, newest first: those the token may read an environment of',
        params: ProjectParams,
        querystring: PipelineRunsQuery,
        response: {200: Type.Array(PipelineRunSummary), ...errorResponses},
      },
    },
    async (request) => {
      const {project} = request.params
      return engine.listPipelineRuns(project, {...request.query, limit: request.query.limit ?? 50, visible: (environments) => environments.some((environment) => canRead(request, {project, environment}))})
    },
  )

  app.get<{Params: {run: number}}>(
    '/v1/pipeline-runs/:run',
    {schema: {tags: ['pipelines'], summary: 'One run: stage -> step -> environment -> release (with its tasks), what it waits for', params: RunParams, response: {200: PipelineRun, ...errorResponses}}},
    async (request) => engine.getPipelineRun(request.params.run),
  )

  for (const [verb, summary] of [
    ['approve', 'Approve the gate a run waits at: the stage starts (not by the run\'s creator)'],
    ['reject', 'Reject the gate a run waits at: the run ends rejected'],
  ] as const) {
    app.post<{Params: {run: number}; Body: {comment?: string}}>(
      `/v1/pipeline-runs/:run/${verb}`,
      {schema: {tags: ['pipelines'], summary, params: RunParams, body: Type.Optional(PipelineDecisionRequest), response: {200: PipelineRun, ...errorResponses}}},
      async (request) => {
        const comment = request.body?.comment ?? null
        return verb === 'approve' ? engine.approvePipelineRun(request.params.run, actorOf(request), comment) : engine.rejectPipelineRun(request.params.run, actorOf(request), comment)
      },
    )
  }

  app.post<{Params: {run: number}}>(
    '/v1/pipeline-runs/:run/cancel',
    {schema: {tags: ['pipelines'], summary: 'End a run: no other stage starts, and its pending, queued and running releases are cancelled', params: RunParams, response: {200: PipelineRun, ...errorResponses}}},
    async (request) => engine.cancelPipelineRun(request.params.run, actorOf(request)),
  )

  app.post<{Params: {project: string; environment: string}; Body: PromoteRequest}>(
    '/v1/projects/:project/environments/:environment/promote',
    {
      schema: {
        tags: ['pipelines'],
        summary: 'The versions deployed and stable in `from` become the desired versions of this environment, with one selective release of those it does not run yet',
        params: EnvironmentParams,
        headers: IdempotencyHeaders,
        body: PromoteRequest,
        response: {200: PromoteResponse, ...errorResponses},
      },
    },
    async (request) => engine.promote(request.params.project, request.params.environment, request.body, {subject: actorOf(request), idempotencyKey: idempotencyKeyOf(request)}),
  )
}
