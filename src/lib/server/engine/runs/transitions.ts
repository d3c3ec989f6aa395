// The one way a release or a task changes status. Every caller passes the store it works in, which may
// be bound to a transaction: what is recorded with a status change (an event, a lease check) belongs
// here, in that same transaction.
import type {ReleaseStatus} from '../../../api/domain.js'
import type {ReleaseRecord, Store} from '../../store/store.js'

export type ReleaseTransitionFields = Parameters<Store['transitionRelease']>[3]
export type TaskChange = Parameters<Store['updateTask']>[1]

/** Compare-and-set: the release as it now is when it was in one of `from` and is now `to`, else null. */
export function transitionRelease(store: Store, id: number, from: ReleaseStatus[], to: ReleaseStatus, fields?: ReleaseTransitionFields): Promise<ReleaseRecord | null> {
  return store.transitionRelease(id, from, to, fields)
}

export function updateTask(store: Store, id: number, change: TaskChange): Promise<void> {
  return store.updateTask(id, change)
}
