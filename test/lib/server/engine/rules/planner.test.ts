// The planner is pure: blueprint + environment + a release's resources -> an ordered plan. These tests
// build the inputs by hand (no parsing, no I/O) and check edges and levels for the orders of issue 5.
import {describe, expect, it} from 'vitest'

import type {ReleaseResource} from '../../../../../src/lib/api/schemas.js'
import type {Blueprint, EnvironmentSpec, ResourceSpec, RolloutOrder, WorkflowStep} from '../../../../../src/lib/server/blueprint/blueprint.js'
import {describeOrder, type Plan, type PlannedTask, planRelease} from '../../../../../src/lib/server/engine/rules/planner.js'
import {simulateResource as resource} from '../../../../helpers/blueprint.js'


function blueprint(resources: ResourceSpec[], workflow: WorkflowStep[] = []): Blueprint {
  return {project: 'shop', resources, environments: [], workflow}
}

function environment(
  targets: string[] = [],
  rollout: {services?: RolloutOrder; targets?: RolloutOrder} = {},
  hooks: {beforeTarget?: string; afterTarget?: string} = {},
): EnvironmentSpec {
  return {
    name: 'prod',
    targets,
    rollout: {services: rollout.services ?? 'parallel', targets: rollout.targets ?? 'parallel'},
    hooks: {beforeTarget: hooks.beforeTarget ?? null, afterTarget: hooks.afterTarget ?? null},
  }
}

const update = (name: string, from = '1.0.0', to = '2.0.0'): ReleaseResource => ({name, action: 'update', fromVersion: from, toVersion: to})
const create = (name: string, to = '1.0.0'): ReleaseResource => ({name, action: 'create', fromVersion: null, toVersion: to})
const remove = (name: string, from = '1.0.0'): ReleaseResource => ({name, action: 'delete', fromVersion: from, toVersion: null})

const step = (name: string, tasks: string[], flags: {waitForFinish?: boolean; haltOnError?: boolean} = {}): WorkflowStep => ({
  step: name,
  tasks,
  waitForFinish: flags.waitForFinish ?? true,
  haltOnError: flags.haltOnError ?? false,
})

function task(plan: Plan, key: string): PlannedTask {
  const found = plan.tasks.find((candidate) => candidate.key === key)
  if (!found) throw new Error(`no task ${key} in ${plan.tasks.map((t) => t.key).join(', ')}`)
  return found
}

/** key -> level, for every task of the plan */
const levels = (plan: Plan) => Object.fromEntries(plan.tasks.map((t) => [t.key, t.level]))

/** The keys of each level, level 0 first; each level sorted. */
function byLevel(plan: Plan): string[][] {
  const result: string[][] = []
  for (const t of plan.tasks) (result[t.level] ??= []).push(t.key)
  return result.map((keys) => [...keys].sort())
}

/** Every edge points at a task of the plan, and every task comes at a higher level than what it waits for. */
function expectConsistent(plan: Plan) {
  const keys = new Set(plan.tasks.map((t) => t.key))
  expect(keys.size).toBe(plan.tasks.length)
  for (const t of plan.tasks) {
    for (const edge of [...t.requires, ...t.after]) {
      expect(keys.has(edge), `${t.key} -> ${edge}`).toBe(true)
      expect(task(plan, edge).level, `${t.key} -> ${edge}`).toBeLessThan(t.level)
    }
  }
  // tasks are listed level by level
  const listed = plan.tasks.map((t) => t.level)
  expect(listed).toEqual([...listed].sort((a, b) => a - b))
}

const TWO = blueprint([resource('s1'), resource('s2')])
const BOTH = [update('s1'), update('s2')]
const TARGETS = ['i1', 'i2']

function plan2(rollout: {services?: RolloutOrder; targets?: RolloutOrder}, extra: Partial<Parameters<typeof planRelease>[0]> = {}) {
  const plan = planRelease({blueprint: TWO, environment: environment(TARGETS, rollout), resources: BOTH, ...extra})
  expectConsistent(plan)
  return plan
}

describe('planRelease: the four rollout orders (services S1, S2 × targets I1, I2)', () => {
  it('one task per resource × target, keyed resource@target, carrying the action and versions', () => {
    const plan = plan2({})
    expect(plan.targets).toEqual(['i1', 'i2'])
    expect(plan.tasks.map((t) => t.key).sort()).toEqual(['s1@i1', 's1@i2', 's2@i1', 's2@i2'])
    for (const t of plan.tasks) {
      expect(t.kind).toBe('deploy')
      expect(t.hook).toBeNull()
      expect(t.step).toBeNull()
      expect(t.action).toBe('update')
      expect(t.fromVersion).toBe('1.0.0')
      expect(t.toVersion).toBe('2.0.0')
      expect(t.key).toBe(`${t.resource}@${t.target}`)
    }
  })

  it('defaults: services parallel, targets parallel', () => {
    const plan = plan2({})
    expect(plan.rollout).toEqual({services: 'parallel', targets: 'parallel'})
  })

  it('sequential services × sequential targets: S1@I1, S2@I1, S1@I2, S2@I2, one at a time', () => {
    const plan = plan2({services: 'sequential', targets: 'sequential'})
    expect(plan.rollout).toEqual({services: 'sequential', targets: 'sequential'})
    expect(levels(plan)).toEqual({'s1@i1': 0, 's2@i1': 1, 's1@i2': 2, 's2@i2': 3})
    expect(plan.tasks.map((t) => t.key)).toEqual(['s1@i1', 's2@i1', 's1@i2', 's2@i2'])
    expect(task(plan, 's2@i1').after).toContain('s1@i1')
    // the second target waits for all of the first, and each resource needs its success on I1
    expect(task(plan, 's1@i2').after).toEqual(expect.arrayContaining(['s1@i1', 's2@i1']))
    expect(task(plan, 's1@i2').requires).toEqual(['s1@i1'])
    expect(task(plan, 's2@i2').requires).toEqual(['s2@i1'])
    expect(task(plan, 's2@i2').after).toContain('s1@i2')
    expect(describeOrder(plan)).toBe('s1@i1 | s2@i1 | s1@i2 | s2@i2')
  })

  it('parallel services × sequential targets: S1@I1 and S2@I1 together, then both on I2', () => {
    const plan = plan2({services: 'parallel', targets: 'sequential'})
    expect(levels(plan)).toEqual({'s1@i1': 0, 's2@i1': 0, 's1@i2': 1, 's2@i2': 1})
    expect(task(plan, 's1@i1').after).toEqual([])
    expect(task(plan, 's2@i1').after).toEqual([])
    expect(task(plan, 's1@i2').after.sort()).toEqual(['s1@i1', 's2@i1'])
    expect(task(plan, 's2@i2').after.sort()).toEqual(['s1@i1', 's2@i1'])
    expect(describeOrder(plan)).toBe('s1@i1, s2@i1 | s1@i2, s2@i2')
  })

  it('sequential services × parallel targets: S1 on I1 and I2 together, then S2 on both', () => {
    const plan = plan2({services: 'sequential', targets: 'parallel'})
    expect(levels(plan)).toEqual({'s1@i1': 0, 's1@i2': 0, 's2@i1': 1, 's2@i2': 1})
    // S2 waits for S1 on every target, and nothing on I2 needs I1
    expect(task(plan, 's2@i1').after.sort()).toEqual(['s1@i1', 's1@i2'])
    expect(task(plan, 's2@i2').after.sort()).toEqual(['s1@i1', 's1@i2'])
    for (const t of plan.tasks) expect(t.requires).toEqual([])
    expect(describeOrder(plan)).toBe('s1@i1, s1@i2 | s2@i1, s2@i2')
  })

  it('parallel services × parallel targets: all four at once', () => {
    const plan = plan2({services: 'parallel', targets: 'parallel'})
    expect(levels(plan)).toEqual({'s1@i1': 0, 's2@i1': 0, 's1@i2': 0, 's2@i2': 0})
    for (const t of plan.tasks) {
      expect(t.requires).toEqual([])
      expect(t.after).toEqual([])
    }
    expect(byLevel(plan)).toEqual([['s1@i1', 's1@i2', 's2@i1', 's2@i2']])
  })

  it('a one-off targetOrder overrides the environment: sequential -> parallel', () => {
    const plan = plan2({services: 'parallel', targets: 'sequential'}, {targetOrder: 'parallel'})
    expect(plan.rollout).toEqual({services: 'parallel', targets: 'parallel'})
    expect(byLevel(plan)).toEqual([['s1@i1', 's1@i2', 's2@i1', 's2@i2']])
  })

  it('a one-off targetOrder overrides the environment: parallel -> sequential', () => {
    const plan = plan2({services: 'parallel', targets: 'parallel'}, {targetOrder: 'sequential'})
    expect(plan.rollout).toEqual({services: 'parallel', targets: 'sequential'})
    expect(byLevel(plan)).toEqual([
      ['s1@i1', 's2@i1'],
      ['s1@i2', 's2@i2'],
    ])
  })

  it('without targets each resource has one task, keyed by its name', () => {
    const plan = planRelease({blueprint: TWO, environment: environment(), resources: BOTH})
    expectConsistent(plan)
    expect(plan.targets).toEqual([])
    expect(plan.tasks.map((t) => [t.key, t.target, t.level])).toEqual([
      ['s1', null, 0],
      ['s2', null, 0],
    ])
    const sequential = planRelease({blueprint: TWO, environment: environment([], {services: 'sequential'}), resources: BOTH})
    expect(levels(sequential)).toEqual({s1: 0, s2: 1})
    expect(task(sequential, 's2').after).toEqual(['s1'])
  })

  it('a resource that fails on I1 is not deployed on I2: S@I2 requires S@I1 (sequential targets)', () => {
    for (const services of ['parallel', 'sequential'] as const) {
      const plan = plan2({services, targets: 'sequential'})
      expect(task(plan, 's1@i2').requires).toContain('s1@i1')
      expect(task(plan, 's2@i2').requires).toContain('s2@i1')
      // but not on the other resource: a failure of S1 does not skip S2 on I2
      expect(task(plan, 's2@i2').requires).not.toContain('s1@i1')
      expect(task(plan, 's1@i1').requires).toEqual([])
    }
  })

  it('three targets in sequence: each target waits for the one before, not only the first', () => {
    const plan = planRelease({blueprint: TWO, environment: environment(['i1', 'i2', 'i3'], {targets: 'sequential'}), resources: BOTH})
    expectConsistent(plan)
    expect(byLevel(plan)).toEqual([
      ['s1@i1', 's2@i1'],
      ['s1@i2', 's2@i2'],
      ['s1@i3', 's2@i3'],
    ])
    expect(task(plan, 's1@i3').requires).toEqual(['s1@i2'])
  })
})

describe('planRelease: target hooks', () => {
  const hooks = {beforeTarget: './lb-remove.sh', afterTarget: './lb-add.sh'}

  it('a sequential target rollout runs beforeTarget, the deploys on that target, then afterTarget, target by target', () => {
    const plan = planRelease({blueprint: TWO, environment: environment(TARGETS, {targets: 'sequential'}, hooks), resources: BOTH})
    expectConsistent(plan)
    expect(plan.hooks).toEqual({beforeTarget: './lb-remove.sh', afterTarget: './lb-add.sh', run: true})
    expect(plan.notes).toEqual([])
    expect(byLevel(plan)).toEqual([
      ['beforeTarget@i1'],
      ['s1@i1', 's2@i1'],
      ['afterTarget@i1'],
      ['beforeTarget@i2'],
      ['s1@i2', 's2@i2'],
      ['afterTarget@i2'],
    ])
    const before1 = task(plan, 'beforeTarget@i1')
    expect(before1).toMatchObject({kind: 'hook', hook: 'beforeTarget', resource: null, target: 'i1', step: null, requires: [], after: []})
    expect(plan.tasks[0].key).toBe('beforeTarget@i1')
    // deploys on I1 require the hook: a failed beforeTarget skips the target
    expect(task(plan, 's1@i1').requires).toEqual(['beforeTarget@i1'])
    expect(task(plan, 's2@i1').requires).toEqual(['beforeTarget@i1'])
    // afterTarget comes after the deploys on its target, with `after` edges (it runs even when they fail)
    const after1 = task(plan, 'afterTarget@i1')
    expect(after1).toMatchObject({kind: 'hook', hook: 'afterTarget', target: 'i1', requires: []})
    expect(after1.after).toEqual(expect.arrayContaining(['beforeTarget@i1', 's1@i1', 's2@i1']))
    // beforeTarget on I2 comes after everything on I1, the afterTarget hook included
    expect(task(plan, 'beforeTarget@i2').after.sort()).toEqual(['afterTarget@i1', 'beforeTarget@i1', 's1@i1', 's2@i1'])
    expect(task(plan, 'beforeTarget@i2').requires).toEqual([])
    expect(task(plan, 's1@i2').requires.sort()).toEqual(['beforeTarget@i2', 's1@i1'])
    expect(describeOrder(plan)).toBe('beforeTarget@i1 | s1@i1, s2@i1 | afterTarget@i1 | beforeTarget@i2 | s1@i2, s2@i2 | afterTarget@i2')
  })

  it('only afterTarget: it follows the deploys of its target, and the next target follows it', () => {
    const plan = planRelease({blueprint: TWO, environment: environment(TARGETS, {targets: 'sequential'}, {afterTarget: './lb-add.sh'}), resources: BOTH})
    expectConsistent(plan)
    expect(plan.hooks.run).toBe(true)
    expect(plan.tasks.some((t) => t.hook === 'beforeTarget')).toBe(false)
    expect(byLevel(plan)).toEqual([['s1@i1', 's2@i1'], ['afterTarget@i1'], ['s1@i2', 's2@i2'], ['afterTarget@i2']])
    expect(task(plan, 's1@i2').requires).toEqual(['s1@i1'])
    expect(task(plan, 's1@i2').after).toContain('afterTarget@i1')
  })

  it('a parallel target rollout plans no hooks and says why', () => {
    const plan = planRelease({blueprint: TWO, environment: environment(TARGETS, {targets: 'parallel'}, hooks), resources: BOTH})
    expectConsistent(plan)
    expect(plan.tasks.every((t) => t.kind === 'deploy')).toBe(true)
    expect(plan.hooks).toEqual({beforeTarget: './lb-remove.sh', afterTarget: './lb-add.sh', run: false})
    expect(plan.notes).toHaveLength(1)
    expect(plan.notes[0]).toMatch(/target hooks do not run: targets roll out in parallel/)
  })

  it('the --parallel override of a sequential environment drops the hooks too', () => {
    const plan = planRelease({blueprint: TWO, environment: environment(TARGETS, {targets: 'sequential'}, hooks), resources: BOTH, targetOrder: 'parallel'})
    expect(plan.hooks.run).toBe(false)
    expect(plan.tasks.some((t) => t.kind === 'hook')).toBe(false)
    expect(plan.notes.join('\n')).toMatch(/do not run/)
  })

  it('an empty release plans nothing, not even target hooks (README: "runs with zero tasks")', () => {
    // A full release with everything in sync must not take every target out of the load balancer for nothing.
    const plan = planRelease({blueprint: TWO, environment: environment(TARGETS, {targets: 'sequential'}, {beforeTarget: './x.sh', afterTarget: './y.sh'}), resources: []})
    expect(plan.tasks).toEqual([])
    expect(describeOrder(plan)).toBe('')
  })

  it('no hooks declared: no hook tasks and no note', () => {
    const plan = plan2({targets: 'parallel'})
    expect(plan.hooks).toEqual({beforeTarget: null, afterTarget: null, run: false})
    expect(plan.notes).toEqual([])
  })
})

describe('planRelease: workflow steps', () => {
  // web | migrate-db, scrub (halts) | api, worker; cache in no step
  const resources = ['web', 'migrate-db', 'scrub', 'api', 'worker', 'cache'].map((name) => resource(name))
  const workflow = [
    step('frontend', ['web'], {waitForFinish: false}),
    step('migrate', ['migrate-db', 'scrub'], {haltOnError: true}),
    step('backend', ['api', 'worker']),
  ]
  const bp = blueprint(resources, workflow)
  const all = ['web', 'migrate-db', 'scrub', 'api', 'worker', 'cache'].map((name) => update(name))

  it('tasks of a step come after the tasks of the nearest earlier step that waits for finish; none after a step that does not', () => {
    const plan = planRelease({blueprint: bp, environment: environment(), resources: all})
    expectConsistent(plan)
    expect(plan.steps.map((s) => [s.step, s.waitForFinish, s.haltOnError, s.resources])).toEqual([
      ['frontend', false, false, ['web']],
      ['migrate', true, true, ['migrate-db', 'scrub']],
      ['backend', true, false, ['api', 'worker']],
      ['(after the workflow)', true, false, ['cache']],
    ])
    expect(task(plan, 'web').after).toEqual([])
    // frontend does not wait for finish: migrate starts with it
    expect(task(plan, 'migrate-db').after).toEqual([])
    expect(task(plan, 'scrub').after).toEqual([])
    expect(task(plan, 'api').after.sort()).toEqual(['migrate-db', 'scrub'])
    expect(task(plan, 'worker').after.sort()).toEqual(['migrate-db', 'scrub'])
    // only the nearest barrier: api and worker came after migrate in turn
    expect(task(plan, 'cache').after.sort()).toEqual(['api', 'worker'])
    // step barriers are `after` edges: a failure is reported and the release goes on
    for (const t of plan.tasks) expect(t.requires).toEqual([])
    expect(Object.fromEntries(plan.tasks.map((t) => [t.key, t.step]))).toEqual({
      web: 'frontend',
      'migrate-db': 'migrate',
      scrub: 'migrate',
      api: 'backend',
      worker: 'backend',
      cache: '(after the workflow)',
    })
    expect(levels(plan)).toEqual({web: 0, 'migrate-db': 0, scrub: 0, api: 1, worker: 1, cache: 2})
    expect(describeOrder(plan)).toBe('web, migrate-db, scrub | api, worker | cache')
  })

  it('resources in no step go in a final step, with a note', () => {
    const plan = planRelease({blueprint: bp, environment: environment(), resources: all})
    expect(plan.steps.at(-1)).toEqual({step: '(after the workflow)', waitForFinish: true, haltOnError: false, resources: ['cache']})
    expect(plan.notes).toEqual(['cache is in no workflow step: deployed after the last step'])

    const two = blueprint([...resources, resource('mail')], workflow)
    const more = planRelease({blueprint: two, environment: environment(), resources: [...all, update('mail')]})
    expect(more.steps.at(-1)?.resources).toEqual(['cache', 'mail'])
    expect(more.notes).toEqual(['cache, mail are in no workflow step: deployed after the last step'])
  })

  it('when every resource is in a step there is no final step and no note', () => {
    const plan = planRelease({blueprint: bp, environment: environment(), resources: all.filter((r) => r.name !== 'cache')})
    expect(plan.steps.map((s) => s.step)).toEqual(['frontend', 'migrate', 'backend'])
    expect(plan.notes).toEqual([])
  })

  it('each step waits only for the nearest earlier step that waits for finish: edges grow with the steps, not with their square', () => {
    // 40 steps of 50 resources: each task comes after the 50 tasks of the step before it, no further back
    const names = (stepIndex: number) => Array.from({length: 50}, (_, index) => `s${stepIndex}r${index}`)
    const stepNames = Array.from({length: 40}, (_, index) => names(index))
    const many = blueprint(
      stepNames.flat().map((name) => resource(name)),
      stepNames.map((members, index) => step(`step${index}`, members)),
    )
    const plan = planRelease({blueprint: many, environment: environment(), resources: stepNames.flat().map((name) => update(name))})
    expect(plan.tasks).toHaveLength(2000)
    expect(plan.tasks.reduce((edges, t) => edges + t.after.length, 0)).toBe(39 * 50 * 50)
    expect(task(plan, 's7r3').after).toEqual(names(6))
    expect(task(plan, 's0r0').after).toEqual([])
    // the order is as before: one level per step
    expect(task(plan, 's39r49').level).toBe(39)
  })

  it('a step that does not wait for finish is no barrier: the next step waits for the barrier before it', () => {
    const flow = [step('a', ['web']), step('b', ['api'], {waitForFinish: false}), step('c', ['worker'])]
    const plan = planRelease({blueprint: blueprint(['web', 'api', 'worker'].map((name) => resource(name)), flow), environment: environment(), resources: ['web', 'api', 'worker'].map((name) => update(name))})
    expect(task(plan, 'api').after).toEqual(['web'])
    expect(task(plan, 'worker').after).toEqual(['web'])
  })

  it('a step whose resources are all outside the release is left out, and the next step does not wait for it', () => {
    const plan = planRelease({blueprint: bp, environment: environment(), resources: [update('web'), update('api')]})
    expectConsistent(plan)
    expect(plan.steps.map((s) => s.step)).toEqual(['frontend', 'backend'])
    // frontend does not wait for finish, so api starts with web
    expect(levels(plan)).toEqual({web: 0, api: 0})
  })

  it('a custom release selects only its steps, in workflow order, and adds no final step', () => {
    const plan = planRelease({
      blueprint: bp,
      environment: environment(),
      resources: [update('api'), update('worker'), update('migrate-db'), update('scrub')],
      steps: ['backend', 'migrate'],
    })
    expectConsistent(plan)
    expect(plan.steps.map((s) => s.step)).toEqual(['migrate', 'backend'])
    expect(plan.notes).toEqual([])
    expect(plan.tasks.map((t) => t.key).sort()).toEqual(['api', 'migrate-db', 'scrub', 'worker'])
    expect(task(plan, 'api').after.sort()).toEqual(['migrate-db', 'scrub'])
    expect(byLevel(plan)).toEqual([
      ['migrate-db', 'scrub'],
      ['api', 'worker'],
    ])
  })

  it('sequential services inside a workflow: one resource at a time, in step order', () => {
    const plan = planRelease({blueprint: bp, environment: environment([], {services: 'sequential'}), resources: all})
    expectConsistent(plan)
    expect(byLevel(plan)).toEqual([['web'], ['migrate-db'], ['scrub'], ['api'], ['worker'], ['cache']])
  })

  it('with sequential targets, step barriers hold per target; with parallel targets, across every target', () => {
    const small = blueprint([resource('a'), resource('b')], [step('one', ['a']), step('two', ['b'])])
    const sequential = planRelease({blueprint: small, environment: environment(TARGETS, {targets: 'sequential'}), resources: [update('a'), update('b')]})
    expectConsistent(sequential)
    expect(task(sequential, 'b@i1').after).toEqual(['a@i1'])
    expect(byLevel(sequential)).toEqual([['a@i1'], ['b@i1'], ['a@i2'], ['b@i2']])

    const parallel = planRelease({blueprint: small, environment: environment(TARGETS, {targets: 'parallel'}), resources: [update('a'), update('b')]})
    expectConsistent(parallel)
    expect(task(parallel, 'b@i1').after.sort()).toEqual(['a@i1', 'a@i2'])
    expect(task(parallel, 'b@i2').after.sort()).toEqual(['a@i1', 'a@i2'])
    expect(byLevel(parallel)).toEqual([
      ['a@i1', 'a@i2'],
      ['b@i1', 'b@i2'],
    ])
  })

  it('a workflow ignores dependsOn: the steps give the order', () => {
    const withDeps = blueprint([resource('a', ['b']), resource('b')], [step('one', ['a']), step('two', ['b'])])
    const plan = planRelease({blueprint: withDeps, environment: environment(), resources: [update('a'), update('b')]})
    expect(task(plan, 'a').requires).toEqual([])
    expect(task(plan, 'b').after).toEqual(['a'])
  })
})

describe('planRelease: dependsOn without a workflow', () => {
  // db <- api <- web; cache alone
  const bp = blueprint([resource('db'), resource('api', ['db']), resource('web', ['api']), resource('cache')])

  it('dependsOn gives `requires` edges: a deploy waits for what it needs to succeed', () => {
    const plan = planRelease({blueprint: bp, environment: environment(), resources: [update('web'), update('api'), update('db'), update('cache')]})
    expectConsistent(plan)
    expect(plan.steps).toEqual([])
    expect(task(plan, 'db').requires).toEqual([])
    expect(task(plan, 'api').requires).toEqual(['db'])
    expect(task(plan, 'web').requires).toEqual(['api'])
    expect(task(plan, 'cache').requires).toEqual([])
    for (const t of plan.tasks) expect(t.after).toEqual([])
    expect(levels(plan)).toEqual({db: 0, cache: 0, api: 1, web: 2})
    // dependencies first, ties by name
    expect(plan.tasks.map((t) => t.key)).toEqual(['cache', 'db', 'api', 'web'])
    expect(describeOrder(plan)).toBe('cache, db | api | web')
  })

  it('through resources that are not in the release', () => {
    const plan = planRelease({blueprint: bp, environment: environment(), resources: [update('web'), update('db')]})
    expectConsistent(plan)
    expect(task(plan, 'web').requires).toEqual(['db'])
    expect(levels(plan)).toEqual({db: 0, web: 1})
  })

  it('within a target: web@i1 requires db@i1, never db@i2', () => {
    const plan = planRelease({blueprint: bp, environment: environment(TARGETS, {targets: 'parallel'}), resources: [update('web'), update('db')]})
    expectConsistent(plan)
    expect(task(plan, 'web@i1').requires).toEqual(['db@i1'])
    expect(task(plan, 'web@i2').requires).toEqual(['db@i2'])
    expect(byLevel(plan)).toEqual([
      ['db@i1', 'db@i2'],
      ['web@i1', 'web@i2'],
    ])
  })

  it('deletes go the other way: a resource is deleted after what depends on it', () => {
    const plan = planRelease({blueprint: bp, environment: environment(), resources: [remove('db'), remove('api'), remove('web')]})
    expectConsistent(plan)
    expect(task(plan, 'web').requires).toEqual([])
    expect(task(plan, 'api').requires).toEqual(['web'])
    expect(task(plan, 'db').requires).toEqual(['api'])
    expect(levels(plan)).toEqual({web: 0, api: 1, db: 2})
    expect(plan.tasks.every((t) => t.action === 'delete' && t.toVersion === null)).toBe(true)
  })

  it('a delete and a deploy are not tied by dependsOn; deletes are listed last', () => {
    const plan = planRelease({blueprint: bp, environment: environment(), resources: [remove('db'), create('web')]})
    expectConsistent(plan)
    expect(task(plan, 'web').requires).toEqual([])
    expect(task(plan, 'db').requires).toEqual([])
    expect(plan.tasks.map((t) => t.key)).toEqual(['web', 'db'])
  })

  it('sequential services follow the dependency order', () => {
    const plan = planRelease({blueprint: bp, environment: environment([], {services: 'sequential'}), resources: [update('web'), update('api'), update('db'), update('cache')]})
    expectConsistent(plan)
    expect(byLevel(plan)).toEqual([['cache'], ['db'], ['api'], ['web']])
  })
})

describe('describeOrder', () => {
  it('joins the keys of a level with ", " and the levels with " | "', () => {
    const plan = plan2({services: 'sequential', targets: 'parallel'})
    expect(describeOrder(plan)).toBe('s1@i1, s1@i2 | s2@i1, s2@i2')
  })

  it('an empty plan is an empty string', () => {
    const plan = planRelease({blueprint: TWO, environment: environment(), resources: []})
    expect(plan.tasks).toEqual([])
    expect(describeOrder(plan)).toBe('')
  })

  it('planRelease does not change its input', () => {
    const input = {blueprint: TWO, environment: environment(TARGETS, {targets: 'sequential'}, {beforeTarget: './b.sh'}), resources: BOTH}
    const copy = structuredClone(input)
    planRelease(input)
    planRelease(input)
    expect(input).toEqual(copy)
  })
})
