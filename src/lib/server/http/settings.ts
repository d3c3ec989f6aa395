import {Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'

import {Name} from '../../api/schemas.js'
import {SetApprovalRequest, SetParallelRequest, SetQueueRequest, SettingsView} from '../../api/environment-schemas.js'
import type {Engine} from '../engine/engine.js'
import {actorOf} from './auth.js'
import {errorResponses} from './common.js'

const ScopeQuery = Type.Object({project: Type.Optional(Name), environment: Type.Optional(Name)})

export function registerSettingsRoutes(app: FastifyInstance, engine: Engine) {
  app.get<{Querystring: {project?: string; environment?: string}}>(
    '/v1/settings',
    {schema: {tags: ['settings'], summary: 'Settings in effect (control plane, or one environment) and where each comes from', querystring: ScopeQuery, response: {200: SettingsView, ...errorResponses}}},
    async (request) => engine.getSettings(request.query.project, request.query.environment),
  )

  app.put<{Body: SetParallelRequest}>(
    '/v1/settings/parallel',
    {schema: {tags: ['settings'], summary: 'Turn parallel releases on or off and set max parallel; refused while the approval workflow is on', body: SetParallelRequest, response: {200: SettingsView, ...errorResponses}}},
    async (request) => engine.setParallel(request.body, actorOf(request)),
  )

  app.put<{Body: SetApprovalRequest}>(
    '/v1/settings/approval',
    {schema: {tags: ['settings'], summary: 'Turn the approval workflow on or off; refused while parallel releases are on', body: SetApprovalRequest, response: {200: SettingsView, ...errorResponses}}},
    async (request) => engine.setApproval(request.body, actorOf(request)),
  )

  app.put<{Body: SetQueueRequest}>(
    '/v1/settings/queue',
    {
      schema: {
        tags: ['settings'],
        summary: 'The queue mode: fifo (every queued release runs in turn) or supersede (a newer release cancels the queued ones its lock set covers)',
        body: SetQueueRequest,
        response: {200: SettingsView, ...errorResponses},
      },
    },
    async (request) => engine.setQueue(request.body, actorOf(request)),
  )
}
