// Scheduled releases (issue 4), through the real CLI and a real server: an `--every 2s` schedule fires,
// is skipped while a long release runs and while it is paused, fires again on resume; `schedule show`
// gives the next run in local time and UTC and the last runs; cron with a time zone; bad input exits
// 2. Restarts are in schedules-restart.test.ts (a file of its own, so that each stays well under a minute).
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {api, copyFixture, createToken, must, relctl, type Server, waitFor, waitForRelease} from './harness.js'
import {expectUniqueSlots, type Run, runs, schedule, scheduledReleases, setUp, STAGING} from './schedules-helpers.js'

const PROD = ['-p', 'sched-app', '-e', 'prod']
const FINAL = ['succeeded', 'failed', 'cancelled', 'rejected']

describe('schedule set --every', () => {
  let server: Server
  let state: string
  beforeAll(async () => {
    ;({server, state} = await setUp())
    await must(['project', 'apply', '-f', copyFixture('scheduled').file], {server})
  })

  it('fires, is skipped while a long release runs and while paused, fires again on resume; schedule show says when and what became of each run', async () => {

    const gina = await createToken('gina', ['operator:sched-app/staging'], {server})
    const set = await relctl(['schedule', 'set', ...STAGING, '--every', '2s', '--type', 'full'], {server, token: gina})
    expect(set.code, String(set)).toBe(0)
    expect(set.stdout).toContain('Schedule of sched-app/staging: every 2s, full release')
    expect(set.stdout).toMatch(/^ {2}set by: {4}gina at \S+$/m)
    expect(set.stdout).toContain('  no runs yet')
    // (runs may have been recorded by now on a busy machine: `no runs yet` above is the state at set time)
    const created = await schedule(server)
    expect(created).toMatchObject({rule: {every: '2s'}, type: 'full', resources: [], paused: false, createdBy: 'gina'})
    const firstSlotAt = new Date(Date.parse(created.createdAt) + 2000).toISOString()

    // It fires, not before its slot, and the release says where it comes from. Its first slot has a run:
    // the released one, or, when a busy machine made the check late enough that a later slot was due
    // too, a missed one recorded by that same check.
    const first = await waitFor(async () => (await runs(server)).find((run) => run.outcome === 'released'), {what: 'the first scheduled run'})
    expect(Date.parse(first.recordedAt)).toBeGreaterThanOrEqual(Date.parse(first.slotAt))
    const firstSlot = (await runs(server)).find((run) => run.slotAt === firstSlotAt)
    if (first.slotAt !== firstSlotAt) expect(firstSlot).toMatchObject({outcome: 'missed', recordedAt: first.recordedAt})
    const shown = await schedule(server)
    expect(shown.runs.find((run: Run) => run.slotAt === first.slotAt)).toMatchObject({outcome: 'released', releaseId: first.releaseId, reason: null})
    const release = await api(`/v1/releases/${first.releaseId}`, {server})
    expect(release).toMatchObject({type: 'full', source: 'schedule', triggeredBy: 'schedule', comment: `scheduled run of ${first.slotAt}`})
    expect((await waitForRelease(first.releaseId as number, FINAL, {server})).status).toBe('succeeded')

    // A long release by hand (worker deploys for 5s): the runs due meanwhile are skipped and name it.
    writeFileSync(join(state, 'sleep-worker'), '5')
    const hand = Number((await must(['release', 'trigger', '--resources', 'worker', ...STAGING], {server})).stdout.trim())
    const handDone = await waitForRelease(hand, FINAL, {server})
    rmSync(join(state, 'sleep-worker'))
    expect(handDone.status).toBe('succeeded')
    const handStart = Date.parse(handDone.startedAt)
    const handEnd = Date.parse(handDone.finishedAt)
    expect(handEnd - handStart).toBeGreaterThanOrEqual(4900)
    // The runs the control plane decided on while the long release ran (its own timestamps, so a late
    // timer on a busy machine moves a run out of the window instead of failing the test).
    const during = (await runs(server)).filter((run) => Date.parse(run.recordedAt) >= handStart && Date.parse(run.recordedAt) < handEnd)
    expect(during.length).toBeGreaterThanOrEqual(1)
    for (const run of during) {
      expect(run).toMatchObject({outcome: 'skipped', releaseId: null, reason: `release ${hand} is running in staging; scheduled releases never queue`})
    }
    const madeDuring = (await scheduledReleases(server)).filter((candidate: {createdAt: string}) => Date.parse(candidate.createdAt) >= handStart && Date.parse(candidate.createdAt) < handEnd)
    expect(madeDuring).toEqual([])
    const text = await must(['schedule', 'show', ...STAGING], {server})
    expect(text.stdout).toMatch(/^DUE\s+OUTCOME\s+RELEASE\s+REASON$/m)
    expect(text.stdout).toMatch(new RegExp(`^${during[0].slotAt.replaceAll('.', '\\.')}\\s+skipped\\s+-\\s+release ${hand} is running in staging; scheduled releases never queue$`, 'm'))
    expect(text.stdout).toMatch(new RegExp(`^${first.slotAt.replaceAll('.', '\\.')}\\s+released\\s+${first.releaseId}\\s+-$`, 'm'))

    // Once it is over, the schedule releases again.
    await waitFor(async () => (await runs(server)).some((run) => run.outcome === 'released' && Date.parse(run.slotAt) > handEnd), {what: 'a run released after the long release'})

    // Paused schedule: runs are recorded as skipped, no release is made.
    const pause = await relctl(['schedule', 'pause', ...STAGING], {server})
    expect(pause.code, String(pause)).toBe(0)
    expect(pause.stdout).toContain('Schedule of sched-app/staging: every 2s, full release (PAUSED)')
    const pausedAt = Date.now()
    const releasesBefore = (await scheduledReleases(server)).length
    const whilePaused = await waitFor(
      async () => {
        const list = (await runs(server)).filter((run) => Date.parse(run.slotAt) > pausedAt)
        return list.length >= 2 ? list : null
      },
      {what: 'two runs while the schedule is paused'},
    )
    expect(whilePaused.length).toBeGreaterThanOrEqual(2)
    for (const run of whilePaused) expect(run).toMatchObject({outcome: 'skipped', releaseId: null, reason: 'the schedule is paused'})
    expect((await scheduledReleases(server)).length).toBe(releasesBefore)
    expect((await schedule(server)).paused).toBe(true)

    // Resumed: it fires again.
    const resume = await relctl(['schedule', 'resume', ...STAGING], {server})
    expect(resume.code, String(resume)).toBe(0)
    expect(resume.stdout).not.toContain('PAUSED')
    const resumedAt = Date.now()
    const again = await waitFor(async () => (await runs(server)).find((run) => run.outcome === 'released' && Date.parse(run.slotAt) > resumedAt), {what: 'a run after resume'})
    expect((await scheduledReleases(server)).map((candidate: {id: number}) => candidate.id)).toContain(again.releaseId)

    // Next run in local time and UTC, and the last runs, newest first.
    const local = await relctl(['schedule', 'show', ...STAGING], {server, env: {TZ: 'Europe/Berlin'}})
    expect(local.code, String(local)).toBe(0)
    const match = /^ {2}next run: {2}(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\S+) \((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\)$/m.exec(local.stdout)
    expect(match, local.stdout).not.toBeNull()
    const [, localTime, zone, utc] = match as RegExpExecArray
    expect(zone).toMatch(/^(CET|CEST|GMT\+[12])$/)
    const berlin = new Intl.DateTimeFormat('sv-SE', {timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23'})
    expect(localTime).toBe(berlin.format(new Date(utc)))
    const table = local.stdout.slice(local.stdout.indexOf('DUE'))
    const slots = [...table.matchAll(/^(\S+Z)\s+(released|skipped|missed)\s/gm)].map((row) => row[1])
    expect(slots.length).toBeGreaterThanOrEqual(6)
    expect(slots).toEqual([...slots].sort().reverse())
    // The next run is after the newest recorded one (the UTC text has whole seconds), and on the 2s grid.
    expect(Date.parse(utc)).toBeGreaterThanOrEqual(Math.floor(Date.parse(slots[0]) / 1000) * 1000)
    const now = await schedule(server)
    const newest = Math.max(...now.runs.map((run: Run) => Date.parse(run.slotAt)))
    expect(Date.parse(now.nextRunAt)).toBeGreaterThan(newest)
    expect((Date.parse(now.nextRunAt) - Date.parse(created.createdAt)) % 2000, `${now.nextRunAt} on the grid of ${created.createdAt}`).toBe(0)
    expect(table).toMatch(/\s+skipped\s+-\s+the schedule is paused$/m)

    // env show tells the same.
    const env = await must(['env', 'show', ...STAGING], {server})
    expect(env.stdout).toMatch(/^ {2}schedule: {5}every 2s, full; next run \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ \(\S+Z\)$/m)

    // The whole history: each slot once, on the 2s grid of the schedule.
    const history = await runs(server)
    expectUniqueSlots(history)
    for (const run of history) expect((Date.parse(run.slotAt) - Date.parse(created.createdAt)) % 2000).toBe(0)

    const deleted = await relctl(['schedule', 'delete', ...STAGING], {server})
    expect(deleted.code, String(deleted)).toBe(0)
    expect(deleted.stdout.trim()).toBe('Deleted the schedule of sched-app/staging (every 2s).')
    const gone = await relctl(['schedule', 'show', ...STAGING], {server})
    expect(gone.code, String(gone)).toBe(9)
    expect(gone.stderr).toContain('sched-app/staging has no schedule')
  })

  it('--cron with --timezone is accepted and shows a next run; bad input exits 2 and changes nothing', async () => {

    const cron = await relctl(['schedule', 'set', ...PROD, '--cron', '*/1 * * * *', '--timezone', 'Europe/Berlin', '--type', 'selective', '--resources', 'web'], {server})
    expect(cron.code, String(cron)).toBe(0)
    expect(cron.stdout).toContain('Schedule of sched-app/prod: cron "*/1 * * * *" (Europe/Berlin), selective release of web')
    expect(cron.stdout).toMatch(/^ {2}next run: {2}\d{4}-\d\d-\d\d \d\d:\d\d:00 \S+ \(\d{4}-\d\d-\d\dT\d\d:\d\d:00Z\)$/m)
    const shown = await schedule(server, PROD)
    expect(shown).toMatchObject({rule: {cron: '*/1 * * * *', timezone: 'Europe/Berlin'}, type: 'selective', resources: ['web'], paused: false})
    const next = Date.parse(shown.nextRunAt)
    // the first whole minute after the schedule was made
    expect(next % 60_000).toBe(0)
    expect(next).toBeGreaterThan(Date.parse(shown.createdAt))
    expect(next).toBeLessThanOrEqual(Date.parse(shown.createdAt) + 60_000)

    const bad: [string[], string][] = [
      [['--every', '5 minutes'], '--every: "5 minutes" is not a duration'],
      [['--cron', '*/1 * * *'], '"*/1 * * *" is not a five-field cron expression'],
      [['--cron', '0 3 * * 1-5', '--timezone', 'Mars/Olympus_Mons'], 'unknown time zone "Mars/Olympus_Mons"'],
      [['--every', '1h', '--type', 'selective'], 'a scheduled selective release needs its resources'],
      [['--every', '500ms'], '--every must be at least 1s'],
      [['--every', '1h', '--type', 'destroy'], 'Expected --type=destroy to be one of'],
    ]
    const results = await Promise.all(bad.map(([args]) => relctl(['schedule', 'set', ...PROD, ...args], {server})))
    results.forEach((result, index) => {
      const [args, message] = bad[index]
      expect(result.code, `${args.join(' ')}\n${result}`).toBe(2)
      expect(result.stdout).toBe('')
      if (message) expect(result.stderr).toContain(message)
      expect(result.stderr).not.toMatch(/\n\s+at /) // no stack trace
    })
    const json = await relctl(['schedule', 'set', ...PROD, '--every', '5 minutes', '--json'], {server})
    expect(json.code, String(json)).toBe(2)
    expect(json.json()).toMatchObject({exitCode: 2, error: {code: 'invalid_input'}})
    // The cron schedule is still the one in place.
    expect(await schedule(server, PROD)).toMatchObject({rule: {cron: '*/1 * * * *', timezone: 'Europe/Berlin'}, createdAt: shown.createdAt})

    // A second set replaces it.
    await must(['schedule', 'set', ...PROD, '--every', '6h'], {server})
    expect(await schedule(server, PROD)).toMatchObject({rule: {every: '6h'}, type: 'full'})
  })
})
