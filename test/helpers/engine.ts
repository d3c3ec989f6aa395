// Shared helpers for tests that need a real Engine over a real SQLite store in a temporary folder.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {Engine, type Logger} from '../../src/lib/server/engine/engine.js'
import {openSqliteStore} from '../../src/lib/server/store/sqlite.js'
import type {Store} from '../../src/lib/server/store/store.js'

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

/** Opens a store on `file` and starts an Engine over it. */
export async function engineOn(file: string, options: {capacity?: number} = {}): Promise<{store: Store; engine: Engine}> {
  const store = await openSqliteStore(file)
  const engine = new Engine({store, log: quietLog, ...options})
  await engine.start()
  return {store, engine}
}

/** A fresh engine in a fresh temporary folder; applies `blueprint` when given. */
export async function createTestEngine(blueprint: string | null = SHOP_BLUEPRINT, options: {capacity?: number} = {}): Promise<TestEngine> {
  const dir = tempDir()
  const file = join(dir, 'relctl.db')
  const {store, engine} = await engineOn(file, options)
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

/** Polls `probe` until it returns a value that is not undefined/false, or fails after timeoutMs. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
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
