// The HTTP face of the control plane: fastify with schema validation on every route, bearer-token auth
// on all but /healthz, one error shape, and the OpenAPI document built from the route schemas.
import {timingSafeEqual} from 'node:crypto'

import swagger from '@fastify/swagger'
import Fastify, {type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply} from 'fastify'

import {ControlPlaneError} from '../errors.js'
import {registerAppRoutes} from './apps.js'
import {registerEventRoutes} from './events.js'
import {registerNotificationRoutes} from './notifications.js'
import type {HttpOptions} from './common.js'
import {BODY_LIMIT_BYTES, tooLargeBody} from './body-limit.js'
import {registerPauseAndScheduleRoutes} from './pauses.js'
import {registerProjectRoutes} from './projects.js'
import {registerReleaseRoutes} from './releases.js'
import {registerSettingsRoutes} from './settings.js'
import {registerSystemRoutes} from './system.js'
import {frameworkErrorBody, validationErrorBody, validatorCompiler} from './validation.js'

function tokenMatches(given: string | undefined, expected: string): boolean {
  if (!given?.startsWith('Bearer ')) return false
  const a = Buffer.from(given.slice('Bearer '.length))
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

export async function buildHttpServer(options: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    frameworkErrors: (error, _request, reply) => (reply as FastifyReply).code(400).send(frameworkErrorBody(error)),
  })
  app.setValidatorCompiler(validatorCompiler)

  await app.register(swagger, {
    openapi: {
      info: {title: 'relctl control plane', version: options.version, description: 'Trigger, queue, watch and cancel releases.'},
      components: {securitySchemes: {bearerAuth: {type: 'http', scheme: 'bearer'}}},
      security: [{bearerAuth: []}],
    },
  })

  app.addHook('onRequest', async (request, reply) => {
    if (request.url.split('?')[0] === '/healthz') return
    if (!tokenMatches(request.headers.authorization, options.token)) {
      reply.code(401).send({
        error: {
          code: 'unauthorized',
          message: request.headers.authorization ? 'the token was not accepted' : 'this control plane needs a bearer token',
          hint: 'log in with: relctl login --url <url> --token <token> (the token is printed by relctl server start)',
        },
      })
    }
  })

  // POSTs whose body is all optional (pause, approve, ...) may come without one.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && (request.method === 'POST' || request.method === 'PUT')) request.body = {}
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ControlPlaneError) return reply.code(error.status).send(error.toBody())
    if (error.validation) return reply.code(400).send(validationErrorBody(error))
    // Answered before the body is read. fastify would close the connection here, and a client still
    // writing its body then meets a reset and reports "unreachable"; kept open, Node reads and discards
    // the rest (as it does for any answer sent before the body, a 401 say) and the client reads the 413.
    // (A chunked body over the limit was partly read, so that connection must close.)
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      if (Number(request.headers['content-length']) > BODY_LIMIT_BYTES) reply.removeHeader('connection')
      return reply.code(413).send(tooLargeBody())
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(400).send({error: {code: 'invalid_input', message: error.message}})
    }
    request.log.error({err: error}, 'unexpected error')
    return reply.code(500).send({error: {code: 'internal', message: 'the control plane hit an unexpected error; its log has the details'}})
  })

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({error: {code: 'not_found', message: `no route ${request.method} ${request.url}`, hint: 'see /openapi.json for the API'}})
  })

  registerSystemRoutes(app, options)
  registerProjectRoutes(app, options.engine)
  registerAppRoutes(app, options.engine)
  registerReleaseRoutes(app, options.engine)
  registerSettingsRoutes(app, options.engine)
  registerPauseAndScheduleRoutes(app, options.engine)
  registerEventRoutes(app, options.engine, options.events)
  registerNotificationRoutes(app, options.subscriptions)
  app.get('/openapi.json', {schema: {hide: true}}, async () => app.swagger())
  return app
}
