// The store contract on PostgreSQL: a new database per test on the run's throwaway cluster (or on
// RELCTL_TEST_DATABASE_URL), plus what only a shared store does.
import net from 'node:net'

import pg from 'pg'
import {describe, expect, it} from 'vitest'

import {LISTENER_NAME, openPostgresStore, prepareStatements} from '../../../../src/lib/server/store/postgres.js'
import {AT_COMMIT, fewerRoundTrips} from '../../../../src/lib/server/store/postgres-round-trips.js'
import type {Store} from '../../../../src/lib/server/store/store.js'
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

describe('fewer round trips per transaction', () => {
  /** A pool connection as the store sets it up, and how many writes it made to its socket. */
  async function connection() {
    url = await freshDatabase()
    const pool = new pg.Pool({connectionString: url, max: 1, pipeline: true})
    const writes = {count: 0}
    pool.on('connect', (client) => {
      const socket = (client as unknown as {connection: {stream: {_write: (...args: unknown[]) => unknown; _writev: (...args: unknown[]) => unknown}}}).connection.stream
      for (const method of ['_write', '_writev'] as const) {
        const write = socket[method].bind(socket)
        socket[method] = (...args: unknown[]) => (writes.count++, write(...args))
      }
      fewerRoundTrips(client)
    })
    const client = await pool.connect()
    await client.query('create table kept (a text, n int)', [])
    writes.count = 0
    return {
      client,
      writes,
      async close() {
        client.release()
        await pool.end()
      },
    }
  }

  it('sends BEGIN with the statement after it, and the statements marked at-commit with the COMMIT', async () => {
    const {client, writes, close} = await connection()
    try {
      await client.query('begin', [])
      expect(writes.count).toBe(0)
      await client.query('insert into kept values ($1, $2)', ["it's \\ 'quoted' ünïcode", 7])
      expect(writes.count).toBe(1)
      expect((await client.query(`insert into kept values ($1, $2)${AT_COMMIT}`, ['$2 stays as it is', 8])).rows).toEqual([])
      await client.query(`select pg_notify($1, '')${AT_COMMIT}`, ['relctl_test'])
      expect(writes.count).toBe(1)
      await client.query('commit', [])
      expect(writes.count).toBe(2)
      // A statement without values goes as it is: a function body keeps its own $1.
      await client.query('begin', [])
      await client.query('create function twice(integer) returns integer language sql as $$ select $1 * 2 $$', [])
      await client.query('commit', [])
      expect((await client.query('select twice($1) as n', [21])).rows).toEqual([{n: 42}])
      expect(await query('select a, n from kept order by n')).toEqual([
        {a: "it's \\ 'quoted' ünïcode", n: 7},
        {a: '$2 stays as it is', n: 8},
      ])
    } finally {
      await close()
    }
  })

  it('sends what is asked at once in one write, and answers each in order', async () => {
    const {client, writes, close} = await connection()
    try {
      await client.query('begin', [])
      const answers = await Promise.all([1, 2, 3].map((n) => client.query('select $1::int as n, pg_sleep(0.01)::text as slept', [n])))
      expect(answers.map((answer) => answer.rows[0].n)).toEqual([1, 2, 3])
      await client.query('commit', [])
      expect(writes.count).toBe(2)
      // A statement that fails among them fails alone; PostgreSQL refuses the rest of its transaction.
      await client.query('begin', [])
      const settled = await Promise.allSettled([client.query('select 1 as n', []), client.query('select $1::int as n', ['x']), client.query('select 3 as n', [])])
      expect(settled.map((answer) => (answer.status === 'rejected' ? (answer.reason as {code: string}).code : 'ok'))).toEqual(['ok', '22P02', '25P02'])
      await client.query('rollback', [])
      expect((await client.query('select $1::int as n', [5])).rows).toEqual([{n: 5}])
    } finally {
      await close()
    }
  })

  it('keeps nothing of a transaction rolled back, nor of one whose held-back statement fails at its commit', async () => {
    const {client, writes, close} = await connection()
    try {
      await client.query('begin', [])
      await client.query(`insert into kept values ($1, $2)${AT_COMMIT}`, ['rolled back', 1])
      await client.query('rollback', [])
      // Nothing reached the server: there was no transaction to end.
      expect(writes.count).toBe(0)

      await client.query('begin', [])
      await client.query('insert into kept values ($1, $2)', ['before', 2])
      await client.query(`insert into kept values ($1, $2)${AT_COMMIT}`, ['not a number', 'x'])
      // PostgreSQL answers the COMMIT of a failed transaction with a ROLLBACK: the failure is what the commit reports.
      await expect(client.query('commit', [])).rejects.toMatchObject({code: '22P02'})
      await client.query('rollback', [])
      expect(await query('select * from kept')).toEqual([])
      // The connection is usable again, outside a transaction and in the next one.
      expect((await client.query('select $1::int as n', [5])).rows).toEqual([{n: 5}])
      await client.query('begin', [])
      await client.query('insert into kept values ($1, $2)', ['after', 3])
      await client.query('commit', [])
      expect(await query('select a from kept')).toEqual([{a: 'after'}])
    } finally {
      await close()
    }
  })

  it('sends held-back statements before any statement that follows them', async () => {
    const {client, close} = await connection()
    try {
      await client.query('begin', [])
      await client.query(`insert into kept values ($1, $2)${AT_COMMIT}`, ['first', 1])
      expect((await client.query('select count(*)::int as n from kept', [])).rows).toEqual([{n: 1}])
      await client.query('insert into kept values ($1, $2)', [{not: 'a literal'}, 2])
      await client.query('commit', [])
      expect(await query('select a from kept order by n')).toEqual([{a: 'first'}, {a: '{"not":"a literal"}'}])
    } finally {
      await close()
    }
  })
})

describe('a transaction of the PostgreSQL store', () => {
  /** Counts the writes to TCP sockets of this process until stopped. */
  function socketWrites() {
    const methods = ['_write', '_writev'] as const
    const originals = methods.map((method) => net.Socket.prototype[method])
    let count = 0
    methods.forEach((method, index) => {
      const original = originals[index] as (...args: unknown[]) => unknown
      const counted = function (this: net.Socket, ...args: unknown[]) {
        count++
        return original.apply(this, args)
      }
      Object.assign(net.Socket.prototype, {[method]: counted})
    })
    return () => {
      methods.forEach((method, index) => Object.assign(net.Socket.prototype, {[method]: originals[index]}))
      return count
    }
  }

  it('sends the statements it asks for together in one write, and runs them in the order asked', async () => {
    const store = await factory.open()
    try {
      const reads = (tx: Store) => Promise.all([tx.getProject('web'), tx.listPauses(null, null), tx.listSettings()])
      // Once first: the pool's connection is open and its statements prepared.
      await store.transaction(reads)
      const stop = socketWrites()
      const [project, pauses, settings] = await store.transaction(reads)
      // BEGIN and the three reads in one write, the COMMIT in another (one at a time: four).
      expect(stop()).toBe(2)
      expect([project, pauses, settings]).toEqual([null, [], []])
      // A write and the read after it, asked for together: the read sees the write.
      const paused = await store.transaction(async (tx) => {
        const pause = {level: 'control-plane' as const, project: null, environment: null, reason: 'maintenance', by: 'ops', at: new Date().toISOString()}
        const [, after] = await Promise.all([tx.addPause(pause), tx.listPauses(null, null)])
        return after
      })
      expect(paused).toMatchObject([{reason: 'maintenance'}])
    } finally {
      await store.close()
    }
  })

  it('fails when its connection is killed midway, statements in flight included; the next one runs on a new connection', async () => {
    const store = await factory.open()
    try {
      const killed = store.transaction(async (tx) => {
        await tx.listSettings()
        await query("select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'relctl' and state like 'idle in transaction%'")
        return Promise.all([tx.getProject('web'), tx.listPauses(null, null)])
      })
      // The process goes on (node-postgres's 'error' on the connection is not thrown): the transaction fails.
      await expect(killed).rejects.toThrow(/terminat|connection error/)
      expect(await store.transaction((tx) => Promise.all([tx.getProject('web'), tx.listPauses(null, null)]))).toEqual([null, []])
    } finally {
      await store.close()
    }
  })
})
