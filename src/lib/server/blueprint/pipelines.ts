// The blueprint's `pipelines:` section: promotion across environments. Each pipeline is stages of
// environments with gates between them; read and checked here, every problem with its line, like the
// rest of the blueprint (blueprint.ts).
import {isMap, isScalar, isSeq, type Node, type YAMLMap} from 'yaml'

import {NAME_PATTERN, NAME_RULE} from '../../api/domain.js'
import type {EnvironmentSpec, RolloutOrder} from './blueprint.js'
import {checkKeys, readDuration, readDurationText, readString, readStringList, type Report} from './yaml-read.js'

export interface PipelineStage {
  /** optional; stages are numbered from 1 either way */
  name: string | null
  environments: string[]
  /** the stage's environments one after another, in the order listed (default), or all at once */
  order: RolloutOrder
  gate: {
    /** after the stage: its apps stay Synced and Healthy this long before the next stage starts */
    soakMs: number | null
    /** before the stage: someone other than the run's creator approves it */
    approval: boolean
  }
}

export interface PipelineSpec {
  name: string
  /** the services axis of the whole run: all the run's apps together in each environment, or one app after another through every stage */
  services: RolloutOrder
  stages: PipelineStage[]
  /** a newer run of the pipeline waits for the older ones (fifo), or ends them at their next stage (supersede) */
  queue: 'fifo' | 'supersede'
  /** a failed stage ends the run (stop), or is rolled back first (rollback) */
  onFailure: 'stop' | 'rollback'
}

const PIPELINE_KEYS = ['services', 'stages', 'queue', 'onFailure', 'description']
const STAGE_KEYS = ['name', 'environments', 'order', 'gate']
const GATE_KEYS = ['soak', 'approval']
const ORDERS = ['parallel', 'sequential']
const QUEUES = ['fifo', 'supersede'] as const
const ON_FAILURE = ['stop', 'rollback'] as const

/** Reads `pipelines:`, a mapping of name -> pipeline; reports every problem found. */
export function readPipelines(node: Node | undefined, environments: EnvironmentSpec[], problem: Report): PipelineSpec[] {
  if (node === undefined || (isScalar(node) && node.value === null)) return []
  if (!isMap(node)) {
    problem('pipelines', 'pipelines is a mapping of names to pipelines, such as "main: { stages: [ { environments: [dev] }, { environments: [prod] } ] }"', node)
    return []
  }
  const pipelines: PipelineSpec[] = []
  for (const pair of node.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : null
    const path = `pipelines.${name}`
    if (!name || !NAME_PATTERN.test(name)) {
      problem(path, `${JSON.stringify(name)} is not a valid pipeline name: ${NAME_RULE}`, pair.key as Node)
      continue
    }
    const pipeline = readPipeline(name, path, pair.value as Node | null, environments, problem)
    if (pipeline) pipelines.push(pipeline)
  }
  return pipelines
}

function readChoice<T extends string>(node: YAMLMap, key: string, path: string, choices: readonly T[], fallback: T, problem: Report): T {
  const value = readString(node, key, path, problem)
  if (value === null) return fallback
  if ((choices as readonly string[]).includes(value)) return value as T
  problem(`${path}.${key}`, `"${value}" is not one of: ${choices.join(', ')}`, node.get(key, true) as Node)
  return fallback
}

function readPipeline(name: string, path: string, node: Node | null, environments: EnvironmentSpec[], problem: Report): PipelineSpec | null {
  if (!isMap(node)) {
    problem(path, 'a pipeline is a mapping with "stages", a list such as "- environments: [dev]"', node)
    return null
  }
  checkKeys(node, path, PIPELINE_KEYS, problem)
  const services = readChoice(node, 'services', path, ORDERS as RolloutOrder[], 'parallel', problem)
  const queue = readChoice(node, 'queue', path, QUEUES, 'fifo', problem)
  const onFailure = readChoice(node, 'onFailure', path, ON_FAILURE, 'stop', problem)
  const stagesNode = node.get('stages', true) as Node | undefined
  if (!isSeq(stagesNode) || stagesNode.items.length === 0) {
    problem(`${path}.stages`, 'a pipeline needs at least one stage, e.g. "stages: [ { environments: [staging] }, { environments: [prod] } ]"', stagesNode ?? node)
    return null
  }
  const declared = environments.map((environment) => environment.name)
  const placedIn = new Map<string, number>()
  const names = new Set<string>()
  const stages: PipelineStage[] = []
  const last = stagesNode.items.length - 1
  stagesNode.items.forEach((item, index) => {
    const stagePath = `${path}.stages[${index}]`
    if (!isMap(item)) {
      problem(stagePath, 'a stage is a mapping with "environments", such as "{ environments: [staging-eu, staging-us], order: parallel }"', item as Node)
      return
    }
    checkKeys(item, stagePath, STAGE_KEYS, problem)
    const stageName = readString(item, 'name', stagePath, problem)
    if (stageName !== null) {
      if (!NAME_PATTERN.test(stageName)) problem(`${stagePath}.name`, `"${stageName}" is not a valid stage name: ${NAME_RULE}`, item.get('name', true) as Node)
      else if (names.has(stageName)) problem(`${stagePath}.name`, `stage "${stageName}" is declared twice in pipeline ${name}`, item.get('name', true) as Node)
      names.add(stageName)
    }
    const listed = readStringList(item, 'environments', stagePath, problem)
    const listNode = (item.get('environments', true) as Node | undefined) ?? item
    if (listed.length === 0) problem(`${stagePath}.environments`, 'a stage needs at least one environment, e.g. "environments: [staging]"', listNode)
    const stageEnvironments: string[] = []
    listed.forEach((environment, position) => {
      const where = `${stagePath}.environments[${position}]`
      const node = isSeq(listNode) ? (listNode.items[position] as Node) : listNode
      if (!declared.includes(environment)) {
        problem(where, `unknown environment "${environment}"; declared environments: ${declared.join(', ')}`, node)
      } else if (stageEnvironments.includes(environment)) {
        problem(where, `${environment} is listed twice in this stage`, node)
      } else if (placedIn.has(environment)) {
        problem(where, `${environment} is already in stage ${(placedIn.get(environment) as number) + 1}; an environment belongs to one stage of a pipeline`, node)
      } else {
        placedIn.set(environment, index)
        stageEnvironments.push(environment)
      }
    })
    const order = readChoice(item, 'order', stagePath, ORDERS as RolloutOrder[], 'sequential', problem)
    const gate = readGate(item, stagePath, index, last, stageEnvironments[0] ?? 'ENV', problem)
    stages.push({name: stageName, environments: stageEnvironments, order, gate})
  })
  return {name, services, stages, queue, onFailure}
}

function readGate(stage: YAMLMap, stagePath: string, index: number, last: number, firstEnvironment: string, problem: Report): PipelineStage['gate'] {
  const gate: PipelineStage['gate'] = {soakMs: null, approval: false}
  const node = stage.get('gate', true) as Node | undefined
  if (node === undefined || (isScalar(node) && node.value === null)) return gate
  const path = `${stagePath}.gate`
  if (!isMap(node)) {
    problem(path, 'a gate is a mapping such as "{ soak: 10m }" or "{ approval: true }"', node)
    return gate
  }
  checkKeys(node, path, GATE_KEYS, problem)
  const soakText = readDurationText(node, 'soak', path, problem)
  if (soakText !== null) {
    const soakNode = node.get('soak', true) as Node
    const soakMs = readDuration(soakText, `${path}.soak`, soakNode, problem)
    if (soakMs !== null && index === last) {
      problem(`${path}.soak`, 'a soak on the last stage holds nothing back: no stage comes after it; remove it, or add the stage it should guard', soakNode)
    } else gate.soakMs = soakMs
  }
  const approval = node.get('approval', true) as Node | undefined
  if (approval !== undefined) {
    if (!isScalar(approval) || typeof approval.value !== 'boolean') problem(`${path}.approval`, 'must be true or false', approval)
    else if (approval.value && index === 0) {
      problem(
        `${path}.approval`,
        `an approval before the first stage has nothing deployed to judge, and the run's creator asks for the run already; gate a later stage, or have ${firstEnvironment}'s releases approved with its approval workflow (relctl settings set-approval --enabled -e ${firstEnvironment})`,
        approval,
      )
    } else gate.approval = approval.value
  }
  return gate
}
