// The one persistence interface the engine talks to. SQLite (embedded) and PostgreSQL implement it
// with the same Kysely queries; `transaction` gives the same interface bound to one transaction.
import type {Action, Health, ReleaseStatus, ReleaseType, TaskStatus} from '../../api/domain.js'
import type {AppState, Decision, PauseState, Release, ReleaseOptions, ReleaseResource, Schedule, ScheduleRun, SettingsChange, Task} from '../../api/schemas.js'
import type {Blueprint} from '../blueprint/blueprint.js'

/** What a release locks: the whole environment, or some of its resources. */
export type LockSet = '*' | string[]

export interface ProjectRecord {
  name: string
  blueprint: Blueprint
  file: string
  baseDir: string
  createdAt: string
  appliedAt: string
}

export interface EnvironmentRecord {
  project: string
  name: string
  createdAt: string
}

export interface AppRecord {
  project: string
  environment: string
  name: string
  kind: string
  desiredVersion: string | null
  deployedVersion: string | null
  health: Health
  removed: boolean
  drift: AppState['drift']
  updatedAt: string
}

export type ReleaseRecord = Omit<Release, 'queuePosition' | 'waitingFor' | 'tasks'> & {
  lockSet: LockSet
  /** while running: until when the owner's claim holds unless renewed; null once it ended */
  leaseExpiresAt: string | null
}

export interface NewRelease {
  project: string
  environment: string
  type: ReleaseType
  status: ReleaseStatus
  resources: ReleaseResource[]
  lockSet: LockSet
  refresh: boolean
  force: boolean
  allowDestructive: boolean
  comment: string | null
  triggeredBy: string
  source: Release['source']
  idempotencyKey: string | null
  options: ReleaseOptions
  createdAt: string
}

export type NewTask = Omit<Task, 'id' | 'status' | 'exitCode' | 'error' | 'startedAt' | 'finishedAt'>

export type TaskRecord = Task & {releaseId: number}

export interface NewLogLine {
  releaseId: number
  taskId: number | null
  resource: string | null
  target: string | null
  stream: 'stdout' | 'stderr' | 'system'
  line: string
  at: string
}

export interface StoredLogLine extends NewLogLine {
  id: number
}

export interface ReleaseFilter {
  project?: string
  environment?: string
  statuses?: ReleaseStatus[]
  limit?: number
  /** newest first (history, the default) or oldest first (the queue) */
  order?: 'asc' | 'desc'
}

/** Settings at one scope: the control plane (project and environment null) or one environment. null = inherit. */
export interface SettingsRecord {
  project: string | null
  environment: string | null
  parallel: boolean | null
  maxParallel: number | null
  approval: boolean | null
  updatedBy: string
  updatedAt: string
}

export interface ReleaseTransitionFields {
  startedAt?: string
  finishedAt?: string
  error?: string | null
  decision?: Decision
  /** the replica that claims the run (queued -> running); the lease it holds until renewed */
  replica?: string
  leaseExpiresAt?: string
}

/** A control-plane process serving the database; alive while its heartbeat is younger than its lease. */
export interface ReplicaRecord {
  id: string
  host: string
  pid: number
  url: string | null
  version: string
  capacity: number
  leaseMs: number
  startedAt: string
  heartbeatAt: string
  /** shutting down: it admits nothing new and finishes what it runs */
  stopping: boolean
}

/** An append to the events table: every release and task status change, in the transaction that makes it. */
export interface NewEvent {
  /** e.g. release.status, task.status */
  kind: string
  project: string | null
  environment: string | null
  releaseId: number | null
  taskId: number | null
  /** the state after the change, as the API shows it */
  data: unknown
  at: string
}

export interface StoredEvent extends NewEvent {
  /** monotonic across the database: the order in which the changes committed, for resume */
  seq: number
}

/** A running release whose owner has been asked to stop it. */
export interface CancelRequest {
  releaseId: number
  by: string
  at: string
}

export type ScheduleRecord = Omit<Schedule, 'runs'>

export interface AppHistoryRow {
  releaseId: number
  type: Release['type']
  action: Action
  fromVersion: string | null
  toVersion: string | null
  target: string | null
  triggeredBy: string
  finishedAt: string
}

/** Projects, their environments and the apps of each environment. */
export type AppPatch = Partial<Pick<AppRecord, 'desiredVersion' | 'deployedVersion' | 'health' | 'removed' | 'kind' | 'drift'>>

export interface CatalogStore {
  getProject(name: string): Promise<ProjectRecord | null>
  listProjects(): Promise<ProjectRecord[]>
  upsertProject(project: ProjectRecord): Promise<void>

  listEnvironments(project: string): Promise<EnvironmentRecord[]>
  getEnvironment(project: string, name: string): Promise<EnvironmentRecord | null>
  insertEnvironment(environment: EnvironmentRecord): Promise<void>
  deleteEnvironment(project: string, name: string): Promise<void>

  /** The apps of an environment, or only those named. */
  listApps(project: string, environment: string, names?: string[]): Promise<AppRecord[]>
  upsertApp(app: AppRecord): Promise<void>
  updateApp(project: string, environment: string, name: string, patch: AppPatch, at: string): Promise<void>
  /** The same change to several apps of one environment, in one statement. */
  updateApps(project: string, environment: string, names: string[], patch: AppPatch, at: string): Promise<void>
  deleteApp(project: string, environment: string, name: string): Promise<void>
}

/** Releases and their tasks. */
export interface TaskPatch {
  status: TaskStatus
  exitCode?: number | null
  error?: string | null
  startedAt?: string
  finishedAt?: string
}

export interface ReleaseStore {
  /** Inserts a release, or returns the one that already holds its idempotency key. */
  insertRelease(release: NewRelease): Promise<{release: ReleaseRecord; created: boolean}>
  getRelease(id: number): Promise<ReleaseRecord | null>
  findByIdempotencyKey(key: string): Promise<ReleaseRecord | null>
  listReleases(filter: ReleaseFilter): Promise<ReleaseRecord[]>
  /** Pending, queued and running releases of an environment in queue order, with only what admission needs. */
  activeLocks(project: string, environment: string): Promise<{id: number; status: 'pending_approval' | 'queued' | 'running'; lockSet: LockSet}[]>
  /**
   * A mark of the environment's active releases, far cheaper than reading them: it moves with every
   * release queued there and every event appended anywhere (each status change appends one). Read
   * before the releases, an unchanged mark means they are unchanged.
   */
  activeMark(project: string, environment: string): Promise<string>
  /**
   * Compare-and-set on status: the release as it now is when it was in one of `from` and now is `to`, else null.
   * Writes the owner and lease when given; a release that ends keeps its replica and loses its lease.
   */
  transitionRelease(id: number, from: ReleaseStatus[], to: ReleaseStatus, fields?: ReleaseTransitionFields): Promise<ReleaseRecord | null>
  /** The latest ended release per app of an environment, among those that listed it. */
  lastReleasePerApp(project: string, environment: string): Promise<Map<string, Pick<ReleaseRecord, 'id' | 'status' | 'type'>>>

  insertTasks(releaseId: number, tasks: NewTask[]): Promise<TaskRecord[]>
  listTasks(releaseId: number): Promise<TaskRecord[]>
  updateTask(id: number, patch: TaskPatch): Promise<void>
  /** The same change to several tasks, in one statement (tasks that start together). */
  updateTasks(ids: number[], patch: TaskPatch): Promise<void>

  /** Successful deploy and delete tasks of one app, newest first. */
  appHistory(project: string, environment: string, app: string, limit: number): Promise<AppHistoryRow[]>
}

/** Task log lines and their retention. */
export interface LogStore {
  appendLogs(lines: NewLogLine[]): Promise<void>
  readLogs(releaseId: number, afterId: number, limit: number, filter?: {resource?: string; target?: string}): Promise<StoredLogLine[]>
  /** When the retention cleanup deleted the release's log lines; null while they are kept. */
  logsDeletedAt(releaseId: number): Promise<string | null>
  /** Deletes the log lines of up to `limit` releases that ended before the cutoff, noting when; returns their ids. */
  deleteLogsEndedBefore(cutoff: string, at: string, limit: number): Promise<number[]>
}

/** Settings at both scopes with their change log, and pauses. */
export interface SettingsStore {
  getSettings(project: string | null, environment: string | null): Promise<SettingsRecord | null>
  /** The control-plane settings and one environment's, in one read. */
  settingsFor(project: string, environment: string): Promise<{controlPlane: SettingsRecord | null; environment: SettingsRecord | null}>
  listSettings(): Promise<SettingsRecord[]>
  /** Writes the settings of one scope and records each change (who, when, from, to). */
  saveSettings(settings: SettingsRecord, changes: SettingsChange[]): Promise<void>
  listSettingsChanges(project: string | null, environment: string | null, limit: number): Promise<SettingsChange[]>

  /** The pauses that apply to an environment (project level first), or all of a project's when environment is null. */
  listPauses(project: string, environment: string | null): Promise<PauseState[]>
  /** Records a pause unless that level is already paused; returns the pause in force and whether it was new. */
  addPause(pause: PauseState): Promise<{pause: PauseState; created: boolean}>
  removePause(project: string, environment: string | null): Promise<boolean>
}

/** Schedules and their runs. */
export interface ScheduleStore {
  getSchedule(project: string, environment: string): Promise<ScheduleRecord | null>
  listSchedules(): Promise<ScheduleRecord[]>
  upsertSchedule(schedule: ScheduleRecord): Promise<void>
  deleteSchedule(project: string, environment: string): Promise<boolean>
  setSchedulePaused(project: string, environment: string, paused: boolean, at: string): Promise<boolean>
  /** Compare-and-set of the next run time: only one caller moves a schedule past a slot. */
  advanceSchedule(project: string, environment: string, expectedNextRunAt: string, nextRunAt: string): Promise<boolean>
  insertScheduleRuns(project: string, environment: string, runs: ScheduleRun[]): Promise<void>
  listScheduleRuns(project: string, environment: string, limit: number): Promise<ScheduleRun[]>
}

/** The one persistence interface the engine talks to: every concern, on one database. */
export interface Store extends CatalogStore, ReleaseStore, LogStore, SettingsStore, ScheduleStore, ReplicaStore {
  readonly dialect: 'sqlite' | 'postgres'
  /**
   * Runs fn with a store bound to one transaction; commits when fn resolves. Inside a transaction, runs
   * fn in it. With `eventsLast`, the events appended in the transaction are written together once fn
   * has resolved, just before the commit, in the order they were appended: a long transaction (an
   * environment's turn) then holds the event-order lock only for that last write, not from its first
   * event on, so that other transactions with events do not wait for all of it.
   */
  transaction<T>(fn: (store: Store) => Promise<T>, options?: {eventsLast?: boolean}): Promise<T>
  /** Inside a transaction: runs fn under a savepoint, so that when it throws only its own writes are undone. */
  savepoint<T>(fn: () => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** What replicas need to share one database: the admission turn, claims and leases, cancels, wakeups and events. */
export interface ReplicaStore {
  /**
   * Inside a transaction: holds the environment's admission turn until commit. PostgreSQL locks the
   * environment's row (SELECT ... FOR UPDATE); on SQLite every transaction already holds the one
   * connection of the one process, so there it only checks that it runs in a transaction.
   */
  lockEnvironment(project: string, environment: string): Promise<void>
  /** Tells every replica, once the transaction commits, to admit in this environment (PostgreSQL NOTIFY; nothing on SQLite). */
  notifyAdmit(project: string, environment: string): Promise<void>
  /** Tells the owner of a running release, once the transaction commits, that it has been asked to stop it. */
  notifyCancel(releaseId: number): Promise<void>
  /** Calls the handlers on every notification from any replica (PostgreSQL LISTEN); a no-op on SQLite. Resolves once listening. */
  listen(handlers: {admit(project: string, environment: string): void; cancel(releaseId: number): void}): Promise<void>

  /** Inserts or replaces a replica's row. */
  upsertReplica(replica: ReplicaRecord): Promise<void>
  getReplica(id: string): Promise<ReplicaRecord | null>
  /** Replicas whose heartbeat is at or after the instant given, oldest first. */
  listReplicas(heartbeatSince: string): Promise<ReplicaRecord[]>
  /** Records a heartbeat and renews the lease of every release the replica runs; returns how many it renewed. */
  heartbeat(replica: string, at: string, leaseExpiresAt: string): Promise<number>
  setReplicaStopping(replica: string): Promise<void>
  deleteReplica(replica: string): Promise<void>
  /** Running releases whose lease expired before the instant given (any owner), oldest first. */
  expiredRuns(before: string): Promise<ReleaseRecord[]>
  /** Running releases owned by a replica. */
  runsOf(replica: string): Promise<ReleaseRecord[]>
  /** Records that someone asked to stop a running release; false when it is not running. */
  requestCancel(releaseId: number, by: string, at: string): Promise<boolean>
  /** The cancel requests on the running releases a replica owns. */
  cancelRequests(replica: string): Promise<CancelRequest[]>
  /** Environments that have queued releases. */
  environmentsWithQueued(): Promise<{project: string; environment: string}[]>

  /**
   * Appends in the current transaction. On PostgreSQL it holds the events lock until commit, so that
   * sequence numbers follow commit order: take the environment's turn before appending.
   */
  appendEvents(events: NewEvent[]): Promise<void>
  /** Events after a sequence number, in order. */
  listEvents(afterSeq: number, limit: number, filter?: {releaseId?: number}): Promise<StoredEvent[]>
}
