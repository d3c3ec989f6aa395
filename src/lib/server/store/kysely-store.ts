// The Store on Kysely: one set of queries for SQLite and PostgreSQL. What the databases do differently
// beyond the SQL Kysely writes for both (locks, notifications) comes in as DialectQuirks.
import {type Kysely, type Selectable, sql, type Transaction} from 'kysely'

import {FINAL_RELEASE_STATUSES, type ReleaseStatus, type TaskStatus} from '../../api/domain.js'
import type {PauseState, Release, ScheduleRun, SettingsChange} from '../../api/schemas.js'
import type {
  AppHistoryRow,
  AppRecord,
  CancelRequest,
  EnvironmentRecord,
  LockSet,
  NewEvent,
  NewLogLine,
  NewRelease,
  NewTask,
  ProjectRecord,
  ReleaseFilter,
  ReleaseRecord,
  ReleaseTransitionFields,
  ReplicaRecord,
  ScheduleRecord,
  SettingsRecord,
  Store,
  StoredEvent,
  StoredLogLine,
  TaskRecord,
} from './store.js'
import {rowBatches, valueBatches, yieldToEventLoop} from './batches.js'
import * as codec from './codecs.js'
import * as logs from './log-queries.js'
import type {AppsTable, Database} from './tables.js'

export type Db = Kysely<Database> | Transaction<Database>

/** Where a wakeup goes: every replica listens on both. */
export const WAKEUP_CHANNELS = {admit: 'relctl_admit', cancel: 'relctl_cancel'} as const
export type WakeupChannel = (typeof WAKEUP_CHANNELS)[keyof typeof WAKEUP_CHANNELS]
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

/** An admit wakeup names an environment. */
export function admitPayload(project: string, environment: string): string {
  return JSON.stringify([project, environment])
}

export function parseAdmitPayload(payload: string): {project: string; environment: string} | null {
  const parsed: unknown = JSON.parse(payload)
  return Array.isArray(parsed) && parsed.length === 2 && parsed.every((part) => typeof part === 'string') ? {project: parsed[0], environment: parsed[1]} : null
}

const ACTIVE_STATUSES = ['pending_approval', 'queued', 'running'] as const
const OPEN_TASK_STATUSES = ['pending', 'running'] as const
const LAST_RELEASES_SCANNED = 500

export class KyselyStore implements Store {
  readonly dialect: 'sqlite' | 'postgres'

  constructor(
    private readonly db: Db,
    private readonly quirks: DialectQuirks,
  ) {
    this.dialect = quirks.dialect
  }

  async transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this)
    return (this.db as Kysely<Database>).transaction().execute((trx) => fn(new KyselyStore(trx, this.quirks)))
  }

  async close(): Promise<void> {
    await this.quirks.close()
    await (this.db as Kysely<Database>).destroy()
  }

  async getProject(name: string): Promise<ProjectRecord | null> {
    const row = await this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst()
    return row ? codec.toProject(row) : null
  }

  async listProjects(): Promise<ProjectRecord[]> {
    const rows = await this.db.selectFrom('projects').selectAll().orderBy('name').execute()
    return rows.map(codec.toProject)
  }

  async upsertProject(project: ProjectRecord): Promise<void> {
    const values = codec.projectRow(project)
    await this.db
      .insertInto('projects')
      .values(values)
      .onConflict((oc) => oc.column('name').doUpdateSet({blueprint: values.blueprint, file: values.file, base_dir: values.base_dir, applied_at: values.applied_at}))
      .execute()
  }

  async listEnvironments(project: string): Promise<EnvironmentRecord[]> {
    const rows = await this.db.selectFrom('environments').selectAll().where('project', '=', project).orderBy('created_at').orderBy('name').execute()
    return rows.map((row) => ({project: row.project, name: row.name, createdAt: row.created_at}))
  }

  async getEnvironment(project: string, name: string): Promise<EnvironmentRecord | null> {
    const row = await this.db.selectFrom('environments').selectAll().where('project', '=', project).where('name', '=', name).executeTakeFirst()
    return row ? {project: row.project, name: row.name, createdAt: row.created_at} : null
  }

  async insertEnvironment(environment: EnvironmentRecord): Promise<void> {
    await this.db.insertInto('environments').values({project: environment.project, name: environment.name, created_at: environment.createdAt}).execute()
  }

  async deleteEnvironment(project: string, name: string): Promise<void> {
    // What belongs to the environment goes with it; its release history stays.
    for (const table of ['apps', 'settings', 'settings_changes', 'pauses', 'schedules'] as const) {
      await this.db.deleteFrom(table).where('project', '=', project).where('environment', '=', name).execute()
    }
    await this.db.deleteFrom('environments').where('project', '=', project).where('name', '=', name).execute()
  }

  async listApps(project: string, environment: string, names?: string[]): Promise<AppRecord[]> {
    const query = this.db.selectFrom('apps').selectAll().where('project', '=', project).where('environment', '=', environment)
    let rows: Selectable<AppsTable>[]
    if (names) {
      rows = []
      // project and environment are the statement's other two parameters
      for (const batch of valueBatches(names, 2)) rows.push(...(await query.where('name', 'in', batch).execute()))
    } else {
      rows = await query.execute()
    }
    // Sorted here, not by the database: collations differ between databases and their locales.
    rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    return rows.map(codec.toApp)
  }

  async upsertApp(app: AppRecord): Promise<void> {
    const values = codec.appRow(app)
    await this.db
      .insertInto('apps')
      .values(values)
      .onConflict((oc) =>
        oc.columns(['project', 'environment', 'name']).doUpdateSet({
          kind: values.kind,
          desired_version: values.desired_version,
          deployed_version: values.deployed_version,
          health: values.health,
          removed: values.removed,
          drift: values.drift,
          updated_at: values.updated_at,
        }),
      )
      .execute()
  }

  async updateApp(
    project: string,
    environment: string,
    name: string,
    patch: Partial<Pick<AppRecord, 'desiredVersion' | 'deployedVersion' | 'health' | 'removed' | 'kind' | 'drift'>>,
    at: string,
  ): Promise<void> {
    await this.db
      .updateTable('apps')
      .set({
        ...(patch.desiredVersion !== undefined && {desired_version: patch.desiredVersion}),
        ...(patch.deployedVersion !== undefined && {deployed_version: patch.deployedVersion}),
        ...(patch.health !== undefined && {health: patch.health}),
        ...(patch.removed !== undefined && {removed: codec.bit(patch.removed)}),
        ...(patch.kind !== undefined && {kind: patch.kind}),
        ...(patch.drift !== undefined && {drift: patch.drift ? JSON.stringify(patch.drift) : null}),
        updated_at: at,
      })
      .where('project', '=', project)
      .where('environment', '=', environment)
      .where('name', '=', name)
      .execute()
  }

  async deleteApp(project: string, environment: string, name: string): Promise<void> {
    await this.db.deleteFrom('apps').where('project', '=', project).where('environment', '=', environment).where('name', '=', name).execute()
  }

  async insertRelease(release: NewRelease): Promise<{release: ReleaseRecord; created: boolean}> {
    if (release.idempotencyKey) {
      const existing = await this.findByIdempotencyKey(release.idempotencyKey)
      if (existing) return {release: existing, created: false}
    }
    // Two requests with one key that raced past the lookup: the loser inserts nothing (on PostgreSQL
    // after the winner commits) and answers with the winner's release. No unique violation is raised,
    // which on PostgreSQL would abort the surrounding transaction.
    const row = await this.db
      .insertInto('releases')
      .values(codec.releaseRow(release))
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .returningAll()
      .executeTakeFirst()
    if (row) return {release: codec.toRelease(row), created: true}
    const winner = await this.findByIdempotencyKey(release.idempotencyKey as string)
    if (!winner) throw new Error(`release with idempotency key ${release.idempotencyKey} was neither inserted nor found`)
    return {release: winner, created: false}
  }

  async findByIdempotencyKey(key: string): Promise<ReleaseRecord | null> {
    const row = await this.db.selectFrom('releases').selectAll().where('idempotency_key', '=', key).executeTakeFirst()
    return row ? codec.toRelease(row) : null
  }

  async getRelease(id: number): Promise<ReleaseRecord | null> {
    const row = await this.db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirst()
    return row ? codec.toRelease(row) : null
  }

  async listReleases(filter: ReleaseFilter): Promise<ReleaseRecord[]> {
    let query = this.db.selectFrom('releases').selectAll()
    if (filter.project) query = query.where('project', '=', filter.project)
    if (filter.environment) query = query.where('environment', '=', filter.environment)
    if (filter.statuses?.length) query = query.where('status', 'in', filter.statuses)
    query = query.orderBy('id', filter.order ?? 'desc')
    if (filter.limit) query = query.limit(filter.limit)
    const rows = await query.execute()
    return rows.map(codec.toRelease)
  }

  async activeLocks(project: string, environment: string): Promise<{id: number; status: 'pending_approval' | 'queued' | 'running'; lockSet: LockSet}[]> {
    const rows = await this.db
      .selectFrom('releases')
      .select(['id', 'status', 'lock_set'])
      .where('project', '=', project)
      .where('environment', '=', environment)
      .where('status', 'in', ACTIVE_STATUSES)
      .orderBy('id')
      .execute()
    return rows.map((row) => ({id: Number(row.id), status: row.status as (typeof ACTIVE_STATUSES)[number], lockSet: codec.parseLockSet(row.lock_set)}))
  }

  async transitionRelease(id: number, from: ReleaseStatus[], to: ReleaseStatus, fields: ReleaseTransitionFields = {}): Promise<ReleaseRecord | null> {
    const ends = (FINAL_RELEASE_STATUSES as readonly ReleaseStatus[]).includes(to)
    const row = await this.db
      .updateTable('releases')
      .set({
        status: to,
        ...(fields.startedAt !== undefined && {started_at: fields.startedAt}),
        ...(fields.finishedAt !== undefined && {finished_at: fields.finishedAt}),
        ...(fields.error !== undefined && {error: fields.error}),
        ...(fields.decision && {
          decision: fields.decision.decision,
          decided_by: fields.decision.by,
          decided_at: fields.decision.at,
          decision_comment: fields.decision.comment,
        }),
        ...(fields.replica !== undefined && {replica: fields.replica}),
        ...(fields.leaseExpiresAt !== undefined && {lease_expires_at: fields.leaseExpiresAt}),
        // A release that ended holds no claim; its replica stays as the one that ran it.
        ...(ends && {lease_expires_at: null}),
      })
      .where('id', '=', id)
      .where('status', 'in', from)
      .returningAll()
      .executeTakeFirst()
    return row ? codec.toRelease(row) : null
  }

  async lastReleasePerApp(project: string, environment: string): Promise<Map<string, Pick<ReleaseRecord, 'id' | 'status' | 'type'>>> {
    // From the releases' own resource lists, so that a release rejected or cancelled before it ran
    // counts too; the latest LAST_RELEASES_SCANNED ended releases are enough to know each app's last.
    const rows = await this.db
      .selectFrom('releases')
      .select(['id', 'status', 'type', 'resources'])
      .where('project', '=', project)
      .where('environment', '=', environment)
      .where('status', 'in', [...FINAL_RELEASE_STATUSES])
      .orderBy('id', 'desc')
      .limit(LAST_RELEASES_SCANNED)
      .execute()
    const last = new Map<string, Pick<ReleaseRecord, 'id' | 'status' | 'type'>>()
    for (const row of rows) {
      for (const resource of JSON.parse(row.resources) as {name: string}[]) {
        if (!last.has(resource.name)) last.set(resource.name, {id: Number(row.id), status: row.status as ReleaseStatus, type: row.type as Release['type']})
      }
    }
    return last
  }

  async insertTasks(releaseId: number, tasks: NewTask[]): Promise<TaskRecord[]> {
    const rows = tasks.map((task) => codec.taskRow(releaseId, task))
    const inserted: TaskRecord[] = []
    for (const batch of rowBatches(rows)) {
      for (const row of await this.db.insertInto('tasks').values(batch).returningAll().execute()) inserted.push(codec.toTask(row))
      // A big plan is thousands of rows: let timers and requests run between statements.
      await yieldToEventLoop()
    }
    return inserted
  }

  async listTasks(releaseId: number): Promise<TaskRecord[]> {
    const rows = await this.db.selectFrom('tasks').selectAll().where('release_id', '=', releaseId).orderBy('level').orderBy('id').execute()
    return rows.map(codec.toTask)
  }

  async updateTask(
    id: number,
    patch: {status: TaskRecord['status']; exitCode?: number | null; error?: string | null; startedAt?: string; finishedAt?: string},
  ): Promise<void> {
    await this.db
      .updateTable('tasks')
      .set({
        status: patch.status,
        ...(patch.exitCode !== undefined && {exit_code: patch.exitCode}),
        ...(patch.error !== undefined && {error: patch.error}),
        ...(patch.startedAt !== undefined && {started_at: patch.startedAt}),
        ...(patch.finishedAt !== undefined && {finished_at: patch.finishedAt}),
      })
      .where('id', '=', id)
      .execute()
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
    return this.transaction((tx) => logs.deleteLogsEndedBefore((tx as KyselyStore).db, cutoff, at, limit))
  }

  async appHistory(project: string, environment: string, app: string, limit: number): Promise<AppHistoryRow[]> {
    const rows = await this.db
      .selectFrom('tasks')
      .innerJoin('releases', 'releases.id', 'tasks.release_id')
      .select([
        'releases.id as id',
        'releases.type as type',
        'releases.triggered_by as triggered_by',
        'tasks.action as action',
        'tasks.from_version as from_version',
        'tasks.to_version as to_version',
        'tasks.target as target',
        'tasks.finished_at as finished_at',
      ])
      .where('releases.project', '=', project)
      .where('releases.environment', '=', environment)
      .where('tasks.resource', '=', app)
      .where('tasks.kind', '=', 'deploy')
      .where('tasks.status', '=', 'succeeded')
      .orderBy('tasks.finished_at', 'desc')
      .orderBy('tasks.id', 'desc')
      .limit(limit)
      .execute()
    return rows.map((row) => ({
      releaseId: Number(row.id),
      type: row.type as AppHistoryRow['type'],
      action: row.action as AppHistoryRow['action'],
      fromVersion: row.from_version,
      toVersion: row.to_version,
      target: row.target,
      triggeredBy: row.triggered_by,
      finishedAt: row.finished_at as string,
    }))
  }

  async getSettings(project: string | null, environment: string | null): Promise<SettingsRecord | null> {
    const row = await this.db
      .selectFrom('settings')
      .selectAll()
      .where('project', '=', project ?? '')
      .where('environment', '=', environment ?? '')
      .executeTakeFirst()
    return row ? codec.toSettings(row) : null
  }

  async settingsFor(project: string, environment: string): Promise<{controlPlane: SettingsRecord | null; environment: SettingsRecord | null}> {
    const rows = await this.db
      .selectFrom('settings')
      .selectAll()
      .where((eb) => eb.or([eb.and([eb('project', '=', ''), eb('environment', '=', '')]), eb.and([eb('project', '=', project), eb('environment', '=', environment)])]))
      .execute()
    const settings = rows.map(codec.toSettings)
    return {
      controlPlane: settings.find((row) => row.project === null) ?? null,
      environment: settings.find((row) => row.project !== null) ?? null,
    }
  }

  async listSettings(): Promise<SettingsRecord[]> {
    return (await this.db.selectFrom('settings').selectAll().execute()).map(codec.toSettings)
  }

  async saveSettings(settings: SettingsRecord, changes: SettingsChange[]): Promise<void> {
    const values = codec.settingsRow(settings)
    await this.db
      .insertInto('settings')
      .values(values)
      .onConflict((oc) =>
        oc.columns(['project', 'environment']).doUpdateSet({
          parallel: values.parallel,
          max_parallel: values.max_parallel,
          approval: values.approval,
          updated_by: values.updated_by,
          updated_at: values.updated_at,
        }),
      )
      .execute()
    if (changes.length === 0) return
    for (const batch of rowBatches(changes.map(codec.settingsChangeRow))) await this.db.insertInto('settings_changes').values(batch).execute()
  }

  async listSettingsChanges(project: string | null, environment: string | null, limit: number): Promise<SettingsChange[]> {
    const rows = await this.db
      .selectFrom('settings_changes')
      .selectAll()
      .where('project', '=', project ?? '')
      .where('environment', '=', environment ?? '')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute()
    return rows.map(codec.toSettingsChange)
  }

  async listPauses(project: string, environment: string | null): Promise<PauseState[]> {
    let query = this.db.selectFrom('pauses').selectAll().where('project', '=', project)
    if (environment !== null) query = query.where('environment', 'in', ['', environment])
    const rows = await query.orderBy('environment').execute()
    return rows.map(codec.toPause)
  }

  async addPause(pause: PauseState): Promise<{pause: PauseState; created: boolean}> {
    const result = await this.db
      .insertInto('pauses')
      .values(codec.pauseRow(pause))
      .onConflict((oc) => oc.columns(['project', 'environment']).doNothing())
      .executeTakeFirst()
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 1) return {pause, created: true}
    const row = await this.db
      .selectFrom('pauses')
      .selectAll()
      .where('project', '=', pause.project)
      .where('environment', '=', pause.environment ?? '')
      .executeTakeFirstOrThrow()
    return {pause: codec.toPause(row), created: false}
  }

  async removePause(project: string, environment: string | null): Promise<boolean> {
    const result = await this.db.deleteFrom('pauses').where('project', '=', project).where('environment', '=', environment ?? '').executeTakeFirst()
    return Number(result.numDeletedRows) === 1
  }

  async getSchedule(project: string, environment: string): Promise<ScheduleRecord | null> {
    const row = await this.db.selectFrom('schedules').selectAll().where('project', '=', project).where('environment', '=', environment).executeTakeFirst()
    return row ? codec.toSchedule(row) : null
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    return (await this.db.selectFrom('schedules').selectAll().execute()).map(codec.toSchedule)
  }

  async upsertSchedule(schedule: ScheduleRecord): Promise<void> {
    const values = codec.scheduleRow(schedule)
    await this.db
      .insertInto('schedules')
      .values(values)
      .onConflict((oc) =>
        oc.columns(['project', 'environment']).doUpdateSet({
          rule: values.rule,
          release_type: values.release_type,
          resources: values.resources,
          paused: values.paused,
          next_run_at: values.next_run_at,
          created_by: values.created_by,
          created_at: values.created_at,
          updated_at: values.updated_at,
        }),
      )
      .execute()
  }

  async deleteSchedule(project: string, environment: string): Promise<boolean> {
    const result = await this.db.deleteFrom('schedules').where('project', '=', project).where('environment', '=', environment).executeTakeFirst()
    return Number(result.numDeletedRows) === 1
  }

  async setSchedulePaused(project: string, environment: string, paused: boolean, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('schedules')
      .set({paused: codec.bit(paused), updated_at: at})
      .where('project', '=', project)
      .where('environment', '=', environment)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async advanceSchedule(project: string, environment: string, expectedNextRunAt: string, nextRunAt: string): Promise<boolean> {
    const result = await this.db
      .updateTable('schedules')
      .set({next_run_at: nextRunAt})
      .where('project', '=', project)
      .where('environment', '=', environment)
      .where('next_run_at', '=', expectedNextRunAt)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async insertScheduleRuns(project: string, environment: string, runs: ScheduleRun[]): Promise<void> {
    if (runs.length === 0) return
    const rows = runs.map((run) => codec.scheduleRunRow(project, environment, run))
    for (const batch of rowBatches(rows)) await this.db.insertInto('schedule_runs').values(batch).execute()
  }

  async listScheduleRuns(project: string, environment: string, limit: number): Promise<ScheduleRun[]> {
    const rows = await this.db
      .selectFrom('schedule_runs')
      .selectAll()
      .where('project', '=', project)
      .where('environment', '=', environment)
      .orderBy('slot_at', 'desc')
      .limit(limit)
      .execute()
    return rows.map(codec.toScheduleRun)
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

  async upsertReplica(replica: ReplicaRecord): Promise<void> {
    const {id: _id, ...values} = codec.replicaRow(replica)
    await this.db
      .insertInto('replicas')
      .values(codec.replicaRow(replica))
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .execute()
  }

  async getReplica(id: string): Promise<ReplicaRecord | null> {
    const row = await this.db.selectFrom('replicas').selectAll().where('id', '=', id).executeTakeFirst()
    return row ? codec.toReplica(row) : null
  }

  async listReplicas(heartbeatSince: string): Promise<ReplicaRecord[]> {
    const rows = await this.db.selectFrom('replicas').selectAll().where('heartbeat_at', '>=', heartbeatSince).orderBy('started_at').orderBy('id').execute()
    return rows.map(codec.toReplica)
  }

  heartbeat(replica: string, at: string, leaseExpiresAt: string): Promise<number> {
    return this.transaction(async (tx) => {
      const db = (tx as KyselyStore).db
      await db.updateTable('replicas').set({heartbeat_at: at}).where('id', '=', replica).execute()
      const renewed = await db
        .updateTable('releases')
        .set({lease_expires_at: leaseExpiresAt})
        .where('replica', '=', replica)
        .where('status', '=', 'running')
        .executeTakeFirst()
      return Number(renewed.numUpdatedRows)
    })
  }

  async setReplicaStopping(replica: string): Promise<void> {
    await this.db.updateTable('replicas').set({stopping: 1}).where('id', '=', replica).execute()
  }

  async deleteReplica(replica: string): Promise<void> {
    await this.db.deleteFrom('replicas').where('id', '=', replica).execute()
  }

  async expiredRuns(before: string): Promise<ReleaseRecord[]> {
    const rows = await this.db.selectFrom('releases').selectAll().where('status', '=', 'running').where('lease_expires_at', '<', before).orderBy('id').execute()
    return rows.map(codec.toRelease)
  }

  async runsOf(replica: string): Promise<ReleaseRecord[]> {
    const rows = await this.db.selectFrom('releases').selectAll().where('status', '=', 'running').where('replica', '=', replica).orderBy('id').execute()
    return rows.map(codec.toRelease)
  }

  async requestCancel(releaseId: number, by: string, at: string): Promise<boolean> {
    // The first request stands: who asked first and when.
    const result = await this.db
      .updateTable('releases')
      .set({cancel_requested_by: sql<string>`coalesce(cancel_requested_by, ${by})`, cancel_requested_at: sql<string>`coalesce(cancel_requested_at, ${at})`})
      .where('id', '=', releaseId)
      .where('status', '=', 'running')
      .executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  async cancelRequests(replica: string): Promise<CancelRequest[]> {
    const rows = await this.db
      .selectFrom('releases')
      .select(['id', 'cancel_requested_by', 'cancel_requested_at'])
      .where('status', '=', 'running')
      .where('replica', '=', replica)
      .where('cancel_requested_at', 'is not', null)
      .orderBy('id')
      .execute()
    return rows.map((row) => ({releaseId: Number(row.id), by: row.cancel_requested_by as string, at: row.cancel_requested_at as string}))
  }

  async environmentsWithQueued(): Promise<{project: string; environment: string}[]> {
    const rows = await this.db.selectFrom('releases').select(['project', 'environment']).distinct().where('status', '=', 'queued').execute()
    return rows
      .map((row) => ({project: row.project, environment: row.environment}))
      .sort((a, b) => (a.project === b.project ? compare(a.environment, b.environment) : compare(a.project, b.project)))
  }

  async endOpenTasks(releaseId: number, status: TaskStatus, error: string, at: string): Promise<number> {
    const result = await this.db
      .updateTable('tasks')
      .set({status, error, finished_at: at})
      .where('release_id', '=', releaseId)
      .where('status', 'in', OPEN_TASK_STATUSES)
      .executeTakeFirst()
    return Number(result.numUpdatedRows)
  }

  async appendEvents(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return
    await this.transaction(async (tx) => {
      const db = (tx as KyselyStore).db as Transaction<Database>
      await this.quirks.lockEventOrder(db)
      for (const batch of rowBatches(events.map(codec.eventRow))) await db.insertInto('events').values(batch).execute()
    })
  }

  async listEvents(afterSeq: number, limit: number, filter: {releaseId?: number} = {}): Promise<StoredEvent[]> {
    let query = this.db.selectFrom('events').selectAll().where('seq', '>', afterSeq)
    if (filter.releaseId !== undefined) query = query.where('release_id', '=', filter.releaseId)
    const rows = await query.orderBy('seq').limit(limit).execute()
    return rows.map(codec.toEvent)
  }
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** One process on its own database (SQLite): every transaction already holds the one connection, and nobody else listens. */
export const ONE_PROCESS_QUIRKS: Omit<DialectQuirks, 'dialect'> = {
  async lockEnvironment() {},
  async lockEventOrder() {},
  async notify() {},
  async listen() {},
  async close() {},
}
