// The HTTP face of the control plane: fastify with schema validation on every route, tokens and grants
// checked by one set of hooks from one table of rules (auth.ts, access-rules.ts), one error shape, and
// the OpenAPI document built from the route schemas.
import {SerializerSelector} from '@fastify/fast-json-stringify-compiler'
import swagger from '@fastify/swagger'
import Fastify, {type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply} from 'fastify'

import {ControlPlaneError} from '../errors.js'
import {registerAppRoutes} from './apps.js'
import {registerEventRoutes} from './events.js'
import {registerFreezeRoutes} from './freezes.js'
import {registerNotificationRoutes} from './notifications.js'
import {registerAuditRoutes} from './audit.js'
import {registerAuth} from './auth.js'
import type {HttpOptions} from './common.js'
import {BODY_LIMIT_BYTES, tooLargeBody} from './body-limit.js'
import {registerPauseAndScheduleRoutes} from './pauses.js'
import {registerPipelineRoutes} from './pipelines.js'
import {registerProjectRoutes} from './projects.js'
import {registerReleaseRoutes} from './releases.js'
import {registerSettingsRoutes} from './settings.js'
import {registerSystemRoutes} from './system.js'
import {registerTokenRoutes} from './tokens.js'
import {frameworkErrorBody, validationErrorBody, validatorCompiler} from './validation.js'

export async function buildHttpServer(options: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.tls && {https: {cert: options.tls.cert, key: options.tls.key}}),
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    frameworkErrors: (error, _request, reply) => (reply as FastifyReply).code(400).send(frameworkErrorBody(error)),
    schemaController: {compilersFactory: {buildSerializer: serializersCompiledOnce}},
  })
  app.setValidatorCompiler(validatorCompiler)

  await app.register(swagger, {
    openapi: {
      info: {title: 'relctl control plane', version: options.version, description: 'Trigger, queue, watch and cancel releases.'},
      components: {securitySchemes: {bearerAuth: {type: 'http', scheme: 'bearer'}}},
      security: [{bearerAuth: []}],
    },
  })

  // POSTs whose body is all optional (pause, approve, ...) may come without one.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && (request.method === 'POST' || request.method === 'PUT')) request.body = {}
  })
  registerAuth(app, options.access)

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
  registerFreezeRoutes(app, options.engine)
  registerPipelineRoutes(app, options.engine)
  registerEventRoutes(app, options.engine, options.events, options.access)
  registerNotificationRoutes(app, options.subscriptions)
  registerTokenRoutes(app, options.access)
  registerAuditRoutes(app, options.access)
  app.get('/openapi.json', {schema: {hide: true}}, async () => app.swagger())
  return app
}

/**
 * fastify's serializer compiler, compiling each response schema once, on its first answer: most routes
 * answer with the same schema objects (a release, an app, the error bodies), a control plane serves few
 * of its routes in most runs, and compiling a serializer for every route and status at start was a
 * fifth of the start.
 */
function serializersCompiledOnce(...factoryArgs: Parameters<ReturnType<typeof SerializerSelector>>): ReturnType<ReturnType<typeof SerializerSelector>> {
  const compile = SerializerSelector()(...factoryArgs)
  const compiled = new WeakMap<object, (data: unknown) => string>()
  const compiledFor = (route: Parameters<typeof compile>[0]) => {
    let serialize = compiled.get(route.schema as object)
    if (!serialize) {
      serialize = compile(route)
      compiled.set(route.schema as object, serialize)
    }
    return serialize
  }
  return (route) => {
    // The route keeps its serializer once it has one: no lookup per answer.
    let serialize: ((data: unknown) => string) | undefined
    return (data) => (serialize ??= compiledFor(route))(data)
  }
}
