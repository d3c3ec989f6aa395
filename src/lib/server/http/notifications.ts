// Notification subscriptions: webhooks and Slack, their deliveries, and a test send.
import type {FastifyInstance} from 'fastify'
import {Type} from '@sinclair/typebox'

import {CreatedNotification, CreateNotificationRequest, Delivery, Notification, TestResult} from '../../api/notification-schemas.js'
import type {Subscriptions} from '../notifications/subscriptions.js'
import {actorOf} from './auth.js'
import {errorResponses} from './common.js'

const NotificationParams = Type.Object({id: Type.Integer({minimum: 1, maximum: Number.MAX_SAFE_INTEGER})})

export function registerNotificationRoutes(app: FastifyInstance, subscriptions: Subscriptions) {
  app.post<{Body: CreateNotificationRequest}>(
    '/v1/notifications',
    {schema: {tags: ['notifications'], summary: 'Subscribe a webhook or a Slack channel to events of a scope', body: CreateNotificationRequest, response: {201: CreatedNotification, ...errorResponses}}},
    async (request, reply) => reply.code(201).send(await subscriptions.create(request.body, actorOf(request))),
  )

  app.get('/v1/notifications', {schema: {tags: ['notifications'], summary: 'Subscriptions, with how their deliveries go', response: {200: Type.Array(Notification), ...errorResponses}}}, async () =>
    subscriptions.list(),
  )

  app.delete<{Params: {id: number}}>(
    '/v1/notifications/:id',
    {schema: {tags: ['notifications'], summary: 'Remove a subscription and its pending deliveries', params: NotificationParams, response: {200: Notification, ...errorResponses}}},
    async (request) => subscriptions.remove(request.params.id),
  )

  app.post<{Params: {id: number}}>(
    '/v1/notifications/:id/test',
    {schema: {tags: ['notifications'], summary: 'Send a test delivery now and answer how it went', params: NotificationParams, response: {200: TestResult, ...errorResponses}}},
    async (request) => subscriptions.test(request.params.id),
  )

  app.get<{Params: {id: number}; Querystring: {limit?: number}}>(
    '/v1/notifications/:id/deliveries',
    {
      schema: {
        tags: ['notifications'],
        summary: 'The latest deliveries of a subscription, newest first, each with its attempts',
        params: NotificationParams,
        querystring: Type.Object({limit: Type.Optional(Type.Integer({minimum: 1, maximum: 500, default: 50}))}),
        response: {200: Type.Array(Delivery), ...errorResponses},
      },
    },
    async (request) => subscriptions.deliveries(request.params.id, request.query.limit ?? 50),
  )
}
