// What every query module takes: the database, or one transaction on it.
import type {Kysely, Transaction} from 'kysely'

import type {Database} from '../schema/tables.js'

export type Db = Kysely<Database> | Transaction<Database>

/** Runs fn in a transaction: the one db already is, or a new one. */
export function inTransaction<T>(db: Db, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db as Transaction<Database>) : (db as Kysely<Database>).transaction().execute(fn)
}

/** Text in code-point order, as SQLite's default collation sorts it; PostgreSQL's order depends on the database's locale. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
