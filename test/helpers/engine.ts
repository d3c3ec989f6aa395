// Shared helpers for tests that need a real Engine over a real SQLite store in a temporary folder.
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Engine, type EngineOptions, type Logger} from '../../src/lib/server/engine/engine.js'
import {ControlPlaneError} from '../../src/lib/server/errors.js'
import {openSqliteStore} from '../../src/lib/server/store/sqlite.js'
import type {Store} from '../../src/lib/server/store/store.js'
import {scaled} from './timeouts.js'

export const quietLog: Logger = {info() {}, warn() {}, error() {}}

/** A blueprint whose resources all use the simulate driver with short durations. */
export const SHOP_BLUEPRINT = `project: shop
resources:
  db:
    kind: database
    driver: simulate
    simulate: { duration: 100ms }
  api:
    dependsOn: [db]
    version: "1.0.0"
    driver: simulate
    simulate: { duration: 150ms, failVersions: ["6.6.6"] }
  web:
    dependsOn: [api]
    driver: simulate
    simulate: { duration: 100ms }
  worker:
    kind: job
    driver: simulate
    simulate: { duration: 100ms }
environments:
  staging: {}
  prod: {}
`

export interface TestEngine {
  dir: string
  file: string
  store: Store
  engine: Engine
  /** shuts the engine down (stopping what runs) and closes the store; idempotent */
  close(): Promise<void>
}

export function tempDir(prefix = 'relctl-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/**
 * A fresh folder on a memory-backed file system (/dev/shm) where the machine has one, else in the temp
 * dir. For tests of scale, not of disk durability: there SQLite's fsyncs cost nothing.
 */
export function memoryBackedDir(prefix = 'relctl-test-'): string {
  return existsSync('/dev/shm') ? mkdtempSync(join('/dev/shm', prefix)) : tempDir(prefix)
}

export interface TestEngineOptions {
  capacity?: number
  /** an injected clock for the engine (release timestamps, schedules) */
  now?: EngineOptions['now']
  /**
   * false: construct the engine without start(), so its schedule timer never runs and only explicit
   * fireDueSchedules() calls fire schedules (admission works either way). Default true.
   */
  start?: boolean
  /** true: the database lives in memoryBackedDir() instead of the temp dir. Default false. */
  memoryBacked?: boolean
  /** the replica's identity and lease (a short lease sweeps often: every third of it, at least every 250 ms) */
  replica?: EngineOptions['replica']
}

/** Opens a store on `file` and starts an Engine over it. */
export async function engineOn(file: string, options: TestEngineOptions = {}): Promise<{store: Store; engine: Engine}> {
  const {start = true, ...engineOptions} = options
  const store = await openSqliteStore(file)
  const engine = new Engine({store, log: quietLog, ...engineOptions})
  if (start) await engine.start()
  return {store, engine}
}

/** A fresh engine in a fresh temporary folder; applies `blueprint` when given. */
export async function createTestEngine(blueprint: string | null = SHOP_BLUEPRINT, options: TestEngineOptions = {}): Promise<TestEngine> {
  const {memoryBacked = false, ...engineOptions} = options
  const dir = memoryBacked ? memoryBackedDir() : tempDir()
  const file = join(dir, 'relctl.db')
  const {store, engine} = await engineOn(file, engineOptions)
  if (blueprint !== null) await engine.applyProject(blueprint, 'relctl.yaml', dir)
  let closed = false
  return {
    dir,
    file,
    store,
    engine,
    async close() {
      if (closed) return
      closed = true
      await engine.shutdown(0)
      await store.close()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** Polls `probe` until it returns a value that is not undefined/false, or fails after timeoutMs (scaled with the machine). */
export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, baseTimeoutMs = 10_000): Promise<T> {
  const timeoutMs = scaled(baseTimeoutMs)
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value as T
    last = value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const FINAL = ['succeeded', 'failed', 'cancelled', 'rejected']

/** Waits until the release has a final status and returns it. */
export async function waitForFinal(engine: Engine, id: number, timeoutMs = 10_000) {
  return waitFor(async () => {
    const release = await engine.getRelease(id)
    return FINAL.includes(release.status) ? release : undefined
  }, `release ${id} to finish`, timeoutMs)
}

/** Waits until the release has the given status. */
export async function waitForStatus(engine: Engine, id: number, status: string, timeoutMs = 10_000) {
  return waitFor(async () => {
    const release = await engine.getRelease(id)
    return release.status === status ? release : undefined
  }, `release ${id} to be ${status}`, timeoutMs)
}

/** Awaits a promise that must reject with a ControlPlaneError, and returns that error. */
export async function caught(promise: Promise<unknown>): Promise<ControlPlaneError> {
  let outcome: unknown
  try {
    outcome = await promise
  } catch (error) {
    if (!(error instanceof ControlPlaneError)) throw error
    return error
  }
  throw new Error(`expected a ControlPlaneError, got a result: ${JSON.stringify(outcome)?.slice(0, 500)}`)
}

/** A settable clock for the Engine's `now` option. */
export interface TestClock {
  (): Date
  set(at: string | Date): void
  advance(ms: number): void
}

export function testClock(start: string | Date): TestClock {
  let current = new Date(start)
  const clock = (() => new Date(current)) as TestClock
  clock.set = (at) => {
    current = new Date(at)
  }
  clock.advance = (ms) => {
    current = new Date(current.getTime() + ms)
  }
  return clock
}

/**
 * The real store, whose `method` throws (inside transactions too) on every call `when` picks, or on the
 * first one only with `once`: fault injection.
 */
export function failing(store: Store, method: keyof Store, message: string, when: (...args: unknown[]) => boolean, {once = false} = {}): Store {
  let failed = false
  const wrap = (target: Store): Store =>
    new Proxy(target, {
      get(object, property, receiver) {
        if (property === 'transaction') return (fn: (tx: Store) => Promise<unknown>) => object.transaction((tx) => fn(wrap(tx)))
        const value = Reflect.get(object, property, receiver)
        if (property === method) {
          return async (...args: unknown[]) => {
            if ((once && failed) || !when(...args)) return value.apply(object, args)
            failed = true
            throw new Error(message)
          }
        }
        return typeof value === 'function' ? value.bind(object) : value
      },
    })
  return wrap(store)
}
