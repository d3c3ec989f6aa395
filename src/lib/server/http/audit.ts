// The audit log: every request that changed something or tried to, newest first.
import {Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'

import {AuditEntry, TokenName} from '../../api/access.js'
import {Name} from '../../api/schemas.js'
import type {Access} from '../access/access.js'
import {invalid} from '../errors.js'
import {errorResponses} from './common.js'

const AuditQuery = Type.Object({
  project: Type.Optional(Name),
  environment: Type.Optional(Name),
  actor: Type.Optional(TokenName),
  since: Type.Optional(Type.String({format: 'date-time', description: 'entries at or after this instant (ISO 8601)'})),
  limit: Type.Optional(Type.Integer({minimum: 1, maximum: 1000, default: 100})),
})

export function registerAuditRoutes(app: FastifyInstance, access: Access) {
  app.get<{Querystring: {project?: string; environment?: string; actor?: string; since?: string; limit?: number}}>(
    '/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first: who did (or was refused) what, where, when, from which address',
        querystring: AuditQuery,
        response: {200: Type.Array(AuditEntry), ...errorResponses},
      },
    },
    async (request) => {
      const {project, environment, actor, since, limit} = request.query
      if (environment && !project) throw invalid('an environment filter needs a project', 'pass --project too')
      return access.audit.list({project, environment, actor, since: since && new Date(since).toISOString(), limit: limit ?? 100})
    },
  )
}
