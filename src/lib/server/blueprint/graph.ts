// Walks over a directed graph given as a function from a node to the nodes below it (what it depends
// on, or what depends on it). All iterative, each node and edge visited once: a blueprint may hold a
// dependency chain of any length without overflowing the stack or slowing down more than linearly.

export type Below = (node: string) => readonly string[]

/**
 * Every node reachable from `starts` (them included), each after all the nodes below it: a post-order.
 * An edge back into a node still being walked (a cycle; validated blueprints have none) is ignored.
 */
export function topologicalOrder(starts: Iterable<string>, below: Below): string[] {
  return [...postOrder(starts, below)]
}

/** topologicalOrder one node at a time, for callers that pause along the way. */
export function* postOrder(starts: Iterable<string>, below: Below): Generator<string, void, void> {
  const state = new Map<string, 'walking' | 'done'>()
  const path = new Walk(below)
  for (const start of starts) {
    if (state.has(start)) continue
    state.set(start, 'walking')
    path.enter(start)
    while (path.length > 0) {
      const next = path.nextEdge()
      if (next === null) {
        const node = path.leave()
        state.set(node, 'done')
        yield node
      } else if (!state.has(next)) {
        state.set(next, 'walking')
        path.enter(next)
      }
    }
  }
}

/** One cycle as a closed path (a -> b -> a), or null when there is none. Self-edges do not count. */
export function findCycleIn(nodes: Iterable<string>, below: Below): string[] | null {
  const state = new Map<string, 'walking' | 'done'>()
  const path = new Walk(below)
  for (const start of nodes) {
    if (state.has(start)) continue
    state.set(start, 'walking')
    path.enter(start)
    while (path.length > 0) {
      const next = path.nextEdge()
      if (next === null) {
        state.set(path.leave(), 'done')
        continue
      }
      if (next === path.top()) continue
      const seen = state.get(next)
      if (seen === 'walking') return [...path.nodesFrom(next), next]
      if (seen === undefined) {
        state.set(next, 'walking')
        path.enter(next)
      }
    }
  }
  return null
}

/** Every node reachable from `starts` through one edge or more, `starts` left out unless reached again. */
export function reachableFrom(starts: Iterable<string>, below: Below): Set<string> {
  const found = new Set<string>()
  const stack = [...starts].flatMap((start) => below(start))
  while (stack.length > 0) {
    const node = stack.pop() as string
    if (found.has(node)) continue
    found.add(node)
    for (const next of below(node)) if (!found.has(next)) stack.push(next)
  }
  return found
}

/**
 * For each member, the members it meets first below it: walking down from it, a path stops at the
 * first member it reaches and goes on through every node that is not one.
 */
export function nearestMembers(members: ReadonlySet<string>, below: Below): Map<string, readonly string[]> {
  const met = new Map<string, readonly string[]>()
  const NONE: readonly string[] = []
  const metThrough = (node: string, next: string) => (next === node ? NONE : members.has(next) ? [next] : (met.get(next) ?? NONE))
  for (const node of topologicalOrder(members, below)) {
    const edges = below(node)
    // One edge (a chain): share the list below instead of copying it; lists are never changed.
    if (edges.length <= 1) {
      met.set(node, edges.length === 0 ? NONE : metThrough(node, edges[0]))
      continue
    }
    const found = new Set<string>()
    for (const next of edges) for (const member of metThrough(node, next)) found.add(member)
    // In name order, so that plans and their JSON list a task's dependencies the same way every time.
    met.set(node, [...found].sort())
  }
  return new Map([...members].map((member) => [member, met.get(member) ?? NONE]))
}

/** The path of a depth-first walk: each node on it with its edges (asked for once) and the next one to follow. */
class Walk {
  private readonly nodes: string[] = []
  private readonly edges: (readonly string[])[] = []
  private readonly next: number[] = []

  constructor(private readonly below: Below) {}

  get length(): number {
    return this.nodes.length
  }

  enter(node: string) {
    this.nodes.push(node)
    this.edges.push(this.below(node))
    this.next.push(0)
  }

  /** The next edge of the node on top, or null when it has none left. */
  nextEdge(): string | null {
    const top = this.nodes.length - 1
    const index = this.next[top]++
    return index < this.edges[top].length ? this.edges[top][index] : null
  }

  top(): string {
    return this.nodes[this.nodes.length - 1]
  }

  leave(): string {
    this.edges.pop()
    this.next.pop()
    return this.nodes.pop() as string
  }

  /** The path from `node` (on it) to the top. */
  nodesFrom(node: string): string[] {
    return this.nodes.slice(this.nodes.lastIndexOf(node))
  }
}
