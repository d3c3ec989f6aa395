import {createServer} from 'node:net'

import {MockAgent} from 'undici'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {ControlPlaneClient} from '../../../src/lib/client/client.js'
import {ApiError, CliError, UnreachableError} from '../../../src/lib/client/errors.js'

const ORIGIN = 'http://cp.test:7070'
const JSON_HEADERS = {headers: {'content-type': 'application/json'}}

let agent: MockAgent

beforeEach(() => {
  agent = new MockAgent()
  agent.disableNetConnect()
})

afterEach(async () => {
  await agent.close()
})

const client = (options: Partial<ConstructorParameters<typeof ControlPlaneClient>[0]> = {}) =>
  new ControlPlaneClient({url: ORIGIN, token: 't0k', dispatcher: agent, ...options})

async function rejection(promise: Promise<unknown>): Promise<CliError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(CliError)
    return error as CliError
  }
  throw new Error('expected the call to fail')
}

const release = {id: 7, status: 'queued', type: 'full', resources: []}

describe('ControlPlaneClient: errors and exit codes', () => {
  it.each([
    [401, 'unauthorized', 7],
    [404, 'not_found', 9],
    [422, 'invalid_input', 2],
    [422, 'invalid_blueprint', 2],
    [400, 'invalid_input', 2],
    [409, 'state_lock', 5],
    [413, 'too_large', 2],
    [423, 'paused', 6],
    [500, 'internal', 1],
  ])('maps HTTP %i with code %s to exit code %i', async (status, code, exitCode) => {
    agent.get(ORIGIN).intercept({path: '/v1/releases/7', method: 'GET'}).reply(status, {error: {code, message: `said ${code}`, hint: 'do this'}}, JSON_HEADERS)
    const error = await rejection(client({retries: 0}).getRelease(7))
    expect(error).toBeInstanceOf(ApiError)
    expect(error.exitCode).toBe(exitCode)
    expect(error.code).toBe(code)
    expect(error.message).toBe(`said ${code}`)
    expect(error.hint).toBe('do this')
    expect((error as ApiError).status).toBe(status)
  })

  it('reads a 413 without an error body (a proxy in front) as "the request is too large", exit 2', async () => {
    agent.get(ORIGIN).intercept({path: '/v1/projects', method: 'POST'}).reply(413, 'Request Entity Too Large')
    const error = await rejection(client().applyProject({content: 'x', file: 'relctl.yaml', baseDir: '/srv'}))
    expect(error).toBeInstanceOf(ApiError)
    expect(error.exitCode).toBe(2)
    expect(error.code).toBe('too_large')
    expect(error.message).toBe('the request is too large (HTTP 413)')
  })

  it('keeps the whole error body: the holder of a state lock', async () => {
    const body = {error: {code: 'state_lock', message: 'state lock held by release 3', holder: {releaseId: 3, resources: ['api']}}}
    agent.get(ORIGIN).intercept({path: '/v1/projects/shop/environments/prod/releases', method: 'POST'}).reply(409, body, JSON_HEADERS)
    const error = (await rejection(client().trigger('shop', 'prod', {type: 'full'}, 'key-1'))) as ApiError
    expect(error.exitCode).toBe(5)
    expect(error.body.holder).toEqual({releaseId: 3, resources: ['api']})
    expect(error.data).toEqual(body.error)
  })

  it('falls back on the HTTP status for a code the CLI does not know', async () => {
    agent.get(ORIGIN).intercept({path: '/v1/releases/7', method: 'GET'}).reply(404, {error: {code: 'teapot', message: 'short and stout'}}, JSON_HEADERS)
    const error = await rejection(client({retries: 0}).getRelease(7))
    expect(error.exitCode).toBe(9)
  })

  // A proxy or load balancer in front of the control plane answers without relctl's error body;
  // the exit code must still follow the HTTP status (exitCodeFor has the table, the client never reaches it).
  it('maps the HTTP status to the exit code when the answer has no error body', async () => {
    const expected: Record<number, number> = {400: 2, 401: 7, 403: 7, 404: 9, 409: 5, 422: 2, 423: 6, 500: 1}
    const actual: Record<number, number> = {}
    for (const status of Object.keys(expected).map(Number)) {
      agent.get(ORIGIN).intercept({path: '/v1/releases/7', method: 'GET'}).reply(status, '')
      const error = await rejection(client({retries: 0}).getRelease(7))
      expect(error).toBeInstanceOf(ApiError)
      expect((error as ApiError).status).toBe(status)
      actual[status] = error.exitCode
    }
    expect(actual).toEqual(expected)
  })

  it('says so when the answer is not JSON', async () => {
    agent.get(ORIGIN).intercept({path: '/v1/whoami', method: 'GET'}).reply(200, '<html>hello</html>', {headers: {'content-type': 'text/html'}})
    const error = await rejection(client({retries: 0}).whoami())
    expect(error.code).toBe('bad_response')
    expect(error.exitCode).toBe(1)
    expect(error.message).toContain('not JSON (HTTP 200)')
  })

  it('refuses a URL that is not http(s) with a usage error', () => {
    expect(() => new ControlPlaneClient({url: 'not a url'})).toThrow(CliError)
    try {
      new ControlPlaneClient({url: 'ftp://cp.test'})
    } catch (error) {
      expect((error as CliError).exitCode).toBe(2)
      expect((error as CliError).message).toBe('"ftp://cp.test" must start with http:// or https://')
    }
    expect.assertions(3)
  })

  it('reports a closed port as unreachable (exit 8)', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as {port: number}
    await new Promise<void>((resolve) => server.close(() => resolve()))

    const real = new ControlPlaneClient({url: `http://127.0.0.1:${port}`, token: 't', retries: 1})
    try {
      const error = await rejection(real.whoami())
      expect(error).toBeInstanceOf(UnreachableError)
      expect(error.exitCode).toBe(8)
      expect(error.code).toBe('unreachable')
      expect(error.message).toBe(`cannot reach the control plane at http://127.0.0.1:${port}: ECONNREFUSED`)
      expect(error.hint).toContain('relctl server start')
    } finally {
      await real.close()
    }
  })

  it('reports a control plane that does not answer in time as unreachable', async () => {
    agent.get(ORIGIN).intercept({path: '/v1/whoami', method: 'GET'}).reply(200, {subject: 'x'}, JSON_HEADERS).delay(2000)
    const error = await rejection(client({retries: 0, timeoutMs: 50}).whoami())
    expect(error).toBeInstanceOf(UnreachableError)
    expect(error.exitCode).toBe(8)
    expect(error.message).toContain('no answer within 50 ms')
  })
})

describe('ControlPlaneClient: retries', () => {
  it('retries a GET on 503 and returns the answer that follows', async () => {
    const pool = agent.get(ORIGIN)
    pool.intercept({path: '/v1/releases/7', method: 'GET'}).reply(503, {error: {code: 'internal', message: 'busy'}}, JSON_HEADERS)
    pool.intercept({path: '/v1/releases/7', method: 'GET'}).reply(200, release, JSON_HEADERS)
    await expect(client().getRelease(7)).resolves.toEqual(release)
    expect(agent.pendingInterceptors()).toEqual([])
  })

  it('gives up after the configured retries and reports the last answer', async () => {
    const pool = agent.get(ORIGIN)
    for (let i = 0; i < 3; i++) pool.intercept({path: '/v1/releases/7', method: 'GET'}).reply(503, {error: {code: 'internal', message: `busy ${i}`}}, JSON_HEADERS)
    pool.intercept({path: '/v1/releases/7', method: 'GET'}).reply(200, release, JSON_HEADERS)
    const error = (await rejection(client({retries: 2}).getRelease(7))) as ApiError
    expect(error.status).toBe(503)
    expect(error.message).toBe('busy 2')
    expect(agent.pendingInterceptors()).toHaveLength(1)
  })

  it('retries a GET after a connection reset', async () => {
    const pool = agent.get(ORIGIN)
    pool.intercept({path: '/v1/releases/7', method: 'GET'}).replyWithError(Object.assign(new Error('socket hang up'), {code: 'ECONNRESET'}))
    pool.intercept({path: '/v1/releases/7', method: 'GET'}).reply(200, release, JSON_HEADERS)
    await expect(client().getRelease(7)).resolves.toEqual(release)
  })

  it('does not retry a POST without an idempotency key', async () => {
    const pool = agent.get(ORIGIN)
    pool.intercept({path: '/v1/releases/7/cancel', method: 'POST'}).reply(503, {error: {code: 'internal', message: 'busy'}}, JSON_HEADERS)
    pool.intercept({path: '/v1/releases/7/cancel', method: 'POST'}).reply(200, release, JSON_HEADERS)
    const error = (await rejection(client().cancelRelease(7))) as ApiError
    expect(error.status).toBe(503)
    expect(error.exitCode).toBe(1)
    expect(agent.pendingInterceptors()).toHaveLength(1)
  })

  it('does not retry a POST without an idempotency key after a connection reset', async () => {
    const pool = agent.get(ORIGIN)
    pool.intercept({path: '/v1/releases/7/cancel', method: 'POST'}).replyWithError(Object.assign(new Error('reset'), {code: 'ECONNRESET'}))
    pool.intercept({path: '/v1/releases/7/cancel', method: 'POST'}).reply(200, release, JSON_HEADERS)
    const error = await rejection(client().cancelRelease(7))
    expect(error).toBeInstanceOf(UnreachableError)
    expect(agent.pendingInterceptors()).toHaveLength(1)
  })

  it('retries a POST with an idempotency key, sending the same key each time', async () => {
    const pool = agent.get(ORIGIN)
    const keys: unknown[] = []
    const path = '/v1/projects/shop/environments/prod/releases'
    pool.intercept({path, method: 'POST'}).reply((options) => {
      keys.push((options.headers as Record<string, string>)['idempotency-key'])
      return {statusCode: 503, data: {error: {code: 'internal', message: 'busy'}}, responseOptions: JSON_HEADERS}
    })
    pool.intercept({path, method: 'POST'}).replyWithError(Object.assign(new Error('reset'), {code: 'ECONNRESET'}))
    pool.intercept({path, method: 'POST'}).reply((options) => {
      keys.push((options.headers as Record<string, string>)['idempotency-key'])
      return {statusCode: 201, data: {release, created: true}, responseOptions: JSON_HEADERS}
    })
    await expect(client({retries: 2}).trigger('shop', 'prod', {type: 'full'}, 'ci-run-9')).resolves.toEqual({release, created: true})
    expect(keys).toEqual(['ci-run-9', 'ci-run-9'])
    expect(agent.pendingInterceptors()).toEqual([])
  })
})

describe('ControlPlaneClient: requests', () => {
  it('sends the token, the idempotency key and the JSON body, and no actor: who asks is the token', async () => {
    let seen: {headers: Record<string, string>; body: string; path: string} | undefined
    agent
      .get(ORIGIN)
      .intercept({path: '/v1/projects/shop/environments/prod/releases', method: 'POST'})
      .reply((options) => {
        seen = {headers: options.headers as Record<string, string>, body: String(options.body), path: options.path}
        return {statusCode: 201, data: {release, created: true}, responseOptions: JSON_HEADERS}
      })
    await client().trigger('shop', 'prod', {type: 'selective', resources: [{name: 'api'}], comment: 'hi'}, 'key-42')
    expect(seen?.headers).toMatchObject({
      authorization: 'Bearer t0k',
      'idempotency-key': 'key-42',
      'content-type': 'application/json',
      accept: 'application/json',
    })
    expect(Object.keys(seen!.headers)).not.toContain('x-relctl-actor')
    expect(JSON.parse(seen!.body)).toEqual({type: 'selective', resources: [{name: 'api'}], comment: 'hi'})
  })

  it('sends no Authorization or key headers when there are none', async () => {
    let headers: Record<string, string> | undefined
    agent
      .get(ORIGIN)
      .intercept({path: '/v1/whoami', method: 'GET'})
      .reply((options) => {
        headers = options.headers as Record<string, string>
        return {statusCode: 200, data: {name: 'admin'}, responseOptions: JSON_HEADERS}
      })
    await new ControlPlaneClient({url: ORIGIN, dispatcher: agent}).whoami()
    expect(headers).toBeDefined()
    expect(Object.keys(headers!)).not.toContain('authorization')
    expect(Object.keys(headers!)).not.toContain('idempotency-key')
    expect(Object.keys(headers!)).not.toContain('content-type')
  })

  it('encodes path segments and query parameters, and keeps a base path', async () => {
    const paths: string[] = []
    agent
      .get(ORIGIN)
      .intercept({path: () => true, method: 'GET'})
      .reply((options) => {
        paths.push(options.path)
        return {statusCode: 200, data: [], responseOptions: JSON_HEADERS}
      })
      .times(2)
    const c = new ControlPlaneClient({url: `${ORIGIN}/relctl/`, dispatcher: agent})
    expect(c.url).toBe(`${ORIGIN}/relctl`)
    await c.listReleases({project: 'shop', active: true, limit: 5, environment: undefined})
    await c.listApps('my shop', 'a/b')
    expect(paths).toEqual(['/relctl/v1/releases?project=shop&active=true&limit=5', '/relctl/v1/projects/my%20shop/environments/a%2Fb/apps'])
  })
})
