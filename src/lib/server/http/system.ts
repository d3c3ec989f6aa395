import type {FastifyInstance} from 'fastify'
import {Type} from '@sinclair/typebox'

import {WhoAmI} from '../../api/access.js'
import {Replica} from '../../api/schemas.js'
import {tokenOf} from './auth.js'
import {errorResponses, type HttpOptions} from './common.js'

export function registerSystemRoutes(app: FastifyInstance, options: HttpOptions) {
  app.get('/healthz', {schema: {tags: ['system'], security: [], response: {200: Type.Object({status: Type.Literal('ok'), version: Type.String()})}}}, async () => ({
    status: 'ok' as const,
    version: options.version,
  }))

  app.get('/v1/whoami', {schema: {tags: ['system'], summary: 'The token that asks: its name, grants, expiry and last use', response: {200: WhoAmI, ...errorResponses}}}, async (request) => {
    const {name, grants, createdAt, expiresAt, lastUsedAt} = tokenOf(request)
    return {name, grants, createdAt, expiresAt, lastUsedAt, serverVersion: options.version, database: options.database}
  })

  app.get(
    '/v1/replicas',
    {schema: {tags: ['system'], summary: 'The replicas serving this database that are alive, their leases and what each runs', response: {200: Type.Array(Replica), ...errorResponses}}},
    async () => options.engine.listReplicas(),
  )
}
