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
import {adjacency, type EdgeChunks, longestChains, nearestMembers, type NearestMembers, resourceGraph, type ResourceGraph} from './resource-graph.js'
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

const taskKey = (name: string, target: string | null) => (target === null ? name : `${name}@${target}`)

/** Stages: workflow steps in order (then what no step names), or none when dependsOn orders. */
function stagesOf(input: PlanInput, notes: string[]): PlanStep[] {
  const steps: PlanStep[] = []
  const {workflow} = input.blueprint
  if (workflow.length === 0) return steps
  const released = new Set(input.resources.map((resource) => resource.name))
  const chosenSteps = input.steps ? new Set(input.steps) : null
  const placed = new Set<string>()
  for (const step of workflow) {
    if (chosenSteps && !chosenSteps.has(step.step)) continue
    const resources = step.tasks.filter((name) => released.has(name))
    if (resources.length === 0) continue
    for (const name of resources) placed.add(name)
    steps.push({step: step.step, waitForFinish: step.waitForFinish, haltOnError: step.haltOnError, resources})
  }
  const unplaced = input.resources.map((resource) => resource.name).filter((name) => !placed.has(name))
  if (unplaced.length > 0 && !input.steps) {
    notes.push(`${unplaced.join(', ')} ${unplaced.length > 1 ? 'are' : 'is'} in no workflow step: deployed after the last step`)
    steps.push({step: '(after the workflow)', waitForFinish: true, haltOnError: false, resources: unplaced})
  }
  return steps
}

/**
 * How many tasks planRelease would plan, without planning: one per deployed resource and target, and
 * the target hooks of a sequential target rollout. For refusing a plan over the cap before building it.
 */
export function plannedTaskCount(input: PlanInput): {tasks: number; resources: number; targets: number} {
  const steps = stagesOf(input, [])
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

/** The edges of a plan while it is built, in the order they are linked: from a slot (see plan) to a task. */
class EdgeList implements EdgeChunks {
  readonly from: Int32Array[] = []
  readonly to: Int32Array[] = []
  count = 0
  private fromChunk = new Int32Array(0)
  private toChunk = new Int32Array(0)
  private used = 0

  add(from: number, to: number): void {
    if (this.used === this.fromChunk.length) {
      // Chunks from 1,024 edges to 65,536: a small plan allocates little, and a big one grows without
      // copying what it has (copying tens of millions of edges at once would hold the event loop).
      const size = Math.min(65_536, Math.max(1024, 2 * this.fromChunk.length))
      this.fromChunk = new Int32Array(size)
      this.toChunk = new Int32Array(size)
      this.from.push(this.fromChunk)
      this.to.push(this.toChunk)
      this.used = 0
    }
    this.fromChunk[this.used] = from
    this.toChunk[this.used++] = to
    this.count++
  }
}

/** The edge list of every task that has none: shared, so frozen. */
const NO_KEYS: string[] = Object.freeze([]) as unknown as string[]

const REQUIRES = 0
const AFTER = 1
type EdgeKind = typeof REQUIRES | typeof AFTER

/**
 * The planner, as a generator that yields where it may pause: between phases and inside long loops.
 * Tasks are numbers while the plan is built, and every table of them an array indexed by that number:
 * for a plan of tens of thousands of tasks a lookup by key costs more than the rest of the work.
 */
function* plan(input: PlanInput): Generator<void, Plan, void> {
  let sliceStarted = performance.now()
  let work = 0
  // Looking at the clock costs more than a loop turn: only every 256 units of work (a loop turn, an edge).
  const sliceOver = (units = 1) => {
    const before = work
    work += units
    return work >>> 8 !== before >>> 8 && performance.now() - sliceStarted > SLICE_MS
  }
  const pause = function* () {
    yield
    sliceStarted = performance.now()
  }
  /** Between phases: a turn for the event loop once the slice is over, so that a small plan never waits for one. */
  const pauseIfDue = function* () {
    if (performance.now() - sliceStarted > SLICE_MS) yield* pause()
  }
  /** Runs one of the walks to its end, pausing where it may. */
  const inTurns = function* <T>(walk: Generator<void, T, void>): Generator<void, T, void> {
    for (;;) {
      const next = walk.next()
      if (next.done) return next.value
      yield* pause()
    }
  }
  const {blueprint, environment} = input
  const graph = resourceGraph(blueprint.resources)
  const rollout = {services: environment.rollout.services, targets: input.targetOrder ?? environment.rollout.targets}
  const targets: (string | null)[] = environment.targets.length > 0 ? environment.targets : [null]
  const notes: string[] = []

  const steps = stagesOf(input, notes)
  const {ordered, nodes} = orderResources(input.resources, graph, steps)
  yield* pauseIfDue()

  // Task numbers: the deploy of ordered[position] on targets[target] is target × perTarget + position;
  // the target hooks of a sequential target rollout follow, target by target, beforeTarget first.
  const perTarget = ordered.length
  const deployCount = perTarget * targets.length
  const realTargets = environment.targets.length > 0
  const sequentialTargets = rollout.targets === 'sequential' && realTargets
  const hooks = {beforeTarget: environment.hooks.beforeTarget, afterTarget: environment.hooks.afterTarget, run: false}
  // Hooks wrap the deploys on a target; a release with nothing to deploy leaves the targets alone.
  const hooked = sequentialTargets && perTarget > 0
  const hasBefore = hooked && Boolean(hooks.beforeTarget)
  const hasAfter = hooked && Boolean(hooks.afterTarget)
  const hooksPerTarget = Number(hasBefore) + Number(hasAfter)
  const taskCount = deployCount + hooksPerTarget * targets.length
  const deploy = (target: number, position: number) => target * perTarget + position
  const beforeHook = (target: number) => deployCount + target * hooksPerTarget
  const afterHook = (target: number) => deployCount + target * hooksPerTarget + hooksPerTarget - 1

  // Each task has two edge lists, each a slot: 2 × task for its requires, 2 × task + 1 for its after.
  const edges = new EdgeList()
  const link = (task: number, edge: EdgeKind, other: number) => {
    if (other !== task) edges.add(2 * task + edge, other)
  }
  /** An edge to the deploy of `position` on `target`, or on every target when targets roll out in parallel. */
  const linkAcross = (task: number, edge: EdgeKind, target: number, position: number) => {
    if (sequentialTargets) link(task, edge, deploy(target, position))
    else for (let other = 0; other < targets.length; other++) link(task, edge, deploy(other, position))
  }

  // Workflow steps: the position each step starts at (ordered lists them step by step), and each
  // position's step.
  const stepStart = new Int32Array(steps.length)
  const stageAt = new Int32Array(perTarget)
  for (let stage = 0, position = 0; stage < steps.length; stage++) {
    stepStart[stage] = position
    for (let index = 0; index < steps[stage].resources.length; index++) stageAt[position++] = stage
  }
  const barriers = nearestBarriers(steps)
  yield* pauseIfDue()
  const required = steps.length === 0 ? requiredResources(ordered, nodes, graph) : null
  yield* pauseIfDue()

  for (let target = 0; target < targets.length; target++) {
    for (let position = 0; position < perTarget; position++) {
      if (sliceOver()) yield* pause()
      const task = deploy(target, position)
      if (required) {
        // dependsOn, within the target: deploys after what they need; deletes before what they serve.
        const node = nodes[position]
        if (node >= 0) {
          const {one, several} = ordered[position].action === 'delete' ? required.deletes : required.deploys
          if (one[node] >= 0) link(task, REQUIRES, deploy(target, required.positionOf[one[node]]))
          else for (const member of several[node] ?? []) link(task, REQUIRES, deploy(target, required.positionOf[member]))
        }
      } else {
        // Step barriers: a step starts when the nearest earlier step that waits for finish has ended (on
        // this target, or on every target when targets roll out in parallel). That step waited for the
        // one before it in turn, so a task needs no edge to the steps further back.
        const barrier = barriers[stageAt[position]]
        if (barrier < 0) continue
        const end = stepStart[barrier] + steps[barrier].resources.length
        for (let other = stepStart[barrier]; other < end; other++) {
          if (sliceOver()) yield* pause()
          linkAcross(task, AFTER, target, other)
        }
      }
    }
    if (rollout.services === 'sequential') {
      // One service at a time: each waits for the one before it (on this target, or on all targets).
      for (let position = 1; position < perTarget; position++) {
        if (sliceOver()) yield* pause()
        linkAcross(deploy(target, position), AFTER, target, position - 1)
      }
    }
  }

  if (hooked) {
    hooks.run = hasBefore || hasAfter
    for (let target = 0; target < targets.length; target++) {
      // Target by target: nothing on this target starts before the previous target has ended.
      if (target > 0) {
        const firsts = hasBefore ? 1 : perTarget
        for (let index = 0; index < firsts; index++) {
          const task = hasBefore ? beforeHook(target) : deploy(target, index)
          if (hasBefore) link(task, AFTER, beforeHook(target - 1))
          for (let position = 0; position < perTarget; position++) {
            if (sliceOver()) yield* pause()
            link(task, AFTER, deploy(target - 1, position))
          }
          if (hasAfter) link(task, AFTER, afterHook(target - 1))
        }
      }
      for (let position = 0; position < perTarget; position++) {
        if (sliceOver()) yield* pause()
        const task = deploy(target, position)
        if (hasBefore) link(task, REQUIRES, beforeHook(target))
        // A resource that failed on the previous target is not deployed to this one.
        if (target > 0) link(task, REQUIRES, deploy(target - 1, position))
      }
      // afterTarget runs once the deploys on its target have ended, failed ones too.
      if (hasAfter) {
        if (hasBefore) link(afterHook(target), AFTER, beforeHook(target))
        for (let position = 0; position < perTarget; position++) link(afterHook(target), AFTER, deploy(target, position))
      }
    }
  } else if ((hooks.beforeTarget || hooks.afterTarget) && realTargets && perTarget > 0) {
    notes.push('target hooks do not run: targets roll out in parallel, and taking every target out of the load balancer at once would leave none serving')
  }

  yield* pauseIfDue()
  // The edge lists, grouped by slot in the order they were linked: a task's edges sit side by side.
  const bySlot = yield* inTurns(adjacency(2 * taskCount, edges, sliceOver))
  const byTask = {start: new Int32Array(taskCount + 1), target: bySlot.target}
  for (let task = 0; task <= taskCount; task++) byTask.start[task] = bySlot.start[2 * task]
  const level = new Int32Array(taskCount)
  yield* inTurns(assignLevels(byTask, level, sliceOver))

  // Level by level, each level in task order (a stable counting sort).
  let deepest = -1
  for (let task = 0; task < taskCount; task++) deepest = Math.max(deepest, level[task])
  const levelStart = new Int32Array(deepest + 2)
  for (let task = 0; task < taskCount; task++) levelStart[level[task] + 1]++
  for (let index = 0; index <= deepest; index++) levelStart[index + 1] += levelStart[index]
  const listed = new Int32Array(taskCount)
  for (let task = 0; task < taskCount; task++) listed[levelStart[level[task]]++] = task
  yield* pauseIfDue()

  const keys: string[] = new Array<string>(taskCount)
  for (let target = 0; target < targets.length; target++) {
    for (let position = 0; position < perTarget; position++) keys[deploy(target, position)] = taskKey(ordered[position].name, targets[target])
    if (hasBefore) keys[beforeHook(target)] = taskKey('beforeTarget', targets[target])
    if (hasAfter) keys[afterHook(target)] = taskKey('afterTarget', targets[target])
  }
  // A list keeps the first of edges linked twice: the slot that last listed each task.
  const listedIn = new Int32Array(taskCount).fill(-1)
  const listing: string[] = []
  const keysOf = (slot: number): string[] => {
    let length = 0
    for (let edge = bySlot.start[slot]; edge < bySlot.start[slot + 1]; edge++) {
      const other = bySlot.target[edge]
      if (listedIn[other] === slot) continue
      listedIn[other] = slot
      listing[length++] = keys[other]
    }
    // Most lists hold none or one: built at their size, not grown by push (which makes room for 17);
    // every empty one is the same frozen list.
    return length === 0 ? NO_KEYS : length === 1 ? [listing[0]] : listing.slice(0, length)
  }
  const tasks: PlannedTask[] = new Array<PlannedTask>(taskCount)
  for (let index = 0; index < taskCount; index++) {
    const task = listed[index]
    if (sliceOver(1 + bySlot.start[2 * task + 2] - bySlot.start[2 * task])) yield* pause()
    const requires = keysOf(2 * task)
    const after = keysOf(2 * task + 1)
    if (task < deployCount) {
      const position = task % perTarget
      const resource = ordered[position]
      tasks[index] = {
        key: keys[task],
        kind: 'deploy',
        resource: resource.name,
        hook: null,
        target: targets[(task - position) / perTarget],
        step: steps.length === 0 ? null : steps[stageAt[position]].step,
        action: resource.action,
        fromVersion: resource.fromVersion,
        toVersion: resource.toVersion,
        requires,
        after,
        level: level[task],
      }
    } else {
      const hookIndex = task - deployCount
      const hook: HookName = hasBefore && hookIndex % hooksPerTarget === 0 ? 'beforeTarget' : 'afterTarget'
      tasks[index] = {
        key: keys[task],
        kind: 'hook',
        resource: null,
        hook,
        target: targets[Math.floor(hookIndex / hooksPerTarget)],
        step: null,
        action: 'update',
        fromVersion: null,
        toVersion: null,
        requires,
        after,
        level: level[task],
      }
    }
  }
  yield* pauseIfDue()
  return {rollout, targets: targets.filter((target): target is string => target !== null), steps, hooks, tasks, notes}
}

/** For each step, the nearest earlier step that waits for finish, or -1 when there is none. */
function nearestBarriers(steps: PlanStep[]): Int32Array {
  const barriers = new Int32Array(steps.length)
  let nearest = -1
  steps.forEach((step, index) => {
    barriers[index] = nearest
    if (step.waitForFinish) nearest = index
  })
  return barriers
}

// The order localeCompare gives, at a fraction of its cost per comparison.
const nameOrder = new Intl.Collator()

/**
 * The order resources are listed and, for a sequential services rollout, deployed in, with each one's
 * node in the graph (-1 for one the blueprint no longer has, a delete).
 */
function orderResources(resources: ReleaseResource[], graph: ResourceGraph, steps: PlanStep[]): {ordered: ReleaseResource[]; nodes: Int32Array} {
  const nodesOf = (list: ReleaseResource[]) => {
    const nodes = new Int32Array(list.length)
    for (let index = 0; index < list.length; index++) nodes[index] = graph.numberOf.get(list[index].name) ?? -1
    return nodes
  }
  if (steps.length > 0) {
    const byName = new Map(resources.map((resource) => [resource.name, resource]))
    const ordered = steps.flatMap((step) => step.resources.map((name) => byName.get(name) as ReleaseResource))
    return {ordered, nodes: nodesOf(ordered)}
  }
  // Dependencies first (deletes last, dependents before what they depend on); ties by name. Ranks are
  // whole numbers below twice the deepest chain, so a counting sort orders by them, and only resources
  // of the same rank are sorted by name.
  const nodes = nodesOf(resources)
  const chains = longestChains(graph)
  const depth = (index: number) => (nodes[index] < 0 ? 0 : chains[nodes[index]])
  let deepest = 0
  for (let index = 0; index < resources.length; index++) deepest = Math.max(deepest, depth(index))
  const rank = (index: number) => (resources[index].action === 'delete' ? 2 * deepest + 1 - depth(index) : depth(index))
  const rankStart = new Int32Array(2 * deepest + 3)
  for (let index = 0; index < resources.length; index++) rankStart[rank(index) + 1]++
  for (let index = 0; index < 2 * deepest + 2; index++) rankStart[index + 1] += rankStart[index]
  const order: number[] = new Array<number>(resources.length).fill(0)
  const next = rankStart.slice()
  for (let index = 0; index < resources.length; index++) order[next[rank(index)]++] = index
  const byName = (a: number, b: number) => nameOrder.compare(resources[a].name, resources[b].name)
  for (let first = 0; first < 2 * deepest + 2; first++) {
    const start = rankStart[first]
    const end = rankStart[first + 1]
    if (end - start < 2) continue
    const sorted = order.slice(start, end).sort(byName)
    for (let index = 0; index < sorted.length; index++) order[start + index] = sorted[index]
  }
  const ordered: ReleaseResource[] = []
  const orderedNodes = new Int32Array(order.length)
  for (let index = 0; index < order.length; index++) {
    ordered.push(resources[order[index]])
    orderedNodes[index] = nodes[order[index]]
  }
  return {ordered, nodes: orderedNodes}
}

/**
 * What the released resources must wait for, by graph node, and each node's position in `ordered`: for
 * a create or update, the nearest creates and updates among what it depends on; for a delete, the
 * nearest deletes among what depends on it; walking through resources outside the release, or of the
 * other kind, on the way. The nearest are enough: what they wait for, they wait for in turn, and a skip
 * passes down the chain.
 */
function requiredResources(ordered: ReleaseResource[], nodes: Int32Array, graph: ResourceGraph): {deploys: NearestMembers; deletes: NearestMembers; positionOf: Int32Array} {
  const positionOf = new Int32Array(graph.names.length)
  const deploys: number[] = []
  const deletes: number[] = []
  for (let position = 0; position < ordered.length; position++) {
    const node = nodes[position]
    if (node < 0) continue
    positionOf[node] = position
    ;(ordered[position].action === 'delete' ? deletes : deploys).push(node)
  }
  return {deploys: nearestMembers(graph, deploys, 'dependsOn'), deletes: nearestMembers(graph, deletes, 'dependents'), positionOf}
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
