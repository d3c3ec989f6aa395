// The embedded store: one SQLite file in the data dir, WAL with full fsync so an accepted trigger survives a crash.
import BetterSqlite3 from 'better-sqlite3'
import {Kysely, Migrator, SqliteDialect} from 'kysely'

import {KyselyStore} from './kysely-store.js'
import {type Dialect, InCodeMigrations} from './migrations.js'
import type {Store} from './store.js'
import type {Database} from './tables.js'

export async function migrateToLatest(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  const migrator = new Migrator({db, provider: new InCodeMigrations(dialect)})
  const {error, results} = await migrator.migrateToLatest()
  const failed = results?.find((result) => result.status === 'Error')
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`)
  }
}

export async function openSqliteStore(file: string): Promise<Store> {
  const sqlite = new BetterSqlite3(file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  const db = new Kysely<Database>({dialect: new SqliteDialect({database: sqlite})})
  await migrateToLatest(db, 'sqlite')
  return new KyselyStore(db, 'sqlite', (error) => (error as {code?: string})?.code === 'SQLITE_CONSTRAINT_UNIQUE')
}
