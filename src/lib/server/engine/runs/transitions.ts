// The one way a release, a task or an app changes: the write and its append to the events table, in one
// transaction (the caller's, when it passes a transaction-bound store). The events are the ordered record
// of what happened: the event stream serves them, notifications deliver them, tests read them.
import {appSync, type ReleaseStatus} from '../../../api/domain.js'
import type {AppEventData, ReleaseEventData, TaskEventData} from '../../../api/event-schemas.js'
import {type EventKind, releaseStatusEvent} from '../../../api/events.js'
import type {AppRecord, NewEvent, NewLogLine, ReleaseRecord, Store, TaskRecord} from '../../store/store.js'

export type ReleaseTransitionFields = Parameters<Store['transitionRelease']>[3]
export type TaskChange = Parameters<Store['updateTask']>[1]
export type AppChange = Parameters<Store['updateApp']>[3]

/** A release as its events show it: the API's view, without what only the engine reads. */
export function releaseEventData(release: ReleaseRecord): ReleaseEventData {
  const {lockSet: _lockSet, leaseExpiresAt: _leaseExpiresAt, ...data} = release
  return data
}

function releaseEvent(kind: EventKind, release: ReleaseRecord, at: string): NewEvent {
  return {kind, project: release.project, environment: release.environment, releaseId: release.id, taskId: null, apps: release.lockSet, data: releaseEventData(release), at}
}

/** Records a new release's events: created, then its first status (queued or pending_approval). */
export async function recordReleaseCreated(store: Store, release: ReleaseRecord, at: string): Promise<void> {
  await store.appendEvents([releaseEvent('release.created', release, at), releaseEvent(releaseStatusEvent(release.status), release, at)])
}

type ReleaseScope = Pick<ReleaseRecord, 'project' | 'environment'>

/** Compare-and-set: the release as it now is when it was in one of `from` and is now `to`, else null. */
export function transitionRelease(store: Store, id: number, from: ReleaseStatus[], to: ReleaseStatus, fields?: ReleaseTransitionFields): Promise<ReleaseRecord | null> {
  return store.transaction(async (tx) => {
    const release = await tx.transitionRelease(id, from, to, fields)
    if (release) await tx.appendEvents(transitionEvents(release, to, fields))
    return release
  })
}

/** A task's end, with what it did to its app (null: nothing; 'delete': the app is gone). */
export interface TaskEnd {
  task: TaskRecord
  change: TaskChange
  app: AppChange | 'delete' | null
  at: string
}

/** Records a task's end with its event, and its app's change with its own. */
export function recordTaskEnd(store: Store, release: ReleaseScope, {task, change, app, at}: TaskEnd): Promise<void> {
  return store.transaction(async (tx) => {
    await updateTask(tx, release, task, change)
    if (app === 'delete') await deleteApp(tx, release.project, release.environment, task.resource as string, at)
    else if (app) await changeApp(tx, release.project, release.environment, task.resource as string, app, at)
  })
}

/** A change of a run's tasks left for its end to record; `taskEnd` says what it is when it is a task's end. */
export interface DeferredWrite {
  apply(tx: Store): Promise<void>
  taskEnd?: TaskEnd
}

/** The end of a run, as the turn that records it takes it. */
export interface RunEnd {
  release: ReleaseRecord
  status: ReleaseStatus
  fields: Pick<NonNullable<ReleaseTransitionFields>, 'error' | 'endReason'>
  /** its last log lines: recorded whether or not the release still ends here */
  lines: ReleaseLogLine[]
  /** recorded, in order, only when it ends here */
  writes: DeferredWrite[]
}

/**
 * Records the ends of runs of one environment (those of one turn): each a compare-and-set from
 * running, with its last log lines, and, when it moved, its tasks' ends and app changes written
 * before it. The same statements serve them all: one for their log lines, one compare-and-set per
 * kind of end (most are one kind), one for their tasks' ends and one for their apps (a run whose
 * writes are something else, or delete an app, makes its own). Each release's events come in the
 * order its end alone gives them. Per end: the release as it now is, or null when another replica
 * ended it first (its lease had lapsed), whose records stay as they are.
 */
export function recordRunEnds(store: Store, ends: RunEnd[], finishedAt: string): Promise<(ReleaseRecord | null)[]> {
  return store.transaction(async (tx) => {
    const lines = ends.flatMap((end) => end.lines)
    const kinds = new Map<string, RunEnd[]>()
    for (const end of ends) {
      const kind = JSON.stringify([end.status, end.fields])
      kinds.set(kind, [...(kinds.get(kind) ?? []), end])
    }
    // Asked for at once: on PostgreSQL they share one round trip.
    const [, ...transitioned] = await Promise.all([
      lines.length > 0 && appendLogLines(tx, lines),
      ...[...kinds.values()].map((group) => {
        const [{status, fields}] = group
        return tx.transitionReleases(
          group.map((end) => end.release.id),
          ['running'],
          status,
          {...fields, finishedAt},
        )
      }),
    ])
    const moved = new Map(transitioned.flat().map((release) => [release.id, release]))
    const taskEndsOf = (end: RunEnd) => end.writes.map((write) => write.taskEnd)
    let together = ends.filter((end) => moved.has(end.release.id) && taskEndsOf(end).every((taskEnd) => taskEnd && taskEnd.app !== 'delete'))
    const taskEnds = together.flatMap(taskEndsOf) as TaskEnd[]
    const appChanges = taskEnds.filter((taskEnd) => taskEnd.app !== null)
    // Two changes of one app in one statement would give it only one: not together then.
    if (new Set(appChanges.map(({task}) => task.resource)).size < appChanges.length) together = []
    const apps = new Map<string, AppRecord>()
    if (together.length > 0) {
      const {project, environment} = together[0].release
      const changes = appChanges.map(({task, app, at}) => ({name: task.resource as string, patch: app as AppChange, at}))
      const [, changed] = await Promise.all([
        tx.updateTasksEach(taskEnds.map(({task, change}) => ({id: task.id, patch: change}))),
        changes.length > 0 ? tx.updateAppsEach(project, environment, changes) : [],
      ])
      for (const app of changed) apps.set(app.name, app)
    }
    const recorded: (ReleaseRecord | null)[] = []
    for (const end of ends) {
      const release = moved.get(end.release.id) ?? null
      recorded.push(release)
      if (!release) continue
      if (!together.includes(end)) {
        for (const write of end.writes) await write.apply(tx)
      } else {
        for (const {task, change, app: appChange, at} of taskEndsOf(end) as TaskEnd[]) {
          const app = appChange === null ? undefined : apps.get(task.resource as string)
          await tx.appendEvents([taskEvent(release, task, change), ...(app ? [appEvent(app, at)] : [])])
        }
      }
      await tx.appendEvents(transitionEvents(release, end.status, {...end.fields, finishedAt}))
    }
    return recorded
  })
}

/** The same compare-and-set on several releases (a turn's claims), with the events of each that moved. */
export function transitionReleases(store: Store, ids: number[], from: ReleaseStatus[], to: ReleaseStatus, fields?: ReleaseTransitionFields): Promise<ReleaseRecord[]> {
  return store.transaction(async (tx) => {
    const moved = await tx.transitionReleases(ids, from, to, fields)
    await tx.appendEvents(moved.flatMap((release) => transitionEvents(release, to, fields)))
    return moved
  })
}

/** What a release that moved to `to` tells: its new status, after its approval when an approval moved it. */
function transitionEvents(release: ReleaseRecord, to: ReleaseStatus, fields?: ReleaseTransitionFields): NewEvent[] {
  const at = new Date().toISOString()
  const kinds: EventKind[] = fields?.decision?.decision === 'approved' ? ['release.approved', releaseStatusEvent(to)] : [releaseStatusEvent(to)]
  return kinds.map((kind) => releaseEvent(kind, release, at))
}

/** A task's new status, with its event: task.started when it runs, task.ended for every end. */
export function updateTask(store: Store, release: ReleaseScope, task: TaskRecord, change: TaskChange): Promise<void> {
  return store.transaction(async (tx) => {
    await tx.updateTask(task.id, change)
    await tx.appendEvents([taskEvent(release, task, change)])
  })
}

/**
 * Records that tasks of one environment's releases start now (the first tasks of the releases a turn
 * claims; tasks that became ready at once): each one running, with its event, and its app Progressing.
 */
export function recordStarts(store: Store, release: ReleaseScope, tasks: TaskRecord[], at: string): Promise<void> {
  const resources = [...new Set(tasks.flatMap((task) => (task.resource === null ? [] : [task.resource])))]
  const change: TaskChange = {status: 'running', startedAt: at}
  return store.transaction(async (tx) => {
    // The two updates asked for at once (on PostgreSQL one round trip); the tasks' events before the apps'.
    const [, apps] = await Promise.all([
      tx.updateTasks(
        tasks.map((task) => task.id),
        change,
      ),
      resources.length > 0 ? tx.updateApps(release.project, release.environment, resources, {health: 'Progressing'}, at) : [],
    ])
    await tx.appendEvents([...tasks.map((task) => taskEvent(release, task, change)), ...apps.map((app) => appEvent(app, at))])
  })
}

function taskEvent(release: ReleaseScope, task: TaskRecord, change: TaskChange): NewEvent {
  const data: TaskEventData = {...task, ...change}
  return {
    kind: change.status === 'running' ? 'task.started' : 'task.ended',
    project: release.project,
    environment: release.environment,
    releaseId: task.releaseId,
    taskId: task.id,
    apps: task.resource === null ? null : [task.resource],
    data,
    at: new Date().toISOString(),
  }
}

export function appEventData(app: AppRecord, deleted = false): AppEventData {
  return {
    project: app.project,
    environment: app.environment,
    name: app.name,
    kind: app.kind,
    desiredVersion: app.desiredVersion,
    deployedVersion: app.deployedVersion,
    sync: deleted ? 'OutOfSync' : appSync(app),
    health: deleted ? 'Missing' : app.health,
    removedFromBlueprint: app.removed,
    deleted,
    updatedAt: app.updatedAt,
  }
}

function appEvent(app: AppRecord, at: string, deleted = false): NewEvent {
  return {kind: 'app.changed', project: app.project, environment: app.environment, releaseId: null, taskId: null, apps: [app.name], data: appEventData(app, deleted), at}
}

/** Changes an app's recorded state, with its app.changed event. */
export function changeApp(store: Store, project: string, environment: string, name: string, change: AppChange, at: string): Promise<AppRecord | null> {
  return store.transaction(async (tx) => {
    const app = await tx.updateApp(project, environment, name, change, at)
    if (app) await tx.appendEvents([appEvent(app, at)])
    return app
  })
}

/** Records a new app, or one the blueprint brought back, with its event. */
export function putApp(store: Store, app: AppRecord): Promise<void> {
  return store.transaction(async (tx) => {
    await tx.upsertApp(app)
    await tx.appendEvents([appEvent(app, app.updatedAt)])
  })
}

/** Removes an app from its environment, with its event: the last state it had, marked deleted. */
export function deleteApp(store: Store, project: string, environment: string, name: string, at: string): Promise<void> {
  return store.transaction(async (tx) => {
    const [app] = await tx.listApps(project, environment, [name])
    if (!app) return
    await tx.deleteApp(project, environment, name)
    await tx.appendEvents([appEvent({...app, updatedAt: at}, at, true)])
  })
}

/**
 * What a log event holds in the events table: where its lines are, not the lines themselves (they are in
 * task_logs once already). The stream reads them when it serves the event (events/log-lines.ts).
 */
export interface StoredLogEvent {
  releaseId: number
  fromId: number
  toId: number
}

/** A task log line with the environment of its release, which its event names. */
export interface ReleaseLogLine extends NewLogLine {
  project: string
  environment: string
}

/** Appends task log lines with one log event per release they belong to. */
export function appendLogLines(store: Store, lines: ReleaseLogLine[]): Promise<void> {
  return store.transaction(async (tx) => {
    const ids = await tx.appendLogs(lines)
    const events = new Map<number, NewEvent & {data: StoredLogEvent; apps: string[]}>()
    lines.forEach((line, index) => {
      const id = ids[index]
      const event = events.get(line.releaseId)
      if (!event) {
        const data: StoredLogEvent = {releaseId: line.releaseId, fromId: id, toId: id}
        const {project, environment, releaseId, at} = line
        events.set(releaseId, {kind: 'log', project, environment, releaseId, taskId: null, apps: line.resource ? [line.resource] : [], data, at})
        return
      }
      event.data.fromId = Math.min(event.data.fromId, id)
      event.data.toId = Math.max(event.data.toId, id)
      if (line.resource && !event.apps.includes(line.resource)) event.apps.push(line.resource)
    })
    await tx.appendEvents([...events.values()])
  })
}
