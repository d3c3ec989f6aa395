// KyselyStore: the Store on Kysely, one set of queries for SQLite and PostgreSQL, by concern in this
// folder (catalog, releases, logs, settings, schedules, replicas). What the databases do differently
// beyond the SQL Kysely writes for both (locks, notifications) comes in as DialectQuirks.
import {type Kysely, sql, type Transaction} from 'kysely'

import type {Database} from '../schema/tables.js'
import type {
  AppPatch,
  AppRecord,
  EnvironmentRecord,
  NewEvent,
  NewLogLine,
  NewRelease,
  NewTask,
  ProjectRecord,
  ReleaseFilter,
  ReleaseTransitionFields,
  ReplicaRecord,
  ScheduleRecord,
  SettingsRecord,
  Store,
  StoredLogLine,
  TaskPatch,
} from '../store.js'
import type {ReleaseStatus} from '../../../api/domain.js'
import type {PauseState, ScheduleRun, SettingsChange} from '../../../api/schemas.js'
import * as catalog from './catalog.js'
import {type Db, inTransaction} from './db.js'
import * as logs from './logs.js'
import * as releases from './releases.js'
import * as replicas from './replicas.js'
import {admitPayload, WAKEUP_CHANNELS, type WakeupChannel} from './replicas.js'
import * as schedules from './schedules.js'
import * as settings from './settings.js'

export type WakeupHandlers = Parameters<Store['listen']>[0]

export interface DialectQuirks {
  readonly dialect: 'sqlite' | 'postgres'
  /** Inside a transaction: holds the environment's admission turn until it ends. */
  lockEnvironment(trx: Transaction<Database>, project: string, environment: string): Promise<void>
  /** Inside a transaction: keeps event sequence numbers in commit order until it ends. */
  lockEventOrder(trx: Transaction<Database>): Promise<void>
  /** A notification every replica receives once the current transaction commits. */
  notify(db: Db, channel: WakeupChannel, payload: string): Promise<void>
  listen(handlers: WakeupHandlers): Promise<void>
  /** Stops listening (the connections themselves close with Kysely). */
  close(): Promise<void>
}

export class KyselyStore implements Store {
  readonly dialect: 'sqlite' | 'postgres'
  /** savepoints taken in this transaction: each gets its own name */
  private savepoints = 0

  constructor(
    private readonly db: Db,
    private readonly quirks: DialectQuirks,
    /** shared by the stores of this database's transactions */
    private readonly listedReleases = new releases.ListedReleases(),
    /** in a transaction opened with eventsLast: its events, written just before its commit */
    private readonly eventsLast: NewEvent[] | null = null,
  ) {
    this.dialect = quirks.dialect
  }

  async transaction<T>(fn: (store: Store) => Promise<T>, options: {eventsLast?: boolean} = {}): Promise<T> {
    if (this.db.isTransaction) return fn(this)
    return (this.db as Kysely<Database>).transaction().execute(async (trx) => {
      const eventsLast = options.eventsLast ? [] : null
      const result = await fn(new KyselyStore(trx, this.quirks, this.listedReleases, eventsLast))
      if (eventsLast && eventsLast.length > 0) await this.writeEvents(trx, eventsLast)
      return result
    })
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.db.isTransaction) throw new Error('savepoint must run inside store.transaction()')
    const name = sql.id(`sp_${++this.savepoints}`)
    const eventsBefore = this.eventsLast?.length ?? 0
    await sql`savepoint ${name}`.execute(this.db)
    try {
      const result = await fn()
      await sql`release savepoint ${name}`.execute(this.db)
      return result
    } catch (error) {
      await sql`rollback to savepoint ${name}`.execute(this.db)
      await sql`release savepoint ${name}`.execute(this.db)
      // What was undone recorded no events either.
      if (this.eventsLast) this.eventsLast.length = eventsBefore
      throw error
    }
  }

  async close(): Promise<void> {
    await this.quirks.close()
    await (this.db as Kysely<Database>).destroy()
  }

  getProject(name: string) {
    return catalog.getProject(this.db, name)
  }

  listProjects() {
    return catalog.listProjects(this.db)
  }

  upsertProject(project: ProjectRecord) {
    return catalog.upsertProject(this.db, project)
  }

  listEnvironments(project: string) {
    return catalog.listEnvironments(this.db, project)
  }

  getEnvironment(project: string, name: string) {
    return catalog.getEnvironment(this.db, project, name)
  }

  insertEnvironment(environment: EnvironmentRecord) {
    return catalog.insertEnvironment(this.db, environment)
  }

  deleteEnvironment(project: string, name: string) {
    return catalog.deleteEnvironment(this.db, project, name)
  }

  listApps(project: string, environment: string, names?: string[]) {
    return catalog.listApps(this.db, project, environment, names)
  }

  upsertApp(app: AppRecord) {
    return catalog.upsertApp(this.db, app)
  }

  updateApp(project: string, environment: string, name: string, patch: AppPatch, at: string) {
    return catalog.updateApp(this.db, project, environment, name, patch, at)
  }

  updateApps(project: string, environment: string, names: string[], patch: AppPatch, at: string) {
    return catalog.updateApps(this.db, project, environment, names, patch, at)
  }

  deleteApp(project: string, environment: string, name: string) {
    return catalog.deleteApp(this.db, project, environment, name)
  }

  insertRelease(release: NewRelease) {
    return releases.insertRelease(this.db, release)
  }

  findByIdempotencyKey(key: string) {
    return releases.findByIdempotencyKey(this.db, key)
  }

  getRelease(id: number) {
    return releases.getRelease(this.db, id)
  }

  listReleases(filter: ReleaseFilter) {
    return releases.listReleases(this.db, this.listedReleases, filter)
  }

  activeLocks(project: string, environment: string) {
    return releases.activeLocks(this.db, project, environment)
  }

  activeMark(project: string, environment: string) {
    return releases.activeMark(this.db, project, environment)
  }

  transitionRelease(id: number, from: ReleaseStatus[], to: ReleaseStatus, fields: ReleaseTransitionFields = {}) {
    return releases.transitionRelease(this.db, id, from, to, fields)
  }

  lastReleasePerApp(project: string, environment: string) {
    return releases.lastReleasePerApp(this.db, project, environment)
  }

  insertTasks(releaseId: number, tasks: NewTask[]) {
    return releases.insertTasks(this.db, releaseId, tasks)
  }

  listTasks(releaseId: number) {
    return releases.listTasks(this.db, releaseId)
  }

  updateTask(id: number, patch: TaskPatch) {
    return releases.updateTask(this.db, id, patch)
  }

  updateTasks(ids: number[], patch: TaskPatch) {
    return releases.updateTasks(this.db, ids, patch)
  }

  appendLogs(lines: NewLogLine[]): Promise<void> {
    return logs.appendLogs(this.db, lines)
  }

  readLogs(releaseId: number, afterId: number, limit: number, filter: {resource?: string; target?: string} = {}): Promise<StoredLogLine[]> {
    return logs.readLogs(this.db, releaseId, afterId, limit, filter)
  }

  logsDeletedAt(releaseId: number): Promise<string | null> {
    return logs.logsDeletedAt(this.db, releaseId)
  }

  deleteLogsEndedBefore(cutoff: string, at: string, limit: number): Promise<number[]> {
    return logs.deleteLogsEndedBefore(this.db, cutoff, at, limit)
  }

  appHistory(project: string, environment: string, app: string, limit: number) {
    return releases.appHistory(this.db, project, environment, app, limit)
  }

  getSettings(project: string | null, environment: string | null) {
    return settings.getSettings(this.db, project, environment)
  }

  settingsFor(project: string, environment: string) {
    return settings.settingsFor(this.db, project, environment)
  }

  listSettings() {
    return settings.listSettings(this.db)
  }

  saveSettings(record: SettingsRecord, changes: SettingsChange[]) {
    return settings.saveSettings(this.db, record, changes)
  }

  listSettingsChanges(project: string | null, environment: string | null, limit: number) {
    return settings.listSettingsChanges(this.db, project, environment, limit)
  }

  listPauses(project: string, environment: string | null) {
    return settings.listPauses(this.db, project, environment)
  }

  addPause(pause: PauseState) {
    return settings.addPause(this.db, pause)
  }

  removePause(project: string, environment: string | null) {
    return settings.removePause(this.db, project, environment)
  }

  getSchedule(project: string, environment: string) {
    return schedules.getSchedule(this.db, project, environment)
  }

  listSchedules() {
    return schedules.listSchedules(this.db)
  }

  upsertSchedule(schedule: ScheduleRecord) {
    return schedules.upsertSchedule(this.db, schedule)
  }

  deleteSchedule(project: string, environment: string) {
    return schedules.deleteSchedule(this.db, project, environment)
  }

  setSchedulePaused(project: string, environment: string, paused: boolean, at: string) {
    return schedules.setSchedulePaused(this.db, project, environment, paused, at)
  }

  advanceSchedule(project: string, environment: string, expectedNextRunAt: string, nextRunAt: string) {
    return schedules.advanceSchedule(this.db, project, environment, expectedNextRunAt, nextRunAt)
  }

  insertScheduleRuns(project: string, environment: string, runs: ScheduleRun[]) {
    return schedules.insertScheduleRuns(this.db, project, environment, runs)
  }

  listScheduleRuns(project: string, environment: string, limit: number) {
    return schedules.listScheduleRuns(this.db, project, environment, limit)
  }

  // ---- replicas: the admission turn, claims and leases, cancels, wakeups, events ----

  async lockEnvironment(project: string, environment: string): Promise<void> {
    if (!this.db.isTransaction) throw new Error('lockEnvironment must run inside store.transaction(): the turn lasts until its commit')
    await this.quirks.lockEnvironment(this.db as Transaction<Database>, project, environment)
  }

  notifyAdmit(project: string, environment: string): Promise<void> {
    return this.quirks.notify(this.db, WAKEUP_CHANNELS.admit, admitPayload(project, environment))
  }

  notifyCancel(releaseId: number): Promise<void> {
    return this.quirks.notify(this.db, WAKEUP_CHANNELS.cancel, String(releaseId))
  }

  listen(handlers: WakeupHandlers): Promise<void> {
    return this.quirks.listen(handlers)
  }

  upsertReplica(replica: ReplicaRecord) {
    return replicas.upsertReplica(this.db, replica)
  }

  getReplica(id: string) {
    return replicas.getReplica(this.db, id)
  }

  listReplicas(heartbeatSince: string) {
    return replicas.listReplicas(this.db, heartbeatSince)
  }

  heartbeat(replica: string, at: string, leaseExpiresAt: string) {
    return replicas.heartbeat(this.db, replica, at, leaseExpiresAt)
  }

  setReplicaStopping(replica: string) {
    return replicas.setReplicaStopping(this.db, replica)
  }

  deleteReplica(replica: string) {
    return replicas.deleteReplica(this.db, replica)
  }

  expiredRuns(before: string) {
    return replicas.expiredRuns(this.db, before)
  }

  runsOf(replica: string) {
    return replicas.runsOf(this.db, replica)
  }

  requestCancel(releaseId: number, by: string, at: string) {
    return replicas.requestCancel(this.db, releaseId, by, at)
  }

  cancelRequests(replica: string) {
    return replicas.cancelRequests(this.db, replica)
  }

  environmentsWithQueued() {
    return replicas.environmentsWithQueued(this.db)
  }

  appendEvents(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve()
    if (this.eventsLast) {
      this.eventsLast.push(...events)
      return Promise.resolve()
    }
    return inTransaction(this.db, (trx) => this.writeEvents(trx, events))
  }

  private async writeEvents(trx: Transaction<Database>, events: NewEvent[]): Promise<void> {
    await this.quirks.lockEventOrder(trx)
    await replicas.insertEvents(trx, events)
  }

  listEvents(afterSeq: number, limit: number, filter: {releaseId?: number} = {}) {
    return replicas.listEvents(this.db, afterSeq, limit, filter)
  }
}

/** One process on its own database (SQLite): every transaction already holds the one connection, and nobody else listens. */
export const ONE_PROCESS_QUIRKS: Omit<DialectQuirks, 'dialect'> = {
  async lockEnvironment() {},
  async lockEventOrder() {},
  async notify() {},
  async listen() {},
  async close() {},
}
