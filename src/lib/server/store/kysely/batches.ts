// How many rows one INSERT may carry. Every value of a row is one bound parameter, and databases cap the
// parameters of a statement: SQLite at 32,766 in builds since 3.32 but at 999 in older or stricter
// builds, PostgreSQL at 65,535. Batches sized for the smallest of these fit every store relctl runs on.
import {setImmediate as nextTurn} from 'node:timers/promises'

import {type RawBuilder, sql} from 'kysely'

export const MAX_BOUND_PARAMETERS = 999

/** The most rows of `columns` values each that fit in one statement. */
export function rowsPerStatement(columns: number): number {
  return Math.max(1, Math.floor(MAX_BOUND_PARAMETERS / columns))
}

/** Rows (all of one shape) cut into consecutive batches that each fit one statement. */
export function rowBatches<T extends object>(rows: readonly T[]): T[][] {
  if (rows.length === 0) return []
  return chunks(rows, rowsPerStatement(Object.keys(rows[0]).length))
}

/** Values for one `IN (...)` list each, next to `otherParameters` bound parameters of the same statement. */
export function valueBatches<T>(values: readonly T[], otherParameters: number): T[][] {
  return chunks(values, Math.max(1, MAX_BOUND_PARAMETERS - otherParameters))
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = []
  for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size))
  return batches
}

/** How long a write of many statements holds the event loop before it lets timers and requests run. */
const SLICE_MS = 10

/**
 * For a write of many statements: call between them, and it lets timers and requests run once the write
 * has held the event loop for a slice. A short write (most are one statement) never waits for a turn: a
 * turn taken inside a transaction would hold the database for as long as the event loop is busy.
 */
export function eventLoopSlices(): () => Promise<void> {
  let sliceStarted = performance.now()
  return async () => {
    if (performance.now() - sliceStarted <= SLICE_MS) return
    await nextTurn()
    sliceStarted = performance.now()
  }
}

/**
 * The SET of one UPDATE that gives each row its own values: for each column, `CASE key WHEN k1 THEN v1
 * ... ELSE column END`. A row that does not change a column keeps it (the ELSE), and PostgreSQL types
 * the values from that column as it types bound parameters. Rows are cut into batches that fit one
 * statement; each batch is `[its keys, its SET]`.
 */
export function eachRowSets<K>(key: string, rows: readonly {key: K; changes: Record<string, unknown>}[]): [K[], Record<string, RawBuilder<unknown>>][] {
  const columns = Math.max(1, new Set(rows.flatMap((row) => Object.keys(row.changes))).size)
  return chunks(rows, Math.max(1, Math.floor(MAX_BOUND_PARAMETERS / (1 + 2 * columns)))).map((batch) => {
    const set: Record<string, RawBuilder<unknown>> = {}
    for (const column of new Set(batch.flatMap((row) => Object.keys(row.changes)))) {
      const branches = batch.filter((row) => column in row.changes).map((row) => sql`when ${row.key} then ${row.changes[column]}`)
      set[column] = sql`case ${sql.ref(key)} ${sql.join(branches, sql` `)} else ${sql.ref(column)} end`
    }
    return [batch.map((row) => row.key), set]
  })
}
