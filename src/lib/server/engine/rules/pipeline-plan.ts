// The pipeline planner: a pipeline of the blueprint + the run's apps and versions -> an ordered list of
// steps. Pure: no store, no clock.
//
// A step is what runs at once: one selective release of its apps in each of its environments. Each
// environment's own targets and rollout order apply inside its release, which is how a stage of
// environment 1 (targets I1, I2, sequential) deploys on I1 and then on I2. The steps:
// - services: parallel: stage after stage; a stage is one step with all its environments (order:
//   parallel) or one step per environment in the order listed (order: sequential); each environment gets
//   one release of all the run's apps;
// - services: sequential: app after app, in the order a release plans them (workflow order, else
//   dependencies first and ties by name), the same walk through the stages with that app alone: the
//   first app reaches every stage before the second starts anywhere.
// Gates belong to stages: an approval before a stage's first step (once per run), a soak after each
// pass of the stage (once per app with services: sequential).
import type {ReleaseResource} from '../../../api/schemas.js'
import {type Blueprint, type EnvironmentSpec, plainEnvironment, type RolloutOrder} from '../../blueprint/blueprint.js'
import type {PipelineSpec, PipelineStage} from '../../blueprint/pipelines.js'
import {describeOrder, planRelease} from './planner.js'

export interface PipelineApp {
  name: string
  version: string
}

export interface PipelineStepPlan {
  /** index into the plan's stages */
  stage: number
  /** the one app of this step with services: sequential; null: all of the run's apps */
  service: string | null
  /** the environments that get a release at once */
  environments: string[]
}

/** What a run follows, fixed when it is created: a later blueprint change does not reorder a run under way. */
export interface PipelinePlan {
  pipeline: string
  services: RolloutOrder
  queue: PipelineSpec['queue']
  onFailure: PipelineSpec['onFailure']
  stages: PipelineStage[]
  /** in the order a release plans them */
  apps: PipelineApp[]
  steps: PipelineStepPlan[]
}

function asUpdates(names: string[]): ReleaseResource[] {
  return names.map((name) => ({name, action: 'update', fromVersion: null, toVersion: null}))
}

/** Apps in the order a release of them plans them: workflow order, else dependencies first, ties by name. */
export function serviceOrder(blueprint: Blueprint, names: string[]): string[] {
  const environment: EnvironmentSpec = {...plainEnvironment('order'), rollout: {services: 'sequential', targets: 'parallel'}}
  const plan = planRelease({blueprint, environment, resources: asUpdates(names)})
  return [...plan.tasks].sort((a, b) => a.level - b.level).map((task) => task.resource as string)
}

export function planPipeline(blueprint: Blueprint, pipeline: PipelineSpec, apps: PipelineApp[]): PipelinePlan {
  const versions = new Map(apps.map((app) => [app.name, app.version]))
  const ordered = serviceOrder(blueprint, [...versions.keys()]).map((name) => ({name, version: versions.get(name) as string}))
  const walk = (service: string | null): PipelineStepPlan[] =>
    pipeline.stages.flatMap((stage, index) =>
      stage.order === 'parallel' ? [{stage: index, service, environments: [...stage.environments]}] : stage.environments.map((environment) => ({stage: index, service, environments: [environment]})),
    )
  const steps = pipeline.services === 'parallel' ? walk(null) : ordered.flatMap((app) => walk(app.name))
  return {pipeline: pipeline.name, services: pipeline.services, queue: pipeline.queue, onFailure: pipeline.onFailure, stages: pipeline.stages, apps: ordered, steps}
}

/** The apps (with versions) of a step. */
export function stepApps(plan: PipelinePlan, step: number): PipelineApp[] {
  const {service} = plan.steps[step]
  return service === null ? plan.apps : plan.apps.filter((app) => app.name === service)
}

/** The steps of the stage pass a step belongs to (the same stage, and the same app with services: sequential): first and last index. */
export function passOf(plan: PipelinePlan, step: number): {first: number; last: number} {
  const same = (other: number) => other >= 0 && other < plan.steps.length && plan.steps[other].stage === plan.steps[step].stage && plan.steps[other].service === plan.steps[step].service
  let first = step
  while (same(first - 1)) first--
  let last = step
  while (same(last + 1)) last++
  return {first, last}
}

/** The first step of a stage in the whole run: where its approval is asked. */
export function firstStepOfStage(plan: PipelinePlan, stage: number): number {
  return plan.steps.findIndex((step) => step.stage === stage)
}

/** The order of one environment's release of the apps named: its targets and rollout applied ("api@eu-1 | api@eu-2"). */
export function releaseOrder(blueprint: Blueprint, environment: string, names: string[]): string {
  return describeOrder(planRelease({blueprint, environment: environmentOf(blueprint, environment), resources: asUpdates(names)}))
}

function environmentOf(blueprint: Blueprint, name: string): EnvironmentSpec {
  return blueprint.environments.find((candidate) => candidate.name === name) ?? plainEnvironment(name)
}

/**
 * The whole order, level by level as `release trigger --dry-run` prints one release's ("a, b | c"),
 * each task prefixed with its environment: the steps one after another, the environments of a step
 * side by side. Case 5 of the issue reads
 * `env1/s1@i1, env1/s2@i1 | env1/s1@i2, env1/s2@i2 | env2/s1@k82, env2/s2@k82 | env2/s1@k81, env2/s2@k81`.
 */
export function describePipelineOrder(blueprint: Blueprint, plan: PipelinePlan): string {
  const levels: string[] = []
  plan.steps.forEach((step, index) => {
    const names = stepApps(plan, index).map((app) => app.name)
    const merged: string[][] = []
    for (const name of step.environments) {
      for (const task of planRelease({blueprint, environment: environmentOf(blueprint, name), resources: asUpdates(names)}).tasks) {
        ;(merged[task.level] ??= []).push(`${name}/${task.key}`)
      }
    }
    for (const level of merged) if (level) levels.push(level.join(', '))
  })
  return levels.join(' | ')
}
