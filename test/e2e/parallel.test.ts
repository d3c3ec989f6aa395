// Parallel releases, state locks and the release queue (issue 3), through the real CLI: settings with
// their sources and history, selective releases whose tasks really overlap, conflicts that queue in
// order or fail with exit 5, max parallel, `release list --active` and cancelling a queued release.
import {beforeAll, describe, expect, it} from 'vitest'

import {api, copyFixture, createToken, gateStarted, maxOverlap, must, openGate, relctl, startServer, tempDir, waitFor, waitForRelease} from './harness.js'

const STAGING = ['-p', 'timed-app', '-e', 'staging']
const PROD = ['-p', 'timed-app', '-e', 'prod']
/** Operators of the control plane: who triggers and changes settings is the token's name. */
const ALICE = {token: ''}
const BOB = {token: ''}
const FINAL = ['succeeded', 'failed', 'cancelled', 'rejected']
let state: string

beforeAll(async () => {
  state = tempDir('relctl-e2e-state-')
  // a, b, c and d deploy in about 1s each; gate1..gate3 block until their gate opens.
  await startServer({env: {RELCTL_TEST_STATE: state, RELCTL_TEST_SLEEP: '1'}})
  await must(['project', 'apply', '-f', copyFixture('timed').file])
  ALICE.token = await createToken('alice', ['operator'])
  BOB.token = await createToken('bob', ['operator'])
})

async function trigger(resources: string, scope: string[], extra: string[] = [], options = ALICE): Promise<number> {
  const result = await must(['release', 'trigger', '--resources', resources, ...scope, ...extra], options)
  return Number(result.stdout.trim())
}

// State reads go through the API (what `release show --json` prints): each CLI run costs a process
// start, and the commands under test here are trigger, cancel, list --active and settings.
function show(id: number) {
  return api(`/v1/releases/${id}`)
}

async function count(project: string, environment: string): Promise<number> {
  return (await api(`/v1/releases?project=${project}&environment=${environment}&limit=1000`)).length
}

describe('settings set-parallel and settings show', () => {
  it('sets the control-plane default and an environment override; show gives value, source and history', async () => {
    const before = Date.now()
    const plane = await relctl(['settings', 'set-parallel', '--enabled', '--max', '10'], ALICE)
    expect(plane.code, String(plane)).toBe(0)
    expect(plane.stdout).toContain('Settings of control plane (defaults for every environment)')
    expect(plane.stdout).toMatch(/^ {2}parallel releases: {2}on {2}\(control-plane setting\)$/m)
    expect(plane.stdout).toMatch(/^ {2}max parallel: {7}10 {2}\(control-plane setting\)$/m)

    const override = await relctl(['settings', 'set-parallel', '--enabled', '--max', '2', ...PROD], BOB)
    expect(override.code, String(override)).toBe(0)
    expect(override.stdout).toContain('Settings of timed-app/prod')
    expect(override.stdout).toMatch(/^ {2}max parallel: {7}2 {2}\(environment override\)$/m)

    const prod = (await must(['settings', 'show', ...PROD, '--json'])).json()
    expect(prod).toMatchObject({
      scope: {project: 'timed-app', environment: 'prod'},
      parallel: {value: true, source: 'environment'},
      maxParallel: {value: 2, source: 'environment'},
      approval: {value: false, source: 'default'},
    })
    expect(prod.history).toEqual(
      expect.arrayContaining([
        expect.objectContaining({setting: 'parallel', oldValue: null, newValue: 'true', changedBy: 'bob'}),
        expect.objectContaining({setting: 'maxParallel', oldValue: null, newValue: '2', changedBy: 'bob'}),
      ]),
    )
    for (const change of prod.history) {
      expect(Date.parse(change.changedAt)).toBeGreaterThanOrEqual(before - 1000)
      expect(Date.parse(change.changedAt)).toBeLessThanOrEqual(Date.now())
    }

    // staging has no override: it inherits the control plane.
    const staging = (await must(['settings', 'show', ...STAGING, '--json'])).json()
    expect(staging).toMatchObject({parallel: {value: true, source: 'control-plane'}, maxParallel: {value: 10, source: 'control-plane'}, approval: {value: false, source: 'default'}})
    expect(staging.history).toEqual([])

    const defaults = (await must(['settings', 'show', '--json'])).json()
    expect(defaults).toMatchObject({scope: {project: null, environment: null}, parallel: {value: true, source: 'control-plane'}, maxParallel: {value: 10, source: 'control-plane'}})
    expect(defaults.history).toEqual(
      expect.arrayContaining([
        expect.objectContaining({setting: 'parallel', newValue: 'true', changedBy: 'alice', changedAt: expect.any(String)}),
        expect.objectContaining({setting: 'maxParallel', newValue: '10', changedBy: 'alice', changedAt: expect.any(String)}),
      ]),
    )

    // The text form: who and when.
    const text = await must(['settings', 'show', ...PROD])
    expect(text.stdout).toMatch(/^ {2}parallel releases: {2}on {2}\(environment override\)$/m)
    expect(text.stdout).toMatch(/^ {2}approval workflow: {2}off {2}\(built-in default\)$/m)
    expect(text.stdout).toMatch(/^WHEN\s+WHO\s+SETTING\s+FROM\s+TO$/m)
    expect(text.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z\s+bob\s+maxParallel\s+\(inherited\)\s+2$/m)

    // Out of range: a usage error.
    const bad = await relctl(['settings', 'set-parallel', '--max', '0', ...PROD])
    expect(bad.code, String(bad)).toBe(2)
  })
})

describe('parallel selective releases', () => {
  it('four releases of independent 1s deploys run at the same time: all four tasks overlap', async () => {
    const ids = await Promise.all(['a', 'b', 'c', 'd'].map((name) => trigger(name, STAGING)))
    const releases = await Promise.all(ids.map((id) => waitForRelease(id, FINAL)))
    for (const release of releases) expect(release.status).toBe('succeeded')

    const shown = await Promise.all(ids.map(show))
    const tasks = shown.map((release) => {
      expect(release.tasks).toHaveLength(1)
      return release.tasks[0]
    })
    for (const task of tasks) {
      // each deploy really took about a second
      expect(Date.parse(task.finishedAt) - Date.parse(task.startedAt)).toBeGreaterThanOrEqual(950)
    }
    // Every task started before any finished: all four intervals overlap.
    const lastStart = Math.max(...tasks.map((task) => Date.parse(task.startedAt)))
    const firstEnd = Math.min(...tasks.map((task) => Date.parse(task.finishedAt)))
    expect(lastStart).toBeLessThan(firstEnd)
    // (the control plane's own timestamps: one after the other, no task would start before another ended)
    expect(maxOverlap(tasks)).toBe(4)
  })

  it('overlapping releases queue in order and say what they wait for; --on-conflict fail exits 5; cancel lets the next one start', async () => {
    const a = await trigger('gate1', STAGING)
    await gateStarted(state, a)
    const b = await trigger('gate1,b', STAGING)

    const showB = await must(['release', 'show', String(b)])
    expect(showB.stdout).toMatch(new RegExp(`^ {2}status: {5}queued \\(position 1\\): waits for release ${a} \\(resources: gate1\\)$`, 'm'))
    expect(await show(b)).toMatchObject({status: 'queued', queuePosition: 1, waitingFor: {reason: 'conflict', releases: [a], resources: ['gate1']}})

    // --on-conflict fail: refused at once, names the holder and what is shared; nothing queued.
    const before = await count('timed-app', 'staging')
    const refused = await relctl(['release', 'trigger', '--resources', 'gate1,c', ...STAGING, '--on-conflict', 'fail'])
    expect(refused.code, String(refused)).toBe(5)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toContain(`state lock held by release ${a} (running) on gate1; nothing was queued`)
    const refusedJson = await relctl(['release', 'trigger', '--resources', 'c,gate1', ...STAGING, '--on-conflict', 'fail', '--json'])
    expect(refusedJson.code, String(refusedJson)).toBe(5)
    expect(refusedJson.json()).toMatchObject({exitCode: 5, error: {code: 'state_lock', holder: {releaseId: a, resources: ['gate1']}}})
    expect(await count('timed-app', 'staging')).toBe(before)

    // No overtaking: c conflicts only with b (queued before it), not with a (running): it still waits.
    const c = await trigger('b,c', STAGING, ['--refresh', '--force', '--comment', 'no overtaking'], BOB)
    expect(await show(c)).toMatchObject({status: 'queued', queuePosition: 2, waitingFor: {reason: 'conflict', releases: [b], resources: ['b']}})

    // The queue: running first, then queued in order, with position, type, resources, flags, who, what it waits for.
    const active = await must(['release', 'list', ...STAGING, '--active'])
    const lines = active.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^ID\s+POS\s+ENV\s+TYPE\s+STATUS\s+RESOURCES\s+FLAGS\s+BY\s+CREATED\s+WAITING FOR\s+COMMENT$/)
    expect(lines, active.stdout).toHaveLength(4)
    expect(lines[1]).toMatch(new RegExp(`^${a}\\s+run\\s+timed-app/staging\\s+selective\\s+running\\s+gate1:create\\s+-\\s+alice \\(cli\\)\\s+\\d+s ago\\s+-\\s+-$`))
    expect(lines[2]).toMatch(new RegExp(`^${b}\\s+1\\s+timed-app/staging\\s+selective\\s+queued\\s+gate1:create, b\\s+-\\s+alice \\(cli\\)\\s+\\d+s ago\\s+waits for release ${a} \\(resources: gate1\\)\\s+-$`))
    expect(lines[3]).toMatch(new RegExp(`^${c}\\s+2\\s+timed-app/staging\\s+selective\\s+queued\\s+b, c\\s+refresh,force\\s+bob \\(cli\\)\\s+\\d+s ago\\s+waits for release ${b} \\(resources: b\\)\\s+no overtaking$`))
    const activeJson = (await must(['release', 'list', ...STAGING, '--active', '--json'])).json()
    expect(activeJson.map((release: {id: number}) => release.id)).toEqual([a, b, c])
    expect(activeJson[2]).toMatchObject({
      id: c,
      type: 'selective',
      status: 'queued',
      queuePosition: 2,
      refresh: true,
      force: true,
      allowDestructive: false,
      comment: 'no overtaking',
      triggeredBy: 'bob',
      source: 'cli',
      resources: [{name: 'b', action: 'update'}, {name: 'c', action: 'update'}],
      waitingFor: {reason: 'conflict', releases: [b]},
    })
    expect(activeJson[2].createdAt).toEqual(expect.any(String))

    // Cancelling the queued b: c no longer waits for anything and starts while a still runs.
    const cancel = await relctl(['release', 'cancel', String(b)], ALICE)
    expect(cancel.code, String(cancel)).toBe(0)
    expect(cancel.stdout.trim()).toBe(`Release ${b} is cancelled (cancelled by alice before it started)`)
    await waitForRelease(c, ['running', ...FINAL])
    expect((await show(a)).status).toBe('running')
    const doneC = await waitForRelease(c, FINAL)
    expect(doneC.status).toBe('succeeded')
    expect(await show(b)).toMatchObject({status: 'cancelled', startedAt: null, tasks: []})

    // Another release on gate1 runs after a ends, not before.
    const d = await trigger('gate1,d', STAGING)
    expect(await show(d)).toMatchObject({status: 'queued', waitingFor: {reason: 'conflict', releases: [a], resources: ['gate1']}})
    openGate(state, a)
    await gateStarted(state, d)
    openGate(state, d)
    const [ra, rd] = await Promise.all([waitForRelease(a, FINAL), waitForRelease(d, FINAL)])
    expect(ra.status).toBe('succeeded')
    expect(rd.status).toBe('succeeded')
    expect(Date.parse(rd.startedAt)).toBeGreaterThanOrEqual(Date.parse(ra.finishedAt))
    expect(Date.parse(doneC.startedAt)).toBeLessThan(Date.parse(ra.finishedAt)) // c ran beside a
  })

  it('max parallel 2: never more than two run at once, the third says "max parallel 2 reached"', async () => {
    const ids = [await trigger('gate1', PROD), await trigger('gate2', PROD)]
    await Promise.all(ids.map((id) => gateStarted(state, id)))
    const third = await trigger('gate3', PROD)
    const shown = await must(['release', 'show', String(third)])
    expect(shown.stdout).toMatch(/^ {2}status: {5}queued \(position 1\): max parallel 2 reached in prod \(2 running\)$/m)
    expect(await show(third)).toMatchObject({status: 'queued', waitingFor: {reason: 'max-parallel', running: 2, max: 2}})
    const active = await must(['release', 'list', ...PROD, '--active'])
    expect(active.stdout).toMatch(new RegExp(`^${third}\\s+1\\s+.*max parallel 2 reached in prod \\(2 running\\)\\s+-$`, 'm'))
    // Waiting only for a free slot is no state lock: --on-conflict fail queues it anyway.
    const fourth = await relctl(['release', 'trigger', '--resources', 'quick', ...PROD, '--on-conflict', 'fail'])
    expect(fourth.code, String(fourth)).toBe(0)
    const quick = Number(fourth.stdout.trim())
    expect(await show(quick)).toMatchObject({status: 'queued', queuePosition: 2, waitingFor: {reason: 'max-parallel'}})

    // The first ends: exactly one slot frees, the third starts, the fourth still waits.
    openGate(state, ids[0])
    await waitForRelease(ids[0], FINAL)
    await gateStarted(state, third)
    expect((await api('/v1/releases?project=timed-app&environment=prod&active=true')).filter((release: {status: string}) => release.status === 'running')).toHaveLength(2)
    expect(await show(quick)).toMatchObject({status: 'queued', waitingFor: {reason: 'max-parallel', running: 2, max: 2}})
    openGate(state, ids[1])
    openGate(state, third)
    for (const id of [...ids, third, quick]) expect((await waitForRelease(id, FINAL)).status).toBe('succeeded')

    // Four 1s deploys with max 2: two at a time, never more.
    const sleepers = await Promise.all(['a', 'b', 'c', 'd'].map((name) => trigger(name, PROD)))
    await Promise.all(sleepers.map((id) => waitForRelease(id, FINAL)))
    const all = await api('/v1/releases?project=timed-app&environment=prod&limit=1000')
    for (const release of all) expect(release.status).toBe('succeeded')
    expect(maxOverlap(all)).toBe(2)
  })

  it('releases of different environments never block each other', async () => {
    const inProd = await trigger('gate1', PROD)
    await gateStarted(state, inProd)
    try {
      // A full release of staging (every resource, gates included) runs while prod's release holds gate1 there.
      const inStaging = await relctl(['release', 'trigger', '--type', 'full', '--force', ...STAGING, '--on-conflict', 'fail'])
      expect(inStaging.code, String(inStaging)).toBe(0)
      const id = Number(inStaging.stdout.trim())
      openGate(state, id)
      expect((await waitForRelease(id, FINAL, {timeoutMs: 20_000})).status).toBe('succeeded')
      expect((await show(inProd)).status).toBe('running')
    } finally {
      openGate(state, inProd)
      await waitForRelease(inProd, FINAL)
    }
  })
})
