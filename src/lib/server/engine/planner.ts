// The planner: blueprint + environment + a release's resources -> an ordered plan of tasks. Pure.
//
// Each resource deploys once per target (once when the environment has none). Two kinds of edge order
// the tasks: `requires` (start only after it succeeded, else skip) and `after` (start only after it
// ended, however it ended). dependsOn gives `requires` within a target; workflow steps give `after`
// barriers (a failure is reported and the release goes on, unless the step halts on error); a
// sequential target rollout goes target by target, where a resource that failed on one target is not
// deployed to the next, and runs the beforeTarget and afterTarget hooks around each target.
import type {Action} from '../../api/domain.js'
import type {ReleaseResource} from '../../api/schemas.js'
import type {Blueprint, EnvironmentSpec, RolloutOrder} from '../blueprint/blueprint.js'
import {dependentsOf, type DependencyGraph} from './locks.js'

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
  return {dependsOn: new Map(blueprint.resources.map((spec) => [spec.name, spec.dependsOn]))}
}

/** Everything `name` depends on, directly or through others. */
function dependenciesOf(graph: DependencyGraph, name: string): Set<string> {
  const found = new Set<string>()
  const stack = [...(graph.dependsOn.get(name) ?? [])]
  while (stack.length > 0) {
    const next = stack.pop() as string
    if (found.has(next)) continue
    found.add(next)
    stack.push(...(graph.dependsOn.get(next) ?? []))
  }
  return found
}

const taskKey = (name: string, target: string | null) => (target === null ? name : `${name}@${target}`)

export function planRelease(input: PlanInput): Plan {
  const {blueprint, environment} = input
  const graph = graphOf(blueprint)
  const rollout = {services: environment.rollout.services, targets: input.targetOrder ?? environment.rollout.targets}
  const targets: (string | null)[] = environment.targets.length > 0 ? environment.targets : [null]
  const notes: string[] = []
  const byName = new Map(input.resources.map((resource) => [resource.name, resource]))

  // Stages: workflow steps in order (then what no step names), or one stage when dependsOn orders.
  const steps: PlanStep[] = []
  const stageOf = new Map<string, number>()
  if (blueprint.workflow.length > 0) {
    const chosen = input.steps ? blueprint.workflow.filter((step) => input.steps?.includes(step.step)) : blueprint.workflow
    for (const step of chosen) {
      const resources = step.tasks.filter((name) => byName.has(name))
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
  }
  const ordered = orderResources(input.resources, graph, steps)

  const tasks = new Map<string, PlannedTask>()
  const add = (task: Omit<PlannedTask, 'level'>) => tasks.set(task.key, {...task, level: 0})
  for (const target of targets) {
    for (const resource of ordered) {
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
      })
    }
  }
  const deploysOn = (target: string | null) => ordered.map((resource) => tasks.get(taskKey(resource.name, target)) as PlannedTask)
  const link = (task: PlannedTask, edge: 'requires' | 'after', key: string) => {
    if (key !== task.key && !task[edge].includes(key)) task[edge].push(key)
  }
  const realTargets = environment.targets.length > 0
  const sequentialTargets = rollout.targets === 'sequential' && realTargets

  for (const target of targets) {
    const onTarget = deploysOn(target)
    for (const task of onTarget) {
      const resource = byName.get(task.resource as string) as ReleaseResource
      if (steps.length === 0) {
        // dependsOn, within the target: deploys after what they need; deletes before what they serve.
        const related = resource.action === 'delete' ? new Set(dependentsOf(graph, resource.name)) : dependenciesOf(graph, resource.name)
        for (const name of related) {
          const other = byName.get(name)
          if (other && (other.action === 'delete') === (resource.action === 'delete')) link(task, 'requires', taskKey(name, target))
        }
      } else {
        // Step barriers: a step starts when the earlier steps it waits for have ended (on this target,
        // or on every target when targets roll out in parallel).
        const stage = stageOf.get(resource.name) as number
        for (const earlier of steps.slice(0, stage)) {
          if (!earlier.waitForFinish) continue
          for (const name of earlier.resources) {
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
        const same = previous.find((done) => done.resource === task.resource)
        if (same) link(task, 'requires', same.key)
      }
      const afterHook = hooks.afterTarget ? hookTask('afterTarget') : null
      // afterTarget runs once the deploys on its target have ended, failed ones too.
      if (afterHook) for (const task of before ? [before, ...onTarget] : onTarget) link(afterHook, 'after', task.key)
      previous = [...(before ? [before] : []), ...onTarget, ...(afterHook ? [afterHook] : [])]
    }
  } else if ((hooks.beforeTarget || hooks.afterTarget) && realTargets && ordered.length > 0) {
    notes.push('target hooks do not run: targets roll out in parallel, and taking every target out of the load balancer at once would leave none serving')
  }

  assignLevels(tasks)
  return {
    rollout,
    targets: targets.filter((target): target is string => target !== null),
    steps,
    hooks,
    tasks: [...tasks.values()].sort((a, b) => a.level - b.level),
    notes,
  }
}

/** The order resources are listed and, for a sequential services rollout, deployed in. */
function orderResources(resources: ReleaseResource[], graph: DependencyGraph, steps: PlanStep[]): ReleaseResource[] {
  if (steps.length > 0) {
    const byName = new Map(resources.map((resource) => [resource.name, resource]))
    return steps.flatMap((step) => step.resources.map((name) => byName.get(name) as ReleaseResource))
  }
  // Dependencies first (deletes last, dependents before what they depend on); ties by name.
  const depth = new Map<string, number>()
  const depthOf = (name: string): number => {
    const known = depth.get(name)
    if (known !== undefined) return known
    depth.set(name, 0)
    const value = Math.max(-1, ...[...(graph.dependsOn.get(name) ?? [])].map(depthOf)) + 1
    depth.set(name, value)
    return value
  }
  const rank = (resource: ReleaseResource) => (resource.action === 'delete' ? 1000 - depthOf(resource.name) : depthOf(resource.name))
  return [...resources].sort((a, b) => (a.action === 'delete' ? 1 : 0) - (b.action === 'delete' ? 1 : 0) || rank(a) - rank(b) || a.name.localeCompare(b.name))
}

function assignLevels(tasks: Map<string, PlannedTask>) {
  const levels = new Map<string, number>()
  const levelOf = (key: string): number => {
    const known = levels.get(key)
    if (known !== undefined) return known
    const task = tasks.get(key) as PlannedTask
    const level = Math.max(-1, ...[...task.requires, ...task.after].map(levelOf)) + 1
    levels.set(key, level)
    return level
  }
  for (const task of tasks.values()) task.level = levelOf(task.key)
}

/** "db@eu-1, cache@eu-1 | api@eu-1 | ..." — the tasks by level, for dry runs and docs. */
export function describeOrder(plan: Plan): string {
  const levels = new Map<number, string[]>()
  for (const task of plan.tasks) levels.set(task.level, [...(levels.get(task.level) ?? []), task.key])
  return [...levels.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, keys]) => keys.join(', '))
    .join(' | ')
}
