// When the notifier reads events into the outbox: a round is a transaction of its own, so while nobody
// subscribes, commits of events do not start one (the tick does); once a subscription exists they do.
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, describe, expect, it, vi} from 'vitest'

import {Notifier} from '../../../../src/lib/server/notifications/notifier.js'
import {AddressPolicy} from '../../../../src/lib/server/notifications/targets.js'
import {openSqliteStore} from '../../../../src/lib/server/store/sqlite.js'
import type {Store, WakeupHandlers} from '../../../../src/lib/server/store/store.js'
import {quietLog, tempDir, waitFor} from '../../../helpers/engine.js'

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

/** The store, counting the notifier's rounds (each locks the outbox) and handing out its events listener. */
async function countedStore() {
  const dir = tempDir()
  closers.push(async () => rmSync(dir, {recursive: true, force: true}))
  const store = await openSqliteStore(join(dir, 'relctl.db'))
  closers.push(() => store.close())
  const counts = {rounds: 0}
  let wake: WakeupHandlers['events']
  const counted = new Proxy(store, {
    get(target, key) {
      if (key === 'listen') return async (handlers: WakeupHandlers) => void (wake = handlers.events)
      if (key === 'transaction') {
        return <T>(fn: (tx: Store) => Promise<T>) =>
          target.transaction((tx) =>
            fn(
              new Proxy(tx, {
                get(inner, name) {
                  if (name === 'lockOutbox') counts.rounds++
                  const value = Reflect.get(inner, name)
                  return typeof value === 'function' ? value.bind(inner) : value
                },
              }),
            ),
          )
      }
      const value = Reflect.get(target, key)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return {store, counted, counts, eventsCommitted: () => wake?.()}
}

describe('the notifier', () => {
  it('while nobody subscribes, commits of events start no round; once somebody does, each burst of them does', async () => {
    // Its tick (every second) runs only when the test says: a loaded machine must not slip one in.
    vi.useFakeTimers({toFake: ['setInterval', 'clearInterval']})
    closers.push(async () => void vi.useRealTimers())
    const {store, counted, counts, eventsCommitted} = await countedStore()
    const notifier = new Notifier({store: counted, log: quietLog, replica: 'r1', publicUrl: 'http://127.0.0.1:7420', policy: new AddressPolicy([]), retryMinMs: 1000, retryForMs: 60_000})
    closers.push(() => notifier.stop())
    await notifier.start()
    await waitFor(() => counts.rounds === 1, 'the first round')
    // A busy control plane commits events many times a second: with nobody to tell, they cost nothing.
    for (let index = 0; index < 20; index++) eventsCommitted()
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(counts.rounds).toBe(1)

    await store.insertNotification({kind: 'webhook', url: 'http://127.0.0.1:9/hook', secret: 's', project: null, environment: null, events: ['release.*'], createdBy: 'test', createdAt: new Date().toISOString()})
    // The tick finds the subscription; from then on commits start rounds again.
    vi.advanceTimersByTime(1000)
    await waitFor(() => counts.rounds === 2, 'the tick after the subscription')
    eventsCommitted()
    await waitFor(() => counts.rounds === 3, 'a round after a commit of events')
  })
})
