// The shared store: PostgreSQL through pg's Pool, for one or several replicas. Only connections and
// what PostgreSQL does differently live here; the queries are KyselyStore's.
import {Kysely, PostgresDialect, sql, Transaction} from 'kysely'
import pg from 'pg'

import type {DialectQuirks} from './kysely/quirks.js'
import {AT_COMMIT, fewerRoundTrips} from './postgres-round-trips.js'
import {KyselyStore} from './kysely/store.js'
import {parseAdmitPayload, WAKEUP_CHANNELS} from './kysely/replicas.js'
import {migrateToLatest} from './schema/migrations.js'
import type {Store, WakeupHandlers} from './store.js'
import type {Database} from './schema/tables.js'

/** The advisory lock that keeps event sequence numbers in commit order ('relcevnt'); Kysely's migration lock uses another. */
const EVENTS_LOCK = sql.lit('8243124858939944564')
const RECONNECT_MS = 1000
/** Statements a connection keeps prepared; more distinct texts than this run unnamed (parsed each time). */
const PREPARED_PER_CONNECTION = 1000
/** What a connection prepares: the queries, not transaction control. */
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i
/** PostgreSQL's refusal to run a prepared statement whose result changed shape (a migration by another replica). */
const STALE_PLAN = '0A000'
/** The listening connection's name in pg_stat_activity. */
export const LISTENER_NAME = 'relctl-listen'

export interface PostgresLocation {
  host: string
  port: number
  database: string
}

/** Where a postgres:// URL points, for messages; never its password. Throws on a URL that is not one. */
export function postgresLocation(url: string): PostgresLocation {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new Error('it is not a URL')
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new Error(`it starts with ${parsed.protocol}// where postgres:// is expected`)
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
  const host = parsed.hostname || new URLSearchParams(parsed.search).get('host') || 'localhost'
  return {host, port: Number(parsed.port || 5432), database: database || decodeURIComponent(parsed.username) || 'postgres'}
}

export function describePostgres(url: string): string {
  const {host, port, database} = postgresLocation(url)
  return `postgres (${host}:${port}/${database})`
}

/** Delivers the wakeups of every replica over one dedicated connection, reconnecting after an error. */
class Listener {
  private readonly handlers: WakeupHandlers[] = []
  private client: pg.Client | undefined
  private connecting: Promise<void> | undefined
  private retry: NodeJS.Timeout | undefined
  private closed = false

  constructor(private readonly config: pg.ClientConfig) {}

  async add(handlers: WakeupHandlers): Promise<void> {
    this.handlers.push(handlers)
    this.connecting ??= this.connect()
    await this.connecting
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({...this.config, application_name: LISTENER_NAME})
    client.on('notification', (message) => this.deliver(message.channel, message.payload ?? ''))
    // A lost notification is fine (every replica sweeps); a lost connection is not: open another.
    client.on('error', () => this.reconnect(client))
    client.on('end', () => this.reconnect(client))
    this.client = client
    await client.connect()
    for (const channel of Object.values(WAKEUP_CHANNELS)) await client.query(`listen ${channel}`)
  }

  private reconnect(client: pg.Client) {
    if (this.closed || this.client !== client || this.retry) return
    this.client = undefined
    client.end().catch(() => undefined)
    this.retry = setTimeout(() => {
      this.retry = undefined
      if (this.closed) return
      this.connecting = this.connect().catch(() => {
        if (this.client) this.reconnect(this.client)
      })
    }, RECONNECT_MS)
    this.retry.unref()
  }

  private deliver(channel: string, payload: string) {
    for (const handlers of this.handlers) {
      try {
        if (channel === WAKEUP_CHANNELS.admit) {
          const target = parseAdmitPayload(payload)
          if (target) handlers.admit?.(target.project, target.environment)
        } else if (channel === WAKEUP_CHANNELS.cancel) {
          const releaseId = Number(payload)
          if (Number.isInteger(releaseId)) handlers.cancel?.(releaseId)
        } else if (channel === WAKEUP_CHANNELS.events) {
          handlers.events?.()
        }
      } catch {
        // A wakeup is a hint: a handler that throws loses this one, the sweep catches up.
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retry)
    const client = this.client
    this.client = undefined
    await client?.end().catch(() => undefined)
  }
}

/**
 * Makes a pool connection run each distinct query text as a named prepared statement: PostgreSQL then
 * parses and plans it once per connection instead of on every run (a third of its CPU per release in
 * bench/parallel). Kysely gives every query to client.query(text, values), which is wrapped here.
 */
export function prepareStatements(client: pg.PoolClient): void {
  const original = client.query.bind(client) as (...args: unknown[]) => unknown
  let names = new Map<string, string>()
  let generation = 0
  const named = (text: string): string | undefined => {
    let name = names.get(text)
    if (name === undefined && names.size < PREPARED_PER_CONNECTION) {
      name = `relctl_${generation}_${names.size}`
      names.set(text, name)
    }
    return name
  }
  const query = (text: unknown, values?: unknown, ...rest: unknown[]): unknown => {
    if (typeof text !== 'string' || !Array.isArray(values) || rest.length > 0 || !PREPARABLE.test(text)) {
      return original(text, values, ...rest)
    }
    const name = named(text)
    return (original({name, text, values}) as Promise<pg.QueryResult>).catch((error: {code?: string}) => {
      // The tables changed under this connection's statements: prepare them again under new names.
      if (error?.code === STALE_PLAN) {
        names = new Map()
        generation++
      }
      throw error
    })
  }
  Object.assign(client, {query})
}

/**
 * Kysely sends a transaction's statements one at a time (its SingleConnectionProvider waits for each
 * answer before the next statement). A connection in pipeline mode keeps them in order itself, so the
 * transaction is given one that hands its connection to every statement at once: statements asked for
 * together (Promise.all) go out together (postgres-round-trips.ts), and still run in the order asked.
 */
function inFlightTogether(dialect: PostgresDialect) {
  // A Transaction never uses its driver (it cannot begin or end itself); Kysely's props require one.
  const driver = dialect.createDriver()
  return async (trx: Transaction<Database>): Promise<Transaction<Database>> => {
    const executor = trx.getExecutor()
    const connection = await executor.provideConnection(async (held) => held)
    return new Transaction<Database>({config: {dialect}, dialect, driver, executor: executor.withConnectionProvider({provideConnection: (use) => use(connection)})})
  }
}

function postgresQuirks(listener: Listener, dialect: PostgresDialect): DialectQuirks {
  return {
    dialect: 'postgres',
    inFlightTogether: inFlightTogether(dialect),
    async lockEnvironment(trx, project, environment) {
      await sql`select 1 from environments where project = ${project} and name = ${environment} for update`.execute(trx)
    },
    async lockEventOrder(trx) {
      // Sequence values are taken at insert, not at commit: without this, a reader resuming after
      // seq 7 could miss a seq 6 that committed later. The notification, delivered on commit, rides
      // along in the same statement.
      // Held from the commit's own message on (postgres-round-trips.ts), so for no round trip at all.
      await sql`select pg_advisory_xact_lock(${EVENTS_LOCK}), pg_notify(${WAKEUP_CHANNELS.events}, '')${sql.raw(AT_COMMIT)}`.execute(trx)
    },
    async notify(db, channel, payload) {
      // Inside a transaction PostgreSQL delivers it on commit, and not at all on rollback.
      await sql`select pg_notify(${channel}, ${payload})`.execute(db)
    },
    listen: (handlers) => listener.add(handlers),
    close: () => listener.close(),
  }
}

export async function openPostgresStore(url: string, options: {poolSize?: number} = {}): Promise<Store> {
  // A host that never answers must not hang the start.
  const config: pg.ClientConfig = {connectionString: url, application_name: 'relctl', connectionTimeoutMillis: 10_000}
  // Pipeline mode: a statement goes out without waiting for the answer to the one before (postgres-round-trips.ts).
  const pool = new pg.Pool({...config, pipeline: true, max: options.poolSize ?? 10})
  // An idle connection the server dropped must not take the process down; the next query reconnects.
  pool.on('error', () => undefined)
  pool.on('connect', (client) => {
    // Nor one that fails while a transaction holds it (the server restarted, an administrator ended
    // it): node-postgres then emits 'error' on it, which would be thrown with nobody listening. Its
    // statements fail instead, the transaction with them, and the pool drops it when it comes back.
    client.on('error', () => undefined)
    prepareStatements(client)
    fewerRoundTrips(client)
  })
  const dialect = new PostgresDialect({pool})
  const db = new Kysely<Database>({dialect})
  try {
    // Connection and login failures surface here with their own codes, not wrapped by the migrator.
    await sql`select 1`.execute(db)
    await migrateToLatest(db, 'postgres')
  } catch (error) {
    await db.destroy()
    throw error
  }
  return new KyselyStore(db, postgresQuirks(new Listener(config), dialect))
}
