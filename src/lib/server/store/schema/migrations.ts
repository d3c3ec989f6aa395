// Versioned schema migrations, run by Kysely's Migrator on start. Append new ones; never edit a shipped one.
// They live by number in migrations-0001-0007.ts and migrations-0008-plus.ts (new ones go at the end of
// the latter); the list the Migrator reads is assembled here.
import {type Kysely, type Migration, type MigrationProvider, Migrator} from 'kysely'

import {migrationsFrom0001} from './migrations-0001-0007.js'
import {migrationsFrom0008} from './migrations-0008-plus.js'
import type {Dialect} from './migrations-shared.js'
import type {Database} from './tables.js'

export type {Dialect} from './migrations-shared.js'

function migrations(dialect: Dialect): Record<string, Migration> {
  return {...migrationsFrom0001(dialect), ...migrationsFrom0008(dialect)}
}

export class InCodeMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.dialect)
  }
}

/** Runs the migrations not yet applied. On PostgreSQL, Kysely's Migrator holds an advisory lock meanwhile, so replicas that start together do not race. */
export async function migrateToLatest(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  const migrator = new Migrator({db, provider: new InCodeMigrations(dialect)})
  const {error, results} = await migrator.migrateToLatest()
  const failed = results?.find((result) => result.status === 'Error')
  if (error || failed) {
    throw new Error(`database migration ${failed ? `${failed.migrationName} ` : ''}failed: ${error instanceof Error ? error.message : String(error)}`, {cause: error})
  }
}
