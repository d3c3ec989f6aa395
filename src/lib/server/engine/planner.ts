// The planner: a release's resources and actions -> tasks with dependencies and levels. Pure.
import type {ReleaseResource} from '../../api/schemas.js'
import type {NewTask} from '../store/store.js'
import type {DependencyGraph} from './locks.js'
import {dependentsOf} from './locks.js'

/** Everything `name` depends on, directly or through others. */
function dependenciesOf(graph: DependencyGraph, name: string): Set<string> {
  const found = new Set<string>()
  const stack = [...(graph.dependsOn.get(name) ?? [])]
  while (stack.length > 0) {
    const next = stack.pop() as string
    if (found.has(next)) continue
    found.add(next)
    stack.push(...(graph.dependsOn.get(next) ?? []))
  }
  return found
}

/**
 * Creates and updates wait for the release's own tasks of what they depend on (through resources
 * outside the release too); deletes go the other way: a resource is deleted after its dependents.
 * Levels are the longest chain below a task: tasks of one level may run at the same time.
 */
export function planTasks(resources: ReleaseResource[], graph: DependencyGraph): NewTask[] {
  const inRelease = new Map(resources.map((resource) => [resource.name, resource]))
  const edges = new Map<string, string[]>()
  for (const resource of resources) {
    const related = resource.action === 'delete' ? new Set(dependentsOf(graph, resource.name)) : dependenciesOf(graph, resource.name)
    edges.set(
      resource.name,
      [...related].filter((name) => {
        const other = inRelease.get(name)
        return other !== undefined && (other.action === 'delete') === (resource.action === 'delete')
      }).sort(),
    )
  }
  const levels = new Map<string, number>()
  const levelOf = (name: string): number => {
    const known = levels.get(name)
    if (known !== undefined) return known
    const level = Math.max(-1, ...(edges.get(name) ?? []).map(levelOf)) + 1
    levels.set(name, level)
    return level
  }
  return resources
    .map((resource) => ({
      resource: resource.name,
      action: resource.action,
      fromVersion: resource.fromVersion,
      toVersion: resource.toVersion,
      dependsOn: edges.get(resource.name) ?? [],
      level: levelOf(resource.name),
    }))
    .sort((a, b) => a.level - b.level || a.resource.localeCompare(b.resource))
}
