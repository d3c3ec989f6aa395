import {describe, expect, it} from 'vitest'

import {type ActiveRelease, type AdmissionPolicy, decideAdmission} from '../../../../../src/lib/server/engine/rules/admission.js'
import type {LockSet} from '../../../../../src/lib/server/store/store.js'

const serial: AdmissionPolicy = {environment: 'prod', parallel: false, maxParallel: 10, pause: null, freeze: null}
const parallel = (maxParallel = 10): AdmissionPolicy => ({environment: 'prod', parallel: true, maxParallel, pause: null, freeze: null})
const FREEZE = {id: 3, until: '2027-01-04T07:00:00.000Z', message: 'freeze until 2027-01-04T07:00:00.000Z: year-end (freeze 3 on shop/prod, by olga)'}
const overriding = (id: number, lockSet: LockSet): ActiveRelease => ({id, status: 'queued', lockSet, overridesFreeze: true})

const running = (id: number, lockSet: LockSet): ActiveRelease => ({id, status: 'running', lockSet})
const queued = (id: number, lockSet: LockSet): ActiveRelease => ({id, status: 'queued', lockSet})
const pending = (id: number, lockSet: LockSet): ActiveRelease => ({id, status: 'pending_approval', lockSet})

describe('decideAdmission: serial (parallel releases off)', () => {
  it('starts the first queued release when nothing runs', () => {
    const decision = decideAdmission([queued(1, '*')], serial, 10)
    expect(decision.start).toEqual([1])
    expect(decision.waiting.size).toBe(0)
  })

  it('starts only one release even when they do not conflict', () => {
    const decision = decideAdmission([queued(1, ['api']), queued(2, ['web'])], serial, 10)
    expect(decision.start).toEqual([1])
    expect(decision.waiting.get(2)).toEqual({
      reason: 'serial',
      releases: [1],
      message: 'waits for release 1 to finish (parallel releases are off in prod)',
    })
  })

  it('makes every queued release wait for the running one', () => {
    const decision = decideAdmission([running(1, ['api']), queued(2, ['web']), queued(3, '*')], serial, 10)
    expect(decision.start).toEqual([])
    for (const id of [2, 3]) expect(decision.waiting.get(id)).toMatchObject({reason: 'serial', releases: [1]})
  })

  it('names the running releases (several, after parallel was turned off)', () => {
    const decision = decideAdmission([running(1, ['api']), running(2, ['web']), queued(3, ['db'])], serial, 10)
    expect(decision.waiting.get(3)).toEqual({
      reason: 'serial',
      releases: [1, 2],
      message: 'waits for release 1, 2 to finish (parallel releases are off in prod)',
    })
  })
})

describe('decideAdmission: parallel releases on', () => {
  it('starts non-conflicting selective releases together', () => {
    const decision = decideAdmission([queued(1, ['api']), queued(2, ['web']), queued(3, ['db', 'worker'])], parallel(), 10)
    expect(decision.start).toEqual([1, 2, 3])
    expect(decision.waiting.size).toBe(0)
  })

  it('makes a conflicting release wait, naming the holder and the shared resources', () => {
    const decision = decideAdmission([running(1, ['api', 'db']), queued(2, ['db', 'web', 'api']), queued(3, ['web2'])], parallel(), 10)
    expect(decision.start).toEqual([3])
    expect(decision.waiting.get(2)).toEqual({
      reason: 'conflict',
      releases: [1],
      resources: ['api', 'db'],
      message: 'waits for release 1 (resources: api, db)',
    })
  })

  it('collects every blocker, running and queued before, and the union of what they share', () => {
    const decision = decideAdmission([running(1, ['api']), queued(2, '*'), queued(3, ['api', 'web'])], parallel(), 10)
    expect(decision.start).toEqual([])
    expect(decision.waiting.get(2)).toMatchObject({reason: 'conflict', releases: [1], resources: ['api']})
    expect(decision.waiting.get(3)).toEqual({
      reason: 'conflict',
      releases: [1, 2],
      // what the full release 2 shares with 3 is all of 3's lock set
      resources: ['api', 'web'],
      message: 'waits for release 1, 2 (resources: api, web)',
    })
  })

  it('names the releases a queued one waits for running ones first, then those queued before it, each in queue order', () => {
    // 3 started after 1 was queued (they share nothing); 4 waits for 1, 2 and 3, and 5 for every release ahead.
    const decision = decideAdmission([queued(1, ['web']), running(2, ['api']), running(3, ['web', 'db']), queued(4, ['api', 'web']), queued(5, '*')], parallel(), 10)
    expect(decision.waiting.get(1)).toMatchObject({reason: 'conflict', releases: [3]})
    expect(decision.waiting.get(4)).toMatchObject({reason: 'conflict', releases: [2, 3, 1], resources: ['api', 'web']})
    expect(decision.waiting.get(5)).toMatchObject({reason: 'conflict', releases: [2, 3, 1, 4], resources: ['api', 'db', 'web']})
  })

  it('says "the whole environment" when two whole-environment releases conflict', () => {
    const decision = decideAdmission([running(4, '*'), queued(5, '*')], parallel(), 10)
    expect(decision.waiting.get(5)).toEqual({reason: 'conflict', releases: [4], resources: ['*'], message: 'waits for release 4 (the whole environment)'})
  })

  it('does not let a later selective release overtake a queued full release', () => {
    // 1 runs on api; full release 2 must wait; 3 (web) does not conflict with 1 but conflicts with queued 2.
    const decision = decideAdmission([running(1, ['api']), queued(2, '*'), queued(3, ['web']), queued(4, ['cache'])], parallel(), 10)
    expect(decision.start).toEqual([])
    expect(decision.waiting.get(3)).toMatchObject({reason: 'conflict', releases: [2], resources: ['web']})
    expect(decision.waiting.get(4)).toMatchObject({reason: 'conflict', releases: [2], resources: ['cache']})
  })

  it('does not let a later release overtake a conflicting queued selective one', () => {
    const decision = decideAdmission([running(1, ['api']), queued(2, ['api', 'web']), queued(3, ['web']), queued(4, ['db'])], parallel(), 10)
    expect(decision.start).toEqual([4])
    expect(decision.waiting.get(3)).toMatchObject({reason: 'conflict', releases: [2], resources: ['web']})
  })

  it('stops at max parallel and says how many run', () => {
    const decision = decideAdmission([running(1, ['a']), queued(2, ['b']), queued(3, ['c']), queued(4, ['d'])], parallel(2), 10)
    expect(decision.start).toEqual([2])
    const expected = {reason: 'max-parallel', running: 2, max: 2, message: 'max parallel 2 reached in prod (2 running)'}
    expect(decision.waiting.get(3)).toEqual(expected)
    expect(decision.waiting.get(4)).toEqual(expected)
  })

  it('reports a conflict before max parallel', () => {
    const decision = decideAdmission([running(1, ['a']), queued(2, ['a'])], parallel(1), 10)
    expect(decision.waiting.get(2)?.reason).toBe('conflict')
  })
})

describe('decideAdmission: approval, pause and capacity', () => {
  it('makes a pending release wait for approval, and does not count it as queued ahead', () => {
    const decision = decideAdmission([pending(1, '*'), queued(2, ['api'])], parallel(), 10)
    expect(decision.waiting.get(1)).toEqual({reason: 'approval', message: 'waits for approval: relctl release approve 1'})
    expect(decision.start).toEqual([2])
  })

  it('a pending release does not block a queued one in serial mode', () => {
    const decision = decideAdmission([pending(1, '*'), queued(2, '*')], serial, 10)
    expect(decision.start).toEqual([2])
    expect(decision.waiting.get(1)?.reason).toBe('approval')
  })

  it('starts nothing while the environment is paused, and says who paused it and why', () => {
    const policy: AdmissionPolicy = {...serial, pause: {level: 'environment', by: 'alice', reason: 'incident 4411'}}
    const decision = decideAdmission([queued(1, '*'), queued(2, ['api'])], policy, 10)
    expect(decision.start).toEqual([])
    for (const id of [1, 2]) {
      expect(decision.waiting.get(id)).toEqual({reason: 'paused', message: 'environment prod is paused by alice: incident 4411'})
    }
  })

  it('says when the control plane is paused', () => {
    const policy: AdmissionPolicy = {...serial, pause: {level: 'control-plane', by: 'ops', reason: 'dc move'}}
    expect(decideAdmission([queued(1, ['api'])], policy, 10).waiting.get(1)).toEqual({reason: 'paused', message: 'the control plane is paused by ops: dc move'})
  })

  it('starts nothing while a freeze holds, and says which one and until when', () => {
    const decision = decideAdmission([queued(1, '*'), queued(2, ['api'])], {...parallel(), freeze: FREEZE}, 10)
    expect(decision.start).toEqual([])
    for (const id of [1, 2]) expect(decision.waiting.get(id)).toEqual({reason: 'freeze', message: FREEZE.message, freeze: 3, until: FREEZE.until})
  })

  it('starts a release that overrides the freeze, past the releases the freeze holds; a pause still holds it', () => {
    const frozen = {...serial, freeze: FREEZE}
    const decision = decideAdmission([queued(1, '*'), queued(2, ['api']), overriding(3, ['api']), overriding(4, ['web'])], frozen, 10)
    // Serial: the override starts, and the next override waits for it, not for the frozen ones.
    expect(decision.start).toEqual([3])
    expect(decision.waiting.get(4)).toMatchObject({reason: 'serial', releases: [3]})
    expect(decision.waiting.get(1)?.reason).toBe('freeze')
    // It still waits for a running release it conflicts with.
    expect(decideAdmission([running(1, ['api']), overriding(2, ['api'])], {...parallel(), freeze: FREEZE}, 10).waiting.get(2)).toMatchObject({reason: 'conflict', releases: [1]})
    const paused = decideAdmission([overriding(1, ['api'])], {...frozen, pause: {level: 'environment', by: 'alice', reason: null}}, 10)
    expect(paused.waiting.get(1)?.reason).toBe('paused')
  })

  it('says when the project is paused, without a reason', () => {
    const policy: AdmissionPolicy = {...parallel(), pause: {level: 'project', by: 'bob', reason: null}}
    const decision = decideAdmission([queued(1, ['api'])], policy, 10)
    expect(decision.waiting.get(1)).toEqual({reason: 'paused', message: 'the project is paused by bob'})
  })

  it('waits for capacity when the engine is full', () => {
    const decision = decideAdmission([queued(1, ['api'])], parallel(), 0)
    expect(decision.start).toEqual([])
    expect(decision.waiting.get(1)).toEqual({reason: 'capacity', message: 'the control plane is running as many releases as it may; waits for one to end'})
  })

  it('uses up the capacity it is given', () => {
    const decision = decideAdmission([queued(1, ['a']), queued(2, ['b']), queued(3, ['c'])], parallel(), 2)
    expect(decision.start).toEqual([1, 2])
    expect(decision.waiting.get(3)?.reason).toBe('capacity')
  })

  it('keeps a capacity-blocked release ahead of later conflicting ones', () => {
    const decision = decideAdmission([queued(1, ['a']), queued(2, ['a'])], parallel(), 0)
    expect(decision.waiting.get(1)?.reason).toBe('capacity')
    expect(decision.waiting.get(2)).toMatchObject({reason: 'conflict', releases: [1]})
  })

  it('serial mode waits for capacity too', () => {
    expect(decideAdmission([queued(1, '*')], serial, 0).waiting.get(1)?.reason).toBe('capacity')
  })
})

describe('decideAdmission: bookkeeping', () => {
  it('has a waiting entry for every release that neither runs nor starts', () => {
    const releases = [running(1, ['a']), pending(2, '*'), queued(3, ['a']), queued(4, ['b']), queued(5, '*')]
    const decision = decideAdmission(releases, parallel(), 10)
    expect(decision.start).toEqual([4])
    expect([...decision.waiting.keys()].sort()).toEqual([2, 3, 5])
  })

  it('is empty for no releases', () => {
    const decision = decideAdmission([], serial, 10)
    expect(decision.start).toEqual([])
    expect(decision.waiting.size).toBe(0)
  })
})
