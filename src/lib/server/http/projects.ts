import {Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'

import {ApplyRequest, ApplyResponse, Project} from '../../api/schemas.js'
import {Environment} from '../../api/environment-schemas.js'
import type {Engine} from '../engine/engine.js'
import {canRead, reachesInto} from './auth.js'
import {EnvironmentParams, errorResponses, ProjectParams} from './common.js'

export function registerProjectRoutes(app: FastifyInstance, engine: Engine) {
  app.post<{Body: ApplyRequest}>(
    '/v1/projects',
    {schema: {tags: ['projects'], summary: 'Apply a blueprint (create or update its project); dropping deployed state needs allowDestructive; dryRun writes nothing', body: ApplyRequest, response: {200: ApplyResponse, 201: ApplyResponse, ...errorResponses}}},
    async (request, reply) => {
      const {content, file, baseDir, allowDestructive, dryRun} = request.body
      const result = await engine.applyProject(content, file, baseDir, {allowDestructive, dryRun})
      return reply.code(result.created && !result.dryRun ? 201 : 200).send(result)
    },
  )

  // Listings show what the token's grants reach: a project it may read some environment of, those environments.
  app.get('/v1/projects', {schema: {tags: ['projects'], response: {200: Type.Array(Project), ...errorResponses}}}, async (request) =>
    (await engine.listProjects()).filter((project) => reachesInto(request, {project: project.name, environment: null})),
  )

  app.get<{Params: {project: string}}>(
    '/v1/projects/:project',
    {schema: {tags: ['projects'], params: ProjectParams, response: {200: Project, ...errorResponses}}},
    async (request) => engine.getProject(request.params.project),
  )

  app.get<{Params: {project: string}}>(
    '/v1/projects/:project/environments',
    {schema: {tags: ['environments'], params: ProjectParams, response: {200: Type.Array(Environment), ...errorResponses}}},
    async (request) => (await engine.listEnvironments(request.params.project)).filter((environment) => canRead(request, {project: environment.project, environment: environment.name})),
  )

  app.get<{Params: {project: string; environment: string}}>(
    '/v1/projects/:project/environments/:environment',
    {schema: {tags: ['environments'], params: EnvironmentParams, response: {200: Environment, ...errorResponses}}},
    async (request) => engine.getEnvironment(request.params.project, request.params.environment),
  )
}
