// The store contract on PostgreSQL: a new database per test on the run's throwaway cluster (or on
// RELCTL_TEST_DATABASE_URL), plus what only a shared store does.
import pg from 'pg'

import {openPostgresStore} from '../../../../src/lib/server/store/postgres.js'
import {freshDatabase} from '../../../helpers/postgres.js'
import {sharedStoreContract, storeContract} from './store-contract.js'

let url = ''

async function waitingForLocks(): Promise<number> {
  const client = new pg.Client({connectionString: url})
  await client.connect()
  try {
    const result = await client.query("select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'")
    return result.rows[0].waiting as number
  } finally {
    await client.end()
  }
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
