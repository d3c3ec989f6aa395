// Helpers for the end-to-end tests: they run the real CLI (bin/run.js) as child processes against a
// real control plane process (`relctl server start`), each test file with its own server, data dir
// and config dir, so that tests never touch the user's profile and files can run in parallel.
//
// Run `npm run build` first: bin/run.js loads the compiled commands from dist/.
import {type ChildProcess, spawn} from 'node:child_process'
import {appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll} from 'vitest'

import {scaled} from '../helpers/timeouts.js'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = join(ROOT, 'bin', 'run.js')
export const FIXTURES = join(ROOT, 'test', 'fixtures')

// ---- temp dirs and cleanup ----

const tempDirs: string[] = []
const servers = new Set<Server>()
const strayGroups = new Set<number>()

/** A new temporary directory, removed after the test file. */
export function tempDir(prefix = 'relctl-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}

/** The process group of a process (from /proc), or the pid itself when it cannot be read. */
export function processGroupOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[2]) || pid
  } catch {
    return pid
  }
}

/** Kill the process group of this process when the file ends (for scripts a crashed server leaves behind). */
export function killGroupAfterAll(pid: number) {
  const group = processGroupOf(pid)
  if (group > 1 && group !== processGroupOf(process.pid)) strayGroups.add(group)
}

afterAll(async () => {
  await Promise.all([...servers].map((server) => server.stop('SIGTERM', scaled(15_000)).catch(() => undefined)))
  for (const pid of strayGroups) {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs.splice(0)) rmSync(dir, {recursive: true, force: true})
})

/**
 * The environment of every child: the test runner's, without any RELCTL_* setting that could leak in.
 * RELCTL_CACHE_DIR stays: it holds only the CLI's code cache, and CI points it at a throwaway dir.
 */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if ((key.startsWith('RELCTL_') && key !== 'RELCTL_CACHE_DIR') || key === 'DEBUG' || key === 'FORCE_COLOR') continue
    env[key] = value
  }
  return env
}

function applyEnv(target: NodeJS.ProcessEnv, extra: Record<string, string | undefined> | undefined) {
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (value === undefined) delete target[key]
    else target[key] = value
  }
  return target
}

// ---- the control plane ----

export interface StartOptions {
  /** reuse a data dir (restart tests); default: a new temp dir */
  dataDir?: string
  /** the admin token (--token); default: the one the first start on the data dir generated */
  token?: string
  /** extra environment for the server; undefined removes a variable. Deploys see the RELCTL_TEST_* ones (RELCTL_PASS_ENV) */
  env?: Record<string, string | undefined>
  /** extra arguments, e.g. ['--shutdown-grace', '1s'] */
  args?: string[]
  /** the server's RELCTL_CONFIG_DIR; default: a new temp dir */
  configDir?: string
  /** sees the server's stderr as it comes, before the server listens too */
  onStderr?: (chunk: string) => void
  /** listen on this port (a restart that clients reconnect to); default: a free one */
  port?: number
  /** --log-level; default warn */
  logLevel?: string
}

export interface Server {
  url: string
  /** the admin token */
  token: string
  dataDir: string
  configDir: string
  /** the JSON line the server printed */
  info: {url: string; token: string | null; tokenSource: string; dataDir: string; database: string; profileWritten: boolean}
  process: ChildProcess
  /** everything the server wrote on stderr so far */
  stderr(): string
  /** sends the signal and waits for the process to exit (SIGKILL after timeoutMs, default 20 s scaled) */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{code: number | null; signal: NodeJS.Signals | null; ms: number}>
}

let currentServer: Server | undefined
/** The admin token each data dir's first start printed: a restart prints none. */
const adminTokens = new Map<string, string>()

/** Starts `relctl server start --port 0` with its own data dir and config dir; resolves once it listens. */
export async function startServer(options: StartOptions = {}): Promise<Server> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(options)
    } catch (error) {
      const stderr = (error as {stderr?: string}).stderr ?? ''
      if (attempt >= 3 || !(await distWasRebuilding({code: 1, stderr}))) throw error
      console.warn('relctl server start: dist/ was being rebuilt; starting it again')
    }
  }
}

async function startServerOnce(options: StartOptions): Promise<Server> {
  const dataDir = options.dataDir ?? tempDir('relctl-e2e-data-')
  const configDir = options.configDir ?? tempDir('relctl-e2e-config-')
  const args = [BIN, 'server', 'start', '--port', String(options.port ?? 0), '--data-dir', dataDir, '--json', '--log-level', options.logLevel ?? 'warn', ...(options.token ? ['--token', options.token] : []), ...(options.args ?? [])]
  const env = applyEnv({...baseEnv(), RELCTL_CONFIG_DIR: configDir, CI: 'true', NO_COLOR: '1'}, options.env)
  // Deploys see only the variables they are given: hand the fixtures' RELCTL_TEST_* settings through.
  const testVariables = Object.keys(options.env ?? {}).filter((name) => name.startsWith('RELCTL_TEST_') && env[name] !== undefined)
  if (testVariables.length > 0 && env.RELCTL_PASS_ENV === undefined) env.RELCTL_PASS_ENV = testVariables.join(',')
  const child = spawn(process.execPath, args, {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk
    options.onStderr?.(chunk)
  })
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({code, signal}))
  })

  // The first stdout line is the JSON of a listening server; anything else (an error object under
  // --json, pretty-printed over several lines) means it did not start: collect it all until exit.
  let stdout = ''
  child.stdout.setEncoding('utf8')
  const startDeadline = scaled(20_000)
  const info = await new Promise<Server['info']>((resolveInfo, reject) => {
    let settled = false
    const fail = (message: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      const output = `--- stdout\n${stdout}\n--- stderr\n${stderr}`
      reject(Object.assign(new Error(`${message}\n${output}`), {stderr: `${stdout}\n${stderr}`}))
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      fail(`the control plane did not start within ${startDeadline} ms`)
    }, startDeadline)
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk
      if (settled || !stdout.includes('\n')) return
      const line = stdout.slice(0, stdout.indexOf('\n'))
      let parsed: (Server['info'] & {error?: unknown}) | undefined
      try {
        parsed = JSON.parse(line)
      } catch {
        parsed = undefined
      }
      if (parsed && typeof parsed.url === 'string' && !parsed.error) {
        settled = true
        clearTimeout(timer)
        resolveInfo(parsed)
      }
      // otherwise: an error; its exit ends the wait below
    })
    void exited.then(({code, signal}) => fail(`the control plane exited (code ${code}, signal ${signal}) before it listened`))
  })
  let stopped: ReturnType<Server['stop']> | undefined
  if (info.token) adminTokens.set(dataDir, info.token)
  const server: Server = {
    url: info.url,
    token: options.token ?? options.env?.RELCTL_SERVER_TOKEN ?? info.token ?? adminTokens.get(dataDir) ?? '',
    dataDir,
    configDir,
    info,
    process: child,
    stderr: () => stderr,
    stop(signal = 'SIGTERM', timeoutMs = scaled(20_000)) {
      stopped ??= (async () => {
        const started = Date.now()
        if (child.exitCode === null && child.signalCode === null) child.kill(signal)
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
        const result = await exited
        clearTimeout(timer)
        servers.delete(server)
        if (currentServer === server) currentServer = undefined
        return {...result, ms: Date.now() - started}
      })()
      return stopped
    },
  }
  servers.add(server)
  currentServer = server
  return server
}

// ---- the CLI ----

export interface RunOptions {
  /** the server to talk to (RELCTL_URL, RELCTL_TOKEN, RELCTL_CONFIG_DIR); default: the last one started */
  server?: Server
  /** overrides RELCTL_URL / RELCTL_TOKEN */
  url?: string
  token?: string
  /** extra environment; a value of undefined removes the variable */
  env?: Record<string, string | undefined>
  /** SIGKILL the command after this long (default 45 s; scaled with the machine like every deadline here) */
  timeoutMs?: number
  cwd?: string
  /** called with each piece of output as it arrives (see relctlLive) */
  onOutput?: (text: string) => void
  /** called with the process once it is started (see relctlLive) */
  onSpawn?: (child: ChildProcess) => void
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
  /** wall time of the command, milliseconds */
  ms: number
  timedOut: boolean
  /** stdout parsed as JSON */
  json<T = any>(): T
  /** for assertion messages */
  toString(): string
}

// a module, or the bundle bin/run.js reads (dist/cli.cjs), that the build has not written yet
const MODULE_MISSING = /MODULE_NOT_FOUND|ERR_MODULE_NOT_FOUND|ENOENT[^\n]*dist\/cli\.cjs/

/**
 * True when a run failed only because dist/ was being rebuilt (`npm run build` starts with rm -rf dist)
 * while it started; waits for the build to finish. A module that stays missing is a real failure.
 */
async function distWasRebuilding(result: {code: number | null; stdout?: string; stderr: string}): Promise<boolean> {
  const output = `${result.stdout ?? ''}\n${result.stderr}` // under --json the error is on stdout
  if (result.code !== 1 || !MODULE_MISSING.test(output)) return false
  const missing = /(\/[^\s'"]+\/dist\/[^\s'"]+\.js)/.exec(output)?.[1]
  const deadline = Date.now() + scaled(60_000)
  while (Date.now() < deadline) {
    if (missing ? existsSync(missing) : existsSync(join(ROOT, 'dist', 'commands'))) {
      await sleep(1500) // let tsc and the manifest finish
      return true
    }
    await sleep(250)
  }
  return false
}

/** Runs the real CLI, `node bin/run.js ...args`, with stdin closed, CI=true and NO_COLOR=1. */
export async function relctl(args: string[], options: RunOptions = {}): Promise<RunResult> {
  for (let attempt = 1; ; attempt++) {
    const result = await runOnce(args, options)
    // RELCTL_E2E_STATS=<file>: one line per CLI run (time, exit code, command), to find slow tests.
    if (process.env.RELCTL_E2E_STATS) appendFileSync(process.env.RELCTL_E2E_STATS, `${result.ms}\t${result.code}\t${args.join(' ')}\n`)
    if (attempt >= 3 || !(await distWasRebuilding(result))) return result
    console.warn(`relctl ${args.join(' ')}: dist/ was being rebuilt; running it again`)
  }
}

function runOnce(args: string[], options: RunOptions): Promise<RunResult> {
  const server = options.server ?? currentServer
  const env = applyEnv(
    {
      ...baseEnv(),
      CI: 'true',
      NO_COLOR: '1',
      ...(server && {RELCTL_URL: server.url, RELCTL_TOKEN: server.token, RELCTL_CONFIG_DIR: server.configDir}),
      ...(options.url !== undefined && {RELCTL_URL: options.url}),
      ...(options.token !== undefined && {RELCTL_TOKEN: options.token}),
    },
    options.env,
  )
  const timeoutMs = scaled(options.timeoutMs ?? 45_000)
  return new Promise((resolveRun, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, [BIN, ...args], {cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe']})
    options.onSpawn?.(child)
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      options.onOutput?.(chunk)
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      options.onOutput?.(chunk)
    })
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      const describe = () => `$ relctl ${args.join(' ')}\n(exit ${code}${timedOut ? ', killed after timeout' : ''}, ${Date.now() - started}ms)\n--- stdout\n${stdout}\n--- stderr\n${stderr}`
      resolveRun({
        code,
        stdout,
        stderr,
        ms: Date.now() - started,
        timedOut,
        json() {
          try {
            return JSON.parse(stdout)
          } catch {
            throw new Error(`stdout is not JSON:\n${describe()}`)
          }
        },
        toString: describe,
      })
    })
  })
}

/**
 * Starts the CLI and lets the test wait for what it prints while it runs (a follower attached, a wait
 * that has seen the release) instead of sleeping and hoping it got that far.
 */
export function relctlLive(
  args: string[],
  options: RunOptions = {},
): {done: Promise<RunResult>; settled(): boolean; printed(text: string | RegExp, what?: string): Promise<void>; signal(signal: NodeJS.Signals): void} {
  let output = ''
  let settled = false
  let child: ChildProcess | undefined
  const done = relctl(args, {...options, onOutput: (text) => (output += text), onSpawn: (spawned) => (child = spawned)}).finally(() => {
    settled = true
  })
  return {
    done,
    settled: () => settled,
    signal: (signal) => child?.kill(signal),
    async printed(text, what) {
      const seen = () => (typeof text === 'string' ? output.includes(text) : text.test(output))
      await waitFor(() => seen() || settled, {what: what ?? `relctl ${args.join(' ')} to print ${String(text)}`})
      if (!seen()) throw new Error(`relctl ${args.join(' ')} ended without printing ${String(text)}:\n${await done}`)
    },
  }
}

/** Runs the CLI and throws (with its output) unless it exits with `expected` (default 0). */
export async function must(args: string[], options: RunOptions & {expected?: number} = {}): Promise<RunResult> {
  const result = await relctl(args, options)
  const expected = options.expected ?? 0
  if (result.code !== expected) throw new Error(`expected exit ${expected}:\n${result}`)
  return result
}

// ---- the API, for polling in tests (assertions go through the CLI) ----

export async function api<T = any>(path: string, options: {server?: Server; method?: string; body?: unknown} = {}): Promise<T> {
  const server = options.server ?? currentServer
  if (!server) throw new Error('no server started')
  const response = await fetch(`${server.url}${path}`, {
    method: options.method ?? 'GET',
    headers: {authorization: `Bearer ${server.token}`, ...(options.body !== undefined && {'content-type': 'application/json'})},
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  })
  const body = await response.json()
  if (!response.ok) throw new Error(`${options.method ?? 'GET'} ${path} answered ${response.status}: ${JSON.stringify(body)}`)
  return body as T
}

/**
 * Creates a token through the API with the server's admin token and returns its secret. A grant is
 * ROLE, ROLE:PROJECT or ROLE:PROJECT/ENV.
 */
export async function createToken(name: string, grants: string[], options: {server?: Server; expiresIn?: string} = {}): Promise<string> {
  const parsed = grants.map((grant) => {
    const [role, scope = ''] = grant.split(':')
    const [project = null, environment = null] = scope ? scope.split('/') : []
    return {role, project, environment}
  })
  const created = await api<{token: string}>('/v1/tokens', {server: options.server, method: 'POST', body: {name, grants: parsed, ...(options.expiresIn && {expiresIn: options.expiresIn})}})
  return created.token
}

/**
 * Triggers a release through the API (for setup, where the CLI is not what the test is about: each CLI
 * run is a Node process start) and returns its id.
 */
export async function triggerRelease(project: string, environment: string, request: Record<string, unknown>, options: {server?: Server} = {}): Promise<number> {
  const answer = await api<{release: {id: number}}>(`/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(environment)}/releases`, {
    server: options.server,
    method: 'POST',
    body: request,
  })
  return answer.release.id
}

/** Polls fn until it returns a truthy value; throws with the last value after timeoutMs (default 15 s), scaled with the machine. */
export async function waitFor<T>(fn: () => Promise<T> | T, options: {timeoutMs?: number; intervalMs?: number; what?: string} = {}): Promise<T> {
  const timeoutMs = scaled(options.timeoutMs ?? 15_000)
  const deadline = Date.now() + timeoutMs
  let last: T | undefined
  let lastError: unknown
  for (;;) {
    try {
      last = await fn()
      if (last) return last
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'}; last value: ${JSON.stringify(last)}${lastError ? `; last error: ${String(lastError)}` : ''}`)
    }
    await sleep(options.intervalMs ?? 100)
  }
}

/** Waits until a release reaches one of the statuses (through the API). */
export function waitForRelease(id: number, statuses: string[], options: {server?: Server; timeoutMs?: number} = {}) {
  return waitFor(
    async () => {
      const release = await api(`/v1/releases/${id}`, {server: options.server})
      return statuses.includes(release.status) ? release : null
    },
    {timeoutMs: options.timeoutMs, what: `release ${id} to be ${statuses.join(' or ')}`},
  )
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms))
}

// ---- fixtures ----

export interface FixtureCopy {
  dir: string
  /** the copied relctl.yaml */
  file: string
  read(): string
  write(content: string): void
  /** replaces text in relctl.yaml (throws when `from` is not there) */
  edit(from: string | RegExp, to: string): void
}

/** Copies test/fixtures/<name> (scripts keep their mode) to a temp dir; optionally renames the project. */
export function copyFixture(name: string, options: {project?: string} = {}): FixtureCopy {
  const dir = join(tempDir('relctl-e2e-fixture-'), name)
  cpSync(join(FIXTURES, name), dir, {recursive: true})
  const file = join(dir, 'relctl.yaml')
  const copy: FixtureCopy = {
    dir,
    file,
    read: () => readFileSync(file, 'utf8'),
    write: (content) => writeFileSync(file, content),
    edit(from, to) {
      const before = copy.read()
      const after = before.replace(from, to)
      if (after === before) throw new Error(`fixture ${name}: "${String(from)}" not found in relctl.yaml`)
      copy.write(after)
    },
  }
  if (options.project) copy.edit(/^project: .*$/m, `project: ${options.project}`)
  return copy
}

// ---- processes and ports ----

/** True when the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return existsSync(`/proc/${pid}`)
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export function closedPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address ? address.port : 0
      probe.close(() => resolvePort(port))
    })
  })
}

/** Runs tasks with at most `limit` at a time. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({length: Math.min(limit, items.length)}, async () => {
      while (next < items.length) {
        const index = next++
        results[index] = await fn(items[index])
      }
    }),
  )
  return results
}

// ---- gates (test/fixtures/*/scripts/gate.sh) and release timing ----

/**
 * Waits until the gate script of release `id` runs (it writes $RELCTL_TEST_STATE/gate-<id>.pid) and
 * returns its pid; its process group is killed after the file.
 */
export async function gateStarted(state: string, id: number, options: {timeoutMs?: number} = {}): Promise<number> {
  const file = join(state, `gate-${id}.pid`)
  await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').trim() !== '', {timeoutMs: options.timeoutMs, what: `gate script of release ${id} to start`})
  const pid = Number(readFileSync(file, 'utf8'))
  killGroupAfterAll(pid)
  return pid
}

/** Lets the gate script of release `id` finish. */
export function openGate(state: string, id: number) {
  writeFileSync(join(state, `open-${id}`), '')
}

/** The most intervals (startedAt/finishedAt, ISO) open at the same instant; an interval ends before one that starts at its end. */
export function maxOverlap(intervals: {startedAt: string | null; finishedAt: string | null}[]): number {
  const events: [number, number][] = []
  for (const interval of intervals) {
    if (!interval.startedAt) continue
    events.push([Date.parse(interval.startedAt), 1])
    events.push([interval.finishedAt ? Date.parse(interval.finishedAt) : Number.POSITIVE_INFINITY, -1])
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let open = 0
  let most = 0
  for (const [, delta] of events) {
    open += delta
    most = Math.max(most, open)
  }
  return most
}
