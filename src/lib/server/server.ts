// Boots the control plane: data dir, token, store, engine, HTTP; and stops it in order.
import {randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {type DestinationStream, pino} from 'pino'

import {deploySupervisor} from './drivers/supervisor-client.js'
import {Engine} from './engine/engine.js'
import {LogRetention} from './engine/log-retention.js'
import {buildHttpServer} from './http/app.js'
import {openSqliteStore} from './store/sqlite.js'

export interface ControlPlaneOptions {
  host: string
  port: number
  dataDir: string
  token?: string
  version: string
  shutdownGraceMs: number
  /** log lines of releases that ended longer ago than this are deleted */
  logRetentionMs: number
  logLevel: string
  logStream: NodeJS.WritableStream
}

export interface RunningControlPlane {
  url: string
  token: string
  tokenSource: 'given' | 'data-dir' | 'generated'
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

function resolveToken(dataDir: string, given: string | undefined): {token: string; source: RunningControlPlane['tokenSource']} {
  if (given) return {token: given, source: 'given'}
  const file = join(dataDir, 'token')
  try {
    const stored = readFileSync(file, 'utf8').trim()
    if (stored) return {token: stored, source: 'data-dir'}
  } catch {
    // no token yet: make one below
  }
  const token = `rc_${randomBytes(24).toString('base64url')}`
  writeFileSync(file, `${token}\n`, {mode: 0o600})
  return {token, source: 'generated'}
}

/** One control plane per data dir: SQLite is embedded, so a second process must not share the file. */
function claimDataDir(dataDir: string): () => void {
  const pidFile = join(dataDir, 'server.pid')
  try {
    writeFileSync(pidFile, String(process.pid), {flag: 'wx'})
  } catch {
    const pid = Number(readFileSync(pidFile, 'utf8'))
    let alive = false
    try {
      process.kill(pid, 0)
      alive = pid !== process.pid
    } catch {
      alive = false
    }
    if (alive) throw new Error(`another control plane (pid ${pid}) is using ${dataDir}; stop it or pass another --data-dir`)
    writeFileSync(pidFile, String(process.pid))
  }
  return () => rmSync(pidFile, {force: true})
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  mkdirSync(options.dataDir, {recursive: true, mode: 0o700})
  const releaseDataDir = claimDataDir(options.dataDir)
  try {
    const {token, source} = resolveToken(options.dataDir, options.token)
    const databaseFile = join(options.dataDir, 'relctl.db')
    const logger = pino({level: options.logLevel}, options.logStream as DestinationStream)
    const store = await openSqliteStore(databaseFile)
    const engine = new Engine({store, log: logger})
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
          releaseDataDir()
          logger.info('stopped')
        })()
        return stopping
      },
    }
  } catch (error) {
    releaseDataDir()
    throw error
  }
}
