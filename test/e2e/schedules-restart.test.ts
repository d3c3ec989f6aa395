// Scheduled releases across restarts (issue 4), with real servers on one data dir: a control plane
// stopped right after a run and started again never fires a slot twice; one that was down across
// several slots fires once when it starts and records the others as missed. See schedules.test.ts.
import {describe, expect, it} from 'vitest'

import {api, copyFixture, must, sleep, startServer, tempDir, waitFor} from './harness.js'
import {expectUniqueSlots, runs, schedule, scheduledReleases, setUp, STAGING} from './schedules-helpers.js'


describe('schedules across restarts', () => {
  it('a control plane stopped right after a run and started again never fires a slot twice', async () => {
    const dataDir = tempDir('relctl-e2e-data-')
    const {server: first, state} = await setUp({dataDir})
    await must(['project', 'apply', '-f', copyFixture('scheduled').file], {server: first})
    await must(['schedule', 'set', ...STAGING, '--every', '2s'], {server: first})
    const set = await schedule(first)

    const fired = await waitFor(async () => (await runs(first)).find((run) => run.outcome === 'released'), {what: 'the first scheduled run'})
    const stopped = await first.stop('SIGTERM')
    expect(stopped.code, first.stderr()).toBe(0)

    const second = await startServer({dataDir, configDir: first.configDir, env: {RELCTL_TEST_STATE: state}})
    const restartedAt = Date.now()
    // Let the new process fire the next slot.
    await waitFor(async () => (await runs(second)).some((run) => Date.parse(run.slotAt) > restartedAt && run.outcome === 'released'), {what: 'a run after the restart'})

    const history = await runs(second)
    expectUniqueSlots(history)
    expect(history.filter((run) => run.slotAt === fired.slotAt)).toHaveLength(1)
    for (const run of history) expect((Date.parse(run.slotAt) - Date.parse(set.createdAt)) % 2000).toBe(0)

    const releases = await scheduledReleases(second)
    expect(releases.length).toBeGreaterThanOrEqual(2) // one before the stop, one after the start
    const releaseSlots = releases.map((release: {comment: string}) => release.comment.replace('scheduled run of ', ''))
    expect(new Set(releaseSlots).size).toBe(releaseSlots.length)
    // Each scheduled release is the one released run of its slot.
    for (const release of releases) {
      const run = history.find((candidate) => candidate.releaseId === release.id)
      expect(run, `release ${release.id}`).toBeDefined()
      expect(release.comment).toBe(`scheduled run of ${run?.slotAt}`)
    }
    await must(['schedule', 'delete', ...STAGING], {server: second})
    await second.stop()
  })

  it('a control plane down across several slots fires once when it starts and records the others as missed', async () => {
    const dataDir = tempDir('relctl-e2e-data-')
    const {server: first, state} = await setUp({dataDir})
    await must(['project', 'apply', '-f', copyFixture('scheduled').file], {server: first})
    await must(['schedule', 'set', ...STAGING, '--every', '1s'], {server: first})
    await waitFor(async () => (await runs(first)).some((run) => run.outcome === 'released'), {what: 'the first scheduled run'})
    await first.stop('SIGTERM')
    await sleep(3500) // down across three slots or more

    const second = await startServer({dataDir, configDir: first.configDir, env: {RELCTL_TEST_STATE: state}})
    const missed = await waitFor(async () => {
      const list = await runs(second)
      return list.some((run) => run.outcome === 'missed') ? list : null
    }, {what: 'missed runs after the restart'})
    await must(['schedule', 'pause', ...STAGING], {server: second})

    // The runs recorded at start: the missed ones and exactly one released, the latest due.
    const recordedAt = missed.find((run) => run.outcome === 'missed')?.recordedAt as string
    const batch = missed.filter((run) => run.recordedAt === recordedAt)
    const missedRuns = batch.filter((run) => run.outcome === 'missed')
    // what the first control plane recorded before it stopped
    const beforeStop = missed.filter((run) => Date.parse(run.recordedAt) < Date.parse(recordedAt))
    const lastSlotBeforeStop = Math.max(...beforeStop.map((run) => Date.parse(run.slotAt)))
    expect(beforeStop.length, JSON.stringify(missed, null, 1)).toBeGreaterThanOrEqual(1)
    const fired = batch.filter((run) => run.outcome !== 'missed')
    expect(missedRuns.length, JSON.stringify(batch, null, 1)).toBeGreaterThanOrEqual(1)
    expect(fired, JSON.stringify(batch, null, 1)).toHaveLength(1)
    expect(fired[0]).toMatchObject({outcome: 'released', releaseId: expect.any(Number)})
    for (const run of missedRuns) {
      expect(run).toMatchObject({releaseId: null, reason: 'the control plane was not running at this time; only the latest due run fires'})
      expect(Date.parse(run.slotAt)).toBeLessThan(Date.parse(fired[0].slotAt))
      expect(Date.parse(run.slotAt)).toBeGreaterThan(lastSlotBeforeStop) // a slot the stopped control plane did not see
    }
    expect(Date.parse(fired[0].slotAt)).toBeLessThanOrEqual(Date.parse(recordedAt))
    expect(Date.parse(recordedAt)).toBeGreaterThan(Math.max(...beforeStop.map((run) => Date.parse(run.recordedAt))))

    // Every slot appears once; the runs are on the 1s grid without gaps.
    const history = await runs(second)
    expectUniqueSlots(history)
    const times = history.map((run) => Date.parse(run.slotAt)).sort((a, b) => a - b)
    for (let index = 1; index < times.length; index++) expect(times[index] - times[index - 1]).toBe(1000)

    const text = await must(['schedule', 'show', ...STAGING], {server: second})
    expect(text.stdout).toMatch(/^\S+Z\s+missed\s+-\s+the control plane was not running at this time; only the latest due run fires$/m)
    const release = await api(`/v1/releases/${fired[0].releaseId}`, {server: second})
    expect(release).toMatchObject({source: 'schedule', comment: `scheduled run of ${fired[0].slotAt}`})
    await second.stop()
  })
})
