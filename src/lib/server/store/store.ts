// The one persistence interface the engine talks to. SQLite (embedded) and PostgreSQL implement it
// with the same Kysely queries; `transaction` gives the same interface bound to one transaction.
// The records it reads and writes live in records.ts; this module re-exports them.
import type {ReleaseStatus} from '../../api/domain.js'
import type {AuditEntry} from '../../api/access.js'
import type {Approval, BlockedVersion, PauseState, ScheduleRun, SettingsChange} from '../../api/schemas.js'
import type {
  ActiveLock,
  AppHistoryRow,
  AppPatch,
  AppRecord,
  AuditFilter,
  CancelRequest,
  DeliveryAttempt,
  DeliveryRecord,
  DeliveryStatus,
  EnvironmentRecord,
  FreezeRecord,
  NewAuditEntry,
  NewDelivery,
  NewEvent,
  NewFreeze,
  NewLogLine,
  NewNotification,
  NewPipelineRun,
  NewRelease,
  ReleaseTasks,
  NotificationRecord,
  PipelineLinkRecord,
  PipelineRunFilter,
  PipelineRunPatch,
  PipelineRunRecord,
  ProjectRecord,
  ReleaseFilter,
  ReleaseRecord,
  ReleaseTransitionFields,
  ReplicaRecord,
  ScheduleRecord,
  SettingsRecord,
  StoredEvent,
  StoredLogLine,
  TaskPatch,
  TaskRecord,
  TokenRecord,
} from './records.js'

export type * from './records.js'

/** Tokens: identities with grants, looked up by the hash of their secret. */
export interface TokenStore {
  /** Inserts a token; false (and nothing written) when the name is taken. */
  insertToken(token: TokenRecord): Promise<boolean>
  /** Inserts the token or replaces the one of that name: a token given to server start. */
  putToken(token: TokenRecord): Promise<void>
  tokenByHash(hash: string): Promise<TokenRecord | null>
  getToken(name: string): Promise<TokenRecord | null>
  /** Every token, by name. */
  listTokens(): Promise<TokenRecord[]>
  /** A new secret (and expiry) for the token of that name; null when there is none. */
  rotateToken(name: string, hash: string, expiresAt: string | null, rotatedAt: string): Promise<TokenRecord | null>
  /** Deletes the token: its secret stops working. False when there was none. */
  deleteToken(name: string): Promise<boolean>
  /** Records when the token was last used (a progress report: not fsynced on its own). */
  touchToken(name: string, at: string): Promise<void>
}

/** The audit log: appended to, listed newest first, and cut by the retention cleanup only. */
export interface AuditStore {
  /** Entries in their order, all or none. */
  appendAudit(entries: NewAuditEntry[]): Promise<void>
  listAudit(filter: AuditFilter): Promise<AuditEntry[]>
  /** Deletes up to `limit` entries older than the cutoff; returns how many. */
  deleteAuditBefore(cutoff: string, limit: number): Promise<number>
}

/** Projects, their environments and the apps of each environment. */
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
  /** The app as it now is; null when there is no such app. */
  updateApp(project: string, environment: string, name: string, patch: AppPatch, at: string): Promise<AppRecord | null>
  /** The same change to several apps of one environment, in one statement; the apps as they now are. */
  updateApps(project: string, environment: string, names: string[], patch: AppPatch, at: string): Promise<AppRecord[]>
  /** Several apps of one environment, each with its own change and time (runs that end in one turn), in one statement; the apps as they now are. */
  updateAppsEach(project: string, environment: string, changes: {name: string; patch: AppPatch; at: string}[]): Promise<AppRecord[]>
  deleteApp(project: string, environment: string, name: string): Promise<void>
}

/** Releases and their tasks. */
export interface ReleaseStore {
  /** Inserts a release, or returns the one that already holds its idempotency key. */
  insertRelease(release: NewRelease): Promise<{release: ReleaseRecord; created: boolean}>
  getRelease(id: number): Promise<ReleaseRecord | null>
  findByIdempotencyKey(key: string): Promise<ReleaseRecord | null>
  listReleases(filter: ReleaseFilter): Promise<ReleaseRecord[]>
  /** Pending, queued and running releases of an environment in queue order, with only what admission needs. */
  activeLocks(project: string, environment: string): Promise<ActiveLock[]>
  /** Releases pending approval or queued whose expiry (--expire-after) is at or before the instant given, oldest first. */
  expiredQueued(before: string): Promise<ReleaseRecord[]>
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
  /** The same compare-and-set on several releases at once: those that moved, in the order of `ids`. */
  transitionReleases(ids: number[], from: ReleaseStatus[], to: ReleaseStatus, fields?: ReleaseTransitionFields): Promise<ReleaseRecord[]>
  /** The latest ended release per app of an environment, among those that listed it. */
  lastReleasePerApp(project: string, environment: string): Promise<Map<string, Pick<ReleaseRecord, 'id' | 'status' | 'type'>>>

  /** The tasks of several releases, in one statement where they fit (releases claimed together): each release's tasks as inserted, in the order of `plans`. */
  insertTasks(plans: ReleaseTasks[]): Promise<TaskRecord[][]>
  listTasks(releaseId: number): Promise<TaskRecord[]>
  updateTask(id: number, patch: TaskPatch): Promise<void>
  /** The same change to several tasks, in one statement (tasks that start together). */
  updateTasks(ids: number[], patch: TaskPatch): Promise<void>
  /** Several tasks, each with its own change (the last tasks of runs that end in one turn), in one statement. */
  updateTasksEach(changes: {id: number; patch: TaskPatch}[]): Promise<void>

  /** Records one approver's approval of a release; false when that name approved it already. */
  addApproval(releaseId: number, approval: Approval): Promise<boolean>
  /** Who approved the release, oldest first. */
  listApprovals(releaseId: number): Promise<Approval[]>

  /** Successful deploy and delete tasks of one app, newest first. */
  appHistory(project: string, environment: string, app: string, limit: number): Promise<AppHistoryRow[]>
}

/** Task log lines and their retention. */
export interface LogStore {
  /** Inserts the lines; returns their ids, in the order given. */
  appendLogs(lines: NewLogLine[]): Promise<number[]>
  /** The lines of a release with ids from..to, in order (what a log event points at). */
  logLinesBetween(releaseId: number, fromId: number, toId: number): Promise<StoredLogLine[]>
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

  /**
   * The pauses that apply to an environment (control-plane level first, then the project's, then its own);
   * with environment null, the control plane's and all of a project's; with project null too, every pause.
   */
  listPauses(project: string | null, environment: string | null): Promise<PauseState[]>
  /** Records a pause unless that level is already paused; returns the pause in force and whether it was new. */
  addPause(pause: PauseState): Promise<{pause: PauseState; created: boolean}>
  /** Lifts the pause of one level: the control plane (project null), a project (environment null) or an environment. */
  removePause(project: string | null, environment: string | null): Promise<boolean>
}

/** Freezes and blocked versions: what holds releases back besides pauses. */
export interface FreezeStore {
  insertFreeze(freeze: NewFreeze): Promise<FreezeRecord>
  getFreeze(id: number): Promise<FreezeRecord | null>
  deleteFreeze(id: number): Promise<boolean>
  /**
   * The freezes that apply to an environment (the control plane's, its project's, its own), recurring or
   * with a one-off window that has not ended at `now`; oldest first.
   */
  freezesFor(project: string, environment: string, now: string): Promise<FreezeRecord[]>
  /**
   * Freezes that have not ended at `now`, oldest first: every one; with a project, the control plane's and
   * that project's (every environment's, or with an environment, the project level's and that one's).
   */
  listFreezes(now: string, scope?: {project: string; environment?: string}): Promise<FreezeRecord[]>

  /** Blocks a version of an app unless it is blocked already; returns the block in force and whether it is new. */
  blockVersion(block: BlockedVersion): Promise<{block: BlockedVersion; created: boolean}>
  /** Lifts a block; returns the block lifted, or null when the version was not blocked. */
  unblockVersion(project: string, app: string, version: string): Promise<BlockedVersion | null>
  /** The blocked versions of a project (of one app), oldest first. */
  listBlockedVersions(project: string, app?: string): Promise<BlockedVersion[]>
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

/** The events table: the ordered record of every change, its retention, and the wakeup when it grows. */
export interface EventStore {
  /**
   * Appends in the current transaction: written just before it commits, under the event-order lock
   * (PostgreSQL), so that sequence numbers follow commit order. Once it commits, the events listeners of
   * every replica hear of it.
   */
  appendEvents(events: NewEvent[]): Promise<void>
  /** Events after a sequence number, in order. */
  listEvents(afterSeq: number, limit: number, filter?: {releaseId?: number}): Promise<StoredEvent[]>
  /** The sequence number of the last event; 0 before the first. */
  lastEventSeq(): Promise<number>
  /** Events at or before this sequence number were deleted by the retention cleanup; 0 while none were. */
  eventHorizon(): Promise<number>
  /** Deletes up to `limit` of the oldest events appended before the cutoff, none after `keepAfter`; returns how many. */
  pruneEvents(cutoff: string, keepAfter: number, limit: number): Promise<number>
}

/** Notification subscriptions and the outbox they are delivered from. */
export interface NotificationStore {
  /** Records a subscription that hears of the events after the last one appended. */
  insertNotification(notification: NewNotification): Promise<NotificationRecord>
  listNotifications(): Promise<NotificationRecord[]>
  getNotification(id: number): Promise<NotificationRecord | null>
  /** Deletes it with its deliveries; false when there was none. */
  deleteNotification(id: number): Promise<boolean>
  /** Pending deliveries per subscription. */
  pendingDeliveryCounts(): Promise<Map<number, number>>

  /**
   * Inside a transaction: holds the outbox until commit, so that one replica at a time reads the
   * events into it, and returns how far it has read (at first, the last event appended).
   */
  lockOutbox(): Promise<number>
  advanceOutbox(seq: number): Promise<void>
  /** Adds deliveries; one an event and subscription already has is left as it is. */
  insertDeliveries(deliveries: NewDelivery[]): Promise<void>
  /**
   * Claims for a replica, until `until`, up to `limit` deliveries due at `now` that are each the oldest
   * pending one of their subscription (so that each subscription gets its events in order).
   */
  claimDeliveries(replica: string, now: string, until: string, limit: number): Promise<DeliveryRecord[]>
  /** Inserts a delivery sent at once (a test), claimed by the caller. */
  insertClaimedDelivery(delivery: NewDelivery, replica: string, until: string): Promise<DeliveryRecord>
  /** Records an attempt and where its delivery stands after it, and the subscription's outcome. */
  recordAttempt(attempt: DeliveryAttempt, next: {status: DeliveryStatus; nextAttemptAt: string}, outcome: string): Promise<void>
  /** The latest deliveries of a subscription, newest first, each with its attempts in order. */
  listDeliveries(notificationId: number, limit: number): Promise<(DeliveryRecord & {attemptLog: DeliveryAttempt[]})[]>
  /** Deletes up to `limit` deliveries that ended before the cutoff; returns how many. */
  pruneDeliveries(cutoff: string, limit: number): Promise<number>
}

/** Pipeline runs and the releases each made. */
export interface PipelineStore {
  /** Inserts a run, or returns the one that already holds its idempotency key. */
  insertPipelineRun(run: NewPipelineRun): Promise<{run: PipelineRunRecord; created: boolean}>
  getPipelineRun(id: number): Promise<PipelineRunRecord | null>
  findPipelineRunByKey(key: string): Promise<PipelineRunRecord | null>
  /**
   * Inside a transaction: the run, its row held until commit (PostgreSQL SELECT ... FOR UPDATE; SQLite's
   * one connection), so that one writer at a time decides for it.
   */
  lockPipelineRun(id: number): Promise<PipelineRunRecord | null>
  listPipelineRuns(filter: PipelineRunFilter): Promise<PipelineRunRecord[]>
  /** The run as it now is; null when there is none. */
  updatePipelineRun(id: number, patch: PipelineRunPatch): Promise<PipelineRunRecord | null>
  /** Records a release the run made (or why it made none); false, and nothing written, when one is recorded for that step, environment and kind. */
  insertPipelineLink(link: PipelineLinkRecord): Promise<boolean>
  /** The releases a run made, in step order. */
  listPipelineLinks(runId: number): Promise<PipelineLinkRecord[]>
}

/** The one persistence interface the engine talks to: every concern, on one database. */
export interface Store extends CatalogStore, ReleaseStore, LogStore, SettingsStore, FreezeStore, ScheduleStore, ReplicaStore, EventStore, NotificationStore, TokenStore, AuditStore, PipelineStore {
  readonly dialect: 'sqlite' | 'postgres'
  /**
   * Runs fn with a store bound to one transaction; commits when fn resolves. Inside a transaction, runs
   * fn in it. The events appended in it are written together once fn has resolved, just before the
   * commit, in the order they were appended (see appendEvents).
   */
  transaction<T>(fn: (store: Store) => Promise<T>): Promise<T>
  /** Inside a transaction: runs fn under a savepoint, so that when it throws only its own writes are undone. */
  savepoint<T>(fn: () => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** What a replica is told by the others (and, for events, by itself): each handler is optional. */
export interface WakeupHandlers {
  admit?(project: string, environment: string): void
  cancel?(releaseId: number): void
  /** events were appended: read them after the last sequence number seen */
  events?(): void
}

/** What replicas need to share one database: the admission turn, claims and leases, cancels and wakeups. */
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
  /**
   * Calls the handlers on every notification from any replica (PostgreSQL LISTEN), and `events` also after
   * every local commit that appended events (the one process on SQLite hears only those). Resolves once listening.
   */
  listen(handlers: WakeupHandlers): Promise<void>

  /** Inserts or replaces a replica's row. */
  upsertReplica(replica: ReplicaRecord): Promise<void>
  getReplica(id: string): Promise<ReplicaRecord | null>
  /** Replicas whose heartbeat is at or after the instant given, oldest first. */
  listReplicas(heartbeatSince: string): Promise<ReplicaRecord[]>
  /**
   * Records a heartbeat and renews the lease of every release the replica runs, but for one whose row
   * another transaction holds right now (it is being ended or claimed; the next heartbeat renews it);
   * returns how many it renewed.
   */
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

}
