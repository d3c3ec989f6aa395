// Walks over a directed graph given as a function from a node to the nodes below it (what it depends
// on, or what depends on it). All iterative, each node and edge visited once: a blueprint may hold a
// dependency chain of any length without overflowing the stack or slowing down more than linearly.

export type Below = (node: string) => readonly string[]

/**
 * Every node reachable from `starts` (them included), each after all the nodes below it: a post-order.
 * An edge back into a node still being walked (a cycle; validated blueprints have none) is ignored.
 */
export function topologicalOrder(starts: Iterable<string>, below: Below): string[] {
  const order: string[] = []
  const state = new Map<string, 'walking' | 'done'>()
  const path: string[] = []
  const nextEdge: number[] = []
  for (const start of starts) {
    if (state.has(start)) continue
    state.set(start, 'walking')
    path.push(start)
    nextEdge.push(0)
    while (path.length > 0) {
      const node = path[path.length - 1]
      const edges = below(node)
      const index = nextEdge[nextEdge.length - 1]++
      if (index >= edges.length) {
        state.set(node, 'done')
        order.push(node)
        path.pop()
        nextEdge.pop()
        continue
      }
      const next = edges[index]
      if (state.has(next)) continue
      state.set(next, 'walking')
      path.push(next)
      nextEdge.push(0)
    }
  }
  return order
}

/** One cycle as a closed path (a -> b -> a), or null when there is none. Self-edges do not count. */
export function findCycleIn(nodes: Iterable<string>, below: Below): string[] | null {
  const state = new Map<string, 'walking' | 'done'>()
  for (const start of nodes) {
    if (state.has(start)) continue
    const path = [start]
    const nextEdge = [0]
    state.set(start, 'walking')
    while (path.length > 0) {
      const node = path[path.length - 1]
      const edges = below(node)
      const index = nextEdge[nextEdge.length - 1]++
      if (index >= edges.length) {
        state.set(node, 'done')
        path.pop()
        nextEdge.pop()
        continue
      }
      const next = edges[index]
      if (next === node) continue
      const seen = state.get(next)
      if (seen === 'walking') return [...path.slice(path.indexOf(next)), next]
      if (seen === 'done') continue
      state.set(next, 'walking')
      path.push(next)
      nextEdge.push(0)
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
export function nearestMembers(members: ReadonlySet<string>, below: Below): Map<string, string[]> {
  const met = new Map<string, Set<string>>()
  for (const node of topologicalOrder(members, below)) {
    const found = new Set<string>()
    for (const next of below(node)) {
      if (next === node) continue
      if (members.has(next)) found.add(next)
      else for (const member of met.get(next) ?? []) found.add(member)
    }
    met.set(node, found)
  }
  return new Map([...members].map((member) => [member, [...(met.get(member) ?? [])]]))
}
