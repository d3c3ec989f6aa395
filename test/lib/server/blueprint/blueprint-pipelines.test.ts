// parseBlueprint for issue 13: the pipelines section — what a valid one becomes (with its defaults), and
// each mistake reported with its path, line and what to do: unknown environments, an environment in two
// stages, an empty stage, and gates that hold nothing back.
import {describe, expect, it} from 'vitest'

import {type BlueprintProblem, parseBlueprint} from '../../../../src/lib/server/blueprint/blueprint.js'
import {BLUEPRINT_FILE, problemsOf} from '../../../helpers/blueprint.js'

const HEAD = `project: shop
resources:
  api: { driver: simulate }
  web: { driver: simulate }
environments:
  dev: {}
  staging-eu: {}
  staging-us: {}
  prod-eu: {}
  prod-us: {}
`

const doc = (pipelines: string) => `${HEAD}${pipelines}`

/** 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(needle))
  if (index < 0) throw new Error(`"${needle}" not in text`)
  return index + 1
}

/** 1-based column of `needle` on its line. */
function columnOf(text: string, needle: string): number {
  return text.split('\n')[lineOf(text, needle) - 1].indexOf(needle) + 1
}

function only(content: string): BlueprintProblem {
  const problems = problemsOf(content)
  expect(problems, JSON.stringify(problems, null, 2)).toHaveLength(1)
  return problems[0]
}

describe('parseBlueprint: pipelines', () => {
  it("reads the issue's pipeline, with every setting it names", () => {
    const blueprint = parseBlueprint(
      doc(`pipelines:
  main:
    services: parallel
    stages:
      - environments: [dev]
      - environments: [staging-eu, staging-us]
        order: parallel
        gate: { soak: 10m }
      - name: production
        environments: [prod-eu, prod-us]
        gate: { approval: true }
    queue: fifo
    onFailure: stop
`),
      BLUEPRINT_FILE,
    )
    expect(blueprint.pipelines).toEqual([
      {
        name: 'main',
        services: 'parallel',
        queue: 'fifo',
        onFailure: 'stop',
        stages: [
          {name: null, environments: ['dev'], order: 'sequential', gate: {soakMs: null, approval: false}},
          {name: null, environments: ['staging-eu', 'staging-us'], order: 'parallel', gate: {soakMs: 600_000, approval: false}},
          {name: 'production', environments: ['prod-eu', 'prod-us'], order: 'sequential', gate: {soakMs: null, approval: true}},
        ],
      },
    ])
  })

  it('defaults: services parallel, stages sequential, queue fifo, onFailure stop; a blueprint without pipelines has none', () => {
    const blueprint = parseBlueprint(doc('pipelines:\n  quick:\n    stages:\n      - environments: [dev, prod-eu]\n'), BLUEPRINT_FILE)
    expect(blueprint.pipelines).toEqual([
      {name: 'quick', services: 'parallel', queue: 'fifo', onFailure: 'stop', stages: [{name: null, environments: ['dev', 'prod-eu'], order: 'sequential', gate: {soakMs: null, approval: false}}]},
    ])
    expect(parseBlueprint(HEAD, BLUEPRINT_FILE).pipelines).toEqual([])
  })

  it('services: sequential, queue: supersede, onFailure: rollback', () => {
    const [pipeline] = parseBlueprint(doc('pipelines:\n  p:\n    services: sequential\n    queue: supersede\n    onFailure: rollback\n    stages: [{environments: [dev]}]\n'), BLUEPRINT_FILE).pipelines
    expect(pipeline).toMatchObject({services: 'sequential', queue: 'supersede', onFailure: 'rollback'})
  })

  it('an unknown environment, with the declared ones', () => {
    const content = doc('pipelines:\n  main:\n    stages:\n      - environments: [dev]\n      - environments: [prod-eu, prd-us]\n')
    expect(only(content)).toEqual({
      path: 'pipelines.main.stages[1].environments[1]',
      message: 'unknown environment "prd-us"; declared environments: dev, staging-eu, staging-us, prod-eu, prod-us',
      line: lineOf(content, 'prd-us'),
      column: columnOf(content, 'prd-us'),
    })
  })

  it('an environment in two stages, and twice in one', () => {
    const content = doc('pipelines:\n  main:\n    stages:\n      - environments: [dev, dev]\n      - environments: [staging-eu]\n      - environments: [prod-eu, staging-eu]\n')
    expect(problemsOf(content).map(({path, message, line}) => ({path, message, line}))).toEqual([
      {path: 'pipelines.main.stages[0].environments[1]', message: 'dev is listed twice in this stage', line: lineOf(content, '[dev, dev]')},
      {
        path: 'pipelines.main.stages[2].environments[1]',
        message: 'staging-eu is already in stage 2; an environment belongs to one stage of a pipeline',
        line: lineOf(content, '[prod-eu, staging-eu]'),
      },
    ])
  })

  it('an empty stage, and a pipeline without stages', () => {
    const empty = doc('pipelines:\n  main:\n    stages:\n      - environments: []\n      - environments: [prod-eu]\n')
    expect(only(empty)).toMatchObject({path: 'pipelines.main.stages[0].environments', message: 'a stage needs at least one environment, e.g. "environments: [staging]"', line: lineOf(empty, 'environments: []')})
    const none = doc('pipelines:\n  main:\n    queue: fifo\n')
    expect(only(none)).toMatchObject({path: 'pipelines.main.stages', message: expect.stringContaining('a pipeline needs at least one stage'), line: lineOf(none, 'main:') + 1})
  })

  it('refuses a soak on the last stage: nothing comes after it', () => {
    const content = doc('pipelines:\n  main:\n    stages:\n      - environments: [dev]\n      - environments: [prod-eu]\n        gate: { soak: 10m }\n')
    expect(only(content)).toEqual({
      path: 'pipelines.main.stages[1].gate.soak',
      message: 'a soak on the last stage holds nothing back: no stage comes after it; remove it, or add the stage it should guard',
      line: lineOf(content, 'soak: 10m'),
      column: columnOf(content, '10m'),
    })
  })

  it('refuses an approval on the first stage, and says what to use instead', () => {
    const content = doc('pipelines:\n  main:\n    stages:\n      - environments: [dev]\n        gate: { approval: true }\n      - environments: [prod-eu]\n')
    expect(only(content)).toMatchObject({
      path: 'pipelines.main.stages[0].gate.approval',
      message: expect.stringContaining("an approval before the first stage has nothing deployed to judge, and the run's creator asks for the run already; gate a later stage, or have dev's releases approved with its approval workflow (relctl settings set-approval --enabled -e dev)"),
      line: lineOf(content, 'approval: true'),
    })
    // approval: false on the first stage and a soak on it are fine
    expect(() => parseBlueprint(doc('pipelines:\n  main:\n    stages:\n      - environments: [dev]\n        gate: { approval: false, soak: 1h }\n      - environments: [prod-eu]\n'), BLUEPRINT_FILE)).not.toThrow()
  })

  it('reports bad values and unknown keys with what is allowed', () => {
    const content = doc(`pipelines:
  Main:
    stages: [{environments: [dev]}]
  main:
    services: serial
    queue: lifo
    onFailure: retry
    stage: []
    stages:
      - environments: [dev]
        order: random
        gate: { soak: 10 minutes, approve: true }
      - environments: [prod-eu]
        name: Prod
        gate: { approval: yes please }
`)
    expect(problemsOf(content).map((problem) => `${problem.line} ${problem.path}: ${problem.message}`)).toEqual([
      `${lineOf(content, 'Main:')} pipelines.Main: "Main" is not a valid pipeline name: use lower-case letters, digits, ".", "_" and "-", starting and ending with a letter or digit (at most 63)`,
      `${lineOf(content, 'stage: []')} pipelines.main.stage: unknown key "stage"; did you mean "stages"? (allowed here: services, stages, queue, onFailure, description)`,
      `${lineOf(content, 'serial')} pipelines.main.services: "serial" is not one of: parallel, sequential`,
      `${lineOf(content, 'lifo')} pipelines.main.queue: "lifo" is not one of: fifo, supersede`,
      `${lineOf(content, 'retry')} pipelines.main.onFailure: "retry" is not one of: stop, rollback`,
      `${lineOf(content, 'random')} pipelines.main.stages[0].order: "random" is not one of: parallel, sequential`,
      `${lineOf(content, 'approve: true')} pipelines.main.stages[0].gate.approve: unknown key "approve"; did you mean "approval"? (allowed here: soak, approval)`,
      `${lineOf(content, '10 minutes')} pipelines.main.stages[0].gate.soak: "10 minutes" is not a duration; write a number and a unit, such as 1500ms, 30s, 15m, 6h, 1d, 2w or 1h30m`,
      `${lineOf(content, 'name: Prod')} pipelines.main.stages[1].name: "Prod" is not a valid stage name: use lower-case letters, digits, ".", "_" and "-", starting and ending with a letter or digit (at most 63)`,
      `${lineOf(content, 'yes please')} pipelines.main.stages[1].gate.approval: must be true or false`,
    ])
  })

  it('the errors read as `project apply` prints them: file:line:column path: message', () => {
    const content = doc('pipelines:\n  main:\n    stages:\n      - environments: [dev]\n      - environments: [qa]\n')
    expect(() => parseBlueprint(content, BLUEPRINT_FILE)).toThrow(
      `relctl.yaml is not a valid blueprint (1 problem):\n  relctl.yaml:${lineOf(content, '[qa]')}:${columnOf(content, 'qa]')} pipelines.main.stages[1].environments[0]: unknown environment "qa"; declared environments: dev, staging-eu, staging-us, prod-eu, prod-us`,
    )
  })
})
