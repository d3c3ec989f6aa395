// Who is asking and whether they may: three hooks around every route, from its rule (access-rules.ts).
//  onRequest     the token: throttled addresses get 429, a missing, unknown or expired token 401;
//  preValidation the grants: the scope is read from the raw request and checked against the rule (403);
//  onSend        the audit entry of a route that changes something, written before the answer leaves.
import type {FastifyInstance, FastifyReply, FastifyRequest} from 'fastify'

import type {AuditOutcome} from '../../api/access.js'
import type {ErrorBody} from '../../api/schemas.js'
import type {Access} from '../access/access.js'
import {allows, type Permission, refusal, type Scope} from '../access/roles.js'
import {forbidden} from '../errors.js'
import type {TokenRecord} from '../store/store.js'
import {type AccessRule, isMutating, ruleOf} from './access-rules.js'

/** What the hooks learn about a request, for the routes and the audit entry. */
export interface RequestAccess {
  rule: AccessRule
  /** the token the request came with, once accepted */
  token: TokenRecord | null
  /** where it acts, once read */
  scope: Scope | null
  /** answered 429 before its token was looked at: not audited */
  throttled: boolean
  /** what the route adds to its audit entry when it succeeds (e.g. a freeze override and its reason) */
  auditDetail: string | null
}

declare module 'fastify' {
  interface FastifyRequest {
    access: RequestAccess
  }
}

/** A route that fastify did not find (its 404) still needs a token: nothing about the API is told to strangers. */
const UNKNOWN_ROUTE: AccessRule = {kind: 'signed-in'}
const DETAIL_CHARS = 500

function unauthorized(reply: FastifyReply, message: string, hint: string) {
  return reply.code(401).send({error: {code: 'unauthorized', message, hint}} satisfies ErrorBody)
}

function bearer(header: string | undefined): string | null {
  if (!header?.startsWith('Bearer ')) return null
  const secret = header.slice('Bearer '.length).trim()
  return secret === '' ? null : secret
}

/** The accepted token of a request; every route with a permission rule has one. */
export function tokenOf(request: FastifyRequest): TokenRecord {
  const {token} = request.access
  if (!token) throw new Error(`no token on ${request.method} ${request.url}: the route has no rule that needs one`)
  return token
}

/** Who is asking: the accepted token's name, recorded as who triggered, approved, paused or changed what. */
export function actorOf(request: FastifyRequest): string {
  return tokenOf(request).name
}

/**
 * A second permission that some requests of a route need beyond its rule's (an override of a freeze
 * needs operate where the trigger needs deploy), on the scope the rule read; refused with the same words.
 */
export function requirePermission(request: FastifyRequest, permission: Permission, does: string): void {
  const token = tokenOf(request)
  const scope = request.access.scope ?? {project: null, environment: null}
  if (allows(token.grants, permission, scope)) return
  const {message, hint} = refusal(token.name, token.grants, does, permission, scope)
  throw forbidden(message, hint)
}

/** Adds to the audit entry of a request that succeeds: what it did beyond its action (one line). */
export function auditDetail(request: FastifyRequest, text: string): void {
  request.access.auditDetail = text
}

/** For listings (`within` rules): whether the token may read this scope, so the route shows it. */
export function canRead(request: FastifyRequest, scope: Scope): boolean {
  return allows(tokenOf(request).grants, 'read', scope)
}

/** Or reaches into it: a project of which the token may read an environment. */
export function reachesInto(request: FastifyRequest, scope: Scope): boolean {
  return allows(tokenOf(request).grants, 'read', scope, true)
}

function outcomeOf(status: number): AuditOutcome {
  if (status === 401) return 'unauthenticated'
  if (status === 403) return 'denied'
  return status < 400 ? 'succeeded' : 'failed'
}

function parsed(payload: unknown): unknown {
  if (typeof payload !== 'string') return undefined
  try {
    return JSON.parse(payload)
  } catch {
    return undefined
  }
}

/** What the request acted on besides its scope: release 12, app api, token ci-shop. */
function targetOf(request: FastifyRequest, rule: AccessRule, answer: unknown): string | null {
  const params = (request.params ?? {}) as Record<string, unknown>
  if (typeof params.id === 'string') return `${request.routeOptions.url?.startsWith('/v1/freezes/') ? 'freeze' : 'release'} ${params.id}`
  if (typeof params.run === 'string') return `pipeline run ${params.run}`
  if (typeof params.pipeline === 'string') return `pipeline ${params.pipeline}`
  if (typeof params.app === 'string') return `app ${params.app}`
  if (typeof params.name === 'string') return `token ${params.name}`
  const bodyName = (request.body as {name?: unknown} | undefined)?.name
  if (rule.kind === 'permission' && rule.action === 'token.create' && typeof bodyName === 'string') return `token ${bodyName.slice(0, 100)}`
  return rule.kind === 'permission' && rule.target ? rule.target(answer) : null
}

export function registerAuth(app: FastifyInstance, access: Access) {
  app.decorateRequest('access', null as unknown as RequestAccess)

  // Fail closed: a route nobody wrote a rule for cannot exist, and one that changes something is audited.
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      const rule = ruleOf(method, route.url)
      if (!rule) throw new Error(`${method} ${route.url} has no access rule: add one to src/lib/server/http/access-rules.ts`)
      if (isMutating(method) && (rule.kind !== 'permission' || !rule.action)) throw new Error(`${method} ${route.url} changes something, so its rule needs a permission and an audit action`)
    }
  })

  app.addHook('onRequest', async (request, reply) => {
    const {method, url} = request.routeOptions
    const rule = (url && ruleOf(method as string, url)) || UNKNOWN_ROUTE
    request.access = {rule, token: null, scope: null, throttled: false, auditDetail: null}
    if (rule.kind === 'public') return
    const waitMs = access.throttle.retryAfterMs(request.ip)
    if (waitMs > 0) {
      request.access.throttled = true
      const seconds = Math.ceil(waitMs / 1000)
      return reply
        .code(429)
        .header('retry-after', String(seconds))
        .send({
          error: {
            code: 'throttled',
            message: `too many failed authentications from ${request.ip}; try again in ${seconds}s`,
            hint: 'check the token: relctl whoami, or relctl login with a current one',
          },
        } satisfies ErrorBody)
    }
    const secret = bearer(request.headers.authorization)
    if (secret === null) {
      return unauthorized(reply, 'this control plane needs a bearer token', 'log in with: relctl login --url <url> (the first token is printed by relctl server start)')
    }
    const result = await access.tokens.authenticate(secret)
    if ('refused' in result) {
      access.throttle.failed(request.ip)
      if (result.refused === 'expired') return unauthorized(reply, `the token ${result.name} expired at ${result.expiresAt}`, `ask an admin for a new secret: relctl token rotate ${result.name}`)
      return unauthorized(reply, 'the token was not accepted', 'it is unknown, or was revoked or rotated: log in with a current one (relctl login)')
    }
    request.access.token = result.token
  })

  // After the body is parsed (POSTs without one have {} by now), before it is validated: a refused
  // caller learns nothing about the body it sent.
  app.addHook('preValidation', async (request) => {
    const {rule} = request.access
    if (rule.kind !== 'permission') return
    const token = tokenOf(request)
    const read = await rule.scope.read(request, access.store)
    const scopes: readonly Scope[] = Array.isArray(read) ? read : [read as Scope]
    request.access.scope = commonScope(scopes)
    // A request that acts in several scopes (a pipeline's environments) needs the permission in each, or for
    // a rule that says so (reading a run), in one of them.
    const allowed = (scope: Scope) => allows(token.grants, rule.permission, scope, rule.within)
    const refused = rule.some ? (scopes.some(allowed) ? undefined : scopes[0]) : scopes.find((scope) => !allowed(scope))
    if (refused) {
      const {message, hint} = refusal(token.name, token.grants, rule.does, rule.permission, refused)
      throw forbidden(message, hint)
    }
  })

  app.addHook('onSend', async (request, reply, payload) => {
    const {rule, token, throttled} = request.access ?? {}
    if (!rule || rule.kind !== 'permission' || !rule.action || throttled) return payload
    const status = reply.statusCode
    const answer = parsed(payload)
    const scope = request.access.scope ?? paramsScope(request)
    const error = status >= 400 ? (answer as ErrorBody | undefined)?.error : undefined
    try {
      await access.audit.append({
        actor: token?.name ?? null,
        action: rule.action,
        method: request.method,
        path: request.url.split('?')[0].slice(0, 1000),
        project: scope.project,
        environment: scope.environment,
        target: targetOf(request, rule, answer),
        status,
        outcome: outcomeOf(status),
        address: request.ip,
        detail: (error ? `${error.code}: ${error.message}` : request.access.auditDetail)?.slice(0, DETAIL_CHARS) ?? null,
      })
    } catch (err) {
      request.log.error({err, action: rule.action}, 'could not write the audit entry')
    }
    return payload
  })
}

/** Where a request acts, for its audit entry: its one scope, or the project that holds them all. */
function commonScope(scopes: readonly Scope[]): Scope {
  if (scopes.length === 1) return scopes[0]
  const [first] = scopes
  return scopes.every((scope) => scope.project === first?.project) && first ? {project: first.project, environment: null} : {project: null, environment: null}
}

/** The scope a request names in its path, for the audit entry of one refused before its scope was read. */
function paramsScope(request: FastifyRequest): Scope {
  const {project, environment} = (request.params ?? {}) as Record<string, unknown>
  return typeof project === 'string' ? {project, environment: typeof environment === 'string' ? environment : null} : {project: null, environment: null}
}
