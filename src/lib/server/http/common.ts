// What every route file shares: the path parameters, the error responses, the server's options and who is asking.
import {Type} from '@sinclair/typebox'
import type {FastifyRequest} from 'fastify'
import type {Logger} from 'pino'

import {ErrorBody, Name} from '../../api/schemas.js'
import type {Engine} from '../engine/engine.js'
import type {EventHub} from '../events/hub.js'
import type {Subscriptions} from '../notifications/subscriptions.js'

export const ProjectParams = Type.Object({project: Name})
export const EnvironmentParams = Type.Object({project: Name, environment: Name})
export const AppParams = Type.Object({project: Name, environment: Name, app: Name})
export const ReleaseParams = Type.Object({id: Type.Integer({minimum: 1, maximum: Number.MAX_SAFE_INTEGER})})

/** Error responses every route may give; listed so OpenAPI shows them. */
export const errorResponses = {400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody, 422: ErrorBody, 423: ErrorBody, 500: ErrorBody}

export interface HttpOptions {
  engine: Engine
  events: EventHub
  subscriptions: Subscriptions
  token: string
  version: string
  database: string
  logger: Logger
}

/** Who is asking: the CLI sends the local user name; the token is shared, so this is a label, not proof. */
export function actorOf(request: FastifyRequest): string {
  const header = request.headers['x-relctl-actor']
  const actor = Array.isArray(header) ? header[0] : header
  return actor && /^[\w.@ -]{1,100}$/.test(actor) ? actor : 'api'
}
