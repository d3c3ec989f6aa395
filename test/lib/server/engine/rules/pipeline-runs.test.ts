// What a pipeline run does next (issue 13), decided from facts alone: the fifo queue, approval gates
// (once per run), pauses, releases under way, soaks (held while an app is not fine, restarted by any
// change of its apps), failures that stop or roll back, and supersede at a stage's boundary.
import {describe, expect, it} from 'vitest'

import {parseBlueprint} from '../../../../../src/lib/server/blueprint/blueprint.js'
import {planPipeline, type PipelinePlan} from '../../../../../src/lib/server/engine/rules/pipeline-plan.js'
import {type AppFact, decideRun, type ReleaseFact, type RunFacts, type RunLink, type RunState} from '../../../../../src/lib/server/engine/rules/pipeline-runs.js'

const BLUEPRINT = parseBlueprint(
  `project: shop
resources:
  api: { driver: simulate }
  web: { driver: simulate }
environments:
  dev: {}
  staging-eu: {}
  staging-us: {}
  prod: {}
pipelines:
  main:
    stages:
      - environments: [dev]
      - environments: [staging-eu, staging-us]
        order: parallel
        gate: { soak: 10m }
      - environments: [prod]
        gate: { approval: true }
  one-by-one:
    services: sequential
    onFailure: rollback
    stages:
      - environments: [dev]
      - environments: [staging-eu, staging-us]
        order: parallel
      - environments: [prod]
        gate: { approval: true }
`,
  'relctl.yaml',
)

function plan(name: string): PipelinePlan {
  const spec = BLUEPRINT.pipelines.find((candidate) => candidate.name === name)
  if (!spec) throw new Error(name)
  return planPipeline(BLUEPRINT, spec, [
    {name: 'api', version: '1.5.0'},
    {name: 'web', version: '2.1.0'},
  ])
}

const NOW = new Date('2026-06-01T12:00:00.000Z')
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString()

function run(overrides: Partial<RunState> = {}): RunState {
  return {id: 7, status: 'running', step: 0, plan: plan('main'), createdBy: 'ci', approvals: [], supersededBy: null, error: null, rollingBack: false, ...overrides}
}

function facts(overrides: Partial<RunFacts> = {}): RunFacts {
  return {now: NOW, olderActive: null, links: [], releases: new Map(), held: new Map(), apps: [], ...overrides}
}

/** Links and release facts: [step, environment, release id, status, finished minutes ago?, kind?] */
function released(...entries: [number, string, number, ReleaseFact['status'], number?, RunLink['kind']?][]): Pick<RunFacts, 'links' | 'releases'> {
  return {
    links: entries.map(([step, environment, releaseId, , , kind = 'deploy']) => ({step, environment, kind, releaseId, note: null})),
    releases: new Map(
      entries.map(([, , id, status, finished]) => [id, {id, status, error: status === 'failed' ? 'task failed: api' : null, finishedAt: finished === undefined ? null : minutesAgo(finished)}]),
    ),
  }
}

function app(environment: string, name: string, updatedMinutesAgo: number, overrides: Partial<AppFact> = {}): AppFact {
  return {environment, name, sync: 'Synced', health: 'Healthy', stable: true, updatedAt: minutesAgo(updatedMinutesAgo), ...overrides}
}

const stagingApps = (updated = 30) => ['staging-eu', 'staging-us'].flatMap((environment) => ['api', 'web'].map((name) => app(environment, name, updated)))

describe('starting', () => {
  it('fifo: a queued run waits for the older run of its pipeline', () => {
    const decision = decideRun(run({status: 'queued'}), facts({olderActive: 5}))
    expect(decision).toEqual({
      patch: {},
      waiting: {reason: 'queue', message: 'waits for run 5 of pipeline main to end (queue: fifo)', runs: [5]},
      events: [],
      trigger: [],
      rollback: [],
      again: false,
    })
  })

  it('with nothing ahead it starts, and releases its first step', () => {
    const decision = decideRun(run({status: 'queued'}), facts())
    expect(decision.patch).toEqual({status: 'running', startedAt: NOW.toISOString()})
    expect(decision.events).toEqual(['pipeline.started', 'pipeline.stage'])
    expect(decision.trigger).toEqual(['dev'])
    expect(decision.waiting).toMatchObject({reason: 'release'})
  })

  it('a pause holds the environments it covers, and the others of the step are released', () => {
    const decision = decideRun(run({step: 1}), facts({...released([0, 'dev', 1, 'succeeded', 60]), held: new Map([['staging-us', {reason: 'paused', message: 'releases are paused for shop/staging-us by ops'}]])}))
    expect(decision.trigger).toEqual(['staging-eu'])
    expect(decision.waiting).toEqual({reason: 'paused', message: 'staging-us: releases are paused for shop/staging-us by ops'})
    expect(decision.events).toEqual([])
  })
})

describe('releases under way and steps that end', () => {
  it('waits for the releases of its step, naming them', () => {
    const decision = decideRun(run({step: 1}), facts(released([0, 'dev', 1, 'succeeded', 60], [1, 'staging-eu', 2, 'running'], [1, 'staging-us', 3, 'pending_approval'])))
    expect(decision.waiting).toEqual({reason: 'release', message: 'release 2 (staging-eu) running; release 3 (staging-us) pending approval', releases: [2, 3]})
    expect(decision.trigger).toEqual([])
    expect(decision.again).toBe(false)
  })

  it('a step that succeeded everywhere moves the run on (to its next stage: news), and asks for the next step to be looked at', () => {
    const decision = decideRun(run(), facts(released([0, 'dev', 1, 'succeeded', 1])))
    expect(decision.patch).toEqual({step: 1})
    expect(decision.events).toEqual(['pipeline.stage'])
    expect(decision.again).toBe(true)
    // within a stage (environments one after another), no news
    const sequentialStage = planPipeline(BLUEPRINT, {...BLUEPRINT.pipelines[0], stages: [{...BLUEPRINT.pipelines[0].stages[1], order: 'sequential', gate: {soakMs: null, approval: false}}]}, [{name: 'api', version: '1'}])
    const within = decideRun(run({plan: sequentialStage}), facts(released([0, 'staging-eu', 1, 'succeeded', 1])))
    expect(within.patch).toEqual({step: 1})
    expect(within.events).toEqual([])
  })

  it('the last step that succeeded ends the run', () => {
    const decision = decideRun(run({step: 2, approvals: [{stage: 2, by: 'dana', at: NOW.toISOString(), comment: null}]}), facts(released([2, 'prod', 9, 'succeeded', 0])))
    expect(decision.patch).toEqual({status: 'succeeded', finishedAt: NOW.toISOString(), error: null})
    expect(decision.events).toEqual(['pipeline.succeeded'])
  })
})

describe('approval gates', () => {
  it('wait before the stage, for someone other than its creator', () => {
    const decision = decideRun(run({step: 2}), facts())
    expect(decision.waiting).toEqual({
      reason: 'approval',
      stage: 2,
      message: 'waits for approval of stage 3 (prod): relctl pipeline approve 7 (by someone other than ci, who created the run)',
    })
    expect(decision.trigger).toEqual([])
  })

  it('once approved, the stage is released', () => {
    expect(decideRun(run({step: 2, approvals: [{stage: 2, by: 'dana', at: NOW.toISOString(), comment: null}]}), facts()).trigger).toEqual(['prod'])
  })

  it('are asked once per run: with services sequential the second app passes the approved stage without asking again', () => {
    const sequential = plan('one-by-one')
    expect(sequential.steps.map((step) => `${step.service}@${step.stage}`)).toEqual(['api@0', 'api@1', 'api@2', 'web@0', 'web@1', 'web@2'])
    const state = {plan: sequential, approvals: [{stage: 2, by: 'dana', at: NOW.toISOString(), comment: null}]}
    expect(decideRun(run({...state, step: 2, approvals: []}), facts()).waiting?.reason).toBe('approval')
    expect(decideRun(run({...state, step: 5}), facts()).trigger).toEqual(['prod'])
  })
})

describe('soaks', () => {
  const stagingDone = (finished = 30) => released([0, 'dev', 1, 'succeeded', 90], [1, 'staging-eu', 2, 'succeeded', finished], [1, 'staging-us', 3, 'succeeded', finished + 1])

  it('hold the next stage until the apps have been Synced and Healthy for the soak, counted from the stage end', () => {
    const decision = decideRun(run({step: 1}), facts({...stagingDone(4), apps: stagingApps(5)}))
    expect(decision.waiting).toEqual({
      reason: 'soak',
      stage: 1,
      until: minutesAgo(-6),
      message: `soak of stage 2 (staging-eu, staging-us), 10m: its apps are Synced and Healthy since ${minutesAgo(4)}; the next stage starts at ${minutesAgo(-6)} if they stay so`,
    })
    expect(decision.patch).toEqual({})
  })

  it('let the run go on once it has passed', () => {
    const decision = decideRun(run({step: 1}), facts({...stagingDone(11), apps: stagingApps(12)}))
    expect(decision.patch).toEqual({step: 2})
    expect(decision.again).toBe(true)
  })

  it('start again from the last change of an app: one that degraded and recovered 3 minutes ago holds the stage 7 more', () => {
    const apps = stagingApps(40)
    apps[1] = app('staging-eu', 'web', 3)
    const decision = decideRun(run({step: 1}), facts({...stagingDone(40), apps}))
    expect(decision.waiting).toMatchObject({reason: 'soak', until: minutesAgo(-7)})
  })

  it('are held while an app is not Synced and Healthy, or a release touches it', () => {
    const apps = stagingApps(40)
    apps[0] = app('staging-eu', 'api', 1, {health: 'Degraded', stable: false})
    apps[3] = app('staging-us', 'web', 1, {stable: false})
    const decision = decideRun(run({step: 1}), facts({...stagingDone(40), apps}))
    expect(decision.waiting).toEqual({
      reason: 'soak',
      stage: 1,
      message:
        'soak of stage 2 (staging-eu, staging-us) held: api in staging-eu is Synced/Degraded; web in staging-us is Synced/Healthy with a release under way; its 10m start again once every app is Synced and Healthy',
    })
    expect(decision.patch).toEqual({})
  })
})

describe('failures', () => {
  it('onFailure stop: a failed release fails the stage and the run; the next stage never starts', () => {
    const decision = decideRun(run({step: 1}), facts(released([0, 'dev', 1, 'succeeded', 9], [1, 'staging-eu', 2, 'succeeded', 1], [1, 'staging-us', 3, 'failed', 1])))
    expect(decision.patch).toEqual({status: 'failed', finishedAt: NOW.toISOString(), error: 'stage 2 (staging-eu, staging-us) failed: release 3 (staging-us) failed: task failed: api'})
    expect(decision.events).toEqual(['pipeline.failed'])
    expect(decision.trigger).toEqual([])
  })

  it('waits for the other releases of the step before it decides: a failure does not cut a deploy in half', () => {
    const decision = decideRun(run({step: 1}), facts(released([0, 'dev', 1, 'succeeded', 9], [1, 'staging-eu', 2, 'running'], [1, 'staging-us', 3, 'failed', 1])))
    expect(decision.patch).toEqual({})
    expect(decision.waiting).toMatchObject({reason: 'release', releases: [2]})
  })

  it('a release the control plane refused to make fails the step with its reason', () => {
    const decision = decideRun(run(), facts({links: [{step: 0, environment: 'dev', kind: 'deploy', releaseId: null, note: 'could not release: web was removed from the blueprint'}]}))
    expect(decision.patch.status).toBe('failed')
    expect(decision.patch.error).toBe('stage 1 (dev) failed: dev: could not release: web was removed from the blueprint')
  })

  it('onFailure rollback: every release of the failed pass is rolled back, newest first; the run fails once they have ended', () => {
    const sequential = plan('one-by-one')
    // api: dev (step 0) done; api in staging (step 1): staging-eu succeeded, staging-us failed.
    const failing = released([0, 'dev', 1, 'succeeded', 9], [1, 'staging-eu', 2, 'succeeded', 1], [1, 'staging-us', 3, 'failed', 1])
    const first = decideRun(run({plan: sequential, step: 1}), facts(failing))
    const error = 'stage 2 (staging-eu, staging-us) failed: release 3 (staging-us) failed: task failed: api'
    expect(first.patch).toEqual({error, rollingBack: true})
    expect(first.rollback).toEqual([
      {step: 1, environment: 'staging-us', releaseId: 3},
      {step: 1, environment: 'staging-eu', releaseId: 2},
    ])
    expect(first.waiting).toEqual({reason: 'rollback', message: `rolls back stage 2 (staging-eu, staging-us) after: ${error}`})

    const rolling = {...run({plan: sequential, step: 1}), error, rollingBack: true}
    const underWay = released([0, 'dev', 1, 'succeeded', 9], [1, 'staging-eu', 2, 'succeeded', 1], [1, 'staging-us', 3, 'failed', 1], [1, 'staging-eu', 4, 'running', undefined, 'rollback'])
    underWay.links.push({step: 1, environment: 'staging-us', kind: 'rollback', releaseId: null, note: 'not rolled back: release 3 changed nothing; there is nothing to roll back'})
    const second = decideRun(rolling, facts(underWay))
    expect(second.rollback).toEqual([])
    expect(second.waiting).toMatchObject({reason: 'rollback', releases: [4]})
    expect(second.patch).toEqual({})

    const ended = released([0, 'dev', 1, 'succeeded', 9], [1, 'staging-eu', 2, 'succeeded', 1], [1, 'staging-us', 3, 'failed', 1], [1, 'staging-eu', 4, 'succeeded', 0, 'rollback'])
    ended.links.push(underWay.links[4])
    const last = decideRun(rolling, facts(ended))
    expect(last.patch).toEqual({
      status: 'failed',
      finishedAt: NOW.toISOString(),
      error: `${error}; rollbacks: staging-us: not rolled back: release 3 changed nothing; there is nothing to roll back; release 4 (staging-eu) succeeded`,
    })
    expect(last.events).toEqual(['pipeline.failed'])
  })
})

describe('supersede', () => {
  it('a superseded run finishes the stage it is in, and starts no other', () => {
    const superseded = {supersededBy: 9}
    // mid-stage: the step's releases go on
    expect(decideRun(run({...superseded, step: 1}), facts(released([0, 'dev', 1, 'succeeded', 1], [1, 'staging-eu', 2, 'running']))).waiting).toMatchObject({reason: 'release'})
    // its stage done: no soak, no next stage
    const done = decideRun(run({...superseded, step: 1}), facts({...released([0, 'dev', 1, 'succeeded', 9], [1, 'staging-eu', 2, 'succeeded', 1], [1, 'staging-us', 3, 'succeeded', 1]), apps: stagingApps(1)}))
    expect(done.patch).toEqual({status: 'superseded', finishedAt: NOW.toISOString(), error: 'run 9 replaced it (queue: supersede)'})
    expect(done.events).toEqual(['pipeline.superseded'])
    // waiting at a gate: ends at once
    expect(decideRun(run({...superseded, step: 2}), facts()).patch.status).toBe('superseded')
    // its last stage done: it succeeded
    expect(decideRun(run({...superseded, step: 2, approvals: [{stage: 2, by: 'dana', at: NOW.toISOString(), comment: null}]}), facts(released([2, 'prod', 5, 'succeeded', 0]))).patch.status).toBe('succeeded')
  })
})
