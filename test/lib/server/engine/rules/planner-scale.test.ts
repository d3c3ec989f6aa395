// The graph walks hold at any depth: a dependency chain of 20,000 resources is planned, locked and
// checked for cycles without a stack overflow. Speed is measured in bench/plan.mjs, not here.
import {describe, expect, it} from 'vitest'

import type {ReleaseResource} from '../../../../../src/lib/api/schemas.js'
import {type Blueprint, type EnvironmentSpec, findCycle} from '../../../../../src/lib/server/blueprint/blueprint.js'
import {dependentsOf, lockSetFor} from '../../../../../src/lib/server/engine/rules/locks.js'
import {checkPlanSize} from '../../../../../src/lib/server/engine/rules/plan-size.js'
import {describeOrder, graphOf, plannedTaskCount, planRelease} from '../../../../../src/lib/server/engine/rules/planner.js'
import {simulateResource as spec} from '../../../../helpers/blueprint.js'

const LENGTH = 20_000


/** r0 <- r1 <- ... <- r19999: each resource depends on the one before it. */
const names = Array.from({length: LENGTH}, (_, index) => `r${index}`)
const chain: Blueprint = {
  project: 'big',
  resources: names.map((name, index) => spec(name, index === 0 ? [] : [names[index - 1]])),
  environments: [],
  workflow: [],
}
const plain: EnvironmentSpec = {name: 'prod', targets: [], rollout: {services: 'parallel', targets: 'parallel'}, hooks: {beforeTarget: null, afterTarget: null}}
const deploy = (name: string): ReleaseResource => ({name, action: 'update', fromVersion: '1', toVersion: '2'})
const remove = (name: string): ReleaseResource => ({name, action: 'delete', fromVersion: '1', toVersion: null})

describe(`a dependency chain of ${LENGTH} resources`, () => {
  it('plans: each task requires the one before it, levels follow the chain', () => {
    const plan = planRelease({blueprint: chain, environment: plain, resources: [...names].reverse().map(deploy)})
    expect(plan.tasks).toHaveLength(LENGTH)
    expect(plan.tasks.map((task) => task.key)).toEqual(names)
    plan.tasks.forEach((task, index) => {
      expect(task.level).toBe(index)
      expect(task.requires).toEqual(index === 0 ? [] : [names[index - 1]])
    })
    expect(describeOrder(plan).split(' | ')).toHaveLength(LENGTH)
  })

  it('plans deletes the other way round: the last of the chain first', () => {
    const plan = planRelease({blueprint: chain, environment: plain, resources: names.map(remove)})
    expect(plan.tasks[0].key).toBe(names[LENGTH - 1])
    expect(plan.tasks.at(-1)?.key).toBe('r0')
    expect(plan.tasks.find((task) => task.key === 'r0')?.requires).toEqual(['r1'])
  })

  it('plans a selective release of both ends through the resources between them', () => {
    const plan = planRelease({blueprint: chain, environment: plain, resources: [deploy(names[LENGTH - 1]), deploy('r0')]})
    expect(plan.tasks.map((task) => [task.key, task.requires, task.level])).toEqual([
      ['r0', [], 0],
      [names[LENGTH - 1], ['r0'], 1],
    ])
  })

  it('locks, for a create at its root, every resource after it', () => {
    const graph = graphOf(chain)
    expect(dependentsOf(graph, 'r0')).toHaveLength(LENGTH - 1)
    expect(lockSetFor('selective', [{...deploy('r0'), action: 'create'}], graph)).toHaveLength(LENGTH)
  })

  it('has no cycle, and one closing it end to end is found', () => {
    expect(findCycle(chain.resources)).toBeNull()
    const closed = chain.resources.map((resource, index) => (index === 0 ? spec('r0', [names[LENGTH - 1]]) : resource))
    const cycle = findCycle(closed)
    expect(cycle).toHaveLength(LENGTH + 1)
    expect(cycle?.[0]).toBe(cycle?.at(-1))
  })
})

describe('the plan-size cap', () => {
  const targets = (count: number): EnvironmentSpec => ({...plain, targets: Array.from({length: count}, (_, index) => `t${index}`)})
  const resources = names.slice(0, 600).map(deploy)

  it('counts a plan without building it, exactly as planRelease would', () => {
    for (const environment of [plain, targets(3), {...targets(3), rollout: {services: 'parallel' as const, targets: 'sequential' as const}, hooks: {beforeTarget: 'b', afterTarget: 'a'}}]) {
      const input = {blueprint: chain, environment, resources: resources.slice(0, 50)}
      expect(plannedTaskCount(input).tasks).toBe(planRelease(input).tasks.length)
    }
  })

  it('refuses 600 resources × 20 targets (12,000 tasks) and accepts 500 × 20', () => {
    expect(() => checkPlanSize({blueprint: chain, environment: targets(20), resources: resources.slice(0, 500)})).not.toThrow()
    expect(() => checkPlanSize({blueprint: chain, environment: targets(20), resources})).toThrow(/would plan 12000 tasks \(600 resource\(s\) × 20 targets\)/)
  })
})
