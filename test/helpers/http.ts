// The control plane's HTTP app over a test engine, with its admin token given as server start takes one.
import type {FastifyInstance} from 'fastify'
import {pino} from 'pino'

import {Access} from '../../src/lib/server/access/access.js'
import {buildHttpServer} from '../../src/lib/server/http/app.js'
import {quietLog, type TestEngine} from './engine.js'

export const TEST_VERSION = '9.9.9-test'

/** Builds (without ready()) the app with `adminToken` as the admin token; the Access is returned too. */
export async function testHttpServer(t: TestEngine, adminToken: string): Promise<{app: FastifyInstance; access: Access}> {
  const access = new Access({store: t.store, log: quietLog})
  await access.tokens.establishAdmin({secret: adminToken, source: 'given'})
  const app = await buildHttpServer({engine: t.engine, access, version: TEST_VERSION, database: 'sqlite', logger: pino({level: 'silent'})})
  return {app, access}
}
