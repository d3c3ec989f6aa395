// The one way a release or a task changes status: the compare-and-set and an append to the events
// table, in one transaction (the caller's, when it passes a transaction-bound store). The events are
// the ordered record of what happened, which the event stream serves and tests read.
import type {ReleaseStatus} from '../../../api/domain.js'
import type {ReleaseRecord, Store, TaskRecord} from '../../store/store.js'

export type ReleaseTransitionFields = Parameters<Store['transitionRelease']>[3]
export type TaskChange = Parameters<Store['updateTask']>[1]

export const RELEASE_STATUS_EVENT = 'release.status'
export const TASK_STATUS_EVENT = 'task.status'

/** Compare-and-set: the release as it now is when it was in one of `from` and is now `to`, else null. */
export function transitionRelease(store: Store, id: number, from: ReleaseStatus[], to: ReleaseStatus, fields?: ReleaseTransitionFields): Promise<ReleaseRecord | null> {
  return store.transaction(async (tx) => {
    const release = await tx.transitionRelease(id, from, to, fields)
    if (release) {
      const {id: releaseId, project, environment, type, status, replica, error, startedAt, finishedAt, decision} = release
      await tx.appendEvents([
        {
          kind: RELEASE_STATUS_EVENT,
          project,
          environment,
          releaseId,
          taskId: null,
          data: {id: releaseId, project, environment, type, status, replica, error, startedAt, finishedAt, decision},
          at: new Date().toISOString(),
        },
      ])
    }
    return release
  })
}

/** A task's new status, with its event. */
export function updateTask(store: Store, release: Pick<ReleaseRecord, 'project' | 'environment'>, task: Pick<TaskRecord, 'id' | 'releaseId' | 'key'>, change: TaskChange): Promise<void> {
  return store.transaction(async (tx) => {
    await tx.updateTask(task.id, change)
    await tx.appendEvents([
      {
        kind: TASK_STATUS_EVENT,
        project: release.project,
        environment: release.environment,
        releaseId: task.releaseId,
        taskId: task.id,
        data: {releaseId: task.releaseId, taskId: task.id, key: task.key, ...change},
        at: new Date().toISOString(),
      },
    ])
  })
}
