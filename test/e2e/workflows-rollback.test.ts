// Release workflows (issue 5), part three, with the real CLI and test/fixtures/rollout: release rollback
// (and what it refuses), app history, refresh and drift (app list --refresh, sync/trigger --refresh).
// Rollout orders and target hooks: workflows.test.ts; steps, custom releases, dry runs: workflows-plan.test.ts.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {copyFixture, must, relctl, startServer, tempDir} from './harness.js'
import {appsOf, releaseIdOf, releaseIds, setVersions, showJson} from './workflows-helpers.js'

const FAST = ['--interval', '200ms', '--timeout', '60s']
const scope = (environment: string) => ['-p', 'rollout', '-e', environment]

let state: string
/** the launch (full release, create 1.0.0) of each environment of project rollout */
const launch = new Map<string, number>()

beforeAll(async () => {
  state = tempDir('relctl-e2e-state-')
  await startServer({env: {RELCTL_TEST_STATE: state, RELCTL_TEST_SLEEP: '0.2'}})
  const fixture = copyFixture('rollout')
  await must(['project', 'apply', '-f', fixture.file])
  await Promise.all(
    ['ops', 'parpar'].map(async (environment) => {
      launch.set(environment, releaseIdOf(await must(['release', 'trigger', '--type', 'full', ...scope(environment), '--wait', ...FAST])))
    }),
  )
})

describe('rollback and app history', () => {
  let update: number

  beforeAll(async () => {
    await setVersions('rollout', 'ops', {s1: '2.0.0', s2: '2.0.0'})
    update = releaseIdOf(await must(['release', 'trigger', '--type', 'full', ...scope('ops'), '--wait', ...FAST]))
  })

  it('release rollback ID puts back the versions from before the release; the apps end Synced', async () => {
    const before = await releaseIds()
    const dryRun = await must(['release', 'rollback', String(update), '--dry-run'])
    expect(dryRun.stdout).toContain('Dry run: rollback release of rollout/ops; nothing was queued.\n')
    expect(dryRun.stdout).toContain('  changes:  s1 update 2.0.0 -> 1.0.0; s2 update 2.0.0 -> 1.0.0\n')
    expect(dryRun.stdout).toContain('  order:    s1@i1, s2@i1, s1@i2, s2@i2\n')
    expect(dryRun.stdout).toContain('  now:      would start at once\n')
    expect(await releaseIds()).toEqual(before)

    const result = await must(['release', 'rollback', String(update), '--wait', ...FAST])
    expect(result.stdout).toContain(`(rollback of ${update}) succeeded`)
    const id = releaseIdOf(result)
    const release = await showJson(id)
    expect(release).toMatchObject({type: 'rollback', status: 'succeeded', options: {rollbackOf: update}})
    expect(release.resources).toEqual([
      {name: 's1', action: 'update', fromVersion: '2.0.0', toVersion: '1.0.0'},
      {name: 's2', action: 'update', fromVersion: '2.0.0', toVersion: '1.0.0'},
    ])
    const shown = await must(['release', 'show', String(id)])
    expect(shown.stdout).toContain(`  rolls back: release ${update}\n`)
    expect(shown.stdout).toContain(`  comment:    rollback of release ${update}\n`)

    const app = await appsOf(scope('ops'))
    for (const name of ['s1', 's2']) expect(app(name), name).toMatchObject({desiredVersion: '1.0.0', deployedVersion: '1.0.0', sync: 'Synced', health: 'Healthy'})
    const table = await must(['app', 'list', ...scope('ops')])
    expect(table.stdout).toMatch(/^s1 +service +1\.0\.0 +1\.0\.0 +Synced +Healthy +last: \d+ succeeded$/m)
    // The live versions on the targets are back too.
    for (const target of ['i1', 'i2']) expect(readFileSync(join(state, `live-ops-s1-${target}`), 'utf8').trim()).toBe('1.0.0')

    // app history: newest first, one row per target, with the releases.
    const history = await must(['app', 'history', 's1', ...scope('ops')])
    const rows = history.stdout.trimEnd().split('\n').slice(1)
    expect(rows).toHaveLength(6)
    const launched = launch.get('ops') as number
    expect(rows.map((row) => row.split(/\s{2,}/).slice(1, 4).join(' | ')).sort()).toEqual(
      [
        `${id} (rollback) | update 2.0.0 -> 1.0.0 | i1`,
        `${id} (rollback) | update 2.0.0 -> 1.0.0 | i2`,
        `${update} (full) | update 1.0.0 -> 2.0.0 | i1`,
        `${update} (full) | update 1.0.0 -> 2.0.0 | i2`,
        `${launched} (full) | create (none) -> 1.0.0 | i1`,
        `${launched} (full) | create (none) -> 1.0.0 | i2`,
      ].sort(),
    )
    expect(rows[0]).toContain(`${id} (rollback)`)
    expect(rows.at(-1)).toContain(`${launched} (full)`)
    const json = (await must(['app', 'history', 's1', ...scope('ops'), '--json', '--limit', '2'])).json()
    expect(json).toHaveLength(2)
    expect(json[0]).toMatchObject({releaseId: id, type: 'rollback', fromVersion: '2.0.0', toVersion: '1.0.0'})
  })

  it('a release that created the apps: rolling it back deletes them, so it needs --allow-destructive (exit 2)', async () => {
    const result = await relctl(['release', 'rollback', String(launch.get('ops'))])
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain(`release ${launch.get('ops')} created s1; rolling it back deletes it, which is destructive`)
  })

  it('rolling back a release that changed nothing: exit 2 with a clear message', async () => {
    // Both targets fail (a parallel rollout tries each): nothing changed.
    await setVersions('rollout', 'ops', {s2: '4.0.0-broken'})
    const failed = await relctl(['release', 'sync', 's2', ...scope('ops'), '--wait', ...FAST])
    expect(failed.code, String(failed)).toBe(3)
    const id = releaseIdOf(failed)
    expect((await showJson(id)).tasks.map((t) => t.status)).toEqual(['failed', 'failed'])
    const before = await releaseIds()
    const result = await relctl(['release', 'rollback', String(id)])
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain(`release ${id} changed nothing; there is nothing to roll back`)
    expect(await releaseIds()).toEqual(before)
    await setVersions('rollout', 'ops', {s2: '1.0.0'})
  })

  it('rolling back a release that only redeployed the versions already there (--force): it changed nothing, exit 2', async () => {
    // Release 41 redeployed s1 1.0.0 over 1.0.0; "putting back the version it had before 41" changes nothing.
    const forced = releaseIdOf(await must(['release', 'trigger', '--type', 'selective', '--resources', 's1', '--force', ...scope('ops'), '--wait', ...FAST]))
    expect((await showJson(forced)).resources).toEqual([{name: 's1', action: 'update', fromVersion: '1.0.0', toVersion: '1.0.0'}])
    const result = await relctl(['release', 'rollback', String(forced), '--dry-run'])
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain(`release ${forced} changed nothing; there is nothing to roll back`)
  })
})

describe('refresh and drift', () => {
  const live = (environment: string, resource: string, target: string) => join(state, `live-${environment}-${resource}-${target}`)

  it('app list --refresh shows drift without deploying; release sync --refresh --wait corrects it', async () => {
    for (const target of ['i1', 'i2']) writeFileSync(live('parpar', 's1', target), '0.9.0\n')
    // Without --refresh nothing is read.
    expect((await appsOf(scope('parpar')))('s1')).toMatchObject({deployedVersion: '1.0.0', sync: 'Synced', drift: null})
    const before = await releaseIds({cli: true})
    const table = await must(['app', 'list', ...scope('parpar'), '--refresh'])
    expect(table.stdout).toMatch(/^s1 +service +1\.0\.0 +0\.9\.0 +OutOfSync \(drift: recorded 1\.0\.0, live 0\.9\.0\) +Healthy /m)
    expect(table.stdout).toMatch(/^s2 +service +1\.0\.0 +1\.0\.0 +Synced +Healthy /m)
    // Nothing was deployed or queued.
    expect(await releaseIds({cli: true})).toEqual(before)
    expect(readFileSync(live('parpar', 's1', 'i1'), 'utf8').trim()).toBe('0.9.0')

    const result = await must(['release', 'sync', 's1', ...scope('parpar'), '--refresh', '--wait', ...FAST])
    expect(result.stdout).toMatch(/^s1 +service +1\.0\.0 +1\.0\.0 +Synced +Healthy /m)
    const release = await showJson(releaseIdOf(result))
    expect(release.resources).toEqual([{name: 's1', action: 'update', fromVersion: '0.9.0', toVersion: '1.0.0'}])
    expect(release.refresh).toBe(true)
    for (const target of ['i1', 'i2']) expect(readFileSync(live('parpar', 's1', target), 'utf8').trim()).toBe('1.0.0')
    const after = await must(['app', 'list', ...scope('parpar'), '--refresh'])
    expect(after.stdout).toMatch(/^s1 +service +1\.0\.0 +1\.0\.0 +Synced +Healthy /m)
    expect(after.stdout).not.toContain('drift')
  })

  it('release trigger --refresh: --dry-run reports the drift, the release corrects it', async () => {
    for (const target of ['i1', 'i2']) writeFileSync(live('parpar', 's2', target), '0.8.0\n')
    const dryRun = await must(['release', 'trigger', '--refresh', '--dry-run', ...scope('parpar')])
    expect(dryRun.stdout).toContain('  refresh found drift: s2 recorded 1.0.0, live 0.8.0\n')
    expect(dryRun.stdout).toContain('  changes:  s2 update 0.8.0 -> 1.0.0\n')
    const release = await showJson(releaseIdOf(await must(['release', 'trigger', '--refresh', ...scope('parpar'), '--wait', ...FAST])))
    expect(release.resources).toEqual([{name: 's2', action: 'update', fromVersion: '0.8.0', toVersion: '1.0.0'}])
    expect(release.refresh).toBe(true)
    expect((await appsOf(scope('parpar'), true))('s2')).toMatchObject({deployedVersion: '1.0.0', sync: 'Synced', drift: null})
  })

  // src bug: with targets, refresh compares each target's live version with the version recorded by
  // the previous refresh, so drift on one target of two flips back and forth between refreshes.
  it('drift on one target of two: app list --refresh shows it, and release sync --refresh --wait corrects it', async () => {
    writeFileSync(live('parpar', 's1', 'i2'), '0.7.0\n') // i1 still runs 1.0.0
    const list = await must(['app', 'list', ...scope('parpar'), '--refresh'])
    expect(list.stdout).toMatch(/^s1 +service +1\.0\.0 +0\.7\.0 +OutOfSync \(drift: recorded 1\.0\.0, live 0\.7\.0\)/m)
    const result = await must(['release', 'sync', 's1', ...scope('parpar'), '--refresh', '--wait', ...FAST])
    expect(result.stderr, 'sync --refresh must release s1: i2 runs 0.7.0').toMatch(/Release \d+ \(selective: s1\)/)
    expect(readFileSync(live('parpar', 's1', 'i2'), 'utf8').trim()).toBe('1.0.0')
  })

  it('drift on one target of two: a second app list --refresh, with nothing changed on the targets, still shows it', async () => {
    writeFileSync(live('parpar', 's2', 'i2'), '0.6.0\n') // i1 still runs 1.0.0
    const first = await must(['app', 'list', ...scope('parpar'), '--refresh'])
    expect(first.stdout).toMatch(/^s2 +service +1\.0\.0 +0\.6\.0 +OutOfSync \(drift: recorded 1\.0\.0, live 0\.6\.0\)/m)
    const second = await must(['app', 'list', ...scope('parpar'), '--refresh'])
    expect(second.stdout, 'the second refresh').toMatch(/^s2 +service +1\.0\.0 +\S+ +OutOfSync \(drift: recorded \S+, live 0\.6\.0\)/m)
  })
})

