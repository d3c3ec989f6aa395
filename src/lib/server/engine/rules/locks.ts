// Lock sets: what a release holds while it is queued or running, and when two releases conflict.
import type {ReleaseType} from '../../../api/domain.js'
import type {ReleaseResource} from '../../../api/schemas.js'
import {reachableFrom} from '../../blueprint/graph.js'
import type {LockSet} from '../../store/store.js'

export interface DependencyGraph {
  /** resource -> the resources it depends on */
  dependsOn: Map<string, string[]>
  /** resource -> the resources that depend on it directly */
  dependents: Map<string, string[]>
}

export function dependencyGraph(resources: {name: string; dependsOn: string[]}[]): DependencyGraph {
  const dependsOn = new Map(resources.map((resource) => [resource.name, resource.dependsOn]))
  const dependents = new Map<string, string[]>()
  for (const resource of resources) {
    for (const dependency of resource.dependsOn) {
      const list = dependents.get(dependency)
      if (list) list.push(resource.name)
      else dependents.set(dependency, [resource.name])
    }
  }
  return {dependsOn, dependents}
}

/** Every resource that depends on `name`, directly or through others. */
export function dependentsOf(graph: DependencyGraph, name: string): string[] {
  return [...dependentsOfAll(graph, [name])]
}

function dependentsOfAll(graph: DependencyGraph, names: string[]): Set<string> {
  return reachableFrom(names, (resource) => graph.dependents.get(resource) ?? [])
}

/**
 * The whole environment for every type but selective; a selective release locks its resources and,
 * for a create or delete, also the resources that depend on them (their dependency changes under them).
 */
export function lockSetFor(type: ReleaseType, resources: ReleaseResource[], graph: DependencyGraph): LockSet {
  if (type !== 'selective') return '*'
  const locked = new Set(resources.map((resource) => resource.name))
  const changing = resources.filter((resource) => resource.action !== 'update').map((resource) => resource.name)
  for (const dependent of dependentsOfAll(graph, changing)) locked.add(dependent)
  return [...locked].sort()
}

/** Lock sets as sets, once per lock set: admission compares every queued release with those before it. */
const lockSetsAsSets = new WeakMap<readonly string[], Set<string>>()

function asSet(lockSet: readonly string[]): Set<string> {
  let set = lockSetsAsSets.get(lockSet)
  if (!set) {
    set = new Set(lockSet)
    // The store's lock sets are frozen and shared; one that can still change is not kept.
    if (Object.isFrozen(lockSet)) lockSetsAsSets.set(lockSet, set)
  }
  return set
}

export function conflicts(a: LockSet, b: LockSet): boolean {
  if (a === '*' || b === '*') return true
  const held = asSet(a)
  return b.some((name) => held.has(name))
}

/** What two conflicting lock sets share, for messages: '*' when one of them is the whole environment. */
export function sharedResources(a: LockSet, b: LockSet): string[] | '*' {
  if (a === '*' && b === '*') return '*'
  if (a === '*') return b as string[]
  if (b === '*') return a
  const held = new Set(a)
  return b.filter((name) => held.has(name))
}

export function touches(lockSet: LockSet, resource: string): boolean {
  return lockSet === '*' || lockSet.includes(resource)
}
