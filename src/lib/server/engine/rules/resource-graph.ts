// The planner's view of the dependency graph, in numbers: each resource gets a number once (one table
// from name to number), the edges both ways sit in flat typed arrays (offsets + targets), and the walks
// keep their state in typed arrays. For a blueprint of tens of thousands of resources a lookup in a
// table keyed by name at each step of a walk costs more than the step itself. Names come in at
// resourceGraph, once; the walks below take and give node numbers, which the planner keeps its own
// tables by.

/** The edges of every node: those of node n are target[start[n]] to target[start[n + 1] - 1]. */
export interface Adjacency {
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
  // Each resource's number, kept by its place in the list: the edges below need no second lookup by name.
  const numbers = new Int32Array(resources.length)
  let edgeCount = 0
  for (let index = 0; index < resources.length; index++) {
    numbers[index] = number(resources[index].name)
    edgeCount += resources[index].dependsOn.length
  }
  const resourceCount = names.length
  const from = new Int32Array(edgeCount)
  const to = new Int32Array(edgeCount)
  let edge = 0
  for (let index = 0; index < resources.length; index++) {
    const dependsOn = resources[index].dependsOn
    for (let each = 0; each < dependsOn.length; each++) {
      from[edge] = numbers[index]
      to[edge++] = number(dependsOn[each])
    }
  }
  const edges = {from: [from], to: [to], count: edgeCount}
  return {
    names,
    numberOf,
    resourceCount,
    dependsOn: runToEnd(adjacency(names.length, edges, never)),
    dependents: runToEnd(adjacency(names.length, {...edges, from: edges.to, to: edges.from}, never)),
  }
}

const never = () => false

function runToEnd<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const next = steps.next()
    if (next.done) return next.value
  }
}

/** Edges from[c][i] -> to[c][i], stored in chunks (a plan's edges grow without copying): every chunk but the last is full. */
export interface EdgeChunks {
  readonly from: readonly Int32Array[]
  readonly to: readonly Int32Array[]
  readonly count: number
}

/**
 * The edges grouped by the node they leave, each group in the order given (a counting sort). A
 * generator: after each chunk it yields where `due(work)` says the caller may pause.
 */
export function* adjacency(nodeCount: number, edges: EdgeChunks, due: (work: number) => boolean): Generator<void, Adjacency, void> {
  const start = new Int32Array(nodeCount + 1)
  for (let chunk = 0, seen = 0; seen < edges.count; chunk++) {
    const from = edges.from[chunk]
    const length = Math.min(from.length, edges.count - seen)
    for (let edge = 0; edge < length; edge++) start[from[edge] + 1]++
    seen += length
    if (due(length)) yield
  }
  for (let node = 0; node < nodeCount; node++) start[node + 1] += start[node]
  const next = start.slice(0, nodeCount)
  const target = new Int32Array(edges.count)
  for (let chunk = 0, seen = 0; seen < edges.count; chunk++) {
    const from = edges.from[chunk]
    const to = edges.to[chunk]
    const length = Math.min(from.length, edges.count - seen)
    for (let edge = 0; edge < length; edge++) target[next[from[edge]]++] = to[edge]
    seen += length
    if (due(length)) yield
  }
  return {start, target}
}

/**
 * Every node reachable from `starts` (them included), each after all the nodes below it: a post-order,
 * from an iterative depth-first walk. An edge back into the path (a cycle; validated blueprints have
 * none) is ignored.
 */
function postOrder(starts: ArrayLike<number>, below: Adjacency, nodeCount: number): Int32Array {
  const {start, target} = below
  const seen = new Uint8Array(nodeCount)
  const order = new Int32Array(nodeCount)
  let ordered = 0
  // The path: the node at each depth and the position of the next of its edges to follow.
  const pathNode = new Int32Array(nodeCount)
  const pathEdge = new Int32Array(nodeCount)
  for (let index = 0; index < starts.length; index++) {
    const first = starts[index]
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

/** For every node, the longest chain of dependsOn edges below it (0 for one that depends on nothing). */
export function longestChains(graph: ResourceGraph): Int32Array {
  const {start, target} = graph.dependsOn
  const length = new Int32Array(graph.names.length).fill(-1)
  const resources = new Int32Array(graph.resourceCount)
  for (let node = 0; node < graph.resourceCount; node++) resources[node] = node
  const order = postOrder(resources, graph.dependsOn, graph.names.length)
  for (let index = 0; index < order.length; index++) {
    const node = order[index]
    let longest = -1
    for (let edge = start[node]; edge < start[node + 1]; edge++) longest = Math.max(longest, length[target[edge]])
    length[node] = longest + 1
  }
  return length
}

/**
 * The members each node meets first: `one[node]` when that is a single member (most nodes of most
 * graphs: a list each would be most of the planner's garbage), else -1 and `several[node]` when there
 * are several, in name order, so that plans list a task's dependencies the same way every time. Lists
 * are shared between nodes: never change them.
 */
export interface NearestMembers {
  readonly one: Int32Array
  readonly several: readonly (readonly number[] | undefined)[]
}

/**
 * For each member node, the member nodes it meets first walking the edges of `direction` from it: a
 * path stops at the first member it reaches and goes on through every node that is not one.
 */
export function nearestMembers(graph: ResourceGraph, members: ArrayLike<number>, direction: Direction): NearestMembers {
  const {names} = graph
  const below = graph[direction]
  const {start, target} = below
  const isMember = new Uint8Array(names.length)
  for (let index = 0; index < members.length; index++) isMember[members[index]] = 1
  const one = new Int32Array(names.length).fill(-1)
  const several: (readonly number[] | undefined)[] = new Array(names.length)
  const byName = (a: number, b: number) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0)
  const order = postOrder(members, below, names.length)
  for (let index = 0; index < order.length; index++) {
    const node = order[index]
    const first = start[node]
    const end = start[node + 1]
    // One edge (a chain): the member below, or what the node below meets (its list shared, not copied).
    if (end - first === 1) {
      const next = target[first]
      if (next === node) continue
      if (isMember[next]) one[node] = next
      else {
        one[node] = one[next]
        several[node] = several[next]
      }
      continue
    }
    if (end === first) continue
    const found = new Set<number>()
    for (let edge = first; edge < end; edge++) {
      const next = target[edge]
      if (next === node) continue
      if (isMember[next]) found.add(next)
      else if (one[next] >= 0) found.add(one[next])
      else for (const member of several[next] ?? []) found.add(member)
    }
    if (found.size === 1) one[node] = found.values().next().value as number
    else if (found.size > 1) several[node] = [...found].sort(byName)
  }
  return {one, several}
}
