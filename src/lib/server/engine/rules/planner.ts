// The planner: blueprint + environment + a release's resources -> an ordered plan of tasks. Pure.
//
// Each resource deploys once per target (once when the environment has none). Two kinds of edge order
// the tasks: `requires` (start only after it succeeded, else skip) and `after` (start only after it
// ended, however it ended). dependsOn gives `requires` within a target; workflow steps give `after`
// barriers (a failure is reported and the release goes on, unless the step halts on error); a
// sequential target rollout goes target by target, where a resource that failed on one target is not
// deployed to the next, and runs the beforeTarget and afterTarget hooks around each target.
import type {Action} from '../../../api/domain.js'
import {setImmediate as nextTurn} from 'node:timers/promises'

import type {ReleaseResource} from '../../../api/schemas.js'
import type {Blueprint, EnvironmentSpec, RolloutOrder} from '../../blueprint/blueprint.js'
import {dependencyGraph, type DependencyGraph} from './locks.js'
import {longestChains, nearestMembers, resourceGraph, type ResourceGraph} from './resource-graph.js'
import {assignLevels} from './task-levels.js'

export type HookName = 'beforeTarget' | 'afterTarget'

export interface PlannedTask {
  /** unique in the release: "api", "api@eu-1", "beforeTarget@eu-1" */
  key: string
  kind: 'deploy' | 'hook'
  resource: string | null
  hook: HookName | null
  target: string | null
  step: string | null
  action: Action
  fromVersion: string | null
  toVersion: string | null
  requires: string[]
  after: string[]
  /** the longest chain of edges below it: tasks of one level may run together */
  level: number
}

export interface PlanStep {
  step: string
  waitForFinish: boolean
  haltOnError: boolean
  resources: string[]
}

export interface Plan {
  rollout: {services: RolloutOrder; targets: RolloutOrder}
  targets: string[]
  steps: PlanStep[]
  hooks: {beforeTarget: string | null; afterTarget: string | null; run: boolean}
  tasks: PlannedTask[]
  notes: string[]
}

export interface PlanInput {
  blueprint: Blueprint
  environment: EnvironmentSpec
  resources: ReleaseResource[]
  /** a one-off override of the target axis (--serial / --parallel) */
  targetOrder?: RolloutOrder
  /** a custom release: only these workflow steps */
  steps?: string[]
}

export function graphOf(blueprint: Blueprint): DependencyGraph {
  return dependencyGraph(blueprint.resources)
}

/** Edge lists up to this long are searched; longer ones are indexed. */
const SHORT_LIST = 16

const taskKey = (name: string, target: string | null) => (target === null ? name : `${name}@${target}`)

/** Stages: workflow steps in order (then what no step names), or none when dependsOn orders. */
function stagesOf(input: PlanInput, notes: string[]): {steps: PlanStep[]; stageOf: Map<string, number>} {
  const steps: PlanStep[] = []
  const stageOf = new Map<string, number>()
  const {workflow} = input.blueprint
  if (workflow.length === 0) return {steps, stageOf}
  const released = new Set(input.resources.map((resource) => resource.name))
  const chosenSteps = input.steps ? new Set(input.steps) : null
  for (const step of workflow) {
    if (chosenSteps && !chosenSteps.has(step.step)) continue
    const resources = step.tasks.filter((name) => released.has(name))
    if (resources.length === 0) continue
    for (const name of resources) stageOf.set(name, steps.length)
    steps.push({step: step.step, waitForFinish: step.waitForFinish, haltOnError: step.haltOnError, resources})
  }
  const unplaced = input.resources.map((resource) => resource.name).filter((name) => !stageOf.has(name))
  if (unplaced.length > 0 && !input.steps) {
    notes.push(`${unplaced.join(', ')} ${unplaced.length > 1 ? 'are' : 'is'} in no workflow step: deployed after the last step`)
    for (const name of unplaced) stageOf.set(name, steps.length)
    steps.push({step: '(after the workflow)', waitForFinish: true, haltOnError: false, resources: unplaced})
  }
  return {steps, stageOf}
}

/**
 * How many tasks planRelease would plan, without planning: one per deployed resource and target, and
 * the target hooks of a sequential target rollout. For refusing a plan over the cap before building it.
 */
export function plannedTaskCount(input: PlanInput): {tasks: number; resources: number; targets: number} {
  const {steps} = stagesOf(input, [])
  const resources = steps.length > 0 ? steps.reduce((sum, step) => sum + step.resources.length, 0) : input.resources.length
  const {environment} = input
  const targets = Math.max(1, environment.targets.length)
  const sequentialTargets = (input.targetOrder ?? environment.rollout.targets) === 'sequential' && environment.targets.length > 0
  const hooksPerTarget = sequentialTargets && resources > 0 ? Number(Boolean(environment.hooks.beforeTarget)) + Number(Boolean(environment.hooks.afterTarget)) : 0
  return {tasks: resources * targets + hooksPerTarget * environment.targets.length, resources, targets}
}

/** Plans in one go. */
export function planRelease(input: PlanInput): Plan {
  const planning = plan(input)
  for (;;) {
    const next = planning.next()
    if (next.done) return next.value
  }
}

/**
 * Plans in turns: a plan at the cap takes longer than a request should wait for the event loop, so
 * timers and requests run between slices of it. Same plan as planRelease.
 */
export async function planReleaseInTurns(input: PlanInput): Promise<Plan> {
  const planning = plan(input)
  for (;;) {
    const next = planning.next()
    if (next.done) return next.value
    await nextTurn()
  }
}

/** How long the planner works before it offers the event loop a turn. */
const SLICE_MS = 10

/** The planner, as a generator that yields where it may pause: between phases and inside long loops. */
function* plan(input: PlanInput): Generator<void, Plan, void> {
  let sliceStarted = performance.now()
  let work = 0
  // Looking at the clock costs more than a loop turn: only every 256 turns.
  const sliceOver = () => ++work % 256 === 0 && performance.now() - sliceStarted > SLICE_MS
  const pause = function* () {
    yield
    sliceStarted = performance.now()
  }
  const {blueprint, environment} = input
  const graph = resourceGraph(blueprint.resources)
  const rollout = {services: environment.rollout.services, targets: input.targetOrder ?? environment.rollout.targets}
  const targets: (string | null)[] = environment.targets.length > 0 ? environment.targets : [null]
  const notes: string[] = []
  const byName = new Map(input.resources.map((resource) => [resource.name, resource]))

  const {steps, stageOf} = stagesOf(input, notes)
  const ordered = orderResources(input.resources, graph, steps)
  yield* pause()

  const tasks = new Map<string, PlannedTask>()
  const add = (task: PlannedTask) => tasks.set(task.key, task)
  for (const target of targets) {
    for (const resource of ordered) {
      if (sliceOver()) yield* pause()
      const stage = stageOf.get(resource.name)
      add({
        key: taskKey(resource.name, target),
        kind: 'deploy',
        resource: resource.name,
        hook: null,
        target,
        step: stage === undefined ? null : steps[stage].step,
        action: resource.action,
        fromVersion: resource.fromVersion,
        toVersion: resource.toVersion,
        requires: [],
        after: [],
        level: 0,
      })
    }
  }
  const deploysOn = (target: string | null) => ordered.map((resource) => tasks.get(taskKey(resource.name, target)) as PlannedTask)
  // A long edge list gets a set beside it, so that linking stays constant time however many edges there are.
  const indexes = new Map<string[], Set<string>>()
  const link = (task: PlannedTask, edge: 'requires' | 'after', key: string) => {
    if (key === task.key) return
    const list = task[edge]
    if (list.length < SHORT_LIST) {
      if (list.includes(key)) return
    } else {
      let index = indexes.get(list)
      if (!index) indexes.set(list, (index = new Set(list)))
      if (index.has(key)) return
      index.add(key)
    }
    list.push(key)
  }
  yield* pause()
  const required = steps.length === 0 ? requiredResources(input.resources, graph) : new Map<string, readonly string[]>()
  yield* pause()
  const barriers = nearestBarriers(steps)
  const realTargets = environment.targets.length > 0
  const sequentialTargets = rollout.targets === 'sequential' && realTargets

  for (const target of targets) {
    const onTarget = deploysOn(target)
    for (const task of onTarget) {
      if (sliceOver()) yield* pause()
      const resource = byName.get(task.resource as string) as ReleaseResource
      if (steps.length === 0) {
        // dependsOn, within the target: deploys after what they need; deletes before what they serve.
        for (const name of required.get(resource.name) ?? []) link(task, 'requires', taskKey(name, target))
      } else {
        // Step barriers: a step starts when the nearest earlier step that waits for finish has ended (on
        // this target, or on every target when targets roll out in parallel). That step waited for the
        // one before it in turn, so a task needs no edge to the steps further back.
        const barrier = barriers[stageOf.get(resource.name) as number]
        if (barrier !== null) {
          for (const name of barrier.resources) {
            for (const other of sequentialTargets ? [target] : targets) link(task, 'after', taskKey(name, other))
          }
        }
      }
    }
    if (rollout.services === 'sequential') {
      // One service at a time: each waits for the one before it (on this target, or on all targets).
      for (let index = 1; index < ordered.length; index++) {
        const task = tasks.get(taskKey(ordered[index].name, target)) as PlannedTask
        for (const other of sequentialTargets ? [target] : targets) link(task, 'after', taskKey(ordered[index - 1].name, other))
      }
    }
  }

  const hooks = {beforeTarget: environment.hooks.beforeTarget, afterTarget: environment.hooks.afterTarget, run: false}
  // Hooks wrap the deploys on a target; a release with nothing to deploy leaves the targets alone.
  if (sequentialTargets && ordered.length > 0) {
    hooks.run = Boolean(hooks.beforeTarget || hooks.afterTarget)
    let previous: PlannedTask[] = []
    let previousTarget: string | null = null
    for (const target of targets as string[]) {
      const onTarget = deploysOn(target)
      const hookTask = (hook: HookName): PlannedTask => {
        const task: PlannedTask = {
          key: taskKey(hook, target),
          kind: 'hook',
          resource: null,
          hook,
          target,
          step: null,
          action: 'update',
          fromVersion: null,
          toVersion: null,
          requires: [],
          after: [],
          level: 0,
        }
        tasks.set(task.key, task)
        return task
      }
      const before = hooks.beforeTarget ? hookTask('beforeTarget') : null
      const first = before ? [before] : onTarget
      // Target by target: nothing on this target starts before the previous target has ended.
      for (const task of first) for (const done of previous) link(task, 'after', done.key)
      for (const task of onTarget) {
        if (before) link(task, 'requires', before.key)
        // A resource that failed on the previous target is not deployed to this one.
        if (previous.length > 0) link(task, 'requires', taskKey(task.resource as string, previousTarget as string))
      }
      const afterHook = hooks.afterTarget ? hookTask('afterTarget') : null
      // afterTarget runs once the deploys on its target have ended, failed ones too.
      if (afterHook) for (const task of before ? [before, ...onTarget] : onTarget) link(afterHook, 'after', task.key)
      previous = [...(before ? [before] : []), ...onTarget, ...(afterHook ? [afterHook] : [])]
      previousTarget = target
    }
  } else if ((hooks.beforeTarget || hooks.afterTarget) && realTargets && ordered.length > 0) {
    notes.push('target hooks do not run: targets roll out in parallel, and taking every target out of the load balancer at once would leave none serving')
  }

  yield* pause()
  const planned = [...tasks.values()]
  for (const _ of assignLevels(planned, sliceOver)) yield* pause()
  yield* pause()
  return {
    rollout,
    targets: targets.filter((target): target is string => target !== null),
    steps,
    hooks,
    tasks: planned.sort((a, b) => a.level - b.level),
    notes,
  }
}

/** For each step, the nearest earlier step that waits for finish, or null when there is none. */
function nearestBarriers(steps: PlanStep[]): (PlanStep | null)[] {
  let nearest: PlanStep | null = null
  return steps.map((step) => {
    const barrier = nearest
    if (step.waitForFinish) nearest = step
    return barrier
  })
}

// The order localeCompare gives, at a fraction of its cost per comparison.
const nameOrder = new Intl.Collator()

/** The order resources are listed and, for a sequential services rollout, deployed in. */
function orderResources(resources: ReleaseResource[], graph: ResourceGraph, steps: PlanStep[]): ReleaseResource[] {
  if (steps.length > 0) {
    const byName = new Map(resources.map((resource) => [resource.name, resource]))
    return steps.flatMap((step) => step.resources.map((name) => byName.get(name) as ReleaseResource))
  }
  // Dependencies first (deletes last, dependents before what they depend on); ties by name. Each
  // resource's rank is worked out once, not at each of the n log n comparisons of the sort.
  const depthOf = longestChains(graph)
  const ranked = resources.map((resource) => {
    const deletes = resource.action === 'delete'
    return {resource, deletes: deletes ? 1 : 0, rank: deletes ? -depthOf(resource.name) : depthOf(resource.name)}
  })
  ranked.sort((a, b) => a.deletes - b.deletes || a.rank - b.rank || nameOrder.compare(a.resource.name, b.resource.name))
  return ranked.map(({resource}) => resource)
}

/**
 * Each released resource -> the released resources it must wait for: for a create or update, the
 * nearest creates and updates among what it depends on; for a delete, the nearest deletes among what
 * depends on it; walking through resources outside the release, or of the other kind, on the way. The
 * nearest are enough: what they wait for, they wait for in turn, and a skip passes down the chain.
 */
function requiredResources(resources: ReleaseResource[], graph: ResourceGraph): Map<string, readonly string[]> {
  const deploys = resources.filter((resource) => resource.action !== 'delete').map((resource) => resource.name)
  const deletes = resources.filter((resource) => resource.action === 'delete').map((resource) => resource.name)
  const required = nearestMembers(graph, deploys, 'dependsOn')
  for (const [name, nearest] of nearestMembers(graph, deletes, 'dependents')) required.set(name, nearest)
  return required
}

/** "db@eu-1, cache@eu-1 | api@eu-1 | ..." — the tasks by level, for dry runs and docs. */
export function describeOrder(plan: Plan): string {
  const levels = new Map<number, string[]>()
  for (const task of plan.tasks) {
    const keys = levels.get(task.level)
    if (keys) keys.push(task.key)
    else levels.set(task.level, [task.key])
  }
  return [...levels.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, keys]) => keys.join(', '))
    .join(' | ')
}
