import type {FastifyInstance} from 'fastify'
import {Type} from '@sinclair/typebox'

import {WhoAmI} from '../../api/schemas.js'
import {actorOf, errorResponses, type HttpOptions} from './common.js'

export function registerSystemRoutes(app: FastifyInstance, options: HttpOptions) {
  app.get('/healthz', {schema: {tags: ['system'], security: [], response: {200: Type.Object({status: Type.Literal('ok'), version: Type.String()})}}}, async () => ({
    status: 'ok' as const,
    version: options.version,
  }))

  app.get('/v1/whoami', {schema: {tags: ['system'], response: {200: WhoAmI, ...errorResponses}}}, async (request) => ({
    subject: actorOf(request),
    serverVersion: options.version,
    database: options.database,
  }))
}
