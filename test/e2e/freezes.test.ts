// Change freezes (issue 14), through the real CLI against a real server: a window that opens and closes
// while the test runs (refusals with exit 6 that name it, a release queued with --on-freeze queue that
// starts when it ends, env show, release show, dry runs and freeze list naming it), overrides by operators
// only and recorded, recurring freezes in a time zone, freezes of the whole control plane, freeze delete,
// pause --all / resume --all, a running release that a freeze lets finish, a scheduled run it skips, and
// a rollback to a blocked version refused.
import {beforeAll, describe, expect, it} from 'vitest'

import {scaled} from '../helpers/timeouts.js'
import {api, copyFixture, createToken, gateStarted, must, openGate, relctl, startServer, tempDir, waitFor, waitForRelease} from './harness.js'

const PROJECT = ['-p', 'freeze-app']
const PROD = ['-p', 'freeze-app', '-e', 'prod']
const QA = ['-p', 'freeze-app', '-e', 'qa']
const STAGING = ['-p', 'freeze-app', '-e', 'staging']
const OLGA = {token: ''}
const DAN = {token: ''}
const SHOP_OPERATOR = {token: ''}
const STATE = tempDir('relctl-e2e-state-')
const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString()

beforeAll(async () => {
  await startServer({env: {RELCTL_TEST_STATE: STATE}})
  await must(['project', 'apply', '-f', copyFixture('freeze').file])
  await must(['project', 'apply', '-f', copyFixture('simulate-app').file])
  OLGA.token = await createToken('olga', ['operator:freeze-app'])
  DAN.token = await createToken('dan', ['deployer:freeze-app'])
  SHOP_OPERATOR.token = await createToken('opal', ['operator:freeze-app'])
})

const envJson = async (scope: string[]) => (await must(['env', 'show', ...scope, '--json'])).json()

describe('a freeze window that opens and closes during the test', () => {
  it('refuses triggers with exit 6 naming the window, queues with --on-freeze queue, and starts the queued release when it ends', async () => {
    const opens = inSeconds(scaled(3000) / 1000)
    const closes = inSeconds((scaled(3000) + scaled(12_000)) / 1000)
    const added = await relctl(['freeze', 'add', ...PROD, '--from', opens, '--to', closes, '--reason', 'release train', '--json'], OLGA)
    expect(added.code, String(added)).toBe(0)
    const freeze = added.json()
    expect(freeze).toMatchObject({level: 'environment', project: 'freeze-app', environment: 'prod', from: opens, to: closes, reason: 'release train', createdBy: 'olga', current: null, next: {startsAt: opens, endsAt: closes}})
    const listed = (await must(['freeze', 'list', ...PROD, '--json'])).json()
    expect(listed.map((entry: {id: number}) => entry.id)).toEqual([freeze.id])
    const before = await envJson(PROD)
    expect(before).toMatchObject({frozen: false, freezes: [{freeze: freeze.id, inForce: false, startsAt: opens, endsAt: closes}]})

    // The window opens.
    await waitFor(async () => (await api('/v1/projects/freeze-app/environments/prod')).frozen, {what: 'the window to open'})
    const refusal = `releases are frozen: freeze until ${closes}: release train (freeze ${freeze.id} on freeze-app/prod, by olga); nothing was queued`
    const refused = await Promise.all([relctl(['release', 'trigger', '--resources', 'api', ...PROD]), relctl(['release', 'sync', 'api', ...PROD, '--force', '--json'])])
    expect(refused[0].code, String(refused[0])).toBe(6)
    expect(refused[0].stderr).toContain(`Error: ${refusal}`)
    expect(refused[0].stderr).toContain('Hint: to start it when the freeze ends, trigger with --on-freeze queue; an operator may start it now with --override-freeze --reason "..."')
    expect(refused[1].code, String(refused[1])).toBe(6)
    expect(refused[1].json()).toMatchObject({exitCode: 6, error: {code: 'frozen', message: refusal}})

    const queued = await relctl(['release', 'trigger', '--resources', 'api', '--on-freeze', 'queue', ...PROD, '--json'])
    expect(queued.code, String(queued)).toBe(0)
    const release = queued.json()
    expect(release).toMatchObject({status: 'queued', waitingFor: {reason: 'freeze', freeze: freeze.id, until: closes, message: `freeze until ${closes}: release train (freeze ${freeze.id} on freeze-app/prod, by olga)`}})
    const [shown, envText, dryRun, list] = await Promise.all([
      must(['release', 'show', String(release.id)]),
      must(['env', 'show', ...PROD]),
      must(['release', 'trigger', '--resources', 'web', ...PROD, '--dry-run']),
      must(['freeze', 'list', ...PROJECT]),
    ])
    expect(shown.stdout).toContain(`status:     queued (position 1): freeze until ${closes}: release train`)
    expect(envText.stdout).toContain(`  frozen:       yes, until ${closes.replace(/\.\d{3}Z$/, 'Z')} (freeze ${freeze.id} at the environment level): release train`)
    expect(dryRun.stdout).toContain(`  now:      would wait: freeze until ${closes}: release train (freeze ${freeze.id} on freeze-app/prod, by olga); a trigger is refused now (exit 6) unless it has --on-freeze queue or --override-freeze`)
    expect(list.stdout).toMatch(new RegExp(`^${freeze.id} +freeze-app/prod +\\S+ to \\S+ +in force until `, 'm'))
    // Other environments are not frozen.
    expect((await relctl(['release', 'trigger', '--resources', 'api', ...STAGING, '--wait', '--timeout', '30s'])).code).toBe(0)

    // The window closes: the queued release starts, with nobody acting.
    const done = await waitForRelease(release.id, ['succeeded', 'failed', 'cancelled'], {timeoutMs: 40_000})
    expect(done.status).toBe('succeeded')
    expect(Date.parse(done.startedAt)).toBeGreaterThanOrEqual(Date.parse(closes))
    expect(await envJson(PROD)).toMatchObject({frozen: false, freezes: []})
    expect((await must(['freeze', 'list', '--json'])).json().some((entry: {id: number}) => entry.id === freeze.id)).toBe(false)
  })
})

describe('what a freeze leaves alone and what it stops', () => {
  it('a running release finishes when a freeze opens; a scheduled run is skipped with the freeze as the reason', async () => {
    const running = (await must(['release', 'trigger', '--resources', 'gate', ...QA, '--json'])).json()
    await gateStarted(STATE, running.id)
    const freeze = (await must(['freeze', 'add', ...QA, '--from', inSeconds(-1), '--to', inSeconds(3600), '--reason', 'audit', '--json'], OLGA)).json()
    await must(['schedule', 'set', ...QA, '--every', '1s', '--type', 'selective', '--resources', 'api'])
    const skipped = await waitFor(async () => (await api('/v1/projects/freeze-app/environments/qa/schedule')).runs.find((run: {outcome: string}) => run.outcome === 'skipped'), {what: 'a scheduled run skipped by the freeze'})
    expect(skipped).toMatchObject({releaseId: null, reason: expect.stringContaining(`releases are frozen: freeze until `)})
    expect(skipped.reason).toContain(`audit (freeze ${freeze.id} on freeze-app/qa, by olga)`)
    await must(['schedule', 'delete', ...QA])

    openGate(STATE, running.id)
    expect((await waitForRelease(running.id, ['succeeded', 'failed', 'cancelled'])).status).toBe('succeeded')
    await must(['freeze', 'delete', String(freeze.id)], OLGA)
  })

  it('a rollback that would deploy a blocked version is refused with exit 2, naming who blocked it and why', async () => {
    await must(['app', 'set', 'api', '--version', '4.0.0', ...STAGING])
    await must(['release', 'sync', 'api', ...STAGING, '--wait', '--timeout', '60s'])
    await must(['app', 'set', 'api', '--version', '4.1.0', ...STAGING])
    const update = (await must(['release', 'sync', 'api', ...STAGING, '--wait', '--timeout', '60s', '--json'])).json()
    await must(['app', 'block', 'api', '4.0.0', ...PROJECT, '--reason', 'memory leak'], OLGA)
    const rollback = await relctl(['release', 'rollback', String(update.release.id)])
    expect(rollback.code, String(rollback)).toBe(2)
    expect(rollback.stderr).toMatch(/would deploy a blocked version: api 4\.0\.0 is blocked in project freeze-app by olga since \S+: memory leak/)
    await must(['app', 'unblock', 'api', '4.0.0', ...PROJECT], OLGA)
  })
})

describe('overrides', () => {
  it('an operator may override a freeze with a reason, recorded on the release and in the audit log; a deployer is refused (exit 7); no reason is exit 2', async () => {
    const added = await relctl(['freeze', 'add', ...QA, '--from', inSeconds(-60), '--to', inSeconds(3600), '--reason', 'audit week', '--json'], OLGA)
    expect(added.code, String(added)).toBe(0)
    const noReason = await relctl(['release', 'trigger', '--resources', 'api', ...QA, '--override-freeze'], OLGA)
    expect(noReason.code, String(noReason)).toBe(2)
    expect(noReason.stderr).toContain('Error: --override-freeze needs --reason: say why the freeze is overridden (it is recorded on the release and in the audit log)')
    const deployer = await relctl(['release', 'trigger', '--resources', 'api', ...QA, '--override-freeze', '--reason', 'hotfix'], DAN)
    expect(deployer.code, String(deployer)).toBe(7)
    expect(deployer.stderr).toContain('Error: token dan (deployer on freeze-app) may not override freezes; an operator of freeze-app/qa can')
    const operator = await relctl(['release', 'trigger', '--resources', 'api', ...QA, '--override-freeze', '--reason', 'incident 4411', '--wait', '--timeout', '30s', '--json'], OLGA)
    expect(operator.code, String(operator)).toBe(0)
    const release = operator.json()
    expect(release).toMatchObject({status: 'succeeded', triggeredBy: 'olga', freezeOverride: {by: 'olga', reason: 'incident 4411'}})
    expect((await must(['release', 'show', String(release.id)])).stdout).toMatch(/ {2}freeze: {5}overridden by olga at \S+: incident 4411/)
    const audit = (await must(['audit', 'list', '--actor', 'olga', '--json'])).json()
    expect(audit.find((entry: {action: string; outcome: string}) => entry.action === 'release.trigger' && entry.outcome === 'succeeded')).toMatchObject({detail: 'override-freeze: incident 4411', target: null})
    // A rollback during the freeze: operators may override there too.
    const deployerRollback = await relctl(['release', 'rollback', String(release.id), '--override-freeze', '--reason', 'bad'], DAN)
    expect(deployerRollback.code, String(deployerRollback)).toBe(7)
  })
})

describe('recurring freezes, the control plane, delete', () => {
  it('adds a recurring freeze in a time zone, refuses windows it cannot read with exit 2, and deletes freezes', async () => {
    const weekends = await relctl(['freeze', 'add', ...PROJECT, '--cron', '0 18 * * 5', '--duration', '62h', '--timezone', 'Europe/Berlin', '--reason', 'weekends', '--json'], OLGA)
    expect(weekends.code, String(weekends)).toBe(0)
    const freeze = weekends.json()
    expect(freeze).toMatchObject({level: 'project', environment: null, cron: '0 18 * * 5', durationMs: 62 * 3_600_000, timezone: 'Europe/Berlin'})
    // Its next window is a Friday 18:00 in Berlin, to the Monday 08:00 after.
    const start = new Date(freeze.next.startsAt)
    const berlin = (date: Date) => new Intl.DateTimeFormat('en-GB', {timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'}).format(date)
    expect(berlin(start)).toBe('Fri 18:00')
    expect(berlin(new Date(freeze.next.endsAt))).toBe('Mon 08:00')
    const text = await must(['freeze', 'list', ...STAGING])
    expect(text.stdout).toContain(`cron "0 18 * * 5" for 62h00m (Europe/Berlin)`)
    // A one-off window in local time: 18:00 in Berlin is 17:00 UTC in December.
    const yearEnd = await relctl(['freeze', 'add', ...PROD, '--from', '2999-12-20T18:00', '--to', '3000-01-04T08:00', '--timezone', 'Europe/Berlin', '--reason', 'year-end', '--json'], OLGA)
    expect(yearEnd.code, String(yearEnd)).toBe(0)
    expect(yearEnd.json()).toMatchObject({from: '2999-12-20T17:00:00.000Z', to: '3000-01-04T07:00:00.000Z', timezone: 'Europe/Berlin', current: null, next: {startsAt: '2999-12-20T17:00:00.000Z'}})
    expect((await relctl(['freeze', 'delete', String(yearEnd.json().id)], OLGA)).code).toBe(0)

    for (const [args, message] of [
      [['--cron', '0 18 * * 5', '--duration', '8d'], 'the windows would overlap'],
      [['--from', 'tomorrow', '--to', '2030-01-01'], '--from: "tomorrow" is not a date and time'],
      [['--from', '2030-01-01', '--to', '2030-01-02', '--timezone', 'Mars/Olympus'], 'unknown time zone "Mars/Olympus"'],
      [['--from', '2030-01-01'], 'a one-off freeze needs both --from and --to'],
    ] as const) {
      const bad = await relctl(['freeze', 'add', ...PROJECT, ...args, '--reason', 'x'], OLGA)
      expect(bad.code, String(bad)).toBe(2)
      expect(bad.stderr).toContain(message)
    }
    const noScope = await relctl(['freeze', 'add', '--from', '2030-01-01', '--to', '2030-01-02', '--reason', 'x'])
    expect(noScope.code, String(noScope)).toBe(2)
    expect(noScope.stderr).toContain('Hint: pass --project (and --environment), or --all for the whole control plane')

    // The whole control plane: operators of a project may not, the admin may.
    const projectOperator = await relctl(['freeze', 'add', '--all', '--from', '2030-12-24', '--to', '2030-12-27', '--reason', 'holidays'], OLGA)
    expect(projectOperator.code, String(projectOperator)).toBe(7)
    const all = await relctl(['freeze', 'add', '--all', '--from', '2030-12-24', '--to', '2030-12-27', '--reason', 'holidays', '--json'])
    expect(all.code, String(all)).toBe(0)
    expect(all.json()).toMatchObject({level: 'control-plane', project: null, environment: null})
    // A token of the project sees the control plane's freeze in its list, as it holds the project.
    const seen = (await must(['freeze', 'list', '--json'], OLGA)).json().map((entry: {id: number}) => entry.id)
    expect(seen).toEqual(expect.arrayContaining([freeze.id, all.json().id]))
    expect((await envJson(['-p', 'sim-app', '-e', 'prod'])).freezes).toEqual([expect.objectContaining({freeze: all.json().id, level: 'control-plane', inForce: false})])

    const deleted = await relctl(['freeze', 'delete', String(freeze.id)], OLGA)
    expect(deleted.code, String(deleted)).toBe(0)
    expect(deleted.stdout).toContain(`Deleted freeze ${freeze.id} on project freeze-app`)
    const again = await relctl(['freeze', 'delete', String(freeze.id)], OLGA)
    expect(again.code, String(again)).toBe(9)
    expect((await relctl(['freeze', 'delete', String(all.json().id)], OLGA)).code).toBe(7)
    expect((await relctl(['freeze', 'delete', String(all.json().id)])).code).toBe(0)
  })
})

describe('pause --all and resume --all', () => {
  it('one switch pauses every project (exit 6 everywhere); resume --all lifts only that level', async () => {
    const paused = await relctl(['pause', '--all', '--reason', 'datacenter move'])
    expect(paused.code, String(paused)).toBe(0)
    expect(paused.stdout.trim()).toBe('Paused releases of the whole control plane (every project): datacenter move. Resume with: relctl resume --all')
    expect((await relctl(['pause', '--all'], OLGA)).code).toBe(7)
    const withScope = await relctl(['pause', '--all', ...PROJECT])
    expect(withScope.code).toBe(2)
    expect(withScope.stderr).toContain('--all pauses the whole control plane; it takes no --project or --environment')
    const attempts = await Promise.all([relctl(['release', 'trigger', '--resources', 'api', ...STAGING]), relctl(['release', 'trigger', '--resources', 'api', '-p', 'sim-app', '-e', 'prod'])])
    for (const attempt of attempts) {
      expect(attempt.code, String(attempt)).toBe(6)
      expect(attempt.stderr).toMatch(/Error: releases are paused for the whole control plane \(every project\) by admin since \S+: datacenter move; nothing was queued/)
      expect(attempt.stderr).toContain('Hint: when it is time, resume with: relctl resume --all')
    }
    expect(await envJson(STAGING)).toMatchObject({paused: true, pauses: [{level: 'control-plane', project: null, environment: null, by: 'admin', reason: 'datacenter move'}]})
    expect((await must(['env', 'show', ...STAGING])).stdout).toContain('  paused:       yes, at the control-plane level, by admin since')
    await must(['pause', ...STAGING, '--reason', 'incident'], OLGA)
    const resumed = await relctl(['resume', '--all'])
    expect(resumed.code, String(resumed)).toBe(0)
    expect(resumed.stdout.trim()).toBe('Resumed releases of the whole control plane.')
    expect(resumed.stderr).toMatch(/Warning: freeze-app\/staging \(environment level\) is still paused by olga since \S+: incident; its releases stay held until: relctl resume -p freeze-app -e staging/)
    await must(['resume', ...STAGING], OLGA)
    expect((await relctl(['release', 'trigger', '--resources', 'api', '-p', 'sim-app', '-e', 'prod', '--wait', '--timeout', '30s'])).code).toBe(0)
  })
})
