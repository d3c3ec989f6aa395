// DialectQuirks: what SQLite and PostgreSQL do differently beyond the SQL Kysely writes for both (the
// admission turn, the event-order lock, notifications), and the quirks of one process on its own database.
import type {Transaction} from 'kysely'

import type {Database} from '../schema/tables.js'
import type {WakeupHandlers} from '../store.js'
import type {Db} from './db.js'
import type {WakeupChannel} from './replicas.js'

export interface DialectQuirks {
  readonly dialect: 'sqlite' | 'postgres'
  /**
   * The transaction as its statements reach the database: as Kysely gives it (one statement at a time)
   * or, where the connection keeps them in order itself, with statements asked for together sent together.
   */
  inFlightTogether(trx: Transaction<Database>): Promise<Transaction<Database>>
  /** Inside a transaction: holds the environment's admission turn until it ends. */
  lockEnvironment(trx: Transaction<Database>, project: string, environment: string): Promise<void>
  /**
   * Inside a transaction, before it writes its events: keeps event sequence numbers in commit order
   * until it ends, and tells every replica at its commit that events were appended.
   */
  lockEventOrder(trx: Transaction<Database>): Promise<void>
  /** A notification every replica receives once the current transaction commits. */
  notify(db: Db, channel: WakeupChannel, payload: string): Promise<void>
  listen(handlers: WakeupHandlers): Promise<void>
  /** Stops listening (the connections themselves close with Kysely). */
  close(): Promise<void>
}

/** One process on its own database (SQLite): every transaction already holds the one connection, and nobody else listens. */
export const ONE_PROCESS_QUIRKS: Omit<DialectQuirks, 'dialect'> = {
  // In process, a statement has no round trip to save.
  inFlightTogether: async (trx) => trx,
  async lockEnvironment() {},
  async lockEventOrder() {},
  async notify() {},
  async listen() {},
  async close() {},
}
