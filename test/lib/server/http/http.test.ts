import type {FastifyInstance} from 'fastify'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createTestEngine, SHOP_BLUEPRINT, type TestEngine, waitForFinal} from '../../../helpers/engine.js'
import {testHttpServer} from '../../../helpers/http.js'

const TOKEN = 'rc_test_token'
const auth = {authorization: `Bearer ${TOKEN}`}
const RELEASES = '/v1/projects/shop/environments/prod/releases'

let t: TestEngine
let app: FastifyInstance

beforeAll(async () => {
  t = await createTestEngine(null)
  app = (await testHttpServer(t, TOKEN)).app
  await app.ready()
  const applied = await app.inject({method: 'POST', url: '/v1/projects', headers: auth, payload: {content: SHOP_BLUEPRINT, file: 'relctl.yaml', baseDir: t.dir}})
  expect(applied.statusCode).toBe(201)
})

afterAll(async () => {
  await app?.close()
  await t?.close()
})

describe('HTTP: authentication', () => {
  it('answers /healthz without a token', async () => {
    const response = await app.inject({method: 'GET', url: '/healthz'})
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({status: 'ok', version: '9.9.9-test'})
  })

  it.each(['/v1/whoami', '/v1/projects', '/v1/releases', '/v1/releases/1', '/openapi.json', '/v1/no-such-route'])('refuses %s without a token', async (url) => {
    const response = await app.inject({method: 'GET', url})
    expect(response.statusCode).toBe(401)
    const body = response.json()
    expect(body.error.code).toBe('unauthorized')
    expect(body.error.message).toBe('this control plane needs a bearer token')
    expect(body.error.hint).toContain('relctl login')
  })

  it.each([
    ['a wrong token', 'Bearer nope', 'the token was not accepted'],
    ['a token of another length', `Bearer ${TOKEN}x`, 'the token was not accepted'],
    ['the token without the Bearer scheme', TOKEN, 'this control plane needs a bearer token'],
    ['a Basic credential', 'Basic dXNlcjpwYXNz', 'this control plane needs a bearer token'],
  ])('refuses %s', async (_what, authorization, message) => {
    const response = await app.inject({method: 'GET', url: '/v1/whoami', headers: {authorization}})
    expect(response.statusCode).toBe(401)
    expect(response.json().error).toMatchObject({code: 'unauthorized', message})
  })

  it('refuses a trigger without a token and queues nothing', async () => {
    const response = await app.inject({method: 'POST', url: RELEASES, payload: {type: 'full'}})
    expect(response.statusCode).toBe(401)
    expect(await t.engine.listReleases({project: 'shop', limit: 10})).toEqual([])
  })

  it('accepts the token and reports who is asking: the token, whatever X-Relctl-Actor says', async () => {
    const response = await app.inject({method: 'GET', url: '/v1/whoami', headers: {...auth, 'x-relctl-actor': 'alice'}})
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({name: 'admin', grants: [{role: 'admin', project: null, environment: null}], expiresAt: null, serverVersion: '9.9.9-test', database: 'sqlite'})
  })
})

describe('HTTP: input validation and errors', () => {
  it('refuses an unknown release type with invalid_input naming the field and the valid values', async () => {
    const response = await app.inject({method: 'POST', url: RELEASES, headers: auth, payload: {type: 'yolo'}})
    expect(response.statusCode).toBe(400)
    const {error} = response.json()
    expect(error.code).toBe('invalid_input')
    expect(error.message).toBe('body/type: must be one of: launch, full, selective, custom, destroy, rollback')
    expect(error.details).toEqual([{path: 'body/type', message: 'must be one of: launch, full, selective, custom, destroy, rollback'}])
  })

  it('refuses an unknown property with invalid_input naming it', async () => {
    const response = await app.inject({method: 'POST', url: RELEASES, headers: auth, payload: {type: 'full', resourcez: ['api']}})
    expect(response.statusCode).toBe(400)
    expect(response.json().error).toMatchObject({code: 'invalid_input', message: 'body/resourcez: is not a known property'})
  })

  it('refuses an unknown property inside a resource', async () => {
    const response = await app.inject({method: 'POST', url: RELEASES, headers: auth, payload: {type: 'selective', resources: [{name: 'api', version: '2'}]}})
    expect(response.statusCode).toBe(400)
    expect(response.json().error).toMatchObject({code: 'invalid_input', message: 'body/resources/0/version: is not a known property'})
  })

  it('refuses a missing type', async () => {
    const response = await app.inject({method: 'POST', url: RELEASES, headers: auth, payload: {}})
    expect(response.statusCode).toBe(400)
    expect(response.json().error.code).toBe('invalid_input')
    expect(response.json().error.message).toContain('type')
  })

  it('refuses a body that is not JSON', async () => {
    const response = await app.inject({method: 'POST', url: RELEASES, headers: {...auth, 'content-type': 'application/json'}, payload: '{"type":'})
    expect(response.statusCode).toBe(400)
    expect(response.json().error.code).toBe('invalid_input')
  })

  it('refuses a malformed path parameter', async () => {
    const response = await app.inject({method: 'GET', url: '/v1/projects/Shop!', headers: auth})
    expect(response.statusCode).toBe(400)
    expect(response.json().error).toMatchObject({code: 'invalid_input'})
    expect(response.json().error.message).toContain('params/project: is not a valid name')
    const id = await app.inject({method: 'GET', url: '/v1/releases/0', headers: auth})
    expect(id.statusCode).toBe(400)
    expect(id.json().error.message).toContain('params/id: must be >= 1')
  })

  it('answers an unknown route with not_found', async () => {
    const response = await app.inject({method: 'GET', url: '/v1/nothing-here', headers: auth})
    expect(response.statusCode).toBe(404)
    expect(response.json().error).toMatchObject({code: 'not_found', message: 'no route GET /v1/nothing-here'})
  })

  it('answers an unknown project with not_found and the valid names', async () => {
    const response = await app.inject({method: 'GET', url: '/v1/projects/nope', headers: auth})
    expect(response.statusCode).toBe(404)
    expect(response.json().error).toMatchObject({code: 'not_found', validNames: ['shop']})
  })

  it('answers an engine refusal with its code and status (invalid blueprint -> 422 with details)', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: auth,
      payload: {content: 'project: shop\nresources:\n  api:\n    driver: docker\nenvironments:\n  prod: {}\n', file: 'bad.yaml', baseDir: t.dir},
    })
    expect(response.statusCode).toBe(422)
    const {error} = response.json()
    expect(error.code).toBe('invalid_blueprint')
    expect(error.details).toEqual([{path: 'resources.api.driver', message: 'line 4: unknown driver "docker"; use one of: exec, simulate'}])
  })

  it('refuses an unknown status filter', async () => {
    const response = await app.inject({method: 'GET', url: '/v1/releases?status=running,done', headers: auth})
    expect(response.statusCode).toBe(422)
    expect(response.json().error).toMatchObject({code: 'invalid_input', message: 'unknown status done'})
  })
})

describe('HTTP: releases', () => {
  it('triggers a release (201), returns it again for the same Idempotency-Key (200), and records the token as its author', async () => {
    const headers = {...auth, 'idempotency-key': 'http-1', 'x-relctl-actor': 'ci-bot'}
    const first = await app.inject({method: 'POST', url: RELEASES, headers, payload: {type: 'full', source: 'cli'}})
    expect(first.statusCode).toBe(201)
    const body = first.json()
    expect(body.created).toBe(true)
    expect(body.release).toMatchObject({type: 'full', status: 'running', triggeredBy: 'admin', source: 'cli', idempotencyKey: 'http-1'})
    expect(body.release).not.toHaveProperty('lockSet')

    const again = await app.inject({method: 'POST', url: RELEASES, headers, payload: {type: 'full', source: 'cli'}})
    expect(again.statusCode).toBe(200)
    expect(again.json()).toMatchObject({created: false, release: {id: body.release.id}})

    const conflict = await app.inject({method: 'POST', url: RELEASES, headers: auth, payload: {type: 'selective', resources: [{name: 'api'}], onConflict: 'fail'}})
    expect(conflict.statusCode).toBe(409)
    expect(conflict.json().error).toMatchObject({code: 'state_lock', holder: {releaseId: body.release.id, resources: ['api', 'web']}})

    await waitForFinal(t.engine, body.release.id)
    const shown = await app.inject({method: 'GET', url: `/v1/releases/${body.release.id}`, headers: auth})
    expect(shown.statusCode).toBe(200)
    expect(shown.json().status).toBe('succeeded')
    expect(shown.json().tasks).toHaveLength(4)

    const list = await app.inject({method: 'GET', url: '/v1/releases?project=shop&environment=prod&status=succeeded', headers: auth})
    expect(list.json().map((release: {id: number}) => release.id)).toEqual([body.release.id])

    const logs = await app.inject({method: 'GET', url: `/v1/releases/${body.release.id}/logs?limit=2`, headers: auth})
    expect(logs.statusCode).toBe(200)
    expect(logs.json().lines).toHaveLength(2)
    expect(logs.json().releaseStatus).toBe('succeeded')
  })

  it('answers 404 for a release that does not exist', async () => {
    const response = await app.inject({method: 'GET', url: '/v1/releases/424242', headers: auth})
    expect(response.statusCode).toBe(404)
    expect(response.json().error.code).toBe('not_found')
  })
})

describe('HTTP: OpenAPI', () => {
  it('lists the release routes with their schemas', async () => {
    const response = await app.inject({method: 'GET', url: '/openapi.json', headers: auth})
    expect(response.statusCode).toBe(200)
    const doc = response.json()
    expect(doc.openapi).toMatch(/^3\./)
    expect(doc.info).toMatchObject({title: 'relctl control plane', version: '9.9.9-test'})
    expect(doc.components.securitySchemes.bearerAuth).toEqual({type: 'http', scheme: 'bearer'})
    // nullable fields are a type list in the schema; OpenAPI 3.0 shows them as the type, nullable
    const release = doc.paths['/v1/releases/{id}'].get.responses['200'].content['application/json'].schema
    expect(release.properties.comment).toMatchObject({type: 'string', nullable: true})
    expect(release.properties.decision).toMatchObject({type: 'object', nullable: true})
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/healthz',
        '/v1/projects',
        '/v1/projects/{project}/environments/{environment}/releases',
        '/v1/projects/{project}/environments/{environment}/sync',
        '/v1/releases',
        '/v1/releases/{id}',
        '/v1/releases/{id}/logs',
        '/v1/releases/{id}/cancel',
      ]),
    )
    expect(doc.paths).not.toHaveProperty('/openapi.json')

    const trigger = doc.paths['/v1/projects/{project}/environments/{environment}/releases'].post
    expect(trigger.tags).toEqual(['releases'])
    const body = trigger.requestBody.content['application/json'].schema
    expect(body.additionalProperties).toBe(false)
    expect(body.required).toEqual(['type'])
    expect(body.properties.type.enum).toEqual(['launch', 'full', 'selective', 'custom', 'destroy', 'rollback'])
    expect(body.properties.onConflict.enum).toEqual(['queue', 'fail'])
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining(['type', 'resources', 'refresh', 'force', 'allowDestructive', 'comment', 'onConflict', 'source']),
    )
    expect(trigger.parameters.map((parameter: {name: string; in: string}) => `${parameter.in}:${parameter.name}`)).toEqual(
      expect.arrayContaining(['path:project', 'path:environment', 'header:idempotency-key']),
    )
    expect(Object.keys(trigger.responses)).toEqual(expect.arrayContaining(['200', '201', '401', '409', '422']))
    const created = trigger.responses['201'].content['application/json'].schema
    expect(Object.keys(created.properties)).toEqual(['release', 'created'])
    expect(created.properties.release.properties.waitingFor.properties.reason.enum).toEqual(['serial', 'conflict', 'max-parallel', 'approval', 'paused', 'freeze', 'capacity'])

    const show = doc.paths['/v1/releases/{id}'].get
    expect(show.parameters).toEqual([expect.objectContaining({name: 'id', in: 'path', required: true, schema: expect.objectContaining({type: 'integer', minimum: 1})})])
    expect(show.responses['200'].content['application/json'].schema.properties.tasks.type).toBe('array')
    expect(doc.paths['/v1/releases/{id}/cancel'].post.responses['200']).toBeDefined()
    expect(doc.paths['/healthz'].get.security).toEqual([])
  })
})

describe('HTTP: health checks', () => {
  // Load balancers and uptime checkers often add a query string; the route answers it, auth must not refuse it.
  it('answers /healthz with a query string without a token', async () => {
    const response = await app.inject({method: 'GET', url: '/healthz?probe=lb'})
    expect(response.statusCode).toBe(200)
    expect(response.json().status).toBe('ok')
  })
})
