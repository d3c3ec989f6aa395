// Boots the control plane: data dir, admin token, store, engine, HTTP(S); and stops it in order.
import {readFileSync} from 'node:fs'
import {homedir, hostname} from 'node:os'
import {join, resolve} from 'node:path'
import {createSecureContext} from 'node:tls'
import {X509Certificate} from 'node:crypto'

import {type DestinationStream, pino} from 'pino'

import {Access} from './access/access.js'
import type {AdminTokenSource} from './access/tokens.js'
import {unpassableVariable} from './blueprint/variable-names.js'
import {lockDataDir, makePrivate, preparePrivateDir, withPrivateFiles} from './data-dir.js'
import {deploySupervisor} from './drivers/supervisor-client.js'
import {Engine} from './engine/engine.js'
import {defaultReplicaId} from './engine/runs/leases.js'
import {MIN_LEASE_MS} from '../api/replica-limits.js'
import {DEFAULT_NOTIFY_ALLOWED_NETWORKS} from '../api/events.js'
import {StartupError} from './errors.js'
import {EventHub} from './events/hub.js'
import {Notifier} from './notifications/notifier.js'
import {Subscriptions} from './notifications/subscriptions.js'
import {AddressPolicy} from './notifications/targets.js'
import {Retention} from './retention.js'
import {buildHttpServer} from './http/app.js'
import {describePostgres, openPostgresStore} from './store/postgres.js'
import {openSqliteStore} from './store/sqlite.js'
import type {Store} from './store/store.js'
import {givenAdminToken, legacyTokenFile, removeLegacyTokenFile} from './token.js'

export interface ControlPlaneOptions {
  host: string
  port: number
  dataDir: string
  /** names this replica in server status and in the releases it runs; default: host:port (host-pid with port 0) */
  replicaId?: string
  /** how long this replica's runs stay its own without a heartbeat */
  leaseMs?: number
  /** a postgres:// URL: the shared database of every replica; the data dir still holds the token and the supervisor's pid file. Default: SQLite in the data dir */
  databaseUrl?: string
  token?: string
  /** a file whose first line is the token: keeps it out of the process list */
  tokenFile?: string
  /** PEM files: serve HTTPS with this certificate (and its chain) and key */
  tlsCert?: string
  tlsKey?: string
  /** audit entries older than this are deleted */
  auditRetentionMs: number
  /** names of the server's variables every deploy sees, besides the basics */
  passEnv?: string[]
  version: string
  shutdownGraceMs: number
  /** log lines of releases that ended longer ago than this are deleted */
  logRetentionMs: number
  /** events older than this are deleted (a stream cannot resume from before it), with ended notification deliveries */
  eventRetentionMs: number
  /** this control plane's address as people and notification receivers reach it, for links; default: the address it listens on */
  publicUrl?: string
  /** networks notifications may go to although internal (CIDRs); default: 127.0.0.1 only */
  notifyAllowNetworks?: string[]
  /** a failed notification's first retry waits this long; each next one twice as long, up to an hour */
  notifyRetryMinMs: number
  /** how long a notification is retried before it is given up */
  notifyRetryForMs: number
  logLevel: string
  logStream: NodeJS.WritableStream
  /** where start-up warnings go (a data dir owned by someone else, a token file others can read); default: the log */
  warn?: (message: string) => void
}

export interface RunningControlPlane {
  url: string
  /** the admin token's secret, when this start knows it: generated now, or given to it */
  token: string | null
  tokenSource: AdminTokenSource
  /** the certificate file, when it is self-signed: what a client on this machine trusts it by */
  caFile: string | null
  dataDir: string
  database: string
  /** Stops admitting, lets running releases finish for the grace period, then stops them. */
  stop(): Promise<void>
}

const REPLICA_ID = /^[A-Za-z0-9._:-]{1,100}$/

export function defaultDataDir(): string {
  if (process.env.RELCTL_DATA_DIR) return process.env.RELCTL_DATA_DIR
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share')
  return join(base, 'relctl')
}

interface Tls {
  cert: Buffer
  key: Buffer
  /** the certificate signs itself: clients trust it by this file (--ca-file) */
  selfSigned: boolean
}

/** The certificate and key, read and checked to belong together; a start without them serves HTTP. */
function readTls({tlsCert, tlsKey}: Pick<ControlPlaneOptions, 'tlsCert' | 'tlsKey'>): Tls | null {
  if (!tlsCert && !tlsKey) return null
  if (!tlsCert || !tlsKey) throw new StartupError('HTTPS needs both --tls-cert and --tls-key', 'pass the certificate (PEM) and its private key (PEM)')
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file)
    } catch (error) {
      throw new StartupError(`cannot read the TLS ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, `pass a readable PEM file with --tls-${what === 'certificate' ? 'cert' : 'key'}`)
    }
  }
  const tls = {cert: read(tlsCert, 'certificate'), key: read(tlsKey, 'key')}
  let certificate: X509Certificate
  try {
    certificate = new X509Certificate(tls.cert)
    createSecureContext(tls)
  } catch (error) {
    throw new StartupError(`--tls-cert and --tls-key are not a usable pair: ${(error as Error).message}`, 'pass a PEM certificate and the PEM private key it was made for')
  }
  return {...tls, selfSigned: certificate.checkIssued(certificate)}
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/

/** Refuses --pass-env names that are not variables or that would hand deploys the token or its file. */
function checkPassEnv(names: readonly string[], secrets: (string | undefined)[]): void {
  for (const name of names) {
    const why = unpassableVariable(name, {reservePrefix: false})
    if (why) throw new StartupError(`--pass-env ${why}`, 'name only variables that deploys need, e.g. --pass-env AWS_PROFILE')
    const value = process.env[name]
    if (value && secrets.includes(value)) throw new StartupError(`--pass-env ${name}: it holds the control plane's token, the path of its file or the database URL; that is never passed to deploys`, 'remove it from --pass-env and RELCTL_PASS_ENV')
  }
}

async function openDataDirDatabase(dataDir: string): Promise<{store: Store; database: string}> {
  const databaseFile = join(dataDir, 'relctl.db')
  // -wal and -shm come later, and SQLite gives them the database file's mode: 0600 too.
  const store = await withPrivateFiles(() => openSqliteStore(databaseFile))
  makePrivate([databaseFile, `${databaseFile}-wal`, `${databaseFile}-shm`])
  return {store, database: `sqlite (${databaseFile})`}
}

const DATABASE_URL_FORM = 'postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE'

/** postgres (host:port/db) for messages, never the password; a URL that is none stops the start before the data dir is touched. */
function describeDatabaseUrl(url: string): string {
  try {
    return describePostgres(url)
  } catch (error) {
    throw new StartupError(`--database-url (or RELCTL_DATABASE_URL) is not a PostgreSQL URL: ${(error as Error).message}`, `give ${DATABASE_URL_FORM}`)
  }
}

/** PostgreSQL, shared by every replica; a database that does not answer stops the start. */
async function openSharedDatabase(url: string): Promise<{store: Store; database: string}> {
  const database = describeDatabaseUrl(url)
  try {
    return {store: await openPostgresStore(url), database}
  } catch (error) {
    const err = error as {code?: string; message: string}
    const hint =
      {
        ECONNREFUSED: 'is PostgreSQL running there, and is the port right?',
        ENOTFOUND: 'check the host name in the URL',
        ETIMEDOUT: 'check the host, the port and the network between them',
        '28P01': 'check the user and password in the URL',
        '28000': "the server's pg_hba.conf refuses this user or host",
        '3D000': 'create the database first (createdb), or name an existing one',
      }[err.code ?? ''] ?? `check that ${DATABASE_URL_FORM} names a database this user may create tables in`
    throw new StartupError(`cannot use the database ${database}: ${err.message}`, hint)
  }
}

function addressPolicy(networks: readonly string[]): AddressPolicy {
  try {
    return new AddressPolicy(networks)
  } catch (error) {
    throw new StartupError(`--notify-allow-network: ${(error as Error).message}`, 'give networks as CIDR, e.g. --notify-allow-network 10.20.0.0/16')
  }
}

/** A replica id fit for logs, tables and error messages; a lease long enough to renew. */
function checkReplicaOptions({replicaId, leaseMs}: Pick<ControlPlaneOptions, 'replicaId' | 'leaseMs'>): void {
  if (replicaId !== undefined && !REPLICA_ID.test(replicaId)) {
    throw new StartupError(`--replica-id "${replicaId}" is not a usable name: 1 to 100 letters, digits, dots, dashes, underscores or colons`, 'e.g. --replica-id eu-2')
  }
  if (leaseMs !== undefined && leaseMs < MIN_LEASE_MS) throw new StartupError(`--lease must be at least ${MIN_LEASE_MS / 1000}s`, 'the default is 15s; a replica renews its leases every third of it')
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const logger = pino({level: options.logLevel}, options.logStream as DestinationStream)
  const warn = options.warn ?? ((message: string) => logger.warn(message))
  if (options.databaseUrl) describeDatabaseUrl(options.databaseUrl)
  checkReplicaOptions(options)
  const policy = addressPolicy(options.notifyAllowNetworks ?? DEFAULT_NOTIFY_ALLOWED_NETWORKS)
  preparePrivateDir(options.dataDir, warn)
  const tls = readTls(options)
  if (!tls && !LOOPBACK.test(options.host)) {
    warn(`serving plain HTTP on ${options.host}: tokens cross the network in clear text; pass --tls-cert and --tls-key, or put a TLS proxy in front`)
  }
  const dataDir = lockDataDir(options.dataDir)
  try {
    const given = givenAdminToken(options.dataDir, {token: options.token, file: options.tokenFile}, warn)
    const passEnv = options.passEnv ?? []
    const secret = given && 'secret' in given ? given.secret : (given?.dataDirSecret ?? undefined)
    checkPassEnv(passEnv, [secret, options.tokenFile, options.tokenFile && resolve(options.tokenFile), resolve(legacyTokenFile(options.dataDir)), options.databaseUrl])
    const {store, database} = options.databaseUrl ? await openSharedDatabase(options.databaseUrl) : await openDataDirDatabase(options.dataDir)
    const access = new Access({store, log: logger, auditRetentionMs: options.auditRetentionMs})
    let admin
    try {
      admin = await access.tokens.establishAdmin(given)
    } catch (error) {
      await store.close()
      throw error
    }
    if (given && 'dataDirSecret' in given) {
      removeLegacyTokenFile(options.dataDir)
      warn(
        admin.source === 'data-dir'
          ? `the data dir's token file became the admin token (kept as a hash in the database) and was removed; the token itself is unchanged`
          : `the data dir's token file was removed: a token named admin exists already`,
      )
    }
    const engine = new Engine({
      store,
      log: logger,
      passEnv,
      replica: {id: options.replicaId ?? defaultReplicaId(hostname(), options.port, process.pid), version: options.version, leaseMs: options.leaseMs},
    })
    const retention = new Retention({store, logRetentionMs: options.logRetentionMs, eventRetentionMs: options.eventRetentionMs, log: logger})
    // On SQLite every commit is this process's own and wakes the stream at once; the poll is a safety net.
    const events = new EventHub(store, logger, store.dialect === 'sqlite' ? 5000 : 1000)
    const listenHost = options.host.includes(':') ? `[${options.host}]` : options.host
    // Links need an address before the port is known (--port 0): they are made when sent, from this.
    const scheme = tls ? 'https' : 'http'
    const links = {url: options.publicUrl ?? `${scheme}://${listenHost}:${options.port}`}
    const notifier = new Notifier({
      store,
      log: logger,
      replica: engine.replicaId,
      get publicUrl() {
        return links.url
      },
      policy,
      retryMinMs: options.notifyRetryMinMs,
      retryForMs: options.notifyRetryForMs,
    })
    const subscriptions = new Subscriptions(store, engine, notifier, policy)
    const http = await buildHttpServer({engine, events, subscriptions, access, version: options.version, database: store.dialect === 'sqlite' ? 'sqlite' : database, logger, ...(tls && {tls})})
    try {
      // Before recovery admits anything: a previous control plane's deploys must be gone first.
      await deploySupervisor.start({pidFile: join(options.dataDir, 'supervisor.pid'), log: logger})
      await events.start()
      await engine.start()
      retention.start()
      access.audit.startRetention()
      await http.listen({host: options.host, port: options.port})
      const address = http.server.address()
      if (!options.publicUrl && typeof address === 'object' && address) links.url = `${scheme}://${listenHost}:${address.port}`
      await notifier.start()
    } catch (error) {
      await http.close()
      await events.close()
      await notifier.stop()
      await retention.stop()
      await access.audit.stop()
      await deploySupervisor.close()
      await store.close()
      throw error
    }
    const address = http.server.address()
    const port = typeof address === 'object' && address ? address.port : options.port
    let stopping: Promise<void> | undefined
    return {
      url: `${scheme}://${listenHost}:${port}`,
      token: admin.secret,
      tokenSource: admin.source,
      caFile: tls?.selfSigned && options.tlsCert ? resolve(options.tlsCert) : null,
      dataDir: options.dataDir,
      database,
      stop() {
        stopping ??= (async () => {
          logger.info({graceMs: options.shutdownGraceMs}, 'shutting down: no new releases start')
          await engine.shutdown(options.shutdownGraceMs)
          await http.close()
          await notifier.stop()
          await retention.stop()
          await access.audit.stop()
          await deploySupervisor.close()
          await store.close()
          dataDir.release()
          logger.info('stopped')
        })()
        return stopping
      },
    }
  } catch (error) {
    dataDir.release()
    throw error
  }
}
