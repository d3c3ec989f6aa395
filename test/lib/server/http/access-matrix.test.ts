// The role matrix: every route of the running app × every role × grants in scope and out of it →
// allowed or refused (403) as the role table says; and every request to a route that changes
// something writes exactly one audit entry, refusals included.
//
// The routes come from the app itself (its OpenAPI document), so a new route is in the matrix without
// editing this file, and one without a rule cannot even be registered. What each role may do is restated
// here from the issue, independently of src/lib/server/access/roles.ts, so a change there that breaks
// the table fails. Handlers are not what is tested: a last preHandler hook answers 204 for a request that
// got through the checks, so an allowed request has no side effect (and a stream never hangs the test).
import type {FastifyInstance} from 'fastify'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ROLES, type Role} from '../../../../src/lib/api/domain.js'
import type {Access} from '../../../../src/lib/server/access/access.js'
import {ROUTE_RULES, ruleOf} from '../../../../src/lib/server/http/access-rules.js'
import {createTestEngine, SHOP_BLUEPRINT, type TestEngine, waitForFinal} from '../../../helpers/engine.js'
import {testHttpServer} from '../../../helpers/http.js'

const ADMIN = 'rc_matrix_admin_token'
const REACHED_HANDLER = 204

/** The roles: "viewer: read ...; deployer: viewer + ...; approver: viewer + ...; operator: deployer + ...; admin: everything". */
const MAY: Record<Role, string[]> = {
  viewer: ['read'],
  deployer: ['read', 'deploy'],
  approver: ['read', 'approve'],
  operator: ['read', 'deploy', 'operate'],
  admin: ['read', 'deploy', 'approve', 'operate', 'admin'],
}

interface Scope {
  project: string | null
  environment: string | null
}
const CP: Scope = {project: null, environment: null}
const SHOP: Scope = {project: 'shop', environment: null}
const SHOP_PROD: Scope = {project: 'shop', environment: 'prod'}
const SHOP_STAGING: Scope = {project: 'shop', environment: 'staging'}
/** The environments of the shop's pipeline (and of its run): a pipeline's routes act in each. */
const PIPELINE_SCOPES = [SHOP_STAGING, SHOP_PROD]
const PIPELINE = 'pipelines:\n  main:\n    stages:\n      - environments: [staging]\n      - environments: [prod]\n'
/** Grants on every kind of scope: wider, the same, narrower and beside what a request acts on. */
const GRANT_SCOPES: Scope[] = [CP, SHOP, SHOP_PROD, {project: 'shop', environment: 'staging'}, {project: 'other', environment: null}, {project: 'other', environment: 'prod'}]

const holds = (outer: Scope, inner: Scope) =>
  outer.project === null || (outer.project === inner.project && (outer.environment === null || outer.environment === inner.environment))
const slug = (scope: Scope) => (scope.project === null ? 'cp' : [scope.project, scope.environment].filter(Boolean).join('-'))

let t: TestEngine
let app: FastifyInstance
let access: Access
let releaseId: number
let freezeId: number
let runId: number
/** "role@scope" → the secret */
const tokens = new Map<string, string>()
const tokenFor = (role: Role, scope: Scope) => tokens.get(`${role}@${slug(scope)}`) as string

beforeAll(async () => {
  t = await createTestEngine(`${SHOP_BLUEPRINT}${PIPELINE}`)
  await t.engine.applyProject(SHOP_BLUEPRINT.replace('project: shop', 'project: other'), 'relctl.yaml', t.dir)
  ;({app, access} = await testHttpServer(t, ADMIN))
  app.addHook('preHandler', async (_request, reply) => reply.code(REACHED_HANDLER).send())
  await app.ready()
  const {release} = (await t.engine.trigger('shop', 'prod', {type: 'full'}, {subject: 'admin', idempotencyKey: null})) as {release: {id: number}}
  releaseId = release.id
  await waitForFinal(t.engine, releaseId)
  freezeId = (await t.engine.addFreeze({project: 'shop', environment: 'prod', from: '2999-01-01T00:00Z', to: '2999-01-02T00:00Z', reason: 'matrix'}, 'admin')).id
  const started = (await t.engine.runPipeline('shop', 'main', {versions: [{name: 'api', version: '1.1.0'}]}, {subject: 'admin', idempotencyKey: null})) as {run: {id: number}}
  runId = started.run.id
  for (const role of ROLES) {
    for (const scope of GRANT_SCOPES) {
      const created = await access.tokens.create({name: `${role}-${slug(scope)}`, grants: [{role, ...scope}]}, 'admin')
      tokens.set(`${role}@${slug(scope)}`, created.token)
    }
  }
})

afterAll(async () => {
  await app?.close()
  await t?.close()
})

/** Every route the app serves, as "METHOD /path/:param", from its OpenAPI document (plus the document itself). */
function servedRoutes(): {method: string; url: string}[] {
  const document = app.swagger() as {paths: Record<string, Record<string, unknown>>}
  const routes = [{method: 'GET', url: '/openapi.json'}]
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const method of Object.keys(operations)) routes.push({method: method.toUpperCase(), url: path.replace(/\{(\w+)\}/g, ':$1')})
  }
  return routes
}

/** The request's scope: fixed by the path's parameters, or chosen by the query or body. */
function requestScopes(from: string, url: string): Scope[] {
  if (from === 'control-plane') return [CP]
  if (from === 'release' || from === 'freeze') return [SHOP_PROD]
  // a pipeline (and its run) acts in every environment of its stages: see PIPELINE_SCOPES
  if (from === 'pipeline' || from === 'run') return [SHOP]
  if (from === 'params') return [url.includes(':environment') ? SHOP_PROD : SHOP]
  return [CP, SHOP, SHOP_PROD]
}

function request(method: string, url: string, from: string, scope: Scope, secret: string | null) {
  const id = url.startsWith('/v1/freezes/') ? freezeId : releaseId
  const path = url.replace(':project', scope.project ?? 'shop').replace(':environment', scope.environment ?? 'prod').replace(':app', 'api').replace(':id', String(id)).replace(':name', 'nobody').replace(':pipeline', 'main').replace(':run', String(runId))
  const fields = {...(scope.project && {project: scope.project}), ...(scope.environment && {environment: scope.environment})}
  const query = from === 'query' ? `?${new URLSearchParams(fields)}` : ''
  return app.inject({
    method: method as 'GET',
    url: `${path}${query}`,
    headers: secret === null ? {} : {authorization: `Bearer ${secret}`},
    ...(method === 'POST' || method === 'PUT' ? {payload: from === 'body' ? fields : {}} : {}),
  })
}

/** The id of the newest audit entry (0 before the first): entries after it are the request's. */
const lastAuditId = async () => (await t.store.listAudit({limit: 1}))[0]?.id ?? 0

describe('access: the role matrix', () => {
  it('serves exactly the routes of the rule table, and refuses to register a route without a rule', async () => {
    const served = servedRoutes().map(({method, url}) => `${method} ${url}`).sort()
    expect(served).toEqual(Object.keys(ROUTE_RULES).sort())
    const {app: another} = await testHttpServer(t, ADMIN)
    expect(() => another.get('/v1/unruled', async () => ({}))).toThrow('GET /v1/unruled has no access rule: add one to src/lib/server/http/access-rules.ts')
    await another.close()
  })

  it('every route × every role × grants in scope and out of it: allowed or refused as the table says; one audit entry per mutating request', async () => {
    let cases = 0
    const mismatches: string[] = []
    for (const {method, url} of servedRoutes()) {
      const rule = ruleOf(method, url)
      expect(rule, `${method} ${url}`).toBeDefined()
      if (!rule) continue
      if (rule.kind === 'public') {
        expect((await request(method, url, 'params', SHOP_PROD, null)).statusCode, `${method} ${url} without a token`).not.toBe(401)
        cases++
        continue
      }
      const mutating = method !== 'GET'
      const from = rule.kind === 'permission' ? rule.scope.from : 'control-plane'
      for (const scope of requestScopes(from, url)) {
        expect((await request(method, url, from, scope, null)).statusCode, `${method} ${url} without a token`).toBe(401)
        for (const role of ROLES) {
          for (const grant of GRANT_SCOPES) {
            const pipelineWide = from === 'pipeline' || from === 'run'
            const inScope = pipelineWide
              ? rule.kind === 'permission' && rule.some
                ? PIPELINE_SCOPES.some((environment) => holds(grant, environment))
                : PIPELINE_SCOPES.every((environment) => holds(grant, environment))
              : holds(grant, scope) || (rule.kind === 'permission' && rule.within === true && holds(scope, grant))
            const expected = rule.kind === 'signed-in' || (MAY[role].includes(rule.permission) && inScope)
            const before = mutating ? await lastAuditId() : 0
            const response = await request(method, url, from, scope, tokenFor(role, grant))
            cases++
            const what = `${method} ${url} on ${slug(scope)} by ${role} on ${slug(grant)}: expected ${expected ? 'allowed' : 'denied'}, got ${response.statusCode} ${response.body.slice(0, 200)}`
            const allowed = response.statusCode !== 401 && response.statusCode !== 403
            if (allowed !== expected) mismatches.push(what)
            if (!expected && response.statusCode === 403) {
              const {error} = response.json()
              expect(error.code, what).toBe('forbidden')
              expect(error.message, what).toMatch(new RegExp(`^token ${role}-${slug(grant)} \\(${role} on .+\\) may not .+; an? \\w+ of .+ can$`))
            }
            if (mutating && rule.kind === 'permission') {
              const entries = (await t.store.listAudit({limit: 10})).filter((entry) => entry.id > before)
              expect(entries, `${what}: audit entries`).toHaveLength(1)
              expect(entries[0], what).toMatchObject({actor: `${role}-${slug(grant)}`, action: rule.action, method, outcome: expected ? (response.statusCode < 400 ? 'succeeded' : 'failed') : 'denied'})
            }
          }
        }
      }
    }
    expect(mismatches).toEqual([])
    // every route × 5 roles × 6 grant scopes, once per request scope: hundreds of cases
    expect(cases).toBeGreaterThan(1000)
    console.log(`access matrix: ${cases} cases over ${servedRoutes().length} routes`)
  })

  it('names what was refused and who could do it: "token ci-shop (deployer on shop/staging) may not approve releases; an approver of shop/prod can"', async () => {
    const ci = await access.tokens.create({name: 'ci-shop', grants: [{role: 'deployer', project: 'shop', environment: 'staging'}]}, 'admin')
    const response = await request('POST', '/v1/releases/:id/approve', 'release', SHOP_PROD, ci.token)
    expect(response.statusCode).toBe(403)
    expect(response.json().error).toEqual({
      code: 'forbidden',
      message: 'token ci-shop (deployer on shop/staging) may not approve releases; an approver of shop/prod can',
      hint: 'use a token with that grant, or ask an admin for one: relctl token create --name NAME --role approver --project shop --environment prod',
    })
  })
})
