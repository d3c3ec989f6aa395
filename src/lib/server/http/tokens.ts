// Tokens: create (the answer carries the secret, this once), list, rotate, revoke; and who is asking.
import {Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'

import {CreateTokenRequest, NewToken, RotateTokenRequest, TokenInfo, TokenName} from '../../api/access.js'
import type {Access} from '../access/access.js'
import {actorOf} from './auth.js'
import {errorResponses} from './common.js'

const NameParams = Type.Object({name: TokenName})

export function registerTokenRoutes(app: FastifyInstance, access: Access) {
  app.post<{Body: CreateTokenRequest}>(
    '/v1/tokens',
    {schema: {tags: ['tokens'], summary: 'Create a token with its grants; the answer is the only one that shows its secret', body: CreateTokenRequest, response: {201: NewToken, ...errorResponses}}},
    async (request, reply) => reply.code(201).send(await access.tokens.create(request.body, actorOf(request))),
  )

  app.get('/v1/tokens', {schema: {tags: ['tokens'], summary: 'Every token: name, grants, expiry, last use (never the secret)', response: {200: Type.Array(TokenInfo), ...errorResponses}}}, async () =>
    access.tokens.list(),
  )

  app.post<{Params: {name: string}; Body: RotateTokenRequest}>(
    '/v1/tokens/:name/rotate',
    {
      schema: {
        tags: ['tokens'],
        summary: 'A new secret for the token, same name and grants; the old secret stops working at once',
        params: NameParams,
        body: RotateTokenRequest,
        response: {200: NewToken, ...errorResponses},
      },
    },
    async (request) => access.tokens.rotate(request.params.name, request.body.expiresIn),
  )

  app.delete<{Params: {name: string}}>(
    '/v1/tokens/:name',
    {schema: {tags: ['tokens'], summary: 'Revoke the token: its secret stops working at once, on every replica within a second', params: NameParams, response: {200: TokenInfo, ...errorResponses}}},
    async (request) => access.tokens.revoke(request.params.name),
  )
}
