// The store contract on PostgreSQL: a new database per test on the run's throwaway cluster (or on
// RELCTL_TEST_DATABASE_URL), plus what only a shared store does.
import pg from 'pg'
import {describe, expect, it} from 'vitest'

import {LISTENER_NAME, openPostgresStore} from '../../../../src/lib/server/store/postgres.js'
import {freshDatabase} from '../../../helpers/postgres.js'
import {scaled} from '../../../helpers/timeouts.js'
import {sharedStoreContract, storeContract} from './store-contract.js'

let url = ''

async function query<T>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({connectionString: url})
  await client.connect()
  try {
    return (await client.query(text, values)).rows as T[]
  } finally {
    await client.end()
  }
}

async function waitingForLocks(): Promise<number> {
  const [row] = await query<{waiting: number}>("select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'")
  return row.waiting
}

const factory = {
  async open() {
    url = await freshDatabase()
    return openPostgresStore(url)
  },
  openSecond: () => openPostgresStore(url),
  freshUrl: () => freshDatabase(),
  openAt: (at: string) => openPostgresStore(at),
  waitingForLocks,
}

storeContract('postgres', factory)
sharedStoreContract('postgres', factory)

describe('the PostgreSQL listener', () => {
  it('listens again after its connection was killed', async () => {
    const store = await factory.open()
    const other = await factory.openSecond()
    try {
      const cancels = new Set<number>()
      await other.listen({admit: () => undefined, cancel: (id) => cancels.add(id)})
      const killed = await query<{killed: boolean}>('select pg_terminate_backend(pid) as killed from pg_stat_activity where datname = current_database() and application_name = $1', [LISTENER_NAME])
      expect(killed).toEqual([{killed: true}])
      // Notifications sent while it reconnects are lost (the sweep covers them): send until one arrives.
      const deadline = Date.now() + scaled(10_000)
      for (let id = 1; !cancels.size; id++) {
        if (Date.now() > deadline) throw new Error('no notification arrived after the listener was killed')
        await store.notifyCancel(id)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const [row] = await query<{listeners: number}>('select count(*)::int as listeners from pg_stat_activity where datname = current_database() and application_name = $1', [LISTENER_NAME])
      expect(row.listeners).toBe(1)
    } finally {
      await other.close()
      await store.close()
    }
  })
})
