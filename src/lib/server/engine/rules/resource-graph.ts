// The planner's view of the dependency graph, in numbers: each resource gets a number once (one table
// from name to number), the edges both ways sit in flat typed arrays (offsets + targets), and the walks
// keep their state in typed arrays. For a blueprint of tens of thousands of resources a lookup in a
// table keyed by name at each step of a walk costs more than the step itself. Names come in at
// resourceGraph and go out of the functions below; numbers stay inside this module.

/** The edges of every node: those of node n are target[start[n]] to target[start[n + 1] - 1]. */
interface Adjacency {
  readonly start: Int32Array
  readonly target: Int32Array
}

export interface ResourceGraph {
  /** number -> name: the blueprint's resources in order, then names only depended on */
  readonly names: readonly string[]
  readonly numberOf: ReadonlyMap<string, number>
  /** how many of the names are the blueprint's resources */
  readonly resourceCount: number
  /** resource -> the resources it depends on, in the order the blueprint lists them */
  readonly dependsOn: Adjacency
  /** resource -> the resources that depend on it directly, in blueprint order */
  readonly dependents: Adjacency
}

export type Direction = 'dependsOn' | 'dependents'

export function resourceGraph(resources: readonly {name: string; dependsOn: readonly string[]}[]): ResourceGraph {
  const names: string[] = []
  const numberOf = new Map<string, number>()
  const number = (name: string): number => {
    let found = numberOf.get(name)
    if (found === undefined) {
      found = names.length
      numberOf.set(name, found)
      names.push(name)
    }
    return found
  }
  for (const resource of resources) number(resource.name)
  const resourceCount = names.length
  let edgeCount = 0
  for (const resource of resources) edgeCount += resource.dependsOn.length
  const from = new Int32Array(edgeCount)
  const to = new Int32Array(edgeCount)
  let edge = 0
  for (const resource of resources) {
    const dependent = numberOf.get(resource.name) as number
    for (const dependency of resource.dependsOn) {
      from[edge] = dependent
      to[edge++] = number(dependency)
    }
  }
  return {
    names,
    numberOf,
    resourceCount,
    dependsOn: adjacency(names.length, from, to),
    dependents: adjacency(names.length, to, from),
  }
}

/** The edges from[i] -> to[i] grouped by the node they leave, each group in the order given. */
function adjacency(nodeCount: number, from: Int32Array, to: Int32Array): Adjacency {
  const start = new Int32Array(nodeCount + 1)
  for (let edge = 0; edge < from.length; edge++) start[from[edge] + 1]++
  for (let node = 0; node < nodeCount; node++) start[node + 1] += start[node]
  const next = start.slice(0, nodeCount)
  const target = new Int32Array(from.length)
  for (let edge = 0; edge < from.length; edge++) target[next[from[edge]]++] = to[edge]
  return {start, target}
}

/**
 * Every node reachable from `starts` (them included), each after all the nodes below it: a post-order,
 * from an iterative depth-first walk. An edge back into the path (a cycle; validated blueprints have
 * none) is ignored.
 */
function postOrder(starts: Iterable<number>, below: Adjacency, nodeCount: number): Int32Array {
  const {start, target} = below
  const seen = new Uint8Array(nodeCount)
  const order = new Int32Array(nodeCount)
  let ordered = 0
  // The path: the node at each depth and the position of the next of its edges to follow.
  const pathNode = new Int32Array(nodeCount)
  const pathEdge = new Int32Array(nodeCount)
  for (const first of starts) {
    if (seen[first]) continue
    seen[first] = 1
    let depth = 0
    pathNode[0] = first
    pathEdge[0] = start[first]
    while (depth >= 0) {
      const node = pathNode[depth]
      if (pathEdge[depth] < start[node + 1]) {
        const next = target[pathEdge[depth]++]
        if (seen[next]) continue
        seen[next] = 1
        pathNode[++depth] = next
        pathEdge[depth] = start[next]
      } else {
        order[ordered++] = node
        depth--
      }
    }
  }
  return order.subarray(0, ordered)
}

function* range(count: number): Generator<number, void, void> {
  for (let index = 0; index < count; index++) yield index
}

/** For every resource, the longest chain of dependsOn edges below it (0 for one that depends on nothing). */
export function longestChains(graph: ResourceGraph): (name: string) => number {
  const {start, target} = graph.dependsOn
  const length = new Int32Array(graph.names.length).fill(-1)
  for (const node of postOrder(range(graph.resourceCount), graph.dependsOn, graph.names.length)) {
    let longest = -1
    for (let edge = start[node]; edge < start[node + 1]; edge++) longest = Math.max(longest, length[target[edge]])
    length[node] = longest + 1
  }
  return (name) => {
    const node = graph.numberOf.get(name)
    return node === undefined ? 0 : length[node]
  }
}

const NONE: readonly string[] = []

/**
 * For each member, the members it meets first walking the edges of `direction` from it: a path stops
 * at the first member it reaches and goes on through every resource that is not one. Members the graph
 * does not know meet none.
 */
export function nearestMembers(graph: ResourceGraph, members: Iterable<string>, direction: Direction): Map<string, readonly string[]> {
  const {names, numberOf} = graph
  const below = graph[direction]
  const {start, target} = below
  const isMember = new Uint8Array(names.length)
  const starts: number[] = []
  for (const name of members) {
    const node = numberOf.get(name)
    if (node === undefined) continue
    isMember[node] = 1
    starts.push(node)
  }
  const met: (readonly string[] | undefined)[] = new Array(names.length)
  const metThrough = (node: number, next: number) => (next === node ? NONE : isMember[next] ? [names[next]] : (met[next] ?? NONE))
  for (const node of postOrder(starts, below, names.length)) {
    const first = start[node]
    const end = start[node + 1]
    // One edge (a chain): share the list below instead of copying it; lists are never changed.
    if (end - first <= 1) {
      met[node] = end === first ? NONE : metThrough(node, target[first])
      continue
    }
    const found = new Set<string>()
    for (let edge = first; edge < end; edge++) for (const member of metThrough(node, target[edge])) found.add(member)
    // In name order, so that plans and their JSON list a task's dependencies the same way every time.
    met[node] = [...found].sort()
  }
  const nearest = new Map<string, readonly string[]>()
  for (const name of members) {
    const node = numberOf.get(name)
    nearest.set(name, node === undefined ? NONE : (met[node] ?? NONE))
  }
  return nearest
}
