// The Store on Kysely: one set of queries for SQLite and PostgreSQL.
import type {Kysely, Selectable, Transaction} from 'kysely'

import {FINAL_RELEASE_STATUSES, type ReleaseStatus} from '../../api/domain.js'
import type {Decision, PauseState, Release, ScheduleRun, SettingsChange} from '../../api/schemas.js'
import type {
  AppRecord,
  EnvironmentRecord,
  LockSet,
  NewLogLine,
  NewRelease,
  NewTask,
  ProjectRecord,
  ReleaseFilter,
  ReleaseRecord,
  ReleaseTransitionFields,
  AppHistoryRow,
  ScheduleRecord,
  SettingsRecord,
  StoredLogLine,
  Store,
  TaskRecord,
} from './store.js'
import {rowBatches, valueBatches, yieldToEventLoop} from './batches.js'
import * as logs from './log-queries.js'
import type {AppsTable, Database, PausesTable, ReleasesTable, SchedulesTable, SettingsTable, TasksTable} from './tables.js'

const bit = (value: boolean) => (value ? 1 : 0)
const LAST_RELEASES_SCANNED = 500

function toRelease(row: Selectable<ReleasesTable>): ReleaseRecord {
  return {
    id: Number(row.id),
    project: row.project,
    environment: row.environment,
    type: row.type as Release['type'],
    status: row.status as ReleaseStatus,
    resources: JSON.parse(row.resources),
    lockSet: JSON.parse(row.lock_set) as LockSet,
    refresh: row.refresh === 1,
    force: row.force === 1,
    allowDestructive: row.allow_destructive === 1,
    comment: row.comment,
    triggeredBy: row.triggered_by,
    source: row.source as Release['source'],
    idempotencyKey: row.idempotency_key,
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    options: JSON.parse(row.options ?? '{}'),
    decision:
      row.decision && row.decided_by && row.decided_at
        ? {decision: row.decision as Decision['decision'], by: row.decided_by, at: row.decided_at, comment: row.decision_comment}
        : null,
  }
}

function toSettings(row: Selectable<SettingsTable>): SettingsRecord {
  const flag = (value: number | null) => (value === null ? null : value === 1)
  return {
    project: row.project || null,
    environment: row.environment || null,
    parallel: flag(row.parallel),
    maxParallel: row.max_parallel,
    approval: flag(row.approval),
    updatedBy: row.updated_by,
    updatedAt: row.updated_at,
  }
}

function toPause(row: Selectable<PausesTable>): PauseState {
  return {
    level: row.environment ? 'environment' : 'project',
    project: row.project,
    environment: row.environment || null,
    by: row.paused_by,
    at: row.paused_at,
    reason: row.reason,
  }
}

function toSchedule(row: Selectable<SchedulesTable>): ScheduleRecord {
  return {
    project: row.project,
    environment: row.environment,
    rule: JSON.parse(row.rule),
    type: row.release_type as ScheduleRecord['type'],
    resources: JSON.parse(row.resources),
    paused: row.paused === 1,
    nextRunAt: row.next_run_at,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

function toTask(row: Selectable<TasksTable>): TaskRecord {
  return {
    id: Number(row.id),
    releaseId: Number(row.release_id),
    key: row.key ?? row.resource,
    kind: row.kind as TaskRecord['kind'],
    // Hooks have no resource; the column holds '' for them.
    resource: row.resource || null,
    hook: row.hook as TaskRecord['hook'],
    target: row.target,
    step: row.step,
    action: row.action as TaskRecord['action'],
    fromVersion: row.from_version,
    toVersion: row.to_version,
    dependsOn: JSON.parse(row.depends_on),
    after: JSON.parse(row.after),
    level: row.level,
    status: row.status as TaskRecord['status'],
    exitCode: row.exit_code,
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  }
}

export class KyselyStore implements Store {
  constructor(
    private readonly db: Kysely<Database> | Transaction<Database>,
    readonly dialect: 'sqlite' | 'postgres',
    private readonly isUniqueViolation: (error: unknown) => boolean,
  ) {}

  async transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this)
    return (this.db as Kysely<Database>).transaction().execute((trx) => fn(new KyselyStore(trx, this.dialect, this.isUniqueViolation)))
  }

  async close(): Promise<void> {
    await (this.db as Kysely<Database>).destroy()
  }

  async getProject(name: string): Promise<ProjectRecord | null> {
    const row = await this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst()
    return row ? this.toProject(row) : null
  }

  async listProjects(): Promise<ProjectRecord[]> {
    const rows = await this.db.selectFrom('projects').selectAll().orderBy('name').execute()
    return rows.map((row) => this.toProject(row))
  }

  async upsertProject(project: ProjectRecord): Promise<void> {
    const values = {
      name: project.name,
      blueprint: JSON.stringify(project.blueprint),
      file: project.file,
      base_dir: project.baseDir,
      created_at: project.createdAt,
      applied_at: project.appliedAt,
    }
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
      rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    } else {
      rows = await query.orderBy('name').execute()
    }
    return rows.map((row) => ({
      project: row.project,
      environment: row.environment,
      name: row.name,
      kind: row.kind,
      desiredVersion: row.desired_version,
      deployedVersion: row.deployed_version,
      health: row.health as AppRecord['health'],
      removed: row.removed === 1,
      drift: row.drift ? JSON.parse(row.drift) : null,
      updatedAt: row.updated_at,
    }))
  }

  async upsertApp(app: AppRecord): Promise<void> {
    const values = {
      project: app.project,
      environment: app.environment,
      name: app.name,
      kind: app.kind,
      desired_version: app.desiredVersion,
      deployed_version: app.deployedVersion,
      health: app.health,
      removed: bit(app.removed),
      drift: app.drift ? JSON.stringify(app.drift) : null,
      updated_at: app.updatedAt,
    }
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
        ...(patch.removed !== undefined && {removed: bit(patch.removed)}),
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
    try {
      const row = await this.db
        .insertInto('releases')
        .values({
          project: release.project,
          environment: release.environment,
          type: release.type,
          status: release.status,
          resources: JSON.stringify(release.resources),
          lock_set: JSON.stringify(release.lockSet),
          refresh: bit(release.refresh),
          force: bit(release.force),
          allow_destructive: bit(release.allowDestructive),
          comment: release.comment,
          triggered_by: release.triggeredBy,
          source: release.source,
          idempotency_key: release.idempotencyKey,
          error: null,
          created_at: release.createdAt,
          started_at: null,
          finished_at: null,
          decision: null,
          decided_by: null,
          decided_at: null,
          decision_comment: null,
          options: JSON.stringify(release.options),
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      return {release: toRelease(row), created: true}
    } catch (error) {
      // Two requests with one key raced past the lookup: the loser answers with the winner's release.
      if (release.idempotencyKey && this.isUniqueViolation(error)) {
        const existing = await this.findByIdempotencyKey(release.idempotencyKey)
        if (existing) return {release: existing, created: false}
      }
      throw error
    }
  }

  async findByIdempotencyKey(key: string): Promise<ReleaseRecord | null> {
    const row = await this.db.selectFrom('releases').selectAll().where('idempotency_key', '=', key).executeTakeFirst()
    return row ? toRelease(row) : null
  }

  async getRelease(id: number): Promise<ReleaseRecord | null> {
    const row = await this.db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirst()
    return row ? toRelease(row) : null
  }

  async listReleases(filter: ReleaseFilter): Promise<ReleaseRecord[]> {
    let query = this.db.selectFrom('releases').selectAll()
    if (filter.project) query = query.where('project', '=', filter.project)
    if (filter.environment) query = query.where('environment', '=', filter.environment)
    if (filter.statuses?.length) query = query.where('status', 'in', filter.statuses)
    query = query.orderBy('id', filter.order ?? 'desc')
    if (filter.limit) query = query.limit(filter.limit)
    const rows = await query.execute()
    return rows.map(toRelease)
  }

  async activeLocks(project: string, environment: string): Promise<{id: number; status: 'pending_approval' | 'queued' | 'running'; lockSet: LockSet}[]> {
    const rows = await this.db
      .selectFrom('releases')
      .select(['id', 'status', 'lock_set'])
      .where('project', '=', project)
      .where('environment', '=', environment)
      .where('status', 'in', ['pending_approval', 'queued', 'running'])
      .orderBy('id')
      .execute()
    return rows.map((row) => ({id: Number(row.id), status: row.status as 'pending_approval' | 'queued' | 'running', lockSet: JSON.parse(row.lock_set) as LockSet}))
  }

  async transitionRelease(id: number, from: ReleaseStatus[], to: ReleaseStatus, fields: ReleaseTransitionFields = {}): Promise<ReleaseRecord | null> {
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
      })
      .where('id', '=', id)
      .where('status', 'in', from)
      .returningAll()
      .executeTakeFirst()
    return row ? toRelease(row) : null
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
    const rows = tasks.map((task) => ({
      release_id: releaseId,
      key: task.key,
      kind: task.kind,
      resource: task.resource ?? '',
      hook: task.hook,
      target: task.target,
      step: task.step,
      action: task.action,
      from_version: task.fromVersion,
      to_version: task.toVersion,
      depends_on: JSON.stringify(task.dependsOn),
      after: JSON.stringify(task.after),
      level: task.level,
      status: 'pending',
      exit_code: null,
      error: null,
      started_at: null,
      finished_at: null,
    }))
    const inserted: TaskRecord[] = []
    for (const batch of rowBatches(rows)) {
      for (const row of await this.db.insertInto('tasks').values(batch).returningAll().execute()) inserted.push(toTask(row))
      // A big plan is thousands of rows: let timers and requests run between statements.
      await yieldToEventLoop()
    }
    return inserted
  }

  async listTasks(releaseId: number): Promise<TaskRecord[]> {
    const rows = await this.db.selectFrom('tasks').selectAll().where('release_id', '=', releaseId).orderBy('level').orderBy('id').execute()
    return rows.map(toTask)
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
    return row ? toSettings(row) : null
  }

  async settingsFor(project: string, environment: string): Promise<{controlPlane: SettingsRecord | null; environment: SettingsRecord | null}> {
    const rows = await this.db
      .selectFrom('settings')
      .selectAll()
      .where((eb) => eb.or([eb.and([eb('project', '=', ''), eb('environment', '=', '')]), eb.and([eb('project', '=', project), eb('environment', '=', environment)])]))
      .execute()
    const settings = rows.map(toSettings)
    return {
      controlPlane: settings.find((row) => row.project === null) ?? null,
      environment: settings.find((row) => row.project !== null) ?? null,
    }
  }

  async listSettings(): Promise<SettingsRecord[]> {
    return (await this.db.selectFrom('settings').selectAll().execute()).map(toSettings)
  }

  async saveSettings(settings: SettingsRecord, changes: SettingsChange[]): Promise<void> {
    const values = {
      project: settings.project ?? '',
      environment: settings.environment ?? '',
      parallel: settings.parallel === null ? null : bit(settings.parallel),
      max_parallel: settings.maxParallel,
      approval: settings.approval === null ? null : bit(settings.approval),
      updated_by: settings.updatedBy,
      updated_at: settings.updatedAt,
    }
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
    await this.db
      .insertInto('settings_changes')
      .values(
        changes.map((change) => ({
          project: change.project ?? '',
          environment: change.environment ?? '',
          setting: change.setting,
          old_value: change.oldValue,
          new_value: change.newValue,
          changed_by: change.changedBy,
          changed_at: change.changedAt,
        })),
      )
      .execute()
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
    return rows.map((row) => ({
      project: row.project || null,
      environment: row.environment || null,
      setting: row.setting,
      oldValue: row.old_value,
      newValue: row.new_value,
      changedBy: row.changed_by,
      changedAt: row.changed_at,
    }))
  }

  async listPauses(project: string, environment: string | null): Promise<PauseState[]> {
    let query = this.db.selectFrom('pauses').selectAll().where('project', '=', project)
    if (environment !== null) query = query.where('environment', 'in', ['', environment])
    const rows = await query.orderBy('environment').execute()
    return rows.map(toPause)
  }

  async addPause(pause: PauseState): Promise<{pause: PauseState; created: boolean}> {
    const result = await this.db
      .insertInto('pauses')
      .values({project: pause.project, environment: pause.environment ?? '', paused_by: pause.by, paused_at: pause.at, reason: pause.reason})
      .onConflict((oc) => oc.columns(['project', 'environment']).doNothing())
      .executeTakeFirst()
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 1) return {pause, created: true}
    const row = await this.db
      .selectFrom('pauses')
      .selectAll()
      .where('project', '=', pause.project)
      .where('environment', '=', pause.environment ?? '')
      .executeTakeFirstOrThrow()
    return {pause: toPause(row), created: false}
  }

  async removePause(project: string, environment: string | null): Promise<boolean> {
    const result = await this.db.deleteFrom('pauses').where('project', '=', project).where('environment', '=', environment ?? '').executeTakeFirst()
    return Number(result.numDeletedRows) === 1
  }

  async getSchedule(project: string, environment: string): Promise<ScheduleRecord | null> {
    const row = await this.db.selectFrom('schedules').selectAll().where('project', '=', project).where('environment', '=', environment).executeTakeFirst()
    return row ? toSchedule(row) : null
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    return (await this.db.selectFrom('schedules').selectAll().execute()).map(toSchedule)
  }

  async upsertSchedule(schedule: ScheduleRecord): Promise<void> {
    const values = {
      project: schedule.project,
      environment: schedule.environment,
      rule: JSON.stringify(schedule.rule),
      release_type: schedule.type,
      resources: JSON.stringify(schedule.resources),
      paused: bit(schedule.paused),
      next_run_at: schedule.nextRunAt,
      created_by: schedule.createdBy,
      created_at: schedule.createdAt,
      updated_at: schedule.updatedAt,
    }
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
      .set({paused: bit(paused), updated_at: at})
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
    await this.db
      .insertInto('schedule_runs')
      .values(
        runs.map((run) => ({
          project,
          environment,
          slot_at: run.slotAt,
          recorded_at: run.recordedAt,
          outcome: run.outcome,
          release_id: run.releaseId,
          reason: run.reason,
        })),
      )
      .execute()
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
    return rows.map((row) => ({
      slotAt: row.slot_at,
      recordedAt: row.recorded_at,
      outcome: row.outcome as ScheduleRun['outcome'],
      releaseId: row.release_id === null ? null : Number(row.release_id),
      reason: row.reason,
    }))
  }

  private toProject(row: Selectable<Database['projects']>): ProjectRecord {
    return {
      name: row.name,
      blueprint: JSON.parse(row.blueprint),
      file: row.file,
      baseDir: row.base_dir,
      createdAt: row.created_at,
      appliedAt: row.applied_at,
    }
  }
}
