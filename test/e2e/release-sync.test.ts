// release sync: unknown apps, already in sync, one selective release of the out-of-sync apps, --wait, --json.
import {beforeAll, describe, expect, it} from 'vitest'

import {api, copyFixture, must, relctl, startServer} from './harness.js'

const FAST = ['--interval', '200ms', '--timeout', '60s']
const SCOPE = ['-p', 'sim-app', '-e', 'staging']

/** How many releases the environment has (through the API: cheaper than a CLI run). */
async function releaseCount(): Promise<number> {
  return (await api('/v1/releases?project=sim-app&environment=staging&limit=1000')).length
}

beforeAll(async () => {
  await startServer()
  await must(['project', 'apply', '-f', copyFixture('simulate-app').file])
  await must(['release', 'trigger', '--type', 'launch', ...SCOPE, '--wait', ...FAST])
})

describe('release sync', () => {
  it('unknown app: exit 9 listing the valid apps, nothing triggered', async () => {
    const before = await releaseCount()
    const result = await relctl(['release', 'sync', 'api,nope', ...SCOPE])
    expect(result.code, String(result)).toBe(9)
    expect(result.stderr).toContain('unknown app "nope" in sim-app/staging; valid apps: api, web, worker')
    const json = await relctl(['release', 'sync', 'nope,nada', ...SCOPE, '--json'])
    expect(json.code, String(json)).toBe(9)
    expect(json.json()).toMatchObject({exitCode: 9, error: {code: 'not_found', validNames: ['api', 'web', 'worker']}})
    expect(json.json().error.message).toContain('unknown apps "nope", "nada"')
    expect(await releaseCount()).toBe(before)
  })

  it('already Synced: exit 0 and no new release', async () => {
    const before = await releaseCount()
    const result = await relctl(['release', 'sync', 'api,web', ...SCOPE])
    expect(result.code, String(result)).toBe(0)
    expect(result.stderr).toContain('api, web are already in sync; nothing to release (use --force to release anyway)')
    expect(result.stdout).toMatch(/^api\s+application\s+1\.0\.0\s+1\.0\.0\s+Synced\s+Healthy\s+last: \d+ succeeded$/m)
    const json = await relctl(['release', 'sync', 'api', ...SCOPE, '--json'])
    expect(json.code, String(json)).toBe(0)
    expect(json.json()).toMatchObject({release: null, apps: [{name: 'api', sync: 'Synced', health: 'Healthy', stable: true}]})
    const waited = await relctl(['release', 'sync', 'worker', ...SCOPE, '--wait', ...FAST])
    expect(waited.code, String(waited)).toBe(0)
    expect(await releaseCount()).toBe(before)
  })

  it('out of sync: one selective release of only the out-of-sync apps; --json is {release, apps}', async () => {
    const before = await releaseCount()
    await must(['app', 'set', 'api', '--version', '1.1.0', ...SCOPE])
    const result = await relctl(['release', 'sync', 'api,web', ...SCOPE, '--json'])
    expect(result.code, String(result)).toBe(0)
    const body = result.json()
    expect(Object.keys(body).sort()).toEqual(['apps', 'release'])
    expect(body.release).toMatchObject({
      type: 'selective',
      project: 'sim-app',
      environment: 'staging',
      source: 'cli',
      resources: [{name: 'api', action: 'update', fromVersion: '1.0.0', toVersion: '1.1.0'}],
    })
    expect(['queued', 'running']).toContain(body.release.status)
    expect(body.apps.map((app: {name: string}) => app.name)).toEqual(['api', 'web'])
    expect(body.apps[0]).toMatchObject({name: 'api', desiredVersion: '1.1.0', sync: 'OutOfSync', activeReleases: [{id: body.release.id}]})
    expect(body.apps[1]).toMatchObject({name: 'web', sync: 'Synced'})
    expect(result.stderr).toContain(`Release ${body.release.id} (selective: api) is`)
    expect(await releaseCount()).toBe(before + 1)

    // While it is under way, syncing again triggers nothing new.
    const again = await relctl(['release', 'sync', 'api', ...SCOPE, '--json'])
    expect(again.code, String(again)).toBe(0)
    expect(again.json().release).toBeNull()
    expect(again.stderr).toMatch(/nothing new to release: release \d+ already takes api to the desired version|api is already in sync/)
    expect(await releaseCount()).toBe(before + 1)

    const waited = await relctl(['release', 'wait', 'api', ...SCOPE, ...FAST])
    expect(waited.code, String(waited)).toBe(0)
  })

  it('--wait: exit 0 once the apps are Synced and Healthy; the text is the app table', async () => {
    await must(['app', 'set', 'api', '--version', '1.2.0', ...SCOPE])
    await must(['app', 'set', 'web', '--version', '1.2.0', ...SCOPE])
    const result = await relctl(['release', 'sync', 'api,web,worker', ...SCOPE, '--wait', ...FAST])
    expect(result.code, String(result)).toBe(0)
    expect(result.stderr).toMatch(/Release \d+ \(selective: api, web\) is (queued|running)/)
    expect(result.stdout).toMatch(/^api\s+application\s+1\.2\.0\s+1\.2\.0\s+Synced\s+Healthy/m)
    expect(result.stdout).toMatch(/^web\s+application\s+1\.2\.0\s+1\.2\.0\s+Synced\s+Healthy/m)
    const apps = await api('/v1/projects/sim-app/environments/staging/apps')
    for (const app of apps) expect(app, app.name).toMatchObject({sync: 'Synced', health: 'Healthy', stable: true, deployedVersion: app.desiredVersion})
  })

  it('--wait --json: the finished release and the stable apps', async () => {
    await must(['app', 'set', 'worker', '--version', '1.3.0', ...SCOPE])
    const result = await relctl(['release', 'sync', 'worker,api', ...SCOPE, '--wait', ...FAST, '--json'])
    expect(result.code, String(result)).toBe(0)
    const body = result.json()
    expect(body.release).toMatchObject({status: 'succeeded', type: 'selective', resources: [{name: 'worker', action: 'update', toVersion: '1.3.0'}]})
    expect(body.release.tasks).toHaveLength(1)
    expect(body.apps.map((app: {name: string; stable: boolean}) => [app.name, app.stable])).toEqual([
      ['worker', true],
      ['api', true],
    ])
  })

  it('--force releases apps that are in sync', async () => {
    const result = await relctl(['release', 'sync', 'web', ...SCOPE, '--force', '--wait', ...FAST, '--json'])
    expect(result.code, String(result)).toBe(0)
    expect(result.json().release).toMatchObject({status: 'succeeded', force: true, resources: [{name: 'web', action: 'update', fromVersion: '1.2.0', toVersion: '1.2.0'}]})
  })

  it('--wait on a failing version: exit 3 with the failed task and its log', async () => {
    await must(['app', 'set', 'web', '--version', '2.0.0-bad', ...SCOPE])
    const result = await relctl(['release', 'sync', 'web', ...SCOPE, '--wait', ...FAST])
    expect(result.code, String(result)).toBe(3)
    expect(result.stderr).toMatch(/Release \d+ failed: task failed: web/)
    expect(result.stderr).toContain('Task web (update 2.0.0-bad) failed: simulated failure for version 2.0.0-bad')
    expect(result.stderr).toContain('| simulated failure: version 2.0.0-bad is listed in simulate.failVersions')
    const web = (await api('/v1/projects/sim-app/environments/staging/apps')).find((app: {name: string}) => app.name === 'web')
    expect(web).toMatchObject({health: 'Degraded', deployedVersion: '1.2.0', desiredVersion: '2.0.0-bad', stable: false})
    // Back to a good version.
    await must(['app', 'set', 'web', '--version', '1.2.1', ...SCOPE])
    await must(['release', 'sync', 'web', ...SCOPE, '--wait', ...FAST])
  })
})
