// The pipeline planner (issue 13): Harness's cases 5 and 6 with the seed's exact orders, every mix of a
// stage's order × the services axis × each environment's target rollout, and what a step, a pass and
// the services order are.
import {describe, expect, it} from 'vitest'

import {parseBlueprint, type RolloutOrder} from '../../../../../src/lib/server/blueprint/blueprint.js'
import {describePipelineOrder, firstStepOfStage, passOf, planPipeline, serviceOrder, stepApps} from '../../../../../src/lib/server/engine/rules/pipeline-plan.js'

const S1_S2 = [
  {name: 's1', version: '2.0.0'},
  {name: 's2', version: '2.0.0'},
]

function planOf(yaml: string, pipeline: string, apps = S1_S2) {
  const blueprint = parseBlueprint(yaml, 'relctl.yaml')
  const spec = blueprint.pipelines.find((candidate) => candidate.name === pipeline)
  if (!spec) throw new Error(`no pipeline ${pipeline}`)
  const plan = planPipeline(blueprint, spec, apps)
  return {plan, order: describePipelineOrder(blueprint, plan), steps: plan.steps.map((step, index) => ({stage: step.stage, service: step.service, environments: step.environments, apps: stepApps(plan, index).map((app) => app.name)}))}
}

const SEED = `project: seed
resources:
  s1: { driver: simulate }
  s2: { driver: simulate }
environments:
  environment-1: { targets: [i1, i2], rollout: { services: parallel, targets: sequential } }
  environment-2: { targets: [k82, k81], rollout: { services: parallel, targets: sequential } }
  fleet-1: { targets: [i1, i2], rollout: { services: parallel, targets: parallel } }
  fleet-2: { targets: [k82, k81], rollout: { services: parallel, targets: parallel } }
pipelines:
  case5:
    services: parallel
    stages:
      - environments: [environment-1]
      - environments: [environment-2]
  case6:
    services: sequential
    stages:
      - environments: [fleet-1, fleet-2]
        order: parallel
`

describe("Harness's cases (seed 004)", () => {
  it('case 5: services in parallel, environments and infrastructures in sequence: S1 and S2 on I1, then on I2, then on K82, then on K81', () => {
    const {order, steps} = planOf(SEED, 'case5')
    expect(steps).toEqual([
      {stage: 0, service: null, environments: ['environment-1'], apps: ['s1', 's2']},
      {stage: 1, service: null, environments: ['environment-2'], apps: ['s1', 's2']},
    ])
    expect(order).toBe(
      'environment-1/s1@i1, environment-1/s2@i1 | environment-1/s1@i2, environment-1/s2@i2 | environment-2/s1@k82, environment-2/s2@k82 | environment-2/s1@k81, environment-2/s2@k81',
    )
  })

  it('case 6: services in sequence, environments and infrastructures in parallel: S1 to I1, I2, K82 and K81 at once, then S2 to all four', () => {
    const {order, steps} = planOf(SEED, 'case6')
    expect(steps).toEqual([
      {stage: 0, service: 's1', environments: ['fleet-1', 'fleet-2'], apps: ['s1']},
      {stage: 0, service: 's2', environments: ['fleet-1', 'fleet-2'], apps: ['s2']},
    ])
    expect(order).toBe('fleet-1/s1@i1, fleet-1/s1@i2, fleet-2/s1@k82, fleet-2/s1@k81 | fleet-1/s2@i1, fleet-1/s2@i2, fleet-2/s2@k82, fleet-2/s2@k81')
  })
})

/** Two stages, [a, b] with the given order and then [c]; every environment has targets t1, t2 rolled out as given. */
function mix(stageOrder: RolloutOrder, services: RolloutOrder, targets: RolloutOrder) {
  const environment = `{ targets: [t1, t2], rollout: { services: parallel, targets: ${targets} } }`
  return planOf(
    `project: mix
resources:
  s1: { driver: simulate }
  s2: { driver: simulate }
environments:
  a: ${environment}
  b: ${environment}
  c: ${environment}
pipelines:
  p:
    services: ${services}
    stages:
      - environments: [a, b]
        order: ${stageOrder}
      - environments: [c]
`,
    'p',
  )
}

describe('every mix of stage order × services axis × target rollout', () => {
  const cases: [RolloutOrder, RolloutOrder, RolloutOrder, string[][], string][] = [
    [
      'sequential',
      'parallel',
      'sequential',
      [['a'], ['b'], ['c']],
      'a/s1@t1, a/s2@t1 | a/s1@t2, a/s2@t2 | b/s1@t1, b/s2@t1 | b/s1@t2, b/s2@t2 | c/s1@t1, c/s2@t1 | c/s1@t2, c/s2@t2',
    ],
    ['sequential', 'parallel', 'parallel', [['a'], ['b'], ['c']], 'a/s1@t1, a/s2@t1, a/s1@t2, a/s2@t2 | b/s1@t1, b/s2@t1, b/s1@t2, b/s2@t2 | c/s1@t1, c/s2@t1, c/s1@t2, c/s2@t2'],
    ['parallel', 'parallel', 'sequential', [['a', 'b'], ['c']], 'a/s1@t1, a/s2@t1, b/s1@t1, b/s2@t1 | a/s1@t2, a/s2@t2, b/s1@t2, b/s2@t2 | c/s1@t1, c/s2@t1 | c/s1@t2, c/s2@t2'],
    ['parallel', 'parallel', 'parallel', [['a', 'b'], ['c']], 'a/s1@t1, a/s2@t1, a/s1@t2, a/s2@t2, b/s1@t1, b/s2@t1, b/s1@t2, b/s2@t2 | c/s1@t1, c/s2@t1, c/s1@t2, c/s2@t2'],
    [
      'sequential',
      'sequential',
      'sequential',
      [['a'], ['b'], ['c'], ['a'], ['b'], ['c']],
      'a/s1@t1 | a/s1@t2 | b/s1@t1 | b/s1@t2 | c/s1@t1 | c/s1@t2 | a/s2@t1 | a/s2@t2 | b/s2@t1 | b/s2@t2 | c/s2@t1 | c/s2@t2',
    ],
    ['sequential', 'sequential', 'parallel', [['a'], ['b'], ['c'], ['a'], ['b'], ['c']], 'a/s1@t1, a/s1@t2 | b/s1@t1, b/s1@t2 | c/s1@t1, c/s1@t2 | a/s2@t1, a/s2@t2 | b/s2@t1, b/s2@t2 | c/s2@t1, c/s2@t2'],
    ['parallel', 'sequential', 'sequential', [['a', 'b'], ['c'], ['a', 'b'], ['c']], 'a/s1@t1, b/s1@t1 | a/s1@t2, b/s1@t2 | c/s1@t1 | c/s1@t2 | a/s2@t1, b/s2@t1 | a/s2@t2, b/s2@t2 | c/s2@t1 | c/s2@t2'],
    ['parallel', 'sequential', 'parallel', [['a', 'b'], ['c'], ['a', 'b'], ['c']], 'a/s1@t1, a/s1@t2, b/s1@t1, b/s1@t2 | c/s1@t1, c/s1@t2 | a/s2@t1, a/s2@t2, b/s2@t1, b/s2@t2 | c/s2@t1, c/s2@t2'],
  ]
  for (const [stageOrder, services, targets, environments, order] of cases) {
    it(`stage order ${stageOrder} × services ${services} × targets ${targets}`, () => {
      const planned = mix(stageOrder, services, targets)
      expect(planned.steps.map((step) => step.environments)).toEqual(environments)
      // services: parallel, every step releases both apps; sequential, s1's walk through the stages, then s2's
      const serviceOfStep = planned.steps.map((step) => step.service)
      expect(serviceOfStep).toEqual(services === 'parallel' ? environments.map(() => null) : environments.map((_, index) => (index < environments.length / 2 ? 's1' : 's2')))
      expect(planned.steps.map((step) => step.apps)).toEqual(services === 'parallel' ? environments.map(() => ['s1', 's2']) : serviceOfStep.map((service) => [service]))
      expect(planned.order).toBe(order)
    })
  }

  it("an environment's own services rollout applies inside its release: sequential services there deploy s1 then s2 on each target", () => {
    const {order} = planOf(
      `project: inner
resources:
  s1: { driver: simulate }
  s2: { driver: simulate }
environments:
  a: { targets: [t1, t2], rollout: { services: sequential, targets: sequential } }
  b: {}
pipelines:
  p:
    stages:
      - environments: [a]
      - environments: [b]
`,
      'p',
    )
    expect(order).toBe('a/s1@t1 | a/s2@t1 | a/s1@t2 | a/s2@t2 | b/s1, b/s2')
  })
})

const CHAIN = `project: chain
resources:
  web: { driver: simulate, dependsOn: [api] }
  api: { driver: simulate, dependsOn: [db] }
  db: { driver: simulate }
  cron: { driver: simulate }
environments:
  dev: {}
  staging: {}
  prod: {}
pipelines:
  p:
    services: sequential
    stages:
      - environments: [dev]
      - environments: [staging]
        gate: { soak: 1m }
      - environments: [prod]
        gate: { approval: true }
`

describe('the plan of a run', () => {
  it('services: sequential goes app after app in the order a release plans them: dependencies first, ties by name', () => {
    const blueprint = parseBlueprint(CHAIN, 'relctl.yaml')
    expect(serviceOrder(blueprint, ['web', 'cron', 'api', 'db'])).toEqual(['cron', 'db', 'api', 'web'])
    const {plan} = planOf(CHAIN, 'p', [
      {name: 'web', version: '3'},
      {name: 'api', version: '2'},
    ])
    expect(plan.apps).toEqual([
      {name: 'api', version: '2'},
      {name: 'web', version: '3'},
    ])
    expect(plan.steps.map((step) => `${step.service}:${step.environments.join('+')}`)).toEqual(['api:dev', 'api:staging', 'api:prod', 'web:dev', 'web:staging', 'web:prod'])
  })

  it('a workflow orders the apps as its steps do', () => {
    const blueprint = parseBlueprint(`${CHAIN.replace('environments:\n  dev', 'workflow:\n  - step: first\n    tasks: [web]\n  - step: then\n    tasks: [db, api]\nenvironments:\n  dev')}`, 'relctl.yaml')
    expect(serviceOrder(blueprint, ['api', 'db', 'web'])).toEqual(['web', 'db', 'api'])
  })

  it("passes (a stage's steps for one app) and where each stage's approval is asked: once per run, before its first step", () => {
    const {plan} = planOf(CHAIN, 'p', [
      {name: 'api', version: '2'},
      {name: 'web', version: '3'},
    ])
    expect(plan.steps.map((_, index) => passOf(plan, index))).toEqual([0, 1, 2, 3, 4, 5].map((index) => ({first: index, last: index})))
    expect(firstStepOfStage(plan, 2)).toBe(2)
    expect(plan.stages.map((stage) => stage.gate)).toEqual([
      {soakMs: null, approval: false},
      {soakMs: 60_000, approval: false},
      {soakMs: null, approval: true},
    ])
    const sequentialStage = planOf(SEED.replace('order: parallel', 'order: sequential'), 'case6').plan
    expect(sequentialStage.steps.map((_, index) => passOf(sequentialStage, index))).toEqual([
      {first: 0, last: 1},
      {first: 0, last: 1},
      {first: 2, last: 3},
      {first: 2, last: 3},
    ])
    expect(queueAndFailure(sequentialStage)).toEqual({queue: 'fifo', onFailure: 'stop', services: 'sequential', pipeline: 'case6'})
  })
})

function queueAndFailure(plan: ReturnType<typeof planPipeline>) {
  return {queue: plan.queue, onFailure: plan.onFailure, services: plan.services, pipeline: plan.pipeline}
}
