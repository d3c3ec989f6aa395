// A throwaway PostgreSQL for tests. Unless RELCTL_TEST_DATABASE_URL names a server, the first test
// that asks starts one cluster for the whole vitest run (initdb into a temp dir, a free port on
// 127.0.0.1, trust auth), and the global teardown stops it. Each caller gets its own database.
//
// The run dir comes from the global setup (postgres-setup.ts): the worker that wins a mkdir there
// starts the cluster and writes its URL; the others wait for that file.
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'

import pg from 'pg'

import {scaled} from './timeouts.js'

export const TEST_DATABASE_URL_ENV = 'RELCTL_TEST_DATABASE_URL'
/** Set by the global setup for the workers: where the run's cluster lives. */
export const CLUSTER_DIR_ENV = 'RELCTL_TEST_PG_RUN_DIR'

const INSTALL_HINT =
  'PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or in /usr/lib/postgresql/*/bin. ' +
  'Install them (Debian/Ubuntu: apt-get install -y postgresql; macOS: brew install postgresql), ' +
  `or set ${TEST_DATABASE_URL_ENV} to a server where the test user may create databases.`

/** The directory holding initdb and pg_ctl, or null. */
export function findPostgresBin(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir
  }
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  // The newest installed major version.
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a))
  for (const version of versions) {
    const dir = join(root, version, 'bin')
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir
  }
  return null
}

/** PostgreSQL refuses to run as root: then its tools run as the `postgres` user. */
function asServerUser(bin: string, args: string[]) {
  const runAsPostgres = process.getuid?.() === 0
  const [command, argv] = runAsPostgres ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args]
  execFileSync(command, argv, {stdio: ['ignore', 'pipe', 'pipe'], timeout: scaled(60_000)})
}

function postgresUser(): {uid: number; gid: number} {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], {encoding: 'utf8'}).trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres'], {encoding: 'utf8'}).trim())
  return {uid, gid}
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** initdb and start a cluster in dataDir; returns its admin URL. */
export async function startCluster(dataDir: string): Promise<string> {
  const bin = findPostgresBin()
  if (!bin) throw new Error(INSTALL_HINT)
  mkdirSync(dataDir, {recursive: true, mode: 0o700})
  if (process.getuid?.() === 0) {
    const {uid, gid} = postgresUser()
    chownSync(dataDir, uid, gid)
  }
  asServerUser(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-locale', '-E', 'UTF8', '--no-sync'])
  const port = await freePort()
  // Durability is not what these tests check: fsync off keeps them fast.
  const settings = `-p ${port} -k ${dataDir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`
  asServerUser(join(bin, 'pg_ctl'), ['-D', dataDir, '-o', settings, '-l', join(dataDir, 'server.log'), '-w', '-t', '60', 'start'])
  return `postgres://postgres@127.0.0.1:${port}/postgres`
}

export function stopCluster(dataDir: string): void {
  const bin = findPostgresBin()
  if (bin && existsSync(join(dataDir, 'postmaster.pid'))) asServerUser(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop'])
}

let adminUrl: Promise<string> | undefined

/** The URL of a server the tests may create databases on: RELCTL_TEST_DATABASE_URL, or this run's cluster. */
export function testServerUrl(): Promise<string> {
  adminUrl ??= (async () => {
    const given = process.env[TEST_DATABASE_URL_ENV]
    if (given) return given
    const runDir = process.env[CLUSTER_DIR_ENV]
    if (!runDir) throw new Error(`no cluster dir: vitest's globalSetup (test/helpers/postgres-setup.ts) sets ${CLUSTER_DIR_ENV}`)
    return clusterOfRun(runDir)
  })()
  return adminUrl
}

async function clusterOfRun(runDir: string): Promise<string> {
  const urlFile = join(runDir, 'url')
  const errorFile = join(runDir, 'error')
  let starter = false
  try {
    mkdirSync(join(runDir, 'starting'))
    starter = true
  } catch {
    // another worker starts it
  }
  if (starter) {
    try {
      const url = await startCluster(join(runDir, 'data'))
      writeFileSync(urlFile, url)
      return url
    } catch (error) {
      writeFileSync(errorFile, (error as Error).message)
      throw error
    }
  }
  const deadline = Date.now() + scaled(90_000)
  while (Date.now() < deadline) {
    if (existsSync(urlFile)) return readFileSync(urlFile, 'utf8')
    if (existsSync(errorFile)) throw new Error(readFileSync(errorFile, 'utf8'))
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('the test PostgreSQL cluster did not start in time (see server.log in its data dir)')
}

/** A new, empty database on the test server; returns its URL. */
export async function freshDatabase(prefix = 'relctl_test'): Promise<string> {
  const server = await testServerUrl()
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({connectionString: server})
  await client.connect()
  try {
    await client.query(`create database ${name}`)
  } finally {
    await client.end()
  }
  const url = new URL(server)
  url.pathname = `/${name}`
  return url.toString()
}

/** Removes a run dir the global setup made (after stopping its cluster, if one started). */
export function removeRunDir(runDir: string): void {
  try {
    stopCluster(join(runDir, 'data'))
  } finally {
    rmSync(runDir, {recursive: true, force: true})
  }
}
