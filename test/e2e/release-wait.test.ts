// release wait: at once when stable, success after a sync, failure (exit 3 with the failed task's log),
// timeout (exit 4 with the state), unreachable (exit 8 after the timeout), --sync, --json errors, and a
// wait that is ended by the event stream, not by a look at the interval.
import {beforeAll, describe, expect, it} from 'vitest'

import {api, closedPort, copyFixture, must, relctl, relctlLive, type RunResult, startServer, triggerRelease} from './harness.js'

const FAST = ['--interval', '200ms', '--timeout', '60s']
const SCOPE = ['-p', 'sim-app', '-e', 'staging']

/** How many releases the environment has (through the API: cheaper than a CLI run). */
async function releaseCount(): Promise<number> {
  return (await api('/v1/releases?project=sim-app&environment=staging&limit=1000')).length
}

/** Under --json, the error object carries the same exit code as the process. */
function expectJsonError(result: RunResult, exitCode: number, code: string) {
  expect(result.code, String(result)).toBe(exitCode)
  const body = result.json()
  expect(body).toMatchObject({exitCode, error: {code, message: expect.any(String)}})
  return body
}

beforeAll(async () => {
  await startServer()
  const fixture = copyFixture('simulate-app')
  // api takes a little longer here, so that a wait started before its release sees it run.
  fixture.edit('duration: 300ms, failVersions: ["9.9.9-bad"]', 'duration: 800ms, failVersions: ["9.9.9-bad"]')
  await must(['project', 'apply', '-f', fixture.file])
  await must(['release', 'trigger', '--type', 'launch', ...SCOPE, '--wait', ...FAST])
})

describe('release wait', () => {
  it('returns at once when the apps are already stable', async () => {
    // The timeout is shorter than the interval: a wait that slept an interval before its first look
    // would time out (exit 4); exit 0 proves it looked at once.
    const result = await relctl(['release', 'wait', 'api,web,worker', ...SCOPE, '--interval', '30s', '--timeout', '10s'])
    expect(result.code, String(result)).toBe(0)
    expect(result.stdout).toMatch(/^api\s+application\s+1\.0\.0\s+1\.0\.0\s+Synced\s+Healthy/m)
    const json = await relctl(['release', 'wait', 'api', ...SCOPE, '--interval', '30s', '--json'])
    expect(json.code, String(json)).toBe(0)
    expect(json.json()).toMatchObject({outcome: 'stable', apps: [{name: 'api', sync: 'Synced', health: 'Healthy', stable: true}]})
  })

  it('succeeds once a sync has deployed the apps', async () => {
    await must(['app', 'set', 'api', '--version', '1.1.0', ...SCOPE])
    const sync = await must(['release', 'sync', 'api', ...SCOPE])
    const id = Number(sync.stdout.trim())
    const result = await relctl(['release', 'wait', 'api', ...SCOPE, ...FAST])
    expect(result.code, String(result)).toBe(0)
    expect(result.stdout).toMatch(/^api\s+application\s+1\.1\.0\s+1\.1\.0\s+Synced\s+Healthy\s+last: (\d+) succeeded$/m)
    expect(result.stdout).toContain(`last: ${id} succeeded`)
  })

  it('a failed release ends the wait with exit 3, the failed task and its last log lines', async () => {
    await must(['app', 'set', 'api', '--version', '9.9.9-bad', ...SCOPE])
    // The wait starts first (api is out of sync, nothing runs for it), then the release starts and fails.
    const waiting = relctlLive(['release', 'wait', 'api', ...SCOPE, ...FAST])
    await waiting.printed('api: OutOfSync/Healthy', 'the wait to look at api')
    const id = Number((await must(['release', 'sync', 'api', ...SCOPE])).stdout.trim())
    const result = await waiting.done
    expect(result.code, String(result)).toBe(3)
    expect(result.stderr).toContain(`Release ${id} failed: task failed: api`)
    expect(result.stderr).toContain('Task api (update 9.9.9-bad) failed: simulated failure for version 9.9.9-bad')
    expect(result.stderr).toMatch(/last \d+ log line\(s\):/)
    expect(result.stderr).toContain('| simulated failure: version 9.9.9-bad is listed in simulate.failVersions')
    expect(result.stderr).toContain(`Full logs: relctl release logs ${id}`)
    // Progress lines on stderr show what the wait saw.
    expect(result.stderr).toContain('api: OutOfSync/Healthy (deployed 1.1.0, desired 9.9.9-bad)')
    expect(result.stdout).toBe('')
  })

  it('--json: a Degraded app whose last release failed is exit 3 with that release, same code in the error object', async () => {
    const result = await relctl(['release', 'wait', 'api', ...SCOPE, ...FAST, '--json'])
    const body = expectJsonError(result, 3, 'release_failed')
    expect(body.error.message).toMatch(/^Release \d+ failed: task failed: api/)
    expect(body.error.message).toContain('Task api (update')
    expect(body.apps).toMatchObject([{name: 'api', health: 'Degraded'}])
    // Back to a good version.
    await must(['app', 'set', 'api', '--version', '1.2.0', ...SCOPE])
    await must(['release', 'sync', 'api', ...SCOPE, '--wait', ...FAST])
  })

  it('--timeout: an app that never becomes stable is exit 4 with the state table', async () => {
    // Nothing was ever released in prod: api stays OutOfSync/Missing.
    const [text, json] = await Promise.all([
      relctl(['release', 'wait', 'api,web', '-p', 'sim-app', '-e', 'prod', '--timeout', '2s', '--interval', '200ms']),
      relctl(['release', 'wait', 'api', '-p', 'sim-app', '-e', 'prod', '--timeout', '2s', '--interval', '200ms', '--json']),
    ])
    expect(text.code, String(text)).toBe(4)
    expect(text.ms).toBeGreaterThanOrEqual(2000)
    expect(text.stderr).toContain('timed out after 2.0s (nothing is queued or running for api, web); current state:')
    expect(text.stderr).toMatch(/^APP\s+KIND\s+DESIRED\s+DEPLOYED\s+SYNC\s+HEALTH\s+RELEASE$/m)
    expect(text.stderr).toMatch(/^api\s+application\s+1\.0\.0\s+-\s+OutOfSync\s+Missing/m)
    expect(text.stderr).toMatch(/^web\s+application\s+1\.0\.0\s+-\s+OutOfSync\s+Missing/m)
    expect(text.stderr).toContain('Hint: To release them now: relctl release wait api,web -p sim-app -e prod --sync, or relctl release sync api,web -p sim-app -e prod')
    const body = expectJsonError(json, 4, 'timeout')
    expect(body.error.message).toContain('timed out after 2.0s')
    expect(body.apps).toMatchObject([{name: 'api', sync: 'OutOfSync', health: 'Missing'}])
  })

  it('unreachable control plane: exit 8 after about the timeout', async () => {
    const port = await closedPort()
    const url = `http://127.0.0.1:${port}`
    const [text, json] = await Promise.all([
      relctl(['release', 'wait', 'api', ...SCOPE, '--url', url, '--timeout', '3s', '--interval', '500ms']),
      relctl(['release', 'wait', 'api', ...SCOPE, '--url', url, '--timeout', '3s', '--interval', '500ms', '--json']),
    ])
    expect(text.code, String(text)).toBe(8)
    expect(text.ms).toBeGreaterThanOrEqual(2800)
    expect(text.stderr).toContain(`cannot reach the control plane at ${url}`)
    expect(text.stderr).toContain('gave up after 3.0s')
    expect(text.stderr).toContain('Hint:')
    const body = expectJsonError(json, 8, 'unreachable')
    expect(body.error.message).toContain(`cannot reach the control plane at ${url}`)
    expect(json.ms).toBeGreaterThanOrEqual(2800)
  })

  it('--sync triggers one sync of the out-of-sync apps and exits 0 once they are stable', async () => {
    await must(['app', 'set', 'api', '--version', '1.3.0', ...SCOPE])
    await must(['app', 'set', 'web', '--version', '1.3.0', ...SCOPE])
    const before = await releaseCount()
    const result = await relctl(['release', 'wait', 'api,web,worker', ...SCOPE, '--sync', ...FAST])
    expect(result.code, String(result)).toBe(0)
    expect(result.stderr).toMatch(/triggered release \d+ to sync api, web$/m)
    expect(result.stdout).toMatch(/^api\s+application\s+1\.3\.0\s+1\.3\.0\s+Synced\s+Healthy/m)
    expect(result.stdout).toMatch(/^web\s+application\s+1\.3\.0\s+1\.3\.0\s+Synced\s+Healthy/m)
    expect(await releaseCount()).toBe(before + 1)
    const [release] = await api('/v1/releases?project=sim-app&environment=staging&limit=1')
    expect(release).toMatchObject({type: 'selective', status: 'succeeded'})
    expect(release.resources.map((resource: {name: string}) => resource.name)).toEqual(['api', 'web'])

    // Stable already: --sync triggers nothing.
    const again = await relctl(['release', 'wait', 'api,web', ...SCOPE, '--sync', ...FAST])
    expect(again.code, String(again)).toBe(0)
    expect(await releaseCount()).toBe(before + 1)
  })

  it('usage errors: exit 2, also under --json', async () => {
    const [missing, duration] = await Promise.all([
      relctl(['release', 'wait', ...SCOPE, '--json']),
      relctl(['release', 'wait', 'api', ...SCOPE, '--timeout', '5 minutes']),
    ])
    expectJsonError(missing, 2, 'usage')
    expect(duration.code, String(duration)).toBe(2)
    expect(duration.stderr).toContain('"5 minutes" is not a duration')
  })

  it('follows the event stream: a release that ends after the first look ends the wait, long before a look at the interval', async () => {
    await must(['app', 'set', 'worker', '--version', '1.1.0', ...SCOPE])
    // A wait that polled would look once now and next in 10 minutes (or at its 9-minute timeout, with a
    // last look that would see worker stable and exit 0): long after the harness kills the command (45 s,
    // scaled). Only an event can make it look again and end before that.
    const waiting = relctlLive(['release', 'wait', 'worker', ...SCOPE, '--interval', '10m', '--timeout', '9m'])
    // Its one look is done: worker out of sync, nothing queued or running for it.
    await waiting.printed('worker: OutOfSync/Healthy (deployed 1.0.0, desired 1.1.0)', 'the wait to look at worker')
    const id = await triggerRelease('sim-app', 'staging', {type: 'selective', resources: [{name: 'worker'}]})
    const result = await waiting.done
    expect(result.timedOut, String(result)).toBe(false)
    expect(result.code, String(result)).toBe(0)
    expect(result.stderr).not.toContain('looking every')
    expect(result.stdout).toMatch(new RegExp(`^worker\\s+job\\s+1\\.1\\.0\\s+1\\.1\\.0\\s+Synced\\s+Healthy\\s+last: ${id} succeeded$`, 'm'))
  })

  it('unknown app: exit 9 listing the valid ones', async () => {
    const result = await relctl(['release', 'wait', 'api,nope', ...SCOPE, '--timeout', '5s'])
    expect(result.code, String(result)).toBe(9)
    expect(result.stderr).toContain('unknown app "nope" in sim-app/staging; valid apps: api, web, worker')
  })
})
