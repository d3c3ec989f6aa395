// Boots the control plane: data dir, token, store, engine, HTTP; and stops it in order.
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'

import {type DestinationStream, pino} from 'pino'

import {unpassableVariable} from './blueprint/variable-names.js'
import {lockDataDir, makePrivate, preparePrivateDir, withPrivateFiles} from './data-dir.js'
import {deploySupervisor} from './drivers/supervisor-client.js'
import {Engine} from './engine/engine.js'
import {LogRetention} from './engine/runs/log-retention.js'
import {StartupError} from './errors.js'
import {buildHttpServer} from './http/app.js'
import {openSqliteStore} from './store/sqlite.js'
import {resolveToken, type TokenSource} from './token.js'

export interface ControlPlaneOptions {
  host: string
  port: number
  dataDir: string
  token?: string
  /** a file whose first line is the token: keeps it out of the process list */
  tokenFile?: string
  /** names of the server's variables every deploy sees, besides the basics */
  passEnv?: string[]
  version: string
  shutdownGraceMs: number
  /** log lines of releases that ended longer ago than this are deleted */
  logRetentionMs: number
  logLevel: string
  logStream: NodeJS.WritableStream
  /** where start-up warnings go (a data dir owned by someone else, a token file others can read); default: the log */
  warn?: (message: string) => void
}

export interface RunningControlPlane {
  url: string
  token: string
  tokenSource: TokenSource
  dataDir: string
  database: string
  /** Stops admitting, lets running releases finish for the grace period, then stops them. */
  stop(): Promise<void>
}

export function defaultDataDir(): string {
  if (process.env.RELCTL_DATA_DIR) return process.env.RELCTL_DATA_DIR
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share')
  return join(base, 'relctl')
}

/** Refuses --pass-env names that are not variables or that would hand deploys the token or its file. */
function checkPassEnv(names: readonly string[], secrets: (string | undefined)[]): void {
  for (const name of names) {
    const why = unpassableVariable(name, {reservePrefix: false})
    if (why) throw new StartupError(`--pass-env ${why}`, 'name only variables that deploys need, e.g. --pass-env AWS_PROFILE')
    const value = process.env[name]
    if (value && secrets.includes(value)) throw new StartupError(`--pass-env ${name}: it holds the control plane's token or the path of its file; that is never passed to deploys`, 'remove it from --pass-env and RELCTL_PASS_ENV')
  }
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const logger = pino({level: options.logLevel}, options.logStream as DestinationStream)
  const warn = options.warn ?? ((message: string) => logger.warn(message))
  preparePrivateDir(options.dataDir, warn)
  const dataDir = lockDataDir(options.dataDir)
  try {
    const {token, source} = resolveToken(options.dataDir, {token: options.token, file: options.tokenFile}, warn)
    const passEnv = options.passEnv ?? []
    checkPassEnv(passEnv, [token, options.tokenFile, options.tokenFile && resolve(options.tokenFile), join(resolve(options.dataDir), 'token')])
    const databaseFile = join(options.dataDir, 'relctl.db')
    // -wal and -shm come later, and SQLite gives them the database file's mode: 0600 too.
    const store = await withPrivateFiles(() => openSqliteStore(databaseFile))
    makePrivate([databaseFile, `${databaseFile}-wal`, `${databaseFile}-shm`])
    const engine = new Engine({store, log: logger, passEnv})
    const retention = new LogRetention({store, retentionMs: options.logRetentionMs, log: logger})
    const http = await buildHttpServer({engine, token, version: options.version, database: 'sqlite', logger})
    try {
      // Before recovery admits anything: a previous control plane's deploys must be gone first.
      await deploySupervisor.start({pidFile: join(options.dataDir, 'supervisor.pid'), log: logger})
      await engine.start()
      retention.start()
      await http.listen({host: options.host, port: options.port})
    } catch (error) {
      await http.close()
      await retention.stop()
      await deploySupervisor.close()
      await store.close()
      throw error
    }
    const address = http.server.address()
    const port = typeof address === 'object' && address ? address.port : options.port
    const host = options.host.includes(':') ? `[${options.host}]` : options.host
    let stopping: Promise<void> | undefined
    return {
      url: `http://${host}:${port}`,
      token,
      tokenSource: source,
      dataDir: options.dataDir,
      database: `sqlite (${databaseFile})`,
      stop() {
        stopping ??= (async () => {
          logger.info({graceMs: options.shutdownGraceMs}, 'shutting down: no new releases start')
          await engine.shutdown(options.shutdownGraceMs)
          await http.close()
          await retention.stop()
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
