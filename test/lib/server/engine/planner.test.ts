import {describe, expect, it} from 'vitest'

import type {ReleaseResource} from '../../../../src/lib/api/schemas.js'
import type {DependencyGraph} from '../../../../src/lib/server/engine/locks.js'
import {planTasks} from '../../../../src/lib/server/engine/planner.js'

const graphOf = (edges: Record<string, string[]>): DependencyGraph => ({dependsOn: new Map(Object.entries(edges))})

// db <- api <- web ; db <- worker ; cache ; edge -> web, cache
const graph = graphOf({db: [], api: ['db'], web: ['api'], worker: ['db'], cache: [], edge: ['web', 'cache']})

const res = (name: string, action: ReleaseResource['action'] = 'update', toVersion: string | null = '2'): ReleaseResource => ({
  name,
  action,
  fromVersion: '1',
  toVersion: action === 'delete' ? null : toVersion,
})

const summary = (tasks: ReturnType<typeof planTasks>) => tasks.map((task) => [task.resource, task.level, task.dependsOn])

describe('planTasks', () => {
  it('levels tasks by their dependencies', () => {
    const tasks = planTasks([res('web'), res('api'), res('db'), res('worker'), res('cache'), res('edge')], graph)
    expect(summary(tasks)).toEqual([
      ['cache', 0, []],
      ['db', 0, []],
      ['api', 1, ['db']],
      ['worker', 1, ['db']],
      ['web', 2, ['api', 'db']],
      ['edge', 3, ['api', 'cache', 'db', 'web']],
    ])
  })

  it('carries the action and versions of each resource', () => {
    const [task] = planTasks([{name: 'api', action: 'create', fromVersion: null, toVersion: '1.4.2'}], graph)
    expect(task).toEqual({resource: 'api', action: 'create', fromVersion: null, toVersion: '1.4.2', dependsOn: [], level: 0})
  })

  it('orders through dependencies on resources that are not in the release', () => {
    // web depends on db through api, which is not released: web still waits for db.
    const tasks = planTasks([res('web'), res('db')], graph)
    expect(summary(tasks)).toEqual([
      ['db', 0, []],
      ['web', 1, ['db']],
    ])
  })

  it('gives independent resources one level', () => {
    const tasks = planTasks([res('worker'), res('cache'), res('web')], graph)
    expect(summary(tasks)).toEqual([
      ['cache', 0, []],
      ['web', 0, []],
      ['worker', 0, []],
    ])
  })

  it('deletes in reverse dependency order: dependents first', () => {
    const tasks = planTasks([res('db', 'delete'), res('api', 'delete'), res('web', 'delete')], graph)
    expect(summary(tasks)).toEqual([
      ['web', 0, []],
      ['api', 1, ['web']],
      ['db', 2, ['api', 'web']],
    ])
    expect(tasks.every((task) => task.action === 'delete' && task.toVersion === null)).toBe(true)
  })

  it('deletes in reverse order through resources outside the release', () => {
    const tasks = planTasks([res('db', 'delete'), res('web', 'delete')], graph)
    expect(summary(tasks)).toEqual([
      ['web', 0, []],
      ['db', 1, ['web']],
    ])
  })

  it('does not order deletes against creates and updates', () => {
    const tasks = planTasks([res('api', 'delete'), res('db', 'update'), res('web', 'create')], graph)
    const byName = new Map(tasks.map((task) => [task.resource, task]))
    expect(byName.get('api')?.dependsOn).toEqual([])
    expect(byName.get('db')?.dependsOn).toEqual([])
    expect(byName.get('web')?.dependsOn).toEqual(['db'])
  })

  it('sorts tasks by level, then by name', () => {
    const tasks = planTasks([res('edge'), res('worker'), res('cache'), res('db'), res('api')], graph)
    const levels = tasks.map((task) => task.level)
    expect(levels).toEqual([...levels].sort((a, b) => a - b))
    expect(tasks.map((task) => task.resource)).toEqual(['cache', 'db', 'api', 'worker', 'edge'])
  })

  it('lets every task depend only on tasks of lower levels in the same release', () => {
    const all = ['db', 'api', 'web', 'worker', 'cache', 'edge']
    for (let mask = 1; mask < 1 << all.length; mask++) {
      const chosen = all.filter((_, index) => mask & (1 << index))
      for (const action of ['update', 'delete'] as const) {
        const tasks = planTasks(chosen.map((name) => res(name, action)), graph)
        const level = new Map(tasks.map((task) => [task.resource, task.level]))
        expect(tasks.map((task) => task.resource).sort()).toEqual([...chosen].sort())
        for (const task of tasks) {
          for (const dependency of task.dependsOn) {
            expect(level.has(dependency)).toBe(true)
            expect(level.get(dependency)!).toBeLessThan(task.level)
          }
          if (task.dependsOn.length > 0) expect(task.level).toBe(Math.max(...task.dependsOn.map((d) => level.get(d)!)) + 1)
          else expect(task.level).toBe(0)
        }
      }
    }
  })

  it('returns no tasks for no resources', () => {
    expect(planTasks([], graph)).toEqual([])
  })
})
