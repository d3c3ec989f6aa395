// Task levels: the longest chain of edges below each task of a plan, so that tasks of one level may run
// together. The walk numbers the tasks and keeps its state in typed arrays: for a plan of tens of
// thousands of tasks a table lookup per step of the walk costs more than the walk itself.

/** What the walk needs of a planned task. */
interface LevelledTask {
  key: string
  requires: string[]
  after: string[]
  level: number
}

const NEW = 0
const WALKING = 1
const DONE = 2

/**
 * Sets each task's level, from an iterative depth-first walk that reaches each task after its edges.
 * Edges to keys outside `tasks` count as no edge. A generator: it yields where `due()` says the caller
 * may pause.
 */
export function* assignLevels(tasks: readonly LevelledTask[], due: () => boolean): Generator<void, void, void> {
  const count = tasks.length
  const numberOf = new Map<string, number>()
  for (let index = 0; index < count; index++) numberOf.set(tasks[index].key, index)
  const edgesOf = (task: LevelledTask): number[] => {
    const edges: number[] = []
    for (const list of [task.requires, task.after]) {
      for (const key of list) {
        const number = numberOf.get(key)
        if (number !== undefined) edges.push(number)
      }
    }
    return edges
  }
  const edges: number[][] = new Array(count)
  const state = new Uint8Array(count)
  const level = new Int32Array(count)
  const pathNodes = new Int32Array(count)
  const pathNext = new Int32Array(count)
  const enter = (depth: number, node: number) => {
    state[node] = WALKING
    edges[node] = edgesOf(tasks[node])
    pathNodes[depth] = node
    pathNext[depth] = 0
  }
  for (let start = 0; start < count; start++) {
    if (state[start] !== NEW) continue
    let depth = 0
    enter(0, start)
    while (depth >= 0) {
      const node = pathNodes[depth]
      const below = edges[node]
      if (pathNext[depth] < below.length) {
        const next = below[pathNext[depth]++]
        if (state[next] === NEW) enter(++depth, next)
        continue
      }
      // An edge back into the path (a cycle; plans have none) counts as a level-0 task, as it is then.
      let longest = -1
      for (const edge of below) longest = Math.max(longest, level[edge])
      level[node] = longest + 1
      tasks[node].level = longest + 1
      state[node] = DONE
      depth--
      if (due()) yield
    }
  }
}
