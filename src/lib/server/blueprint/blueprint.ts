// relctl.yaml: parse, validate and normalise. Every problem is reported at once, each with the
// file, line, the path inside the document and what to do about it.
import {isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type Scalar, type YAMLMap, type YAMLSeq} from 'yaml'

import {NAME_PATTERN, NAME_RULE, VERSION_PATTERN, VERSION_RULE} from '../../api/domain.js'
import {findCycleIn} from './graph.js'
import {readRetries, type RetryPolicy} from './retries.js'
import {type PipelineSpec, readPipelines} from './pipelines.js'
import {unpassableVariable} from './variable-names.js'
import {checkKeys, readDuration, readDurationText, readString, readStringList, type Report, scalarString} from './yaml-read.js'

export type {RetryPolicy} from './retries.js'

export interface ExecSettings {
  deploy: string
  health: string | null
  destroy: string | null
  /** prints the live version (last line of stdout), for --refresh */
  status: string | null
  /** names of the control plane's variables this resource's commands see */
  passEnv: string[]
}

export interface SimulateSettings {
  durationMs: number
  failVersions: string[]
  healthy: boolean
}

export interface ResourceSpec {
  name: string
  kind: string
  dependsOn: string[]
  version: string | null
  driver: 'exec' | 'simulate'
  exec: ExecSettings | null
  simulate: SimulateSettings | null
  timeoutMs: number
  /** a failed deploy (or health check, or destroy) is tried again; null: once only */
  retries: RetryPolicy | null
}

export type RolloutOrder = 'parallel' | 'sequential'

export interface EnvironmentSpec {
  name: string
  /** servers, clusters or regions: every resource deploys to each, with RELCTL_TARGET set */
  targets: string[]
  rollout: {services: RolloutOrder; targets: RolloutOrder}
  hooks: {beforeTarget: string | null; afterTarget: string | null}
  /** target hooks are tried once unless hooks.retries says otherwise */
  hookRetries: RetryPolicy | null
}

export interface WorkflowStep {
  step: string
  tasks: string[]
  /** false: start the step and move on; the release still waits for it before it ends */
  waitForFinish: boolean
  /** a failure in this step stops the release: later steps do not start */
  haltOnError: boolean
}

export interface Blueprint {
  project: string
  resources: ResourceSpec[]
  environments: EnvironmentSpec[]
  /** ordered steps; empty when the order comes from dependsOn */
  workflow: WorkflowStep[]
  /** promotion across environments: stages of environments with gates (blueprint/pipelines.ts) */
  pipelines: PipelineSpec[]
}

export interface BlueprintProblem {
  path: string
  message: string
  line?: number
  column?: number
}

export class BlueprintError extends Error {
  constructor(
    readonly file: string,
    readonly problems: BlueprintProblem[],
  ) {
    super(
      `${file} is not a valid blueprint (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((problem) => `  ${formatProblem(file, problem)}`).join('\n'),
    )
  }
}

export const DEFAULT_TASK_TIMEOUT_MS = 30 * 60_000

const TOP_KEYS = ['project', 'resources', 'environments', 'workflow', 'pipelines']
const RESOURCE_KEYS = ['kind', 'dependsOn', 'version', 'driver', 'exec', 'simulate', 'timeout', 'retries', 'description']
const EXEC_KEYS = ['deploy', 'health', 'destroy', 'status', 'passEnv']
const SIMULATE_KEYS = ['duration', 'failVersions', 'healthy']
const ENVIRONMENT_KEYS = ['description', 'targets', 'rollout', 'hooks']
const ROLLOUT_KEYS = ['services', 'targets']
const HOOK_KEYS = ['beforeTarget', 'afterTarget', 'retries']
const STEP_KEYS = ['step', 'tasks', 'waitForFinish', 'haltOnError']
const ORDERS = ['parallel', 'sequential'] as const
const DRIVERS = ['exec', 'simulate'] as const

function formatProblem(file: string, problem: BlueprintProblem): string {
  const where = problem.line ? `${file}:${problem.line}:${problem.column ?? 1}` : file
  return `${where} ${problem.path || '(document)'}: ${problem.message}`
}

/** Parses and validates a blueprint; throws BlueprintError listing every problem found. */
export function parseBlueprint(content: string, file: string): Blueprint {
  const lineCounter = new LineCounter()
  // Duplicate keys are found below, where their path in the document is known.
  const doc = parseDocument(content, {lineCounter, uniqueKeys: false, prettyErrors: false})
  const problems: BlueprintProblem[] = []
  const at = (node: Node | null | undefined) => {
    if (!node?.range) return {}
    const pos = lineCounter.linePos(node.range[0])
    return {line: pos.line, column: pos.col}
  }
  const problem = (path: string, message: string, node?: Node | null) => problems.push({path, message, ...at(node)})

  for (const error of doc.errors) {
    const pos = lineCounter.linePos(error.pos[0])
    problems.push({path: '', message: `YAML syntax error: ${error.message.split('\n')[0]}`, line: pos.line, column: pos.col})
  }
  if (problems.length === 0) findDuplicateKeys(doc.contents, '', problem)
  if (problems.length > 0) throw new BlueprintError(file, problems)

  const root = doc.contents
  if (!isMap(root)) {
    throw new BlueprintError(file, [{path: '', message: 'the blueprint must be a mapping with the keys project, resources and environments', ...at(root)}])
  }

  checkKeys(root, '', TOP_KEYS, problem)
  const project = readName(root, 'project', 'project', problem, true) ?? ''

  const resourcesNode = root.get('resources', true) as Node | undefined
  const resources = readNamedMap(root, 'resources', 'declare at least one resource, e.g. "resources: { web: { driver: simulate } }"', problem, readResource)
  const environments = readNamedMap(root, 'environments', 'declare at least one environment, e.g. "environments: { staging: {} }"', problem, readEnvironment)

  checkDependencies(resources, resourcesNode, problem)
  const workflow = readWorkflow(root.get('workflow', true) as Node | undefined, resources, problem)
  const pipelines = readPipelines(root.get('pipelines', true) as Node | undefined, environments, problem)
  if (problems.length > 0) throw new BlueprintError(file, problems)
  return {project, resources, environments, workflow, pipelines}
}

/** A mapping of named entries (resources, environments): each name checked, each entry read. */
function readNamedMap<T>(
  root: YAMLMap,
  key: string,
  whenEmpty: string,
  problem: Report,
  read: (name: string, path: string, node: Node | null, problem: Report) => T | null,
): T[] {
  const node = root.get(key, true) as Node | undefined
  if (!isMap(node) || node.items.length === 0) {
    problem(key, whenEmpty, node ?? root)
    return []
  }
  const entries: T[] = []
  for (const pair of node.items) {
    const name = scalarString(pair.key as Node)
    const path = `${key}.${name}`
    if (!name || !NAME_PATTERN.test(name)) {
      problem(path, invalidName(name), pair.key as Node)
      continue
    }
    const entry = read(name, path, pair.value as Node | null, problem)
    if (entry !== null) entries.push(entry)
  }
  return entries
}

function invalidName(name: string | null): string {
  return `${JSON.stringify(name)} is not a valid name: ${NAME_RULE}`
}

/** An environment declared with no settings (`prod: {}`): no targets, everything in parallel, no hooks. */
export function plainEnvironment(name: string): EnvironmentSpec {
  return {name, targets: [], rollout: {services: 'parallel', targets: 'parallel'}, hooks: {beforeTarget: null, afterTarget: null}, hookRetries: null}
}

function readEnvironment(name: string, path: string, node: Node | null, problem: Report): EnvironmentSpec {
  const environment = plainEnvironment(name)
  if (!node || (isScalar(node) && node.value === null)) return environment
  if (!isMap(node)) {
    problem(path, 'an environment is a mapping ({} for no settings)', node)
    return environment
  }
  checkKeys(node, path, ENVIRONMENT_KEYS, problem)
  environment.targets = readStringList(node, 'targets', path, problem)
  const seen = new Set<string>()
  environment.targets.forEach((target, index) => {
    if (!NAME_PATTERN.test(target)) problem(`${path}.targets[${index}]`, `"${target}" is not a valid target name: use lower-case letters, digits, ".", "_" and "-"`, node.get('targets', true) as Node)
    if (seen.has(target)) problem(`${path}.targets[${index}]`, `target "${target}" is listed twice`, node.get('targets', true) as Node)
    seen.add(target)
  })
  const rollout = node.get('rollout', true) as Node | undefined
  if (rollout !== undefined) {
    if (!isMap(rollout)) problem(`${path}.rollout`, 'rollout is a mapping such as "{ services: sequential, targets: parallel }"', rollout)
    else {
      checkKeys(rollout, `${path}.rollout`, ROLLOUT_KEYS, problem)
      for (const axis of ROLLOUT_KEYS as ('services' | 'targets')[]) {
        const order = readString(rollout, axis, `${path}.rollout`, problem)
        if (order === null) continue
        if ((ORDERS as readonly string[]).includes(order)) environment.rollout[axis] = order as RolloutOrder
        else problem(`${path}.rollout.${axis}`, `"${order}" is not an order; use parallel or sequential`, rollout.get(axis, true) as Node)
      }
    }
  }
  const hooks = node.get('hooks', true) as Node | undefined
  if (hooks !== undefined) {
    if (!isMap(hooks)) problem(`${path}.hooks`, 'hooks is a mapping such as "{ beforeTarget: ./lb-remove.sh, afterTarget: ./lb-add.sh }"', hooks)
    else {
      checkKeys(hooks, `${path}.hooks`, HOOK_KEYS, problem)
      environment.hooks = {beforeTarget: readString(hooks, 'beforeTarget', `${path}.hooks`, problem), afterTarget: readString(hooks, 'afterTarget', `${path}.hooks`, problem)}
      environment.hookRetries = readRetries(hooks, `${path}.hooks`, problem)
      if (environment.targets.length === 0 && (environment.hooks.beforeTarget || environment.hooks.afterTarget)) {
        problem(`${path}.hooks`, 'target hooks need targets: list them under "targets:"', hooks)
      }
    }
  }
  return environment
}

function readWorkflow(node: Node | undefined, resources: ResourceSpec[], problem: Report): WorkflowStep[] {
  if (node === undefined || (isScalar(node) && node.value === null)) return []
  if (!isSeq(node)) {
    problem('workflow', 'the workflow is a list of steps such as "- step: backend\n  tasks: [api, worker]"', node)
    return []
  }
  const names = new Set(resources.map((resource) => resource.name))
  const steps: WorkflowStep[] = []
  const placed = new Map<string, string>()
  node.items.forEach((item, index) => {
    const path = `workflow[${index}]`
    if (!isMap(item)) {
      problem(path, 'a step is a mapping with "step" and "tasks"', item as Node)
      return
    }
    checkKeys(item, path, STEP_KEYS, problem)
    const step = readString(item, 'step', path, problem)
    if (!step) problem(`${path}.step`, 'missing: name the step, e.g. "step: migrate"', item)
    else if (!NAME_PATTERN.test(step)) problem(`${path}.step`, `"${step}" is not a valid step name: use lower-case letters, digits, ".", "_" and "-"`, item.get('step', true) as Node)
    else if (steps.some((other) => other.step === step)) problem(`${path}.step`, `step "${step}" is declared twice`, item.get('step', true) as Node)
    const tasks = readStringList(item, 'tasks', path, problem)
    if (tasks.length === 0) problem(`${path}.tasks`, 'a step needs at least one task: the resources it deploys', item)
    tasks.forEach((task, taskIndex) => {
      if (!names.has(task)) problem(`${path}.tasks[${taskIndex}]`, `unknown resource "${task}"; declared resources: ${[...names].join(', ')}`, item.get('tasks', true) as Node)
      else if (placed.has(task)) problem(`${path}.tasks[${taskIndex}]`, `${task} is already in step "${placed.get(task)}"; a resource belongs to one step`, item.get('tasks', true) as Node)
      else placed.set(task, step ?? '')
    })
    const flag = (key: 'waitForFinish' | 'haltOnError', fallback: boolean) => {
      const value = item.get(key, true) as Node | undefined
      if (value === undefined) return fallback
      if (isScalar(value) && typeof value.value === 'boolean') return value.value
      problem(`${path}.${key}`, 'must be true or false', value)
      return fallback
    }
    steps.push({step: step ?? `step-${index + 1}`, tasks, waitForFinish: flag('waitForFinish', true), haltOnError: flag('haltOnError', false)})
  })
  return steps
}

function readResource(name: string, path: string, node: Node | null, problem: Report): ResourceSpec | null {
  if (!isMap(node)) {
    problem(path, 'a resource is a mapping with at least "driver" (exec or simulate)', node)
    return null
  }
  checkKeys(node, path, RESOURCE_KEYS, problem)
  const kind = readString(node, 'kind', path, problem) ?? 'application'
  const driver = readString(node, 'driver', path, problem)
  let exec: ExecSettings | null = null
  let simulate: SimulateSettings | null = null
  if (driver === null) {
    problem(`${path}.driver`, 'missing: set "driver: exec" (with exec.deploy) or "driver: simulate"', node)
  } else if (!(DRIVERS as readonly string[]).includes(driver)) {
    problem(`${path}.driver`, `unknown driver "${driver}"; use one of: ${DRIVERS.join(', ')}`, node.get('driver', true) as Node)
  } else if (driver === 'exec') {
    const execNode = node.get('exec', true) as Node | undefined
    if (!isMap(execNode)) {
      problem(`${path}.exec`, 'the exec driver needs "exec: { deploy: <shell command> }"', execNode ?? node)
    } else {
      checkKeys(execNode, `${path}.exec`, EXEC_KEYS, problem)
      const deploy = readString(execNode, 'deploy', `${path}.exec`, problem)
      if (!deploy) problem(`${path}.exec.deploy`, 'missing: the shell command that deploys this resource', execNode)
      exec = {
        deploy: deploy ?? '',
        health: readString(execNode, 'health', `${path}.exec`, problem),
        destroy: readString(execNode, 'destroy', `${path}.exec`, problem),
        status: readString(execNode, 'status', `${path}.exec`, problem),
        passEnv: readPassEnv(execNode, `${path}.exec`, problem),
      }
    }
  } else {
    const simNode = node.get('simulate', true) as Node | undefined
    simulate = {durationMs: 1000, failVersions: [], healthy: true}
    if (simNode !== undefined && !(isScalar(simNode) && simNode.value === null)) {
      if (!isMap(simNode)) {
        problem(`${path}.simulate`, 'simulate is a mapping such as "{ duration: 2s }"', simNode)
      } else {
        checkKeys(simNode, `${path}.simulate`, SIMULATE_KEYS, problem)
        const duration = readDurationText(simNode, 'duration', `${path}.simulate`, problem)
        if (duration !== null) simulate.durationMs = readDuration(duration, `${path}.simulate.duration`, simNode.get('duration', true) as Node, problem) ?? 1000
        simulate.failVersions = readStringList(simNode, 'failVersions', `${path}.simulate`, problem)
        const healthy = simNode.get('healthy', true) as Node | undefined
        if (healthy !== undefined) {
          if (isScalar(healthy) && typeof healthy.value === 'boolean') simulate.healthy = healthy.value
          else problem(`${path}.simulate.healthy`, 'must be true or false', healthy)
        }
      }
    }
  }
  if (driver !== 'exec' && node.has('exec')) problem(`${path}.exec`, 'exec settings are only read with "driver: exec"', node.get('exec', true) as Node)
  if (driver !== 'simulate' && node.has('simulate')) problem(`${path}.simulate`, 'simulate settings are only read with "driver: simulate"', node.get('simulate', true) as Node)

  let timeoutMs = DEFAULT_TASK_TIMEOUT_MS
  const timeout = readDurationText(node, 'timeout', path, problem)
  if (timeout !== null) timeoutMs = readDuration(timeout, `${path}.timeout`, node.get('timeout', true) as Node, problem) ?? timeoutMs

  const version = readVersion(node, path, problem)
  const dependsOn = readStringList(node, 'dependsOn', path, problem)
  return {
    name,
    kind,
    dependsOn,
    version,
    driver: (driver ?? 'simulate') as ResourceSpec['driver'],
    exec,
    simulate,
    timeoutMs,
    retries: readRetries(node, path, problem),
  }
}

function checkDependencies(resources: ResourceSpec[], resourcesNode: Node | undefined, problem: Report) {
  const names = new Set(resources.map((resource) => resource.name))
  const nodeOf = (name: string) => (isMap(resourcesNode) ? (resourcesNode.get(name, true) as YAMLMap | undefined) : undefined)
  for (const resource of resources) {
    resource.dependsOn.forEach((dependency, index) => {
      const depNode = nodeOf(resource.name)?.get('dependsOn', true) as Node | undefined
      const itemNode = isSeq(depNode) ? (depNode.items[index] as Node) : depNode
      if (dependency === resource.name) {
        problem(`resources.${resource.name}.dependsOn[${index}]`, 'a resource cannot depend on itself', itemNode)
      } else if (!names.has(dependency)) {
        problem(
          `resources.${resource.name}.dependsOn[${index}]`,
          `unknown resource "${dependency}"; declared resources: ${[...names].join(', ')}`,
          itemNode,
        )
      }
    })
  }
  const cycle = findCycle(resources)
  if (cycle) {
    problem(
      `resources.${cycle[0]}.dependsOn`,
      `dependency cycle: ${cycle.join(' -> ')}; remove one of these dependsOn entries`,
      nodeOf(cycle[0])?.get('dependsOn', true) as Node,
    )
  }
}

/** Returns one dependency cycle as a closed path (a -> b -> a), or null when the graph is acyclic. */
export function findCycle(resources: Pick<ResourceSpec, 'name' | 'dependsOn'>[]): string[] | null {
  const edges = new Map(resources.map((resource) => [resource.name, resource.dependsOn]))
  // Unknown names are reported on their own; they lead nowhere here.
  return findCycleIn(edges.keys(), (name) => (edges.get(name) ?? []).filter((next) => edges.has(next)))
}

function findDuplicateKeys(node: unknown, path: string, problem: Report) {
  if (isSeq(node)) {
    node.items.forEach((item, index) => findDuplicateKeys(item, `${path}[${index}]`, problem))
    return
  }
  if (!isMap(node)) return
  const seen = new Set<string>()
  for (const pair of node.items) {
    const key = scalarString(pair.key as Node)
    if (key === null) continue
    const keyPath = path ? `${path}.${key}` : key
    if (seen.has(key)) {
      const named = path === 'resources' || path === 'environments'
      problem(
        keyPath,
        named
          ? `"${key}" is declared twice under ${path}; each name may appear once: rename or merge them`
          : `"${key}" appears twice${path ? ` in ${path}` : ''}; keep one`,
        pair.key as Node,
      )
    }
    seen.add(key)
    findDuplicateKeys(pair.value, keyPath, problem)
  }
}






function readName(node: YAMLMap, key: string, path: string, problem: Report, required: boolean): string | null {
  const value = readString(node, key, '', problem)
  if (value === null) {
    if (required) problem(path, `missing: name the project, e.g. "${key}: shop"`, node)
    return null
  }
  if (!NAME_PATTERN.test(value)) {
    problem(path, invalidName(value), node.get(key, true) as Node)
  }
  return value
}

function readVersion(node: YAMLMap, path: string, problem: Report): string | null {
  const value = node.get('version', true) as Node | undefined
  if (value === undefined || (isScalar(value) && value.value === null)) return null
  if (!isScalar(value) || typeof value.value === 'object' || typeof value.value === 'boolean') {
    problem(`${path}.version`, 'must be a string such as "1.4.2"', value)
    return null
  }
  if (typeof value.value === 'number') {
    // YAML reads 1.10 as the number 1.1: keep what was written, and refuse forms that would change.
    const written = (value as Scalar).source ?? String(value.value)
    if (!Number.isInteger(value.value) && String(value.value) !== written) {
      problem(`${path}.version`, `YAML reads ${written} as the number ${value.value}; quote it: version: "${written}"`, value)
      return null
    }
    return written
  }
  const version = String(value.value)
  if (VERSION_PATTERN.test(version)) return version
  problem(`${path}.version`, `${JSON.stringify(version)} is not a valid version: ${VERSION_RULE}`, value)
  return null
}


function readPassEnv(node: YAMLMap, path: string, problem: Report): string[] {
  const names = readStringList(node, 'passEnv', path, problem)
  const items = (node.get('passEnv', true) as YAMLSeq | undefined)?.items as Node[] | undefined
  return names.filter((name, index) => {
    const why = unpassableVariable(name, {reservePrefix: true})
    if (why) problem(`${path}.passEnv[${index}]`, why, items?.[index])
    return !why
  })
}
