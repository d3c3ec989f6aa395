// The store contract on PostgreSQL: a new database per test on the run's throwaway cluster (or on
// RELCTL_TEST_DATABASE_URL), plus what only a shared store does.
import pg from 'pg'
import {describe, expect, it} from 'vitest'

import {LISTENER_NAME, openPostgresStore, prepareStatements} from '../../../../src/lib/server/store/postgres.js'
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

describe('prepared statements', () => {
  it('prepares each query once per connection, and again after another replica changed the table under it', async () => {
    url = await freshDatabase()
    // Kysely runs every query as client.query(text, values) on a pool connection, as here.
    const pool = new pg.Pool({connectionString: url, max: 1})
    pool.on('connect', prepareStatements)
    const client = await pool.connect()
    try {
      await client.query('create table shapes (a int)', [])
      await client.query('insert into shapes values ($1)', [1])
      expect((await client.query('select * from shapes where a = $1', [1])).rows).toEqual([{a: 1}])
      const prepared = await client.query<{statement: string}>("select statement from pg_prepared_statements where name like 'relctl_%' and statement like $1", ['%from shapes%'])
      expect(prepared.rows).toEqual([{statement: 'select * from shapes where a = $1'}])
      // A newer replica's migration adds a column: the statement prepared before it no longer fits.
      await query('alter table shapes add column b int')
      await expect(client.query('select * from shapes where a = $1', [1])).rejects.toMatchObject({code: '0A000'})
      expect((await client.query('select * from shapes where a = $1', [1])).rows).toEqual([{a: 1, b: null}])
    } finally {
      client.release()
      await pool.end()
    }
  })
})
