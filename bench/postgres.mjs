// A throwaway PostgreSQL database for the benches. Unless RELCTL_BENCH_DATABASE_URL names a server (where
// the bench user may create databases), it starts its own cluster: initdb into a temp dir, a free port on
// 127.0.0.1, its unix socket in the data dir, trust auth, durability off (the bench's data is thrown away);
// as root its tools run as the `postgres` user, since PostgreSQL refuses to run as root.
// Self-contained on purpose: plain .mjs cannot import the TypeScript test helper (test/helpers/postgres.ts),
// which starts its clusters with the same settings; keep the two in step.
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import pg from 'pg'

export const BENCH_DATABASE_URL_ENV = 'RELCTL_BENCH_DATABASE_URL'

const INSTALL_HINT =
  'PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or in /usr/lib/postgresql/*/bin. ' +
  'Install them (Debian/Ubuntu: apt-get install -y postgresql; macOS: brew install postgresql), ' +
  `or set ${BENCH_DATABASE_URL_ENV} to a server where this user may create databases.`

function findPostgresBin() {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir
  }
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  for (const version of readdirSync(root).sort((a, b) => Number(b) - Number(a))) {
    const dir = join(root, version, 'bin')
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir
  }
  return null
}

const runsAsRoot = process.getuid?.() === 0

function asServerUser(bin, args) {
  const [command, argv] = runsAsRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args]
  execFileSync(command, argv, {stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000})
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** CPU time (user + system, ms) of a process from /proc; with `children`, also of the children it has reaped. */
export function processCpuMs(pid, {children = false} = {}) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  // Fields 14-17 of stat(5), counted from the state (field 3) here: utime, stime, cutime, cstime in ticks.
  const ticks = Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0)
  return (ticks * 1000) / 100
}

/**
 * CPU time (ms) of a control plane: its server process and the children it runs (the deploy supervisor),
 * each its own time only: the deploys are the supervisor's children, and their time is theirs.
 */
export function controlPlaneCpuMs(pid) {
  let total = processCpuMs(pid)
  for (const child of childrenOf(pid)) {
    try {
      total += processCpuMs(child)
    } catch {
      // it ended while we looked: its time is now in the server's reaped children, which are not counted
    }
  }
  return total
}

function childrenOf(pid) {
  const children = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === pid) children.push(entry)
    } catch {
      // the process ended while we looked
    }
  }
  return children
}

/**
 * A new database, on RELCTL_BENCH_DATABASE_URL's server or on a cluster started for it.
 * Returns {url, label, serverCpuMs, stop}: serverCpuMs() is the CPU PostgreSQL has spent so far (its
 * postmaster, the backends it reaped and the live ones), or null on a server the bench did not start;
 * stop() drops the database (or stops the cluster and removes its files) and is safe to call twice.
 */
export async function throwawayDatabase(prefix = 'relctl_bench') {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  const given = process.env[BENCH_DATABASE_URL_ENV]
  if (given) {
    await adminQuery(given, `create database ${name}`)
    const url = withDatabase(given, name)
    let dropped = false
    return {
      url,
      label: `PostgreSQL from ${BENCH_DATABASE_URL_ENV}`,
      serverCpuMs: () => null,
      stop: async () => {
        if (dropped) return
        dropped = true
        await adminQuery(given, `drop database if exists ${name} with (force)`).catch((error) => {
          console.error(`could not drop the bench database ${name}: ${error.message}; drop it by hand`)
        })
      },
    }
  }

  const bin = findPostgresBin()
  if (!bin) throw new Error(INSTALL_HINT)
  const runDir = mkdtempSync(join(tmpdir(), 'relctl-bench-pg-'))
  // The cluster runs as the postgres user when the bench runs as root: it must reach its data dir inside.
  chmodSync(runDir, 0o755)
  const dataDir = join(runDir, 'data')
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    try {
      if (existsSync(join(dataDir, 'postmaster.pid'))) asServerUser(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop'])
    } catch {
      // already stopping (a Ctrl+C reaches the postmaster too): its files go all the same
    } finally {
      rmSync(runDir, {recursive: true, force: true})
    }
  }
  try {
    mkdirSync(dataDir, {mode: 0o700})
    if (runsAsRoot) {
      const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], {encoding: 'utf8'}).trim())
      chownSync(dataDir, id('-u'), id('-g'))
    }
    asServerUser(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-locale', '-E', 'UTF8', '--no-sync'])
    const port = await freePort()
    const settings = `-p ${port} -k ${dataDir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`
    asServerUser(join(bin, 'pg_ctl'), ['-D', dataDir, '-o', settings, '-l', join(dataDir, 'server.log'), '-w', '-t', '60', 'start'])
    const admin = `postgres://postgres@127.0.0.1:${port}/postgres`
    await adminQuery(admin, `create database ${name}`)
    const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
    return {url: withDatabase(admin, name), label: 'PostgreSQL (a throwaway cluster, fsync off)', serverCpuMs: () => clusterCpuMs(postmaster), stop}
  } catch (error) {
    await stop()
    throw error
  }
}

function clusterCpuMs(postmaster) {
  let total = processCpuMs(postmaster, {children: true})
  for (const backend of childrenOf(postmaster)) {
    try {
      total += processCpuMs(backend)
    } catch {
      // the backend ended while we looked: the postmaster has reaped it, its time is in its children's
    }
  }
  return total
}

function withDatabase(serverUrl, database) {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

async function adminQuery(serverUrl, sql) {
  const client = new pg.Client({connectionString: serverUrl})
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
