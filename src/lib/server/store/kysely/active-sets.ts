// An environment's active releases as a committed transaction last read them (SQLite only), so that the
// next admission turn, or the next listing of the queue, reads the releases queued since and two numbers,
// not the whole queue: behind a queue of 1,000, reading it was 40% of a trigger's CPU in bench/api.
//
// Exact, not a guess. A kept set is used only when its releases, the active ones with ids up to its last,
// still number what they did and their revisions still sum to what they did; nothing else can change them
// without moving one of the two:
//   - every update of a release's row counts up its revision (the sum goes up);
//   - a release that leaves the active statuses never comes back (the count goes down);
//   - a new release takes an id above every committed one (SQLite has one writer), so it lands after the
//     kept range, where its row is read.
// The count and the sum of the whole queue are read in the transaction's own snapshot, with the rows
// after the range, and the range's are what remains after taking those rows away. A set is kept only once
// the transaction that read it has committed: SQLite gives a rolled-back insert's id to the next release.
// PostgreSQL keeps none: there the extra statement is a round trip dearer than the rows it saves.
import type {Db} from './db.js'
import * as releases from './releases.js'
import type {ActiveRow} from './releases.js'

interface KeptSet {
  count: number
  revisions: number
  /** the last id of the range; 0 for an empty queue */
  last: number
  rows: readonly ActiveRow[]
}

const sumOf = (rows: readonly ActiveRow[]) => rows.reduce((sum, row) => sum + row.revision, 0)

/** Rows as read: kept, so shared by the turns and listings that read them after, hence frozen. */
async function rowsAfter(trx: Db, project: string, environment: string, afterId?: number): Promise<ActiveRow[]> {
  const rows = await releases.activeLockRevisions(trx, project, environment, afterId)
  for (const row of rows) Object.freeze(Object.freeze(row).lock)
  return rows
}

export class ActiveSets {
  /** environments kept; the least recently kept goes first */
  private static readonly KEPT = 1000
  private readonly kept = new Map<string, KeptSet>()

  /** Inside a transaction: the environment's active releases in id order, and what to keep once it has committed. */
  async read(trx: Db, project: string, environment: string): Promise<{rows: readonly ActiveRow[]; keep: () => void}> {
    const key = JSON.stringify([project, environment])
    const kept = this.kept.get(key)
    let read: KeptSet | undefined
    if (kept) {
      const after = await rowsAfter(trx, project, environment, kept.last)
      const whole = await releases.activeStamp(trx, project, environment)
      if (whole.count - after.length === kept.count && whole.revisions - sumOf(after) === kept.revisions) {
        read = {...whole, last: after.at(-1)?.lock.id ?? kept.last, rows: after.length > 0 ? [...kept.rows, ...after] : kept.rows}
      }
    }
    if (!read) {
      const rows = await rowsAfter(trx, project, environment)
      read = {count: rows.length, revisions: sumOf(rows), last: rows.at(-1)?.lock.id ?? 0, rows}
    }
    const entry = read
    return {rows: entry.rows, keep: () => this.keep(key, entry)}
  }

  private keep(key: string, entry: KeptSet) {
    this.kept.delete(key)
    if (this.kept.size >= ActiveSets.KEPT) this.kept.delete(this.kept.keys().next().value as string)
    this.kept.set(key, entry)
  }
}
