// The one way a release or a task changes status: the compare-and-set and an append to the events
// table, in one transaction (the caller's, when it passes a transaction-bound store). The events are
// the ordered record of what happened, which the event stream serves and tests read.
import type {ReleaseStatus} from '../../../api/domain.js'
import type {NewEvent, ReleaseRecord, Store, TaskRecord} from '../../store/store.js'

export type ReleaseTransitionFields = Parameters<Store['transitionRelease']>[3]
export type TaskChange = Parameters<Store['updateTask']>[1]

export const RELEASE_STATUS_EVENT = 'release.status'
export const TASK_STATUS_EVENT = 'task.status'

type ReleaseScope = Pick<ReleaseRecord, 'project' | 'environment'>
type TaskIdentity = Pick<TaskRecord, 'id' | 'releaseId' | 'key'>

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
export function updateTask(store: Store, release: ReleaseScope, task: TaskIdentity, change: TaskChange): Promise<void> {
  return store.transaction(async (tx) => {
    await tx.updateTask(task.id, change)
    await tx.appendEvents([taskEvent(release, task, change)])
  })
}

/**
 * Tasks of one release that start together (its first tasks, in the turn that claims it; tasks that
 * became ready at once): one update for all of them, and an event for each.
 */
export function startTasks(store: Store, release: ReleaseScope, tasks: TaskIdentity[], startedAt: string): Promise<void> {
  const change: TaskChange = {status: 'running', startedAt}
  return store.transaction(async (tx) => {
    await tx.updateTasks(tasks.map((task) => task.id), change)
    await tx.appendEvents(tasks.map((task) => taskEvent(release, task, change)))
  })
}

function taskEvent(release: ReleaseScope, task: TaskIdentity, change: TaskChange): NewEvent {
  return {
    kind: TASK_STATUS_EVENT,
    project: release.project,
    environment: release.environment,
    releaseId: task.releaseId,
    taskId: task.id,
    data: {releaseId: task.releaseId, taskId: task.id, key: task.key, ...change},
    at: new Date().toISOString(),
  }
}
