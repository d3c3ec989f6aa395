// The control plane's HTTP app over a test engine, as server.ts wires it (the event stream and the
// notifications included), with its admin token given as server start takes one; without a process or a
// port, for inject() tests. Closing the app stops the stream and the notifications too.
import type {FastifyInstance} from 'fastify'
import {pino} from 'pino'

import {DEFAULT_NOTIFY_ALLOWED_NETWORKS} from '../../src/lib/api/events.js'
import {Access} from '../../src/lib/server/access/access.js'
import {EventHub} from '../../src/lib/server/events/hub.js'
import {buildHttpServer} from '../../src/lib/server/http/app.js'
import {Notifier} from '../../src/lib/server/notifications/notifier.js'
import {Subscriptions} from '../../src/lib/server/notifications/subscriptions.js'
import {AddressPolicy} from '../../src/lib/server/notifications/targets.js'
import {quietLog, type TestEngine} from './engine.js'

export const TEST_VERSION = '9.9.9-test'

/** Builds (without ready()) the app with `adminToken` as the admin token; the Access and the event hub are returned too. */
export async function testHttpServer(t: TestEngine, adminToken: string): Promise<{app: FastifyInstance; access: Access; events: EventHub}> {
  const access = new Access({store: t.store, log: quietLog})
  await access.tokens.establishAdmin({secret: adminToken, source: 'given'})
  const events = new EventHub(t.store, quietLog, 1000)
  await events.start()
  const policy = new AddressPolicy(DEFAULT_NOTIFY_ALLOWED_NETWORKS)
  const notifier = new Notifier({store: t.store, log: quietLog, replica: t.engine.replicaId, publicUrl: 'http://127.0.0.1:7420', policy, retryMinMs: 1000, retryForMs: 60_000})
  await notifier.start()
  const app = await buildHttpServer({
    engine: t.engine,
    events,
    subscriptions: new Subscriptions(t.store, t.engine, notifier, policy),
    access,
    version: TEST_VERSION,
    database: 'sqlite',
    logger: pino({level: 'silent'}),
  })
  app.addHook('onClose', async () => {
    await notifier.stop()
    await events.close()
  })
  return {app, access, events}
}
