// Bodies are checked as sent (no coercion), text parts are bounded, names and versions refuse control
// characters, and every refusal names the path of the bad value.
import type {FastifyInstance} from 'fastify'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {NAME_RULE, VERSION_RULE} from '../../../../src/lib/api/domain.js'
import {BODY_LIMIT_BYTES} from '../../../../src/lib/server/http/body-limit.js'
import {createTestEngine, SHOP_BLUEPRINT, type TestEngine} from '../../../helpers/engine.js'
import {testHttpServer} from '../../../helpers/http.js'

const TOKEN = 'rc_test_token'
const auth = {authorization: `Bearer ${TOKEN}`}
const PROD = '/v1/projects/shop/environments/prod'
const BAD_NAME = `is not a valid name: ${NAME_RULE}`
const BAD_VERSION = `is not a valid version: ${VERSION_RULE}`

let t: TestEngine
let app: FastifyInstance

beforeAll(async () => {
  t = await createTestEngine(SHOP_BLUEPRINT)
  app = (await testHttpServer(t, TOKEN)).app
  await app.ready()
})

afterAll(async () => {
  await app?.close()
  await t?.close()
})

async function refused(request: Parameters<FastifyInstance['inject']>[0] & object, path: string, message: string) {
  const response = await app.inject({headers: auth, ...request})
  expect(response.statusCode).toBe(400)
  const {error} = response.json()
  expect(error.code).toBe('invalid_input')
  expect(error.message).toBe(`${path}: ${message}`)
  expect(error.details).toEqual([{path, message}])
  return error
}

describe('HTTP: no coercion of body values', () => {
  it('refuses "dryRun": null instead of reading it as false, and queues nothing', async () => {
    await refused({method: 'POST', url: `${PROD}/releases`, payload: {type: 'full', dryRun: null}}, 'body/dryRun', 'must be boolean')
    await refused({method: 'POST', url: `${PROD}/sync`, payload: {apps: ['api'], dryRun: 'false'}}, 'body/dryRun', 'must be boolean')
    expect(await t.engine.listReleases({project: 'shop', limit: 10})).toEqual([])
  })

  it('refuses "max": true instead of reading it as 1, and changes no setting', async () => {
    await refused({method: 'PUT', url: '/v1/settings/parallel', payload: {enabled: true, max: true}}, 'body/max', 'must be integer')
    await refused({method: 'PUT', url: '/v1/settings/parallel', payload: {max: '5'}}, 'body/max', 'must be integer')
    const settings = await app.inject({method: 'GET', url: '/v1/settings', headers: auth})
    expect(settings.json().parallel).toEqual({value: false, source: 'default'})
  })

  it('refuses a body that is not an object', async () => {
    await refused({method: 'POST', url: `${PROD}/releases`, payload: 'null', headers: {...auth, 'content-type': 'application/json'}}, 'body', 'must be object')
  })
})

describe('HTTP: bounded querystrings and path parameters', () => {
  it.each(['1e400', '-1', '1.5', 'abc', '99999999999999999999'])('refuses ?after=%s on the logs route', async (after) => {
    const id = (await t.engine.trigger('shop', 'prod', {type: 'full', dryRun: false}, {subject: 'admin', idempotencyKey: 'logs-route'})) as {release: {id: number}}
    const response = await app.inject({method: 'GET', url: `/v1/releases/${id.release.id}/logs?after=${after}`, headers: auth})
    expect(response.statusCode).toBe(400)
    expect(response.json().error.message).toMatch(/^querystring\/after: must be /)
  })

  it.each(['1e400', '1.5', '-3'])('refuses the release id %s', async (id) => {
    const response = await app.inject({method: 'GET', url: `/v1/releases/${id}`, headers: auth})
    expect(response.statusCode).toBe(400)
    expect(response.json().error.message).toMatch(/^params\/id: must be /)
  })

  it('reads ?active=true as a boolean and refuses ?active=yes', async () => {
    expect((await app.inject({method: 'GET', url: '/v1/releases?active=true', headers: auth})).statusCode).toBe(200)
    await refused({method: 'GET', url: '/v1/releases?active=yes'}, 'querystring/active', 'must be boolean')
  })
})

describe('HTTP: names and versions refuse control characters', () => {
  it('refuses a NUL in a version and keeps the desired version', async () => {
    const error = await refused({method: 'PUT', url: `${PROD}/apps/api/version`, payload: {version: '2.0.0\u0000'}}, 'body/version', BAD_VERSION)
    expect(error.message).toContain('without control characters')
    await refused({method: 'PUT', url: `${PROD}/apps/api/version`, payload: {version: 'v2\n'}}, 'body/version', BAD_VERSION)
    const apps = (await app.inject({method: 'GET', url: `${PROD}/apps`, headers: auth})).json() as Array<{name: string; desiredVersion: string}>
    expect(apps.find((entry) => entry.name === 'api')?.desiredVersion).toBe('1.0.0')
  })

  it('refuses a NUL in a name in a body, in a path and in a querystring', async () => {
    const error = await refused({method: 'POST', url: `${PROD}/sync`, payload: {apps: ['api\u0000']}}, 'body/apps/0', BAD_NAME)
    expect(error.message).toContain('lower-case letters')
    await refused({method: 'GET', url: '/v1/projects/sh%00op'}, 'params/project', BAD_NAME)
    await refused({method: 'GET', url: '/v1/releases?project=shop%01'}, 'querystring/project', BAD_NAME)
  })

  it('refuses a blueprint whose version or name holds a control character', async () => {
    const content = SHOP_BLUEPRINT.replace('version: "1.0.0"', 'version: "1.0.0\\0"').replace('  staging: {}', '  "stag\\u0001ing": {}')
    const response = await app.inject({method: 'POST', url: '/v1/projects', headers: auth, payload: {content, file: 'relctl.yaml', baseDir: t.dir}})
    expect(response.statusCode).toBe(422)
    const {error} = response.json()
    expect(error.code).toBe('invalid_blueprint')
    expect(error.details).toEqual([
      {path: 'resources.api.version', message: expect.stringContaining('"1.0.0\\u0000" is not a valid version')},
      {path: 'environments.stag\u0001ing', message: expect.stringContaining('"stag\\u0001ing" is not a valid name')},
    ])
  })
})

describe('HTTP: a body over the limit', () => {
  it('answers 413 with the error body and the limit', async () => {
    const payload = JSON.stringify({content: 'x'.repeat(BODY_LIMIT_BYTES + 1), file: 'relctl.yaml', baseDir: t.dir})
    const response = await app.inject({method: 'POST', url: '/v1/projects', headers: {...auth, 'content-type': 'application/json'}, payload})
    expect(response.statusCode).toBe(413)
    expect(response.json().error).toMatchObject({code: 'too_large', message: 'the request is too large: the control plane reads at most 5 MiB'})
  })
})
