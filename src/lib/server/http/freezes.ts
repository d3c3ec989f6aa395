import {Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'

import {Name} from '../../api/schemas.js'
import {AddFreezeRequest, Freeze} from '../../api/environment-schemas.js'
import type {Engine} from '../engine/engine.js'
import {actorOf, reachesInto} from './auth.js'
import {errorResponses, FreezeParams} from './common.js'

const ListQuery = Type.Object({project: Type.Optional(Name), environment: Type.Optional(Name)})

export function registerFreezeRoutes(app: FastifyInstance, engine: Engine) {
  app.post<{Body: AddFreezeRequest}>(
    '/v1/freezes',
    {
      schema: {
        tags: ['freezes'],
        summary: 'Add a freeze: one window (from, to) or a recurring one (cron, duration) during which releases of its scope do not start',
        body: AddFreezeRequest,
        response: {201: Freeze, ...errorResponses},
      },
    },
    async (request, reply) => reply.code(201).send(await engine.addFreeze(request.body, actorOf(request))),
  )

  app.get<{Querystring: {project?: string; environment?: string}}>(
    '/v1/freezes',
    {
      schema: {
        tags: ['freezes'],
        summary: 'The freezes in force or still to come, each with its window now and its next one; with a project, those that apply to it',
        querystring: ListQuery,
        response: {200: Type.Array(Freeze), ...errorResponses},
      },
    },
    async (request) => {
      const freezes = await engine.listFreezes(request.query)
      // A token sees the freezes of the scopes it reaches, and the wider ones that hold them.
      return freezes.filter((freeze) => reachesInto(request, {project: freeze.project, environment: freeze.environment}))
    },
  )

  app.delete<{Params: {id: number}}>(
    '/v1/freezes/:id',
    {schema: {tags: ['freezes'], summary: 'Delete a freeze; what it held may start at once', params: FreezeParams, response: {200: Freeze, ...errorResponses}}},
    async (request) => engine.deleteFreeze(request.params.id, actorOf(request)),
  )
}
