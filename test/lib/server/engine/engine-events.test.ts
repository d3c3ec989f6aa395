// The events of approvals, pauses, settings and schedules, on a real Engine over SQLite with an injected
// clock: each change appends its event, in the order of the changes, carrying the state after it
// (docs/events.md). Releases, tasks and apps: runs/turns-and-events.test.ts.
import {afterEach, describe, expect, it} from 'vitest'

import type {TriggerRequest} from '../../../../src/lib/api/schemas.js'
import type {StoredEvent} from '../../../../src/lib/server/store/store.js'
import {createTestEngine, SHOP_BLUEPRINT, type TestEngine, testClock, waitForFinal} from '../../../helpers/engine.js'

const P = 'shop'
const E = 'prod'
const T0 = '2026-03-02T10:00:00.000Z'
const T1 = '2026-03-02T11:00:00.000Z'
const T2 = '2026-03-02T12:00:00.000Z'
const FAST = SHOP_BLUEPRINT.replaceAll('duration: 100ms', 'duration: 20ms').replace('duration: 150ms', 'duration: 30ms')
/** The kinds shown here, and release.queued, which follows an approval. */
const SHOWN = new Set(['release.pending_approval', 'release.approved', 'release.rejected', 'release.queued', 'pause.changed', 'settings.changed', 'schedule.fired', 'schedule.skipped'])

const opened: TestEngine[] = []
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close()
})

/** An engine whose schedule timer never runs (only explicit fireDueSchedules calls fire), on a settable clock at T0. */
async function setup() {
  const clock = testClock(T0)
  const t = await createTestEngine(FAST, {now: clock, start: false})
  opened.push(t)
  return {...t, clock}
}

describe('the events of approvals, pauses, settings and schedules', () => {
  it('settings.changed, release.pending_approval, .approved, .rejected, pause.changed, schedule.skipped and schedule.fired are appended in order, each with the state after the change', async () => {
    const {engine, store, clock} = await setup()
    const trigger = async (request: TriggerRequest) => (await engine.trigger(P, E, request, {subject: 'alice', idempotencyKey: null})).release
    const mark = await store.lastEventSeq()

    await engine.setApproval({project: P, environment: E, enabled: true}, 'admin')
    const approved = await trigger({type: 'selective', resources: [{name: 'worker'}]})
    expect(approved.status).toBe('pending_approval')
    await engine.decide(approved.id, 'approved', 'bob', 'looks good')
    expect((await waitForFinal(engine, approved.id)).status).toBe('succeeded')
    const rejected = await trigger({type: 'selective', resources: [{name: 'worker'}]})
    await engine.decide(rejected.id, 'rejected', 'bob', 'not today')
    await engine.pause(P, E, 'incident 4411', 'carol')
    await engine.setSchedule(P, E, {every: '1h', type: 'selective', resources: ['worker']}, 'alice')
    clock.set(T1)
    await engine.fireDueSchedules() // paused: skipped
    await engine.resume(P, E, 'carol')
    clock.set(T2)
    await engine.fireDueSchedules() // fired: a release, pending approval like any other
    const [scheduled] = await engine.listReleases({project: P, environment: E, limit: 1})
    expect(scheduled).toMatchObject({source: 'schedule', status: 'pending_approval'})

    const events = (await store.listEvents(mark, 10_000)).filter((event) => SHOWN.has(event.kind))
    const seqs = events.map((event) => event.seq)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(events.map((event) => [event.kind, event.releaseId])).toEqual([
      ['settings.changed', null],
      ['release.pending_approval', approved.id],
      ['release.approved', approved.id],
      ['release.queued', approved.id],
      ['release.pending_approval', rejected.id],
      ['release.rejected', rejected.id],
      ['pause.changed', null],
      ['schedule.skipped', null],
      ['pause.changed', null],
      ['release.pending_approval', scheduled.id],
      ['schedule.fired', scheduled.id],
    ])
    const [settings, pending, approval, queued, pendingRejected, rejection, pause, skipped, resume, pendingScheduled, fired] = events as StoredEvent[]
    const scope = {project: P, environment: E}

    expect(settings).toMatchObject({
      ...scope,
      at: T0,
      data: {
        scope,
        settings: {parallel: null, maxParallel: null, approval: true, approvalsRequired: null, queueMode: null},
        changes: [{...scope, setting: 'approval', oldValue: null, newValue: 'true', changedBy: 'admin', changedAt: T0}],
      },
    })
    expect(pending).toMatchObject({...scope, data: {id: approved.id, status: 'pending_approval', triggeredBy: 'alice', decision: null}})
    expect(approval).toMatchObject({...scope, data: {id: approved.id, status: 'queued', decision: {decision: 'approved', by: 'bob', at: T0, comment: 'looks good'}}})
    expect(queued).toMatchObject({data: {id: approved.id, status: 'queued'}})
    expect(pendingRejected).toMatchObject({data: {id: rejected.id, status: 'pending_approval'}})
    expect(rejection).toMatchObject({
      ...scope,
      data: {id: rejected.id, status: 'rejected', finishedAt: T0, error: 'rejected by bob: not today', decision: {decision: 'rejected', by: 'bob', at: T0, comment: 'not today'}},
    })
    expect(pause).toMatchObject({
      ...scope,
      at: T0,
      data: {...scope, paused: true, pause: {level: 'environment', ...scope, by: 'carol', at: T0, reason: 'incident 4411'}, by: 'carol', at: T0},
    })
    expect(skipped).toMatchObject({
      ...scope,
      at: T1,
      data: {...scope, run: {slotAt: T1, recordedAt: T1, outcome: 'skipped', releaseId: null, reason: `releases are paused for shop/prod by carol since ${T0}: incident 4411`}},
    })
    expect(resume).toMatchObject({...scope, at: T1, data: {...scope, paused: false, pause: null, by: 'carol', at: T1}})
    expect(pendingScheduled).toMatchObject({data: {id: scheduled.id, status: 'pending_approval', source: 'schedule', triggeredBy: 'schedule'}})
    expect(fired).toMatchObject({...scope, at: T2, data: {...scope, run: {slotAt: T2, recordedAt: T2, outcome: 'released', releaseId: scheduled.id, reason: null}}})
  })

  it('a pause of the whole project or control plane is an event of that scope; no change, no event', async () => {
    const {engine, store} = await setup()
    const mark = await store.lastEventSeq()
    await engine.pause(P, null, 'freeze', 'carol')
    await engine.pause(P, null, 'again', 'dave') // already paused: nothing changed
    await engine.pause(null, null, null, 'erin')
    await engine.setParallel({enabled: true, max: 4}, 'admin')
    await engine.setParallel({max: 4}, 'admin') // the same again: nothing changed
    const events = (await store.listEvents(mark, 10_000)).filter((event) => SHOWN.has(event.kind))
    expect(events).toMatchObject([
      {kind: 'pause.changed', project: P, environment: null, data: {project: P, environment: null, paused: true, pause: {level: 'project', by: 'carol', reason: 'freeze'}, by: 'carol'}},
      {kind: 'pause.changed', project: null, environment: null, data: {project: null, environment: null, paused: true, pause: {level: 'control-plane', by: 'erin', reason: null}, by: 'erin'}},
      {
        kind: 'settings.changed',
        project: null,
        environment: null,
        data: {
          scope: {project: null, environment: null},
          settings: {parallel: true, maxParallel: 4},
          changes: [
            {setting: 'parallel', oldValue: null, newValue: 'true'},
            {setting: 'maxParallel', oldValue: null, newValue: '4'},
          ],
        },
      },
    ])
    expect(events).toHaveLength(3)
  })

  it('settings.changed carries every setting of its scope after the change, the number of approvers included', async () => {
    const {engine, store} = await setup()
    const mark = await store.lastEventSeq()
    await engine.setApproval({project: P, environment: E, enabled: true, required: 2}, 'admin')
    await engine.setApproval({project: P, environment: E, required: 3}, 'admin')
    const events = (await store.listEvents(mark, 10_000)).filter((event) => event.kind === 'settings.changed')
    expect(events.map((event) => event.data)).toMatchObject([
      {
        settings: {approval: true, approvalsRequired: 2},
        changes: [
          {setting: 'approval', newValue: 'true'},
          {setting: 'approvalsRequired', oldValue: null, newValue: '2'},
        ],
      },
      {settings: {approval: true, approvalsRequired: 3}, changes: [{setting: 'approvalsRequired', oldValue: '2', newValue: '3'}]},
    ])
  })
})
