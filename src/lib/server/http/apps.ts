import {Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'

import {AppState, BlockedVersion, BlockRequest, BlockResponse, SetVersionRequest, UnblockRequest, UnblockResponse} from '../../api/schemas.js'
import type {Engine} from '../engine/engine.js'
import {actorOf, auditDetail} from './auth.js'
import {AppParams, EnvironmentParams, errorResponses, ProjectAppParams, ProjectParams} from './common.js'

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

  app.post<{Params: {project: string; app: string}; Body: BlockRequest}>(
    '/v1/projects/:project/apps/:app/block',
    {
      schema: {
        tags: ['apps'],
        summary: 'Block a version of an app in every environment of the project: no release, app set or schedule may take the app to it',
        params: ProjectAppParams,
        body: BlockRequest,
        response: {200: BlockResponse, ...errorResponses},
      },
    },
    async (request) => {
      auditDetail(request, `version ${request.body.version}: ${request.body.reason}`)
      return engine.blockVersion(request.params.project, request.params.app, request.body.version, request.body.reason, actorOf(request))
    },
  )

  app.post<{Params: {project: string; app: string}; Body: {version: string}}>(
    '/v1/projects/:project/apps/:app/unblock',
    {schema: {tags: ['apps'], summary: 'Lift the block of a version of an app', params: ProjectAppParams, body: UnblockRequest, response: {200: UnblockResponse, ...errorResponses}}},
    async (request) => {
      auditDetail(request, `version ${request.body.version}`)
      return engine.unblockVersion(request.params.project, request.params.app, request.body.version, actorOf(request))
    },
  )

  app.get<{Params: {project: string}}>(
    '/v1/projects/:project/blocked-versions',
    {schema: {tags: ['apps'], summary: 'The versions blocked in a project, oldest first', params: ProjectParams, response: {200: Type.Array(BlockedVersion), ...errorResponses}}},
    async (request) => engine.listBlockedVersions(request.params.project),
  )
}
