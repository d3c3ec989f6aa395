// The control plane's HTTP face over a test engine, as server.ts wires it (the event stream and the
// notifications included), without a process or a port: for inject() tests.
import type {FastifyInstance} from 'fastify'
import {pino} from 'pino'

import {DEFAULT_NOTIFY_ALLOWED_NETWORKS} from '../../src/lib/api/events.js'
import {EventHub} from '../../src/lib/server/events/hub.js'
import {buildHttpServer} from '../../src/lib/server/http/app.js'
import {Notifier} from '../../src/lib/server/notifications/notifier.js'
import {Subscriptions} from '../../src/lib/server/notifications/subscriptions.js'
import {AddressPolicy} from '../../src/lib/server/notifications/targets.js'
import {quietLog, type TestEngine} from './engine.js'

export interface TestHttp {
  app: FastifyInstance
  events: EventHub
  close(): Promise<void>
}

export async function buildTestHttp(t: TestEngine, token: string): Promise<TestHttp> {
  const events = new EventHub(t.store, quietLog, 1000)
  await events.start()
  const policy = new AddressPolicy(DEFAULT_NOTIFY_ALLOWED_NETWORKS)
  const notifier = new Notifier({store: t.store, log: quietLog, replica: t.engine.replicaId, publicUrl: 'http://127.0.0.1:7420', policy, retryMinMs: 1000, retryForMs: 60_000})
  await notifier.start()
  const app = await buildHttpServer({
    engine: t.engine,
    events,
    subscriptions: new Subscriptions(t.store, t.engine, notifier, policy),
    token,
    version: '9.9.9-test',
    database: 'sqlite',
    logger: pino({level: 'silent'}),
  })
  await app.ready()
  return {
    app,
    events,
    async close() {
      await app.close()
      await notifier.stop()
      await events.close()
    },
  }
}
