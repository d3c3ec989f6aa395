// Notification subscriptions and their deliveries, as the API takes and shows them.
import {type Static, Type} from '@sinclair/typebox'

import {literals, Name, nullable, NullableInteger, NullableString} from './schemas.js'

export const NOTIFICATION_KINDS = ['webhook', 'slack'] as const
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number]

export const CreateNotificationRequest = Type.Object(
  {
    kind: literals(NOTIFICATION_KINDS),
    url: Type.String({minLength: 1, maxLength: 2000, description: 'http(s); for Slack, the incoming webhook URL'}),
    events: Type.Array(Type.String({minLength: 1, maxLength: 100}), {minItems: 1, maxItems: 50, description: 'kind patterns, * for any characters: release.failed, release.*'}),
    project: Type.Optional(Name),
    environment: Type.Optional(Name),
    secret: Type.Optional(Type.String({minLength: 16, maxLength: 200, pattern: '^[\\x21-\\x7e]+$', description: "a webhook's signing secret; without one the control plane makes one and answers it once"})),
  },
  {additionalProperties: false},
)

export const Notification = Type.Object({
  id: Type.Integer(),
  kind: literals(NOTIFICATION_KINDS),
  target: Type.String({description: 'where it goes, its secret parts hidden'}),
  project: NullableString,
  environment: NullableString,
  events: Type.Array(Type.String()),
  signed: Type.Boolean({description: 'deliveries carry X-Relctl-Signature'}),
  createdBy: Type.String(),
  createdAt: Type.String(),
  status: literals(['ok', 'failing'] as const),
  failingSince: NullableString,
  lastAttemptAt: NullableString,
  lastOutcome: nullable(Type.String(), {description: 'HTTP 200, timeout after 10s, ...'}),
  pending: Type.Integer({description: 'deliveries waiting to be sent or retried'}),
})

export const CreatedNotification = Type.Object({
  notification: Notification,
  secret: nullable(Type.String(), {description: 'the signing secret the control plane made, shown this once; null when one was given, or for Slack'}),
})

export const DeliveryAttemptView = Type.Object({
  attempt: Type.Integer(),
  at: Type.String(),
  statusCode: NullableInteger,
  error: NullableString,
  durationMs: Type.Integer(),
})

export const Delivery = Type.Object({
  id: Type.Integer(),
  eventSeq: nullable(Type.Integer(), {description: 'null for a test'}),
  eventKind: Type.String(),
  status: literals(['pending', 'delivered', 'failed'] as const),
  attempts: Type.Integer(),
  nextAttemptAt: nullable(Type.String(), {description: 'while pending'}),
  createdAt: Type.String(),
  endedAt: NullableString,
  attemptLog: Type.Array(DeliveryAttemptView),
})

export const TestResult = Type.Object({
  delivery: Type.Integer(),
  delivered: Type.Boolean(),
  statusCode: NullableInteger,
  error: NullableString,
  durationMs: Type.Integer(),
  outcome: Type.String(),
})

export type CreateNotificationRequest = Static<typeof CreateNotificationRequest>
export type Notification = Static<typeof Notification>
export type CreatedNotification = Static<typeof CreatedNotification>
export type Delivery = Static<typeof Delivery>
export type TestResult = Static<typeof TestResult>
