// The embedded store: one SQLite file in the data dir, in WAL mode. What a user was told is done (an
// accepted trigger, a claim, a release's end, a setting) is fsynced before the answer; the runner's
// progress reports (task status, log lines, events, app state, heartbeats) are not fsynced on their own:
// the next durable commit's fsync of the write-ahead log covers them too. That fsync runs off the event
// loop and is shared by every commit made while one is under way (group commit).
import BetterSqlite3 from 'better-sqlite3'
import {open, type FileHandle} from 'node:fs/promises'
import {type Driver, Kysely, type SqliteDatabase, SqliteDialect, SqliteDriver} from 'kysely'

import {type DialectQuirks, ONE_PROCESS_QUIRKS} from './kysely/quirks.js'
import {KyselyStore} from './kysely/store.js'
import {migrateToLatest} from './schema/migrations.js'
import type {Store} from './store.js'
import type {Database} from './schema/tables.js'

// The tests that build their own SQLite connection migrate it with this.
export {migrateToLatest}

/** One process per data dir: Kysely's SQLite dialect runs every transaction on the one connection, one at a time. */
export const sqliteQuirks: DialectQuirks = {dialect: 'sqlite', ...ONE_PROCESS_QUIRKS}

/** Kysely prepares every query anew; the store's SQL is a bounded set of texts, so prepared statements are kept by text. */
const STATEMENT_CACHE_SIZE = 1000

/**
 * Writes that report progress: losing the last of them on a power loss loses no decision and no accepted
 * request. An app's observed state is progress; its desired version (a user's request) is not; neither is
 * a token's last use.
 */
const PROGRESS_WRITE =
  /^(update "tasks"|insert into "task_logs"|delete from "task_logs"|insert into "events"|update "apps" set (?!.*"(desired_version|removed|kind)")|update "replicas"|update "tokens" set "last_used_at"|update "releases" set "lease_expires_at" = \?, "revision" = revision \+ 1 where "replica")/
const READ_OR_CONTROL = /^(select|pragma|savepoint|release|rollback to)\b/i

/** fsyncs of the write-ahead log, one at a time: commits made while one runs share the next. */
class WalSync {
  private current: Promise<void> | null = null
  private next: Promise<void> | null = null

  constructor(private readonly wal: FileHandle) {}

  sync(): Promise<void> {
    if (!this.current) return this.start()
    this.next ??= this.current.then(
      () => this.startNext(),
      () => this.startNext(),
    )
    return this.next
  }

  /** After the database has closed: waits for the fsyncs under way. */
  async close(): Promise<void> {
    await Promise.allSettled([this.current, this.next])
    await this.wal.close()
  }

  private startNext(): Promise<void> {
    this.next = null
    return this.start()
  }

  private start(): Promise<void> {
    const running = this.wal.sync().finally(() => {
      if (this.current === running) this.current = null
    })
    this.current = running
    return running
  }
}

/**
 * The better-sqlite3 database as Kysely's dialect sees it: prepared statements cached by SQL text, and a
 * note of whether what just committed must be fsynced before its caller hears of it.
 */
class SqliteConnection implements SqliteDatabase {
  private readonly statements = new Map<string, BetterSqlite3.Statement>()
  /** the open transaction has made a write that must be durable */
  private durableInTransaction = false
  /** a durable write has committed and is not yet fsynced */
  private unsynced = false

  constructor(readonly sqlite: BetterSqlite3.Database) {}

  prepare(sql: string): BetterSqlite3.Statement {
    // Kysely runs what it prepares at once, so the statement's kind is noted here.
    this.note(sql)
    let statement = this.statements.get(sql)
    if (statement) {
      // least recently used first: a hit moves to the end
      this.statements.delete(sql)
    } else {
      statement = this.sqlite.prepare(sql)
      if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.delete(this.statements.keys().next().value as string)
    }
    this.statements.set(sql, statement)
    return statement
  }

  /** True once: what committed since the last call must be fsynced. */
  takeUnsynced(): boolean {
    const unsynced = this.unsynced
    this.unsynced = false
    return unsynced
  }

  close(): void {
    this.statements.clear()
    this.sqlite.close()
  }

  private note(sql: string): void {
    if (sql === 'begin' || sql === 'rollback') {
      this.durableInTransaction = false
    } else if (sql === 'commit') {
      if (this.durableInTransaction) this.unsynced = true
      this.durableInTransaction = false
    } else if (!READ_OR_CONTROL.test(sql) && !PROGRESS_WRITE.test(sql)) {
      if (this.sqlite.inTransaction) this.durableInTransaction = true
      else this.unsynced = true
    }
  }
}

/** Hands the connection back first, then waits for the fsync: other queries go on while it runs. */
class DurableSqliteDriver extends SqliteDriver {
  constructor(
    private readonly connection: SqliteConnection,
    private readonly walSync: WalSync,
  ) {
    super({database: connection})
  }

  override async releaseConnection(): Promise<void> {
    const mustSync = this.connection.takeUnsynced()
    await super.releaseConnection()
    if (mustSync) await this.walSync.sync()
  }

  override async destroy(): Promise<void> {
    await super.destroy()
    await this.walSync.close()
  }
}

class DurableSqliteDialect extends SqliteDialect {
  constructor(
    private readonly connection: SqliteConnection,
    private readonly walSync: WalSync,
  ) {
    super({database: connection})
  }

  override createDriver(): Driver {
    return new DurableSqliteDriver(this.connection, this.walSync)
  }
}

export async function openSqliteStore(file: string): Promise<Store> {
  const sqlite = new BetterSqlite3(file)
  const wal = sqlite.pragma('journal_mode = WAL', {simple: true}) === 'wal'
  // Without a write-ahead log (an in-memory database) every commit syncs itself.
  sqlite.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  const connection = new SqliteConnection(sqlite)
  if (!wal) {
    const db = new Kysely<Database>({dialect: new SqliteDialect({database: connection})})
    await migrateToLatest(db, 'sqlite')
    return new KyselyStore(db, sqliteQuirks)
  }
  // The log exists once the database is in WAL mode; the handle stays open as long as the database.
  sqlite.prepare('select count(*) from sqlite_schema').get()
  const walSync = new WalSync(await open(`${sqlite.name}-wal`, 'r+'))
  const db = new Kysely<Database>({dialect: new DurableSqliteDialect(connection, walSync)})
  try {
    await migrateToLatest(db, 'sqlite')
  } catch (error) {
    await db.destroy()
    throw error
  }
  return new KyselyStore(db, sqliteQuirks)
}
