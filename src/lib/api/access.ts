// The API contract of identities: tokens and their grants, who is asking, and the audit log. Like
// schemas.ts, the server enforces these and serves them as OpenAPI; the CLI imports only the types.
import {type Static, Type} from '@sinclair/typebox'

import {NAME_PATTERN, ROLES} from './domain.js'

const literals = <const T extends readonly string[]>(values: T) => Type.Unsafe<T[number]>({type: 'string', enum: [...values]})
const NullableString = Type.Unsafe<string | null>({type: ['string', 'null']})

/** A token's name: the identity recorded as who did what. The same rule as every other name. */
export const TokenName = Type.String({pattern: NAME_PATTERN.source, description: 'who the token is: a person or a CI job, e.g. ci-shop'})

export const Grant = Type.Object(
  {
    role: literals(ROLES),
    project: Type.Unsafe<string | null>({type: ['string', 'null'], pattern: NAME_PATTERN.source, description: 'null: the whole control plane'}),
    environment: Type.Unsafe<string | null>({type: ['string', 'null'], pattern: NAME_PATTERN.source, description: 'null: every environment of the project (or the control plane)'}),
  },
  {additionalProperties: false},
)

export const TokenInfo = Type.Object({
  name: Type.String(),
  grants: Type.Array(Grant),
  createdAt: Type.String(),
  createdBy: Type.String(),
  expiresAt: Type.Unsafe<string | null>({type: ['string', 'null'], description: 'null: it does not expire'}),
  lastUsedAt: Type.Unsafe<string | null>({type: ['string', 'null'], description: 'the last request it made, to the minute'}),
  rotatedAt: NullableString,
  configured: Type.Boolean({description: 'given to server start (--token, --token-file, RELCTL_SERVER_TOKEN): change it there, not through the API'}),
})

/** A token as created or rotated: the only answers that carry its secret. */
export const NewToken = Type.Object({...TokenInfo.properties, token: Type.String({description: 'the secret; shown this once, stored only as a hash'})})

const Expiry = Type.String({minLength: 2, maxLength: 20, description: 'how long it is valid: 30d, 12h, 1w, ...; without it the token does not expire'})

export const CreateTokenRequest = Type.Object(
  {name: TokenName, grants: Type.Array(Grant, {minItems: 1, maxItems: 100}), expiresIn: Type.Optional(Expiry)},
  {additionalProperties: false},
)

export const RotateTokenRequest = Type.Object({expiresIn: Type.Optional(Expiry)}, {additionalProperties: false})

export const WhoAmI = Type.Object({
  name: Type.String({description: 'the token\'s name: who the control plane records as doing what this token does'}),
  grants: Type.Array(Grant),
  createdAt: Type.String(),
  expiresAt: NullableString,
  lastUsedAt: NullableString,
  serverVersion: Type.String(),
  database: Type.String(),
})

export const AUDIT_OUTCOMES = ['succeeded', 'failed', 'denied', 'unauthenticated'] as const

export const AuditEntry = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  actor: Type.Unsafe<string | null>({type: ['string', 'null'], description: 'the token\'s name; null when no token was accepted'}),
  action: Type.String({description: 'what was asked, e.g. release.approve'}),
  method: Type.String(),
  path: Type.String(),
  project: NullableString,
  environment: NullableString,
  target: Type.Unsafe<string | null>({type: ['string', 'null'], description: 'what it acted on, besides the scope: release 12, app api, token ci-shop'}),
  status: Type.Integer({description: 'the HTTP status of the answer'}),
  outcome: literals(AUDIT_OUTCOMES),
  address: Type.String({description: 'the source address of the request'}),
  detail: Type.Unsafe<string | null>({
    type: ['string', 'null'],
    description: 'why it was refused or failed; for a success, what it did beyond its action (a freeze override and its reason, a blocked version)',
  }),
})

export type Grant = Static<typeof Grant>
export type TokenInfo = Static<typeof TokenInfo>
export type NewToken = Static<typeof NewToken>
export type CreateTokenRequest = Static<typeof CreateTokenRequest>
export type RotateTokenRequest = Static<typeof RotateTokenRequest>
export type WhoAmI = Static<typeof WhoAmI>
export type AuditEntry = Static<typeof AuditEntry>
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number]
