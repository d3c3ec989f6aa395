// Tokens over a real SQLite store, with a clock the test moves: the secret's shape, what is stored,
// the cache that a revocation elsewhere outlives by at most TOKEN_CACHE_MS, expiry and last use.
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'

import {LAST_USED_RESOLUTION_MS, TOKEN_CACHE_MS} from '../../../../src/lib/server/access/limits.js'
import {digestOf} from '../../../../src/lib/server/access/secrets.js'
import {Tokens} from '../../../../src/lib/server/access/tokens.js'
import {caught, createTestEngine, SHOP_BLUEPRINT, type TestEngine, testClock} from '../../../helpers/engine.js'

let t: TestEngine
const clock = testClock('2026-05-01T00:00:00.000Z')
let tokens: Tokens
/** another replica: its own cache over the same database */
let elsewhere: Tokens

beforeAll(async () => {
  t = await createTestEngine(SHOP_BLUEPRINT)
  tokens = new Tokens(t.store, clock)
  elsewhere = new Tokens(t.store, clock)
})

afterAll(() => t?.close())

describe('Tokens', () => {
  it('a new secret is relctl_ and 256 random bits; only its digest is stored', async () => {
    const created = await tokens.create({name: 'ci', grants: [{role: 'deployer', project: 'shop', environment: 'prod'}]}, 'admin')
    expect(created.token).toMatch(/^relctl_[0-9a-f]{64}$/)
    const stored = await t.store.getToken('ci')
    expect(stored?.hash).toBe(digestOf(created.token))
    expect(JSON.stringify(stored)).not.toContain(created.token.slice(7))
    expect(await tokens.authenticate(created.token)).toMatchObject({token: {name: 'ci'}})
    expect(await tokens.authenticate(`${created.token}x`)).toEqual({refused: 'unknown'})
  })

  it('a revocation on another replica is seen once that replica\'s cached read is TOKEN_CACHE_MS old', async () => {
    const {token} = await tokens.create({name: 'cached', grants: [{role: 'viewer', project: null, environment: null}]}, 'admin')
    expect(await elsewhere.authenticate(token)).toMatchObject({token: {name: 'cached'}})
    await tokens.revoke('cached')
    expect(await tokens.authenticate(token)).toEqual({refused: 'unknown'})
    clock.advance(TOKEN_CACHE_MS - 1)
    expect(await elsewhere.authenticate(token)).toMatchObject({token: {name: 'cached'}})
    clock.advance(1)
    expect(await elsewhere.authenticate(token)).toEqual({refused: 'unknown'})
    expect(TOKEN_CACHE_MS).toBeLessThan(1000)
  })

  it('requests that arrive while the token is read share that read, and write its first use once', async () => {
    const {token} = await tokens.create({name: 'burst', grants: [{role: 'viewer', project: null, environment: null}]}, 'admin')
    const reader = new Tokens(t.store, clock)
    const reads = vi.spyOn(t.store, 'tokenByHash')
    const touches = vi.spyOn(t.store, 'touchToken')
    try {
      const answers = await Promise.all(Array.from({length: 50}, () => reader.authenticate(token)))
      expect(answers.every((answer) => 'token' in answer && answer.token.name === 'burst')).toBe(true)
      expect(reads).toHaveBeenCalledTimes(1)
      // Its first use is written once, not once per request.
      expect(touches).toHaveBeenCalledTimes(1)
      clock.advance(TOKEN_CACHE_MS)
      await Promise.all([reader.authenticate(token), reader.authenticate(token)])
      expect(reads).toHaveBeenCalledTimes(2)
    } finally {
      reads.mockRestore()
      touches.mockRestore()
    }
  })

  it('expires at its time; records its last use at most once a minute', async () => {
    const created = await tokens.create({name: 'brief', grants: [{role: 'viewer', project: 'shop', environment: null}], expiresIn: '1h'}, 'admin')
    expect(created.expiresAt).toBe(new Date(clock().getTime() + 3_600_000).toISOString())
    await tokens.authenticate(created.token)
    const first = (await t.store.getToken('brief'))?.lastUsedAt
    expect(first).toBe(clock().toISOString())
    clock.advance(LAST_USED_RESOLUTION_MS - 1)
    await tokens.authenticate(created.token)
    expect((await t.store.getToken('brief'))?.lastUsedAt).toBe(first)
    clock.advance(1)
    await tokens.authenticate(created.token)
    expect((await t.store.getToken('brief'))?.lastUsedAt).toBe(clock().toISOString())
    clock.advance(3_600_000)
    expect(await tokens.authenticate(created.token)).toEqual({refused: 'expired', name: 'brief', expiresAt: created.expiresAt})
    // a rotation renews it for its lifetime
    const rotated = await tokens.rotate('brief', undefined)
    expect(rotated.expiresAt).toBe(new Date(clock().getTime() + 3_600_000).toISOString())
    expect(await tokens.authenticate(created.token)).toEqual({refused: 'unknown'})
    expect(await tokens.authenticate(rotated.token)).toMatchObject({token: {name: 'brief'}})
  })

  it('refuses names and grants that cannot work', async () => {
    expect(await caught(tokens.create({name: 'schedule', grants: [{role: 'viewer', project: null, environment: null}]}, 'admin'))).toMatchObject({code: 'invalid_input'})
    expect(await caught(tokens.create({name: 'x', grants: [{role: 'viewer', project: null, environment: 'prod'}]}, 'admin'))).toMatchObject({message: 'grant viewer on environment prod names no project'})
    expect(await caught(tokens.create({name: 'x', grants: [{role: 'viewer', project: 'shop', environment: 'qa'}]}, 'admin'))).toMatchObject({code: 'not_found'})
    expect(await caught(tokens.create({name: 'x', grants: [{role: 'viewer', project: 'shop', environment: null}], expiresIn: 'soon'}, 'admin'))).toMatchObject({code: 'invalid_input', message: expect.stringMatching(/^expiresIn: "soon" is not a duration/)})
  })

  it('the admin token: made once at the first start; a given one is set at every start and only then refused to the API', async () => {
    const fresh = await createTestEngine(null)
    try {
      const store = new Tokens(fresh.store, clock)
      const first = await store.establishAdmin(null)
      expect(first).toMatchObject({source: 'generated', secret: expect.stringMatching(/^relctl_/)})
      expect(await store.establishAdmin(null)).toEqual({secret: null, source: 'stored'})
      expect(await store.establishAdmin({secret: 'given-secret', source: 'file'})).toEqual({secret: 'given-secret', source: 'file'})
      expect(await store.authenticate(first.secret as string)).toEqual({refused: 'unknown'})
      expect(await caught(store.rotate('admin', undefined))).toMatchObject({code: 'forbidden', message: expect.stringContaining('is given to server start')})
      // a start without it leaves an ordinary token, which the API may then revoke
      await store.establishAdmin(null)
      expect((await fresh.store.getToken('admin'))?.configured).toBe(false)
      expect(await store.authenticate('given-secret')).toMatchObject({token: {name: 'admin'}})
      await store.revoke('admin')
      expect(await store.authenticate('given-secret')).toEqual({refused: 'unknown'})
    } finally {
      await fresh.close()
    }
  })
})
