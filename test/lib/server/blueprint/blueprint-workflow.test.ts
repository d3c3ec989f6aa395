// parseBlueprint for issue 5: workflow steps, environment targets, rollout orders, target hooks and
// exec.status — what a valid document becomes, and each mistake reported with its path and line.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {BlueprintError, type BlueprintProblem, parseBlueprint} from '../../../../src/lib/server/blueprint/blueprint.js'
import {BLUEPRINT_FILE, problemsOf} from '../../../helpers/blueprint.js'

const FILE = BLUEPRINT_FILE


function onlyProblem(content: string): BlueprintProblem {
  const problems = problemsOf(content)
  expect(problems, JSON.stringify(problems, null, 2)).toHaveLength(1)
  return problems[0]
}

/** 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(needle))
  if (index < 0) throw new Error(`"${needle}" not in text`)
  return index + 1
}

const RESOURCES = `resources:
  web:
    driver: simulate
  migrate-db:
    kind: job
    driver: simulate
  scrub:
    driver: simulate
  api:
    driver: exec
    exec: { deploy: ./deploy.sh, status: ./status.sh }
  worker:
    driver: simulate
`

/** A document with the resources above, `workflow` (YAML text, may be empty) and `environments`. */
const doc = (workflow: string, environments = 'environments:\n  prod: {}\n') => `project: shop\n${RESOURCES}${workflow}${environments}`

describe('parseBlueprint: valid workflows, targets, rollouts and hooks', () => {
  const content = doc(
    `workflow:
  - step: frontend
    tasks: [web]
    waitForFinish: false
  - step: migrate
    tasks: [migrate-db, scrub]
    haltOnError: true
  - step: backend
    tasks:
      - api
      - worker
`,
    `environments:
  staging: {}
  prod:
    targets: [eu-1, eu-2]
    rollout: { services: sequential, targets: parallel }
    hooks:
      beforeTarget: ./scripts/lb-remove.sh
      afterTarget: ./scripts/lb-add.sh
  qa:
    targets: [qa-1]
    rollout: { targets: sequential }
`,
  )

  it('reads the workflow in order with its defaults (waitForFinish true, haltOnError false)', () => {
    const blueprint = parseBlueprint(content, FILE)
    expect(blueprint.workflow).toEqual([
      {step: 'frontend', tasks: ['web'], waitForFinish: false, haltOnError: false},
      {step: 'migrate', tasks: ['migrate-db', 'scrub'], waitForFinish: true, haltOnError: true},
      {step: 'backend', tasks: ['api', 'worker'], waitForFinish: true, haltOnError: false},
    ])
  })

  it('reads targets, rollout (each axis defaults to parallel) and hooks', () => {
    const [staging, prod, qa] = parseBlueprint(content, FILE).environments
    expect(staging).toEqual({name: 'staging', targets: [], rollout: {services: 'parallel', targets: 'parallel'}, hooks: {beforeTarget: null, afterTarget: null}, hookRetries: null})
    expect(prod).toEqual({
      name: 'prod',
      targets: ['eu-1', 'eu-2'],
      rollout: {services: 'sequential', targets: 'parallel'},
      hooks: {beforeTarget: './scripts/lb-remove.sh', afterTarget: './scripts/lb-add.sh'},
      hookRetries: null,
    })
    expect(qa).toEqual({name: 'qa', targets: ['qa-1'], rollout: {services: 'parallel', targets: 'sequential'}, hooks: {beforeTarget: null, afterTarget: null}, hookRetries: null})
  })

  it('reads exec.status, and null where it is not written', () => {
    const blueprint = parseBlueprint(content, FILE)
    const api = blueprint.resources.find((resource) => resource.name === 'api')
    expect(api?.exec).toEqual({deploy: './deploy.sh', health: null, destroy: null, status: './status.sh', passEnv: []})
  })

  it('accepts only one hook, and an empty workflow', () => {
    const blueprint = parseBlueprint(doc('workflow: []\n', 'environments:\n  prod:\n    targets: [a]\n    hooks: { afterTarget: ./add.sh }\n'), FILE)
    expect(blueprint.workflow).toEqual([])
    expect(blueprint.environments[0].hooks).toEqual({beforeTarget: null, afterTarget: './add.sh'})
    expect(parseBlueprint(doc('workflow:\n'), FILE).workflow).toEqual([])
  })

  it('a workflow need not name every resource (the rest deploy after the last step)', () => {
    const blueprint = parseBlueprint(doc('workflow:\n  - step: only\n    tasks: [api]\n'), FILE)
    expect(blueprint.workflow).toEqual([{step: 'only', tasks: ['api'], waitForFinish: true, haltOnError: false}])
  })

  it('parses examples/rollout/relctl.yaml', () => {
    const path = fileURLToPath(new URL('../../../../examples/rollout/relctl.yaml', import.meta.url))
    const blueprint = parseBlueprint(readFileSync(path, 'utf8'), path)
    expect(blueprint.workflow.map((step) => [step.step, step.tasks, step.waitForFinish, step.haltOnError])).toEqual([
      ['frontend', ['web'], false, false],
      ['migrate', ['migrate-db', 'scrub'], true, true],
      ['backend', ['api', 'worker'], true, false],
    ])
    const prod = blueprint.environments.find((environment) => environment.name === 'prod')
    expect(prod).toEqual({
      name: 'prod',
      targets: ['eu-1', 'eu-2'],
      rollout: {services: 'parallel', targets: 'sequential'},
      hooks: {beforeTarget: './scripts/lb-remove.sh', afterTarget: './scripts/lb-add.sh'},
      hookRetries: null,
    })
    expect(blueprint.resources.find((resource) => resource.name === 'web')?.exec?.status).toBe('./scripts/status.sh')
  })
})

describe('parseBlueprint: workflow mistakes', () => {
  it('a task that names no resource', () => {
    const content = doc('workflow:\n  - step: backend\n    tasks: [api, nope]\n')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('workflow[0].tasks[1]')
    expect(problem.message).toBe('unknown resource "nope"; declared resources: web, migrate-db, scrub, api, worker')
    expect(problem.line).toBe(lineOf(content, 'tasks: [api, nope]'))
  })

  it('a resource in two steps', () => {
    const content = doc('workflow:\n  - step: one\n    tasks: [api]\n  - step: two\n    tasks: [web, api]\n')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('workflow[1].tasks[1]')
    expect(problem.message).toBe('api is already in step "one"; a resource belongs to one step')
    expect(problem.line).toBe(lineOf(content, 'tasks: [web, api]'))
  })

  it('a resource twice in the same step', () => {
    const problem = onlyProblem(doc('workflow:\n  - step: one\n    tasks: [api, api]\n'))
    expect(problem.path).toBe('workflow[0].tasks[1]')
    expect(problem.message).toMatch(/api is already in step "one"/)
  })

  it('a step name used twice', () => {
    const content = doc('workflow:\n  - step: one\n    tasks: [api]\n  - step: one\n    tasks: [web]\n')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('workflow[1].step')
    expect(problem.message).toBe('step "one" is declared twice')
    // the second declaration
    expect(problem.line).toBe(content.split('\n').lastIndexOf('  - step: one') + 1)
  })

  it('a step without tasks, or with an empty list', () => {
    for (const tasks of ['    tasks: []\n', '']) {
      const problem = onlyProblem(doc(`workflow:\n  - step: one\n${tasks}`))
      expect(problem.path).toBe('workflow[0].tasks')
      expect(problem.message).toBe('a step needs at least one task: the resources it deploys')
    }
  })

  it('tasks that are not a list', () => {
    const problems = problemsOf(doc('workflow:\n  - step: one\n    tasks: api\n'))
    expect(problems.map((problem) => problem.path)).toContain('workflow[0].tasks')
    expect(problems.find((problem) => problem.path === 'workflow[0].tasks')?.message).toBe('must be a list, e.g. tasks: [a, b]')
  })

  it.each(['yes', '"true"', '1', '[true]'])('waitForFinish: %s is not a boolean', (value) => {
    const content = doc(`workflow:\n  - step: one\n    tasks: [api]\n    waitForFinish: ${value}\n`)
    const problem = onlyProblem(content)
    expect(problem.path).toBe('workflow[0].waitForFinish')
    expect(problem.message).toBe('must be true or false')
    expect(problem.line).toBe(lineOf(content, 'waitForFinish'))
  })

  it('haltOnError: a string is not a boolean', () => {
    const problem = onlyProblem(doc('workflow:\n  - step: one\n    tasks: [api]\n    haltOnError: always\n'))
    expect(problem.path).toBe('workflow[0].haltOnError')
    expect(problem.message).toBe('must be true or false')
  })

  it('a step without a name, or with an invalid one', () => {
    const missing = onlyProblem(doc('workflow:\n  - tasks: [api]\n'))
    expect(missing.path).toBe('workflow[0].step')
    expect(missing.message).toMatch(/^missing: name the step/)
    const bad = onlyProblem(doc('workflow:\n  - step: Back End\n    tasks: [api]\n'))
    expect(bad.path).toBe('workflow[0].step')
    expect(bad.message).toMatch(/"Back End" is not a valid step name/)
  })

  it('unknown keys in a step, with a suggestion', () => {
    const content = doc('workflow:\n  - step: one\n    tasks: [api]\n    haltOnErrors: true\n')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('workflow[0].haltOnErrors')
    expect(problem.message).toBe('unknown key "haltOnErrors"; did you mean "haltOnError"? (allowed here: step, tasks, waitForFinish, haltOnError)')
    expect(problem.line).toBe(lineOf(content, 'haltOnErrors'))
  })

  it('a workflow that is not a list, and a step that is not a mapping', () => {
    expect(onlyProblem(doc('workflow: { step: one }\n')).path).toBe('workflow')
    const problem = onlyProblem(doc('workflow:\n  - api\n'))
    expect(problem.path).toBe('workflow[0]')
    expect(problem.message).toBe('a step is a mapping with "step" and "tasks"')
  })

  it('reports every workflow problem at once', () => {
    const problems = problemsOf(doc('workflow:\n  - step: one\n    tasks: [nope]\n    waitForFinish: maybe\n  - step: one\n    tasks: []\n'))
    expect(problems.map((problem) => problem.path).sort()).toEqual(['workflow[0].tasks[0]', 'workflow[0].waitForFinish', 'workflow[1].step', 'workflow[1].tasks'])
  })
})

describe('parseBlueprint: targets, rollout and hooks mistakes', () => {
  const env = (body: string) => doc('', `environments:\n  prod:\n${body}`)

  it('an unknown rollout order', () => {
    const content = env('    targets: [a, b]\n    rollout: { services: parallel, targets: serial }\n')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('environments.prod.rollout.targets')
    expect(problem.message).toBe('"serial" is not an order; use parallel or sequential')
    expect(problem.line).toBe(lineOf(content, 'rollout:'))
  })

  it('an unknown services order', () => {
    const problem = onlyProblem(env('    rollout:\n      services: one-by-one\n'))
    expect(problem.path).toBe('environments.prod.rollout.services')
    expect(problem.message).toBe('"one-by-one" is not an order; use parallel or sequential')
  })

  it('rollout that is not a mapping', () => {
    const problem = onlyProblem(env('    rollout: sequential\n'))
    expect(problem.path).toBe('environments.prod.rollout')
    expect(problem.message).toMatch(/rollout is a mapping/)
  })

  it('hooks without targets', () => {
    const content = env('    hooks:\n      beforeTarget: ./lb-remove.sh\n')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('environments.prod.hooks')
    expect(problem.message).toBe('target hooks need targets: list them under "targets:"')
    expect(problem.line).toBe(lineOf(content, 'beforeTarget'))
  })

  it('a target listed twice', () => {
    const problem = onlyProblem(env('    targets: [eu-1, eu-2, eu-1]\n'))
    expect(problem.path).toBe('environments.prod.targets[2]')
    expect(problem.message).toBe('target "eu-1" is listed twice')
  })

  it('an invalid target name', () => {
    const problem = onlyProblem(env('    targets: [EU 1]\n'))
    expect(problem.path).toBe('environments.prod.targets[0]')
    expect(problem.message).toMatch(/"EU 1" is not a valid target name/)
  })

  it('unknown keys in rollout', () => {
    const content = env('    targets: [a]\n    rollout: { service: sequential }\n')
    const problem = onlyProblem(content)
    expect(problem.path).toBe('environments.prod.rollout.service')
    expect(problem.message).toBe('unknown key "service"; did you mean "services"? (allowed here: services, targets)')
  })

  it('unknown keys in hooks', () => {
    const content = env('    targets: [a]\n    hooks:\n      beforeTargets: ./x.sh\n      onFailure: ./y.sh\n')
    const problems = problemsOf(content)
    expect(problems.map((problem) => problem.path)).toEqual(['environments.prod.hooks.beforeTargets', 'environments.prod.hooks.onFailure'])
    expect(problems[0].message).toBe('unknown key "beforeTargets"; did you mean "beforeTarget"? (allowed here: beforeTarget, afterTarget, retries)')
    expect(problems[0].line).toBe(lineOf(content, 'beforeTargets'))
    expect(problems[1].message).toBe('unknown key "onFailure" (allowed here: beforeTarget, afterTarget, retries)')
  })

  it('unknown keys in an environment', () => {
    const problem = onlyProblem(env('    target: [a]\n'))
    expect(problem.path).toBe('environments.prod.target')
    expect(problem.message).toMatch(/^unknown key "target"; did you mean "targets"\?/)
  })

  it('a hook that is not a string', () => {
    const problem = onlyProblem(env('    targets: [a]\n    hooks: { afterTarget: [./x.sh] }\n'))
    expect(problem.path).toBe('environments.prod.hooks.afterTarget')
    expect(problem.message).toBe('must be a string')
  })

  it('exec.status that is not a string, and unknown exec keys', () => {
    const content = `project: shop
resources:
  api:
    driver: exec
    exec: { deploy: ./d.sh, status: [./s.sh], stat: ./s.sh }
environments:
  prod: {}
`
    const problems = problemsOf(content)
    expect(problems.map((problem) => problem.path).sort()).toEqual(['resources.api.exec.stat', 'resources.api.exec.status'])
    expect(problems.find((problem) => problem.path === 'resources.api.exec.status')?.message).toBe('must be a string')
  })

  it('the error message lists file, line and path', () => {
    const content = env('    targets: [a]\n    rollout: { targets: serial }\n')
    try {
      parseBlueprint(content, FILE)
      throw new Error('expected a BlueprintError')
    } catch (error) {
      expect(error).toBeInstanceOf(BlueprintError)
      expect((error as Error).message).toContain(`relctl.yaml:${lineOf(content, 'rollout:')}:`)
      expect((error as Error).message).toContain('environments.prod.rollout.targets: "serial" is not an order')
    }
  })
})
