// What every route file shares: the path parameters, the error responses and the server's options.
import {Type} from '@sinclair/typebox'
import type {FastifyRequest} from 'fastify'
import type {Logger} from 'pino'

import {ErrorBody, Name} from '../../api/schemas.js'
import type {Access} from '../access/access.js'
import type {Engine} from '../engine/engine.js'
import type {EventHub} from '../events/hub.js'
import type {Subscriptions} from '../notifications/subscriptions.js'

export const ProjectParams = Type.Object({project: Name})
export const EnvironmentParams = Type.Object({project: Name, environment: Name})
export const AppParams = Type.Object({project: Name, environment: Name, app: Name})
export const ProjectAppParams = Type.Object({project: Name, app: Name})
export const ReleaseParams = Type.Object({id: Type.Integer({minimum: 1, maximum: Number.MAX_SAFE_INTEGER})})
export const FreezeParams = ReleaseParams

/** Makes a POST safe to retry: the same key answers with what the first request made. */
export const IdempotencyHeaders = Type.Object({'idempotency-key': Type.Optional(Type.String({minLength: 1, maxLength: 200}))})

export function idempotencyKeyOf(request: FastifyRequest): string | null {
  const header = request.headers['idempotency-key']
  return (Array.isArray(header) ? header[0] : header) ?? null
}

/** Error responses every route may give; listed so OpenAPI shows them. */
export const errorResponses = {400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody, 422: ErrorBody, 423: ErrorBody, 429: ErrorBody, 500: ErrorBody}

export interface HttpOptions {
  engine: Engine
  events: EventHub
  subscriptions: Subscriptions
  /** tokens, the throttle and the audit log */
  access: Access
  version: string
  database: string
  logger: Logger
  /** serve HTTPS with this certificate and key */
  tls?: {cert: Buffer; key: Buffer}
}
