// Every route of the API, as the OpenAPI document of the running instance lists them (so a new route is
// fuzzed without touching this file), gets hostile requests: wrong types, nulls, huge strings, NULs,
// deep nesting, unknown keys, odd path parameters and querystrings. The control plane must refuse
// them as a client error with its error body, never a 500 and never a stack trace.
import fc from 'fast-check'
import type {FastifyInstance} from 'fastify'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createTestEngine, SHOP_BLUEPRINT, type TestEngine} from '../../../helpers/engine.js'
import {testHttpServer} from '../../../helpers/http.js'

const TOKEN = 'rc_fuzz_token'
const REQUESTS_PER_ROUTE = 80
const STACK_TRACE = /\n\s+at |node:internal|\.[cm]?[jt]s:\d+|\/src\/|\/node_modules\//

interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  path: string
  query: string[]
  bodyKeys: string[]
}

let t: TestEngine
let app: FastifyInstance
let routes: Route[]

beforeAll(async () => {
  t = await createTestEngine(SHOP_BLUEPRINT)
  app = (await testHttpServer(t, TOKEN)).app
  await app.ready()
  const doc = app.swagger() as {paths: Record<string, Record<string, {parameters?: Array<{in: string; name: string}>; requestBody?: {content: Record<string, {schema?: {properties?: object}}>}}>>}
  routes = Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({
      method: method.toUpperCase() as Route['method'],
      path,
      query: (operation.parameters ?? []).filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name),
      bodyKeys: Object.keys(operation.requestBody?.content['application/json']?.schema?.properties ?? {}),
    })),
  )
})

afterAll(async () => {
  await app?.close()
  await t?.close()
})

const hostileString = fc.oneof(
  fc.string({maxLength: 40}),
  fc.string({unit: 'grapheme', maxLength: 20}),
  fc.constantFrom('', ' ', '\u0000', 'api\u0000', 'a\nb', '..', '../../etc/passwd', '%00', '1e400', '-1', '1.5', 'NaN', 'true', 'null', '__proto__', 'constructor', '<script>'),
  fc.nat({max: 5000}).map((n) => 'x'.repeat(n * 20)),
)
const knownName = fc.constantFrom('shop', 'prod', 'staging', 'api', 'web', 'db', 'worker', 'nope', '1')
const scalar = fc.oneof(hostileString, knownName, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom(1e308, -0, Number.MAX_SAFE_INTEGER + 2))
const deep = fc.nat({max: 2000}).map((depth) => JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`) as unknown)
const value = fc.oneof({depthSize: 'small'}, scalar, fc.array(scalar, {maxLength: 5}), fc.dictionary(hostileString, scalar, {maxKeys: 4}), deep, fc.jsonValue({maxDepth: 3}))

function bodyFor(route: Route): fc.Arbitrary<string | undefined> {
  const keys = route.bodyKeys.length > 0 ? fc.constantFrom(...route.bodyKeys) : hostileString
  const shaped = fc.dictionary(fc.oneof(keys, keys, hostileString), value, {maxKeys: 6})
  return fc.oneof(
    shaped.map((body) => JSON.stringify(body)),
    value.map((body) => JSON.stringify(body)),
    fc.constantFrom(undefined, '', '{', 'null', '{"__proto__":{"x":1}}', '{"type":"full","dryRun":null}', '\u0000'),
  )
}

const pathParam = fc.oneof(knownName, hostileString, fc.integer({min: -5, max: 50}).map(String), fc.constantFrom('1e400', '99999999999999999999', '0x10'))

function requestFor(route: Route) {
  const params = fc.array(pathParam, {minLength: 10, maxLength: 10})
  const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...(route.query.length > 0 ? route.query : ['q'])), hostileString), fc.oneof(hostileString, knownName)), {maxLength: 4})
  const contentType = fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', undefined)
  return fc.record({params, query, body: bodyFor(route), contentType, rawPath: fc.boolean()}).map(({params, query, body, contentType, rawPath}) => {
    let index = 0
    const path = route.path.replaceAll(/\{[^}]+\}/g, () => (rawPath ? params[index++] : encodeURIComponent(params[index++])))
    const search = query.map(([key, val]) => `${encodeURIComponent(key)}=${encodeURIComponent(val)}`).join('&')
    return {
      method: route.method,
      url: search ? `${path}?${search}` : path,
      headers: {authorization: `Bearer ${TOKEN}`, ...(contentType && body !== undefined && {'content-type': contentType})},
      ...(body !== undefined && route.method !== 'GET' && {payload: body}),
    }
  })
}

describe('HTTP fuzz: hostile input on every route', () => {
  it(`answers ${REQUESTS_PER_ROUTE} hostile requests per route without a 500 or a stack trace`, async () => {
    expect(routes.length).toBeGreaterThanOrEqual(25)
    const byStatus = new Map<number, number>()
    let requests = 0
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(requestFor(route), async (request) => {
          const response = await app.inject(request)
          requests++
          byStatus.set(response.statusCode, (byStatus.get(response.statusCode) ?? 0) + 1)
          expect(response.statusCode, `${request.method} ${request.url}`).toBeLessThan(500)
          expect(response.body).not.toMatch(STACK_TRACE)
          if (response.statusCode >= 400) {
            const {error} = response.json()
            expect(typeof error.code).toBe('string')
            expect(typeof error.message).toBe('string')
          }
        }),
        {numRuns: REQUESTS_PER_ROUTE},
      )
    }
    const figures = [...byStatus].sort(([a], [b]) => a - b).map(([status, count]) => `${status}: ${count}`)
    console.log(`HTTP fuzz: ${requests} requests over ${routes.length} routes; by status ${figures.join(', ')}`)
    expect(requests).toBeGreaterThanOrEqual(2000)
  }, 180_000)
})
