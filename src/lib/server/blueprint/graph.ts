// Walks over a directed graph given as a function from a node to the nodes below it (what it depends
// on, or what depends on it). All iterative, each node and edge visited once: a blueprint may hold a
// dependency chain of any length without overflowing the stack or slowing down more than linearly.

export type Below = (node: string) => readonly string[]

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
