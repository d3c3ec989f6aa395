// A control plane stopped mid-release: the running release is recorded as interrupted, the queued
// one runs after the next start, and nothing stays locked.
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {api, copyFixture, isAlive, killGroupAfterAll, must, relctl, startServer, tempDir, waitFor, waitForRelease} from './harness.js'

const FAST = ['--interval', '200ms', '--timeout', '60s']
const SCOPE = ['-p', 'slow-app', '-e', 'staging']

async function gateStarted(state: string, id: number): Promise<number> {
  const file = join(state, `gate-${id}.pid`)
  await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').trim() !== '', {what: `gate script of release ${id} to start`})
  const pid = Number(readFileSync(file, 'utf8'))
  killGroupAfterAll(pid)
  return pid
}

async function trigger(resources: string): Promise<number> {
  return Number((await must(['release', 'trigger', '--resources', resources, ...SCOPE])).stdout.trim())
}

/** Starts a server, applies the slow fixture, and leaves release A (gate, never opened) running and B queued. */
async function runningAndQueued() {
  const state = tempDir('relctl-e2e-state-')
  const dataDir = tempDir('relctl-e2e-data-')
  const first = await startServer({dataDir, env: {RELCTL_TEST_STATE: state}, args: ['--shutdown-grace', '1s']})
  await must(['project', 'apply', '-f', copyFixture('slow').file])
  const a = await trigger('gate')
  const b = await trigger('quick')
  const gatePid = await gateStarted(state, a)
  const active = await api('/v1/releases?project=slow-app&environment=staging&active=true')
  expect(active.map((release: {id: number; status: string}) => [release.id, release.status])).toEqual([
    [a, 'running'],
    [b, 'queued'],
  ])
  return {state, dataDir, first, a, b, gatePid}
}

/** After a restart: A failed as interrupted, B ran and succeeded, nothing is active, a new release runs. */
async function expectRecovered(a: number, b: number) {
  const ra = await api(`/v1/releases/${a}`)
  expect(ra.status).toBe('failed')
  expect(ra.error).toMatch(/^interrupted: /)
  expect(ra.tasks).toMatchObject([{resource: 'gate', status: 'interrupted'}])
  const shown = await must(['release', 'show', String(a)])
  expect(shown.stdout).toMatch(/^ {2}error: +interrupted: the control plane/m)

  await waitForRelease(b, ['succeeded', 'failed', 'cancelled'])
  const rb = await api(`/v1/releases/${b}`)
  expect(rb).toMatchObject({status: 'succeeded', tasks: [{resource: 'quick', status: 'succeeded'}]})

  const active = await must(['release', 'list', ...SCOPE, '--active', '--json'])
  expect(active.json()).toEqual([])
  const next = await relctl(['release', 'trigger', '--resources', 'steps', ...SCOPE, '--on-conflict', 'fail', '--wait', ...FAST])
  expect(next.code, String(next)).toBe(0)
  const apps = await api('/v1/projects/slow-app/environments/staging/apps')
  expect(apps.find((app: {name: string}) => app.name === 'gate')).toMatchObject({deployedVersion: null, activeReleases: []})
  expect(apps.find((app: {name: string}) => app.name === 'quick')).toMatchObject({sync: 'Synced', health: 'Healthy', stable: true})
}

describe('restart of the control plane', () => {
  it('SIGTERM: the running release is stopped after the grace period as interrupted; the queued one runs after the next start', async () => {
    const {state, dataDir, first, a, b, gatePid} = await runningAndQueued()

    // One control plane per data dir: a second one on it is refused.
    const second = await relctl(['server', 'start', '--port', '0', '--data-dir', dataDir, '--json'], {env: {RELCTL_CONFIG_DIR: tempDir()}, timeoutMs: 15_000})
    expect(second.code, String(second)).toBe(2)
    expect(second.json()).toMatchObject({exitCode: 2, error: {message: expect.stringContaining(`another control plane (pid ${first.process.pid}) is using ${dataDir}`)}})

    const stopped = await first.stop('SIGTERM')
    expect(stopped.code, first.stderr()).toBe(0)
    // It waited for the grace period, and exited by itself (code 0): one that ignored the grace would be
    // killed by stop() (code null), however long the machine takes.
    expect(stopped.ms).toBeGreaterThanOrEqual(900)
    expect(first.stderr()).toContain('received SIGTERM; stopping')
    // The script's process group was stopped with the release.
    await waitFor(() => !isAlive(gatePid), {timeoutMs: 3000, what: 'the gate script to be stopped'})

    const restarted = await startServer({dataDir, env: {RELCTL_TEST_STATE: state}})
    expect(restarted.token).toBe(first.token)
    expect(restarted.info.tokenSource).toBe('stored')
    await expectRecovered(a, b)
    await restarted.stop()
  })

  it('SIGKILL: the next start records the running release as interrupted and runs the queued one', async () => {
    const {state, dataDir, first, a, b} = await runningAndQueued()

    const killed = await first.stop('SIGKILL')
    expect(killed.signal).toBe('SIGKILL')

    const second = await startServer({dataDir, env: {RELCTL_TEST_STATE: state}})
    await expectRecovered(a, b)
    expect(second.stderr()).toContain('recorded as interrupted')
    await second.stop()
  })
})
