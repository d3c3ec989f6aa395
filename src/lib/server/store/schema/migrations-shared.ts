// What the migrations share: the dialect they are written for, the untyped database they run on, and
// the auto-incrementing key column. Only helpers live here: the SQL of a migration stays in its module.
import type {Kysely} from 'kysely'

export type Dialect = 'sqlite' | 'postgres'

export type Db = Kysely<unknown>

// An auto-incrementing integer key in the column type each database wants.
export function serialKeyFor(dialect: Dialect) {
  return (table: ReturnType<Db['schema']['createTable']>) =>
    dialect === 'sqlite'
      ? table.addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement())
      : table.addColumn('id', 'serial', (col) => col.primaryKey())
}
