// The embedded store: one SQLite file in the data dir, WAL with full fsync so an accepted trigger survives a crash.
import BetterSqlite3 from 'better-sqlite3'
import {Kysely, SqliteDialect} from 'kysely'

import {type DialectQuirks, KyselyStore, ONE_PROCESS_QUIRKS} from './kysely/store.js'
import {migrateToLatest} from './schema/migrations.js'
import type {Store} from './store.js'
import type {Database} from './schema/tables.js'

// The tests that build their own SQLite connection migrate it with this.
export {migrateToLatest}

/** One process per data dir: Kysely's SQLite dialect runs every transaction on the one connection, one at a time. */
export const sqliteQuirks: DialectQuirks = {dialect: 'sqlite', ...ONE_PROCESS_QUIRKS}

export async function openSqliteStore(file: string): Promise<Store> {
  const sqlite = new BetterSqlite3(file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  const db = new Kysely<Database>({dialect: new SqliteDialect({database: sqlite})})
  await migrateToLatest(db, 'sqlite')
  return new KyselyStore(db, sqliteQuirks)
}
