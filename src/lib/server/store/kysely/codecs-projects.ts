// Row codecs of projects and what governs their environments: projects (with their parsed blueprints),
// apps, blocked versions, settings and their changes, pauses, freezes, schedules and their runs.
import type {Insertable, Selectable} from 'kysely'

import type {QueueMode} from '../../../api/domain.js'
import type {BlockedVersion, PauseState, ScheduleRun, SettingsChange} from '../../../api/schemas.js'
import type {AppRecord, FreezeRecord, NewFreeze, ProjectRecord, ScheduleRecord, SettingsRecord} from '../store.js'
import type {
  AppsTable,
  BlockedVersionsTable,
  Database,
  FreezesTable,
  PausesTable,
  ScheduleRunsTable,
  SchedulesTable,
  SettingsChangesTable,
  SettingsTable,
} from '../schema/tables.js'
import {bit, deepFreeze, flag, id, nullableId} from './codecs-shared.js'

export function projectRow(project: ProjectRecord): Insertable<Database['projects']> {
  return {
    name: project.name,
    blueprint: JSON.stringify(project.blueprint),
    file: project.file,
    base_dir: project.baseDir,
    created_at: project.createdAt,
    applied_at: project.appliedAt,
  }
}

/**
 * Parsed blueprints by project and the apply they came from: a project's blueprint changes only with an
 * apply, which sets a new applied_at, so most reads of a project need neither its text nor a parse.
 */
const parsedBlueprints = new Map<string, {appliedAt: string; blueprint: ProjectRecord['blueprint']}>()
const PARSED_BLUEPRINTS_KEPT = 100

/** The blueprint of the project as last applied at appliedAt, when it has been parsed already. */
export function knownBlueprint(project: string, appliedAt: string): ProjectRecord['blueprint'] | null {
  const cached = parsedBlueprints.get(project)
  return cached?.appliedAt === appliedAt ? cached.blueprint : null
}

/** The stored blueprint, parsed once per apply; shared by every reader, so frozen. */
function parseBlueprint(project: string, appliedAt: string, text: string): ProjectRecord['blueprint'] {
  const known = knownBlueprint(project, appliedAt)
  if (known) return known
  const parsed = JSON.parse(text) as ProjectRecord['blueprint']
  // Blueprints applied before pipelines existed have none.
  parsed.pipelines ??= []
  const blueprint = deepFreeze(parsed)
  parsedBlueprints.delete(project)
  if (parsedBlueprints.size >= PARSED_BLUEPRINTS_KEPT) parsedBlueprints.delete(parsedBlueprints.keys().next().value as string)
  parsedBlueprints.set(project, {appliedAt, blueprint})
  return blueprint
}

/** An apply of this process: the next read parses what it stored. */
export function forgetBlueprint(project: string): void {
  parsedBlueprints.delete(project)
}

export function toProject(row: Selectable<Database['projects']>, known?: ProjectRecord['blueprint']): ProjectRecord {
  return {
    name: row.name,
    blueprint: known ?? parseBlueprint(row.name, row.applied_at, row.blueprint),
    file: row.file,
    baseDir: row.base_dir,
    createdAt: row.created_at,
    appliedAt: row.applied_at,
  }
}

export function appRow(app: AppRecord): Insertable<AppsTable> {
  return {
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
}

export function toApp(row: Selectable<AppsTable>): AppRecord {
  return {
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
  }
}

export function blockRow(block: BlockedVersion): Insertable<BlockedVersionsTable> {
  return {project: block.project, app: block.app, version: block.version, reason: block.reason, blocked_by: block.by, blocked_at: block.at}
}

export function toBlock(row: Selectable<BlockedVersionsTable>): BlockedVersion {
  return {project: row.project, app: row.app, version: row.version, reason: row.reason, by: row.blocked_by, at: row.blocked_at}
}

/** The control-plane scope is project '' and environment ''; NULL settings mean "inherit". */
export function settingsRow(settings: SettingsRecord): Insertable<SettingsTable> {
  return {
    project: settings.project ?? '',
    environment: settings.environment ?? '',
    parallel: settings.parallel === null ? null : bit(settings.parallel),
    max_parallel: settings.maxParallel,
    approval: settings.approval === null ? null : bit(settings.approval),
    approvals_required: settings.approvalsRequired,
    queue_mode: settings.queueMode,
    updated_by: settings.updatedBy,
    updated_at: settings.updatedAt,
  }
}

export function toSettings(row: Selectable<SettingsTable>): SettingsRecord {
  return {
    project: row.project || null,
    environment: row.environment || null,
    parallel: flag(row.parallel),
    maxParallel: row.max_parallel,
    approval: flag(row.approval),
    approvalsRequired: row.approvals_required,
    queueMode: row.queue_mode as QueueMode | null,
    updatedBy: row.updated_by,
    updatedAt: row.updated_at,
  }
}

export function settingsChangeRow(change: SettingsChange): Insertable<SettingsChangesTable> {
  return {
    project: change.project ?? '',
    environment: change.environment ?? '',
    setting: change.setting,
    old_value: change.oldValue,
    new_value: change.newValue,
    changed_by: change.changedBy,
    changed_at: change.changedAt,
  }
}

export function toSettingsChange(row: Selectable<SettingsChangesTable>): SettingsChange {
  return {
    project: row.project || null,
    environment: row.environment || null,
    setting: row.setting,
    oldValue: row.old_value,
    newValue: row.new_value,
    changedBy: row.changed_by,
    changedAt: row.changed_at,
  }
}

/** A project-level pause has environment ''; the control plane's has project '' too. */
export function pauseRow(pause: PauseState): Insertable<PausesTable> {
  return {project: pause.project ?? '', environment: pause.environment ?? '', paused_by: pause.by, paused_at: pause.at, reason: pause.reason}
}

export function toPause(row: Selectable<PausesTable>): PauseState {
  return {
    level: row.environment ? 'environment' : row.project ? 'project' : 'control-plane',
    project: row.project || null,
    environment: row.environment || null,
    by: row.paused_by,
    at: row.paused_at,
    reason: row.reason,
  }
}

/** The control plane's freezes have project ''; a project's have environment ''. */
export function freezeRow(freeze: NewFreeze): Insertable<FreezesTable> {
  return {
    project: freeze.project ?? '',
    environment: freeze.environment ?? '',
    starts_at: freeze.from,
    ends_at: freeze.to,
    cron: freeze.cron,
    duration_ms: freeze.durationMs,
    timezone: freeze.timezone,
    reason: freeze.reason,
    created_by: freeze.createdBy,
    created_at: freeze.createdAt,
  }
}

export function toFreeze(row: Selectable<FreezesTable>): FreezeRecord {
  return {
    id: id(row.id),
    project: row.project || null,
    environment: row.environment || null,
    from: row.starts_at,
    to: row.ends_at,
    cron: row.cron,
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    timezone: row.timezone,
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: row.created_at,
  }
}

export function scheduleRow(schedule: ScheduleRecord): Insertable<SchedulesTable> {
  return {
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
}

export function toSchedule(row: Selectable<SchedulesTable>): ScheduleRecord {
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

export function scheduleRunRow(project: string, environment: string, run: ScheduleRun): Insertable<ScheduleRunsTable> {
  return {project, environment, slot_at: run.slotAt, recorded_at: run.recordedAt, outcome: run.outcome, release_id: run.releaseId, reason: run.reason}
}

export function toScheduleRun(row: Selectable<ScheduleRunsTable>): ScheduleRun {
  return {
    slotAt: row.slot_at,
    recordedAt: row.recorded_at,
    outcome: row.outcome as ScheduleRun['outcome'],
    releaseId: nullableId(row.release_id),
    reason: row.reason,
  }
}
