// Task levels: the longest chain of edges below each task of a plan, so that tasks of one level may run
// together. The planner numbers its tasks, and the walk keeps its state in typed arrays: for a plan of
// tens of thousands of tasks a table lookup per step of the walk costs more than the walk itself.
import type {Adjacency} from './resource-graph.js'

const NEW = 0
const WALKING = 1
const DONE = 2

/**
 * Fills `level` (one entry per task) from an iterative depth-first walk that reaches each task after
 * the tasks its edges lead to. A generator: it yields where `due(work)` says the caller may pause.
 */
export function* assignLevels(edges: Adjacency, level: Int32Array, due: (work: number) => boolean): Generator<void, void, void> {
  const {start, target} = edges
  const count = level.length
  const state = new Uint8Array(count)
  // The path: the task at each depth and the position of the next of its edges to follow.
  const pathNodes = new Int32Array(count)
  const pathEdge = new Int32Array(count)
  for (let first = 0; first < count; first++) {
    if (state[first] !== NEW) continue
    let depth = 0
    state[first] = WALKING
    pathNodes[0] = first
    pathEdge[0] = start[first]
    while (depth >= 0) {
      const node = pathNodes[depth]
      if (pathEdge[depth] < start[node + 1]) {
        const next = target[pathEdge[depth]++]
        if (state[next] === NEW) {
          state[next] = WALKING
          pathNodes[++depth] = next
          pathEdge[depth] = start[next]
        }
        continue
      }
      // An edge back into the path (a cycle; plans have none) counts as a level-0 task, as it is then.
      let longest = -1
      for (let edge = start[node]; edge < start[node + 1]; edge++) longest = Math.max(longest, level[target[edge]])
      level[node] = longest + 1
      state[node] = DONE
      depth--
      if (due(1 + start[node + 1] - start[node])) yield
    }
  }
}
