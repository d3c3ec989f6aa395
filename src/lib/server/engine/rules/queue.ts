// Queue modes, pure. In a `fifo` queue every queued release runs in turn. In a `supersede` queue a new
// release replaces the releases still waiting whose lock set its own covers: they would only deploy what
// it deploys again, or less. Running releases are never touched.
import type {LockSet} from '../../store/store.js'

/** The lock set `newer` holds all of `older`: the whole environment, or every resource of it. */
export function coversLockSet(newer: LockSet, older: LockSet): boolean {
  if (newer === '*') return true
  if (older === '*') return false
  const held = new Set(newer)
  return older.every((name) => held.has(name))
}

/** The ids of the waiting releases (pending approval or queued) that a new release with `lockSet` supersedes, oldest first. */
export function supersededBy(lockSet: LockSet, waiting: {id: number; status: string; lockSet: LockSet}[]): number[] {
  return waiting.filter((release) => (release.status === 'queued' || release.status === 'pending_approval') && coversLockSet(lockSet, release.lockSet)).map((release) => release.id)
}
