// Lock sets: what a release holds while it is queued or running, and when two releases conflict.
import type {ReleaseType} from '../../api/domain.js'
import type {ReleaseResource} from '../../api/schemas.js'
import type {LockSet} from '../store/store.js'

export interface DependencyGraph {
  /** resource -> the resources it depends on */
  dependsOn: Map<string, string[]>
}

/** Every resource that depends on `name`, directly or through others. */
export function dependentsOf(graph: DependencyGraph, name: string): string[] {
  const found = new Set<string>()
  const visit = (target: string) => {
    for (const [resource, dependencies] of graph.dependsOn) {
      if (dependencies.includes(target) && !found.has(resource)) {
        found.add(resource)
        visit(resource)
      }
    }
  }
  visit(name)
  return [...found]
}

/**
 * The whole environment for every type but selective; a selective release locks its resources and,
 * for a create or delete, also the resources that depend on them (their dependency changes under them).
 */
export function lockSetFor(type: ReleaseType, resources: ReleaseResource[], graph: DependencyGraph): LockSet {
  if (type !== 'selective') return '*'
  const locked = new Set<string>()
  for (const resource of resources) {
    locked.add(resource.name)
    if (resource.action !== 'update') for (const dependent of dependentsOf(graph, resource.name)) locked.add(dependent)
  }
  return [...locked].sort()
}

export function conflicts(a: LockSet, b: LockSet): boolean {
  if (a === '*' || b === '*') return true
  const held = new Set(a)
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
