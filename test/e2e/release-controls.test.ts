// Deadlines, expiry, waits that cancel, supersede queues, retries, release retry and blocked versions
// (issue 14), through the real CLI against a real server and real deploy scripts.
import {beforeAll, describe, expect, it} from 'vitest'

import {copyFixture, createToken, gateStarted, must, openGate, relctl, startServer, tempDir, triggerRelease, waitFor, waitForRelease, api} from './harness.js'

const PROJECT = ['-p', 'freeze-app']
const PROD = ['-p', 'freeze-app', '-e', 'prod']
const STAGING = ['-p', 'freeze-app', '-e', 'staging']
const QA = ['-p', 'freeze-app', '-e', 'qa']
const FINAL = ['succeeded', 'failed', 'cancelled', 'rejected']
const OLGA = {token: ''}
const DAN = {token: ''}
let state: string

beforeAll(async () => {
  state = tempDir('relctl-e2e-state-')
  await startServer({env: {RELCTL_TEST_STATE: state}})
  await must(['project', 'apply', '-f', copyFixture('freeze').file])
  OLGA.token = await createToken('olga', ['operator:freeze-app'])
  DAN.token = await createToken('dan', ['deployer:freeze-app'])
})

/** A gate release that holds its environment's queue until the test opens it. */
async function holdQueue(environment: string): Promise<number> {
  const id = await triggerRelease('freeze-app', environment, {type: 'selective', resources: [{name: 'gate'}]})
  await gateStarted(state, id)
  return id
}

describe('deadlines and expiry', () => {
  it('--deadline: a release that runs past it is stopped and ends failed with reason deadline (exit 3 with --wait)', async () => {
    const result = await relctl(['release', 'trigger', '--resources', 'gate', ...PROD, '--deadline', '2s', '--wait', '--timeout', '2m', '--json'])
    expect(result.code, String(result)).toBe(3)
    const {release} = result.json()
    expect(release).toMatchObject({status: 'failed', endReason: 'deadline', options: {deadlineMs: 2000}})
    expect(release.error).toMatch(/^deadline: it ran past its deadline of 2\.0s \(\S+\); stopped: gate$/)
    expect(Date.parse(release.deadlineAt) - Date.parse(release.startedAt)).toBe(2000)
    const shown = await must(['release', 'show', String(release.id)])
    expect(shown.stdout).toContain('(reason: deadline)')
    expect(shown.stdout).toMatch(/gate +create \(none\) -> 1\.0\.0 +\[level 0\] +cancelled .*\(stopped: the release ran past its deadline\)/)
    const bad = await relctl(['release', 'trigger', '--resources', 'api', ...PROD, '--deadline', 'soon'])
    expect(bad.code, String(bad)).toBe(2)
    expect(bad.stderr).toContain('Error: --deadline: "soon" is not a duration')
  })

  it('--expire-after: a queued release not started in time ends cancelled with reason expired', async () => {
    const holder = await holdQueue('staging')
    const queued = await relctl(['release', 'trigger', '--resources', 'api', ...STAGING, '--expire-after', '2s', '--json'])
    expect(queued.code, String(queued)).toBe(0)
    expect(queued.json()).toMatchObject({status: 'queued', options: {expireAfterMs: 2000}, expiresAt: expect.any(String)})
    const expired = await waitForRelease(queued.json().id, FINAL, {timeoutMs: 30_000})
    expect(expired).toMatchObject({status: 'cancelled', endReason: 'expired', error: 'expired: it did not start within 2.0s of its trigger (--expire-after)'})
    expect(Date.parse(expired.finishedAt)).toBeGreaterThanOrEqual(Date.parse(queued.json().expiresAt))
    openGate(state, holder)
    expect((await waitForRelease(holder, FINAL)).status).toBe('succeeded')
  })

  it('release wait --cancel-on-timeout cancels the releases it waited on, and exits 4 all the same', async () => {
    const holder = await holdQueue('qa')
    const waited = await relctl(['release', 'wait', 'gate', ...QA, '--timeout', '2s', '--cancel-on-timeout'])
    expect(waited.code, String(waited)).toBe(4)
    expect(waited.stderr).toContain(`Error: timed out after 2.0s; cancelled release ${holder} (--cancel-on-timeout); current state:`)
    expect((await api(`/v1/releases/${holder}`)).status).toBe('cancelled')
    // Without the flag the release goes on.
    const next = await holdQueue('qa')
    const plain = await relctl(['release', 'wait', 'gate', ...QA, '--timeout', '2s'])
    expect(plain.code, String(plain)).toBe(4)
    expect((await api(`/v1/releases/${next}`)).status).toBe('running')
    openGate(state, next)
    expect((await waitForRelease(next, FINAL)).status).toBe('succeeded')
  })
})

describe('retries', () => {
  it('a flaky deploy fails twice and succeeds on attempt 3: release show says attempt 3/3, the logs number the attempts', async () => {
    const result = await relctl(['release', 'trigger', '--resources', 'flaky', ...PROD, '--wait', '--timeout', '2m', '--json'])
    expect(result.code, String(result)).toBe(0)
    const release = result.json()
    expect(release.tasks).toEqual([expect.objectContaining({key: 'flaky', status: 'succeeded', attempt: 3, attempts: 3})])
    const shown = await must(['release', 'show', String(release.id)])
    expect(shown.stdout).toMatch(/flaky +create \(none\) -> 1\.0\.0 +\[level 0\] +succeeded attempt 3\/3 /)
    const logs = await must(['release', 'logs', String(release.id)])
    expect(logs.stdout).toMatch(/flaky \| flaky attempt 1 of release \d+/)
    expect(logs.stdout).toMatch(/flaky #2 \| flaky attempt 2 of release \d+/)
    expect(logs.stdout).toMatch(/flaky #2 \| \[system\] attempt 2\/3 failed; attempt 3 in 400ms/)
    expect(logs.stdout).toMatch(/flaky #3 \| flaky deployed 1\.0\.0/)
    const json = (await must(['release', 'logs', String(release.id), '--json'])).json()
    expect(json.filter((line: {line: string}) => line.line.startsWith('flaky attempt')).map((line: {attempt: number}) => line.attempt)).toEqual([1, 2, 3])
  })
})

describe('release retry', () => {
  it('is refused while the release runs and when it succeeded; otherwise runs again what did not succeed, at the same versions', async () => {
    const gate = await holdQueue('prod')
    const early = await relctl(['release', 'retry', String(gate)])
    expect(early.code, String(early)).toBe(2)
    expect(early.stderr).toContain(`Error: release ${gate} is still running; a retry runs again what a release that has ended did not get done`)
    expect((await relctl(['release', 'cancel', String(gate)])).code).toBe(0)
    const retried = await relctl(['release', 'retry', String(gate), '--json'])
    expect(retried.code, String(retried)).toBe(0)
    const retry = retried.json()
    expect(retry).toMatchObject({type: 'selective', comment: `retry of release ${gate}`, options: {retryOf: gate}, resources: [{name: 'gate', toVersion: '1.0.0'}]})
    await gateStarted(state, retry.id)
    openGate(state, retry.id)
    expect((await waitForRelease(retry.id, FINAL)).status).toBe('succeeded')
    const done = await relctl(['release', 'retry', String(retry.id)])
    expect(done.code, String(done)).toBe(2)
    expect(done.stderr).toContain(`Error: release ${retry.id} succeeded; there is nothing to retry`)
    expect((await relctl(['release', 'retry', '99999'])).code).toBe(9)
  })

  it('--wait follows the new release: a failed release of api retried at its version fails again (exit 3)', async () => {
    await must(['app', 'set', 'api', '--version', '6.6.6', ...STAGING])
    const failed = await relctl(['release', 'sync', 'api', ...STAGING, '--wait', '--timeout', '1m'])
    expect(failed.code, String(failed)).toBe(3)
    const [last] = (await must(['release', 'list', ...STAGING, '--json'])).json()
    await must(['app', 'set', 'api', '--version', '1.0.0', ...STAGING])
    const again = await relctl(['release', 'retry', String(last.id), '--wait', '--timeout', '1m', '--json'])
    expect(again.code, String(again)).toBe(3)
    expect(again.json().release).toMatchObject({status: 'failed', resources: [{name: 'api', toVersion: '6.6.6'}], options: {retryOf: last.id}})
  })
})

describe('supersede queues', () => {
  it('in supersede mode a newer release cancels the queued ones it covers ("superseded by release N"); the running one is not touched', async () => {
    const set = await relctl(['settings', 'set-queue', '--mode', 'supersede', ...STAGING], OLGA)
    expect(set.code, String(set)).toBe(0)
    expect(set.stdout).toContain('  queue mode:         supersede  (environment override)')
    expect((await relctl(['settings', 'set-queue', '--mode', 'supersede', ...STAGING], DAN)).code).toBe(7)
    expect((await relctl(['settings', 'set-queue', '--mode', 'lifo', ...STAGING])).code).toBe(2)
    const holder = await holdQueue('staging')
    const older = (await must(['release', 'trigger', '--resources', 'api', ...STAGING, '--json'])).json()
    const newer = (await must(['release', 'trigger', '--resources', 'api,web', ...STAGING, '--json'])).json()
    const superseded = await must(['release', 'show', String(older.id), '--json'])
    expect(superseded.json()).toMatchObject({status: 'cancelled', endReason: 'superseded', error: `superseded by release ${newer.id}`})
    expect((await must(['release', 'show', String(older.id)])).stdout).toContain(`  error:      superseded by release ${newer.id} (reason: superseded)`)
    expect((await api(`/v1/releases/${holder}`)).status).toBe('running')
    openGate(state, holder)
    expect((await waitForRelease(newer.id, FINAL)).status).toBe('succeeded')
    expect((await waitForRelease(holder, FINAL)).status).toBe('succeeded')
    await must(['settings', 'set-queue', '--mode', 'fifo', ...STAGING])
  })
})

describe('blocked versions', () => {
  it('app block: app list shows it, release sync and app set refuse it with exit 2 naming who and why; app unblock lets it through', async () => {
    await must(['app', 'set', 'web', '--version', '3.3.0', ...QA])
    const releasesBefore = (await must(['release', 'list', ...QA, '--json'])).json().length
    const deployer = await relctl(['app', 'block', 'web', '3.3.0', ...PROJECT, '--reason', 'memory leak'], DAN)
    expect(deployer.code, String(deployer)).toBe(7)
    const blocked = await relctl(['app', 'block', 'web', '3.3.0', ...PROJECT, '--reason', 'memory leak'], OLGA)
    expect(blocked.code, String(blocked)).toBe(0)
    expect(blocked.stdout.trim()).toBe('Blocked web 3.3.0 in project freeze-app: memory leak. Unblock with: relctl app unblock web 3.3.0 -p freeze-app')
    const list = await must(['app', 'list', ...QA])
    expect(list.stdout).toMatch(/^web +application +3\.3\.0 \(blocked\) .* 3\.3\.0$/m)
    const [web] = (await must(['app', 'list', ...QA, '--json'])).json().filter((app: {name: string}) => app.name === 'web')
    expect(web.blockedVersions).toEqual([expect.objectContaining({project: 'freeze-app', app: 'web', version: '3.3.0', reason: 'memory leak', by: 'olga'})])

    const sync = await relctl(['release', 'sync', 'web', ...QA])
    expect(sync.code, String(sync)).toBe(2)
    expect(sync.stderr).toMatch(/Error: this selective release would deploy a blocked version: web 3\.3\.0 is blocked in project freeze-app by olga since \S+: memory leak/)
    expect(sync.stderr).toContain('Hint: choose another version (relctl app set web --version V -p freeze-app -e ENV), or lift the block: relctl app unblock web 3.3.0 -p freeze-app')
    const json = await relctl(['release', 'sync', 'web', ...QA, '--json'])
    expect(json.json()).toMatchObject({exitCode: 2, error: {code: 'blocked_version'}})
    const set = await relctl(['app', 'set', 'web', '--version', '3.3.0', ...PROD])
    expect(set.code, String(set)).toBe(2)
    expect(set.stderr).toContain('Error: web cannot be set to 3.3.0: web 3.3.0 is blocked in project freeze-app by olga')
    expect((await must(['release', 'list', ...QA, '--json'])).json()).toHaveLength(releasesBefore)

    const unblocked = await relctl(['app', 'unblock', 'web', '3.3.0', ...PROJECT], OLGA)
    expect(unblocked.code, String(unblocked)).toBe(0)
    expect((await relctl(['app', 'unblock', 'web', '3.3.0', ...PROJECT], OLGA)).stdout).toContain('was not blocked')
    const synced = await relctl(['release', 'sync', 'web', ...QA, '--wait', '--timeout', '1m'])
    expect(synced.code, String(synced)).toBe(0)
    await waitFor(async () => (await api('/v1/projects/freeze-app/environments/qa/apps')).find((app: {name: string}) => app.name === 'web').deployedVersion === '3.3.0', {what: 'web 3.3.0 deployed'})
  })
})
