// What every query module takes: the database, or one transaction on it.
import {type Compilable, CompiledQuery, type Kysely, type Transaction} from 'kysely'

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

/** Where a precompiled query's parameter comes from: the call's argument at that index, or a constant of the query. */
type Slot = {argument: number} | {constant: unknown}

/**
 * A query whose SQL depends only on the database's dialect, built and compiled by Kysely once per
 * database with stand-in arguments; each call binds its own arguments in their places. The hottest
 * queries run thousands of times a minute, and building them costs more than running them.
 */
export function precompiled<A extends unknown[], Row>(build: (db: Db, ...args: A) => Compilable<Row>): (db: Db, ...args: A) => Promise<Row[]> {
  const templates = new WeakMap<object, {sql: string; slots: Slot[]}>()
  return async (db, ...args) => {
    // One adapter per Kysely instance, shared by its transactions.
    const adapter = db.getExecutor().adapter
    let template = templates.get(adapter)
    if (!template) {
      const standIns = args.map((_, index) => `\u0000argument ${index}\u0000`)
      const compiled = build(db, ...(standIns as A)).compile()
      const slots = compiled.parameters.map((parameter): Slot => {
        const argument = standIns.indexOf(parameter as string)
        return argument === -1 ? {constant: parameter} : {argument}
      })
      template = {sql: compiled.sql, slots}
      templates.set(adapter, template)
    }
    const parameters = template.slots.map((slot) => ('argument' in slot ? args[slot.argument] : slot.constant))
    const {rows} = await db.executeQuery<Row>(CompiledQuery.raw(template.sql, parameters))
    return rows
  }
}
