import {Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'

import {AppState, SetVersionRequest} from '../../api/schemas.js'
import type {Engine} from '../engine/engine.js'
import {AppParams, EnvironmentParams, errorResponses} from './common.js'

export function registerAppRoutes(app: FastifyInstance, engine: Engine) {
  app.get<{Params: {project: string; environment: string}; Querystring: {refresh?: boolean}}>(
    '/v1/projects/:project/environments/:environment/apps',
    {
      schema: {
        tags: ['apps'],
        summary: 'App state: desired and deployed version, sync, health; refresh=true reads live versions first (drift)',
        params: EnvironmentParams,
        querystring: Type.Object({refresh: Type.Optional(Type.Boolean())}),
        response: {200: Type.Array(AppState), ...errorResponses},
      },
    },
    async (request) =>
      request.query.refresh ? engine.refreshApps(request.params.project, request.params.environment) : engine.listApps(request.params.project, request.params.environment),
  )

  app.put<{Params: {project: string; environment: string; app: string}; Body: {version: string}}>(
    '/v1/projects/:project/environments/:environment/apps/:app/version',
    {schema: {tags: ['apps'], summary: 'Set the desired version of an app', params: AppParams, body: SetVersionRequest, response: {200: AppState, ...errorResponses}}},
    async (request) => engine.setDesiredVersion(request.params.project, request.params.environment, request.params.app, request.body.version),
  )
}
