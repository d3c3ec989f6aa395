import {describe, expect, it} from 'vitest'

import type {ReleaseResource} from '../../../../../src/lib/api/schemas.js'
import {conflicts, type DependencyGraph, dependencyGraph, dependentsOf, lockSetFor, sharedResources, touches} from '../../../../../src/lib/server/engine/rules/locks.js'

// db <- api <- web ; db <- worker ; cache (alone) ; edge depends on web and cache
const graph: DependencyGraph = dependencyGraph([
  {name: 'db', dependsOn: []},
  {name: 'api', dependsOn: ['db']},
  {name: 'web', dependsOn: ['api']},
  {name: 'worker', dependsOn: ['db']},
  {name: 'cache', dependsOn: []},
  {name: 'edge', dependsOn: ['web', 'cache']},
])

const res = (name: string, action: ReleaseResource['action'] = 'update'): ReleaseResource => ({
  name,
  action,
  fromVersion: null,
  toVersion: action === 'delete' ? null : '1',
})

describe('dependentsOf', () => {
  it('finds direct and transitive dependents', () => {
    expect(dependentsOf(graph, 'db').sort()).toEqual(['api', 'edge', 'web', 'worker'])
    expect(dependentsOf(graph, 'api').sort()).toEqual(['edge', 'web'])
    expect(dependentsOf(graph, 'cache')).toEqual(['edge'])
    expect(dependentsOf(graph, 'edge')).toEqual([])
    expect(dependentsOf(graph, 'unknown')).toEqual([])
  })
})

describe('lockSetFor', () => {
  it.each(['launch', 'full', 'destroy'] as const)('locks the whole environment for a %s release', (type) => {
    expect(lockSetFor(type, [], graph)).toBe('*')
    expect(lockSetFor(type, [res('db')], graph)).toBe('*')
  })

  it('locks only the resources of a selective update', () => {
    expect(lockSetFor('selective', [res('db')], graph)).toEqual(['db'])
    expect(lockSetFor('selective', [res('web'), res('cache')], graph)).toEqual(['cache', 'web'])
  })

  it('adds the transitive dependents for a create', () => {
    expect(lockSetFor('selective', [res('db', 'create')], graph)).toEqual(['api', 'db', 'edge', 'web', 'worker'])
    expect(lockSetFor('selective', [res('cache', 'create')], graph)).toEqual(['cache', 'edge'])
  })

  it('adds the transitive dependents for a delete', () => {
    expect(lockSetFor('selective', [res('api', 'delete')], graph)).toEqual(['api', 'edge', 'web'])
  })

  it('mixes: dependents only of the created or deleted ones, sorted, without duplicates', () => {
    expect(lockSetFor('selective', [res('worker'), res('api', 'create'), res('web')], graph)).toEqual(['api', 'edge', 'web', 'worker'])
  })
})

describe('conflicts', () => {
  it('treats the whole environment as conflicting with everything', () => {
    expect(conflicts('*', '*')).toBe(true)
    expect(conflicts('*', ['db'])).toBe(true)
    expect(conflicts(['db'], '*')).toBe(true)
    expect(conflicts('*', [])).toBe(true)
  })

  it('conflicts selective sets only when they intersect', () => {
    expect(conflicts(['api', 'db'], ['db', 'web'])).toBe(true)
    expect(conflicts(['api'], ['web'])).toBe(false)
    expect(conflicts(['api'], [])).toBe(false)
    expect(conflicts([], [])).toBe(false)
  })

  it('is symmetric', () => {
    const sets: ('*' | string[])[] = ['*', [], ['a'], ['b'], ['a', 'b'], ['b', 'c']]
    for (const a of sets) for (const b of sets) expect(conflicts(a, b)).toBe(conflicts(b, a))
  })
})

describe('sharedResources', () => {
  it('is * only when both lock the whole environment', () => {
    expect(sharedResources('*', '*')).toBe('*')
  })

  it('is the selective side when the other side is *', () => {
    expect(sharedResources('*', ['api', 'db'])).toEqual(['api', 'db'])
    expect(sharedResources(['web'], '*')).toEqual(['web'])
  })

  it('is the intersection of two selective sets', () => {
    expect(sharedResources(['api', 'db', 'web'], ['web', 'db', 'x'])).toEqual(['web', 'db'])
    expect(sharedResources(['api'], ['web'])).toEqual([])
  })
})

describe('touches', () => {
  it('says whether a lock set covers a resource', () => {
    expect(touches('*', 'anything')).toBe(true)
    expect(touches(['api', 'db'], 'db')).toBe(true)
    expect(touches(['api', 'db'], 'web')).toBe(false)
  })
})
