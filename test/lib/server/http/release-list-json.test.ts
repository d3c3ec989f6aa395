// The release list's JSON, joined from kept texts, against fastify's own serialization of the Release
// schema: byte for byte, also after a release changed and when a decision is read anew.
import {Type} from '@sinclair/typebox'
import Fastify, {type FastifyInstance} from 'fastify'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Release, WaitingFor} from '../../../../src/lib/api/schemas.js'
import {ReleaseListJson} from '../../../../src/lib/server/http/release-list-json.js'

const resources = Object.freeze([{name: 'api', action: 'update' as const, fromVersion: '1', toVersion: '2'}])
const options = Object.freeze({})

function release(id: number, overrides: Partial<Release> = {}): Release {
  return {
    id,
    project: 'shop',
    environment: 'prod',
    type: 'selective',
    status: 'queued',
    resources: resources as Release['resources'],
    refresh: false,
    force: false,
    allowDestructive: false,
    comment: 'a "quoted" comment, ünïcode ✓',
    triggeredBy: 'ada',
    source: 'cli',
    idempotencyKey: null,
    error: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    decision: null,
    options,
    replica: null,
    endReason: null,
    freezeOverride: null,
    deadlineAt: null,
    expiresAt: null,
    ...overrides,
  }
}

let app: FastifyInstance
/** what the next request lists */
let listed: Release[] = []
const listJson = new ReleaseListJson()

beforeAll(async () => {
  app = Fastify()
  app.get('/by-schema', {schema: {response: {200: Type.Array(Release)}}}, async () => listed)
  app.get('/joined', async (_request, reply) => {
    reply.type('application/json; charset=utf-8')
    return listJson.json(listed, {release: reply.compileSerializationSchema(Release), waitingFor: reply.compileSerializationSchema(WaitingFor)})
  })
  await app.ready()
})

afterAll(async () => {
  await app.close()
})

async function bothWays(releases: Release[]): Promise<{bySchema: string; joined: string}> {
  listed = releases
  const [bySchema, joined] = await Promise.all([app.inject({url: '/by-schema'}), app.inject({url: '/joined'})])
  expect(joined.headers['content-type']).toBe('application/json; charset=utf-8')
  return {bySchema: bySchema.body, joined: joined.body}
}

describe('ReleaseListJson', () => {
  it('gives what the Release schema serializes, byte for byte, for running, waiting and decided releases', async () => {
    const waitingFor = {reason: 'serial' as const, releases: [1], message: 'waits for release 1 to finish (parallel releases are off in prod)'}
    const releases = [
      release(1, {status: 'running', startedAt: '2026-01-01T00:00:01.000Z', replica: 'r1'}),
      {...release(2), queuePosition: 1, waitingFor},
      {...release(3, {decision: {decision: 'approved', by: 'bob', at: '2026-01-01T00:00:02.000Z', comment: null}}), queuePosition: 2, waitingFor},
      {...release(4, {status: 'pending_approval'}), queuePosition: 3},
    ]
    const {bySchema, joined} = await bothWays(releases)
    expect(joined).toBe(bySchema)
    expect(await bothWays([])).toEqual({bySchema: '[]', joined: '[]'})
  })

  it('serializes a release again when it changed, and not when only where it waits or a new but equal decision differs', async () => {
    const decision = () => ({decision: 'approved' as const, by: 'bob', at: '2026-01-01T00:00:02.000Z', comment: null})
    await bothWays([{...release(10, {decision: decision()}), queuePosition: 1}, {...release(11), queuePosition: 2}])
    // The queue moved: 10 started, 11 is first now; 11's decision is a new object of the same values.
    const moved = [release(10, {status: 'running', decision: decision(), startedAt: '2026-01-01T00:00:03.000Z', replica: 'r2'}), {...release(11), queuePosition: 1}]
    const {bySchema, joined} = await bothWays(moved)
    expect(joined).toBe(bySchema)
    expect(JSON.parse(joined)[0]).toMatchObject({status: 'running', replica: 'r2'})
    expect(JSON.parse(joined)[1]).toMatchObject({queuePosition: 1})
  })
})
