// KyselyStoreBase: the concerns of the Store that go straight to their query module, with no part in
// the transaction around them (no policy cache, events or dialect quirks): releases and their tasks,
// log lines and approvals, schedules, tokens and the audit log, pipeline runs. KyselyStore extends it.
import type {ReleaseStatus} from '../../../api/domain.js'
import type {Approval, ScheduleRun} from '../../../api/schemas.js'
import type {
  AuditFilter,
  NewAuditEntry,
  NewLogLine,
  NewPipelineRun,
  NewRelease,
  ReleaseTasks,
  PipelineLinkRecord,
  PipelineRunFilter,
  PipelineRunPatch,
  ReleaseFilter,
  ReleaseTransitionFields,
  ScheduleRecord,
  StoredLogLine,
  TaskPatch,
  TokenRecord,
} from '../store.js'
import * as access from './access.js'
import type {Db} from './db.js'
import * as logs from './logs.js'
import * as pipelines from './pipelines.js'
import * as releases from './releases.js'
import * as schedules from './schedules.js'

export abstract class KyselyStoreBase {
  constructor(
    protected readonly db: Db,
    readonly dialect: 'sqlite' | 'postgres',
    protected readonly listedReleases: releases.ListedReleases,
  ) {}

  // ---- releases, their tasks, log lines and approvals ----

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

  expiredQueued(before: string) {
    return releases.expiredQueued(this.db, before)
  }

  activeMark(project: string, environment: string) {
    return releases.activeMark(this.db, project, environment)
  }

  transitionRelease(id: number, from: ReleaseStatus[], to: ReleaseStatus, fields: ReleaseTransitionFields = {}) {
    return releases.transitionRelease(this.db, id, from, to, fields)
  }

  transitionReleases(ids: number[], from: ReleaseStatus[], to: ReleaseStatus, fields: ReleaseTransitionFields = {}) {
    return releases.transitionReleases(this.db, ids, from, to, fields)
  }

  lastReleasePerApp(project: string, environment: string) {
    return releases.lastReleasePerApp(this.db, project, environment)
  }

  insertTasks(plans: ReleaseTasks[]) {
    return releases.insertTasks(this.db, plans)
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

  updateTasksEach(changes: {id: number; patch: TaskPatch}[]) {
    return releases.updateTasksEach(this.db, changes)
  }

  appendLogs(lines: NewLogLine[]): Promise<number[]> {
    return logs.appendLogs(this.db, lines)
  }

  logLinesBetween(releaseId: number, fromId: number, toId: number): Promise<StoredLogLine[]> {
    return logs.logLinesBetween(this.db, releaseId, fromId, toId)
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

  addApproval(releaseId: number, approval: Approval) {
    return access.addApproval(this.db, releaseId, approval)
  }

  listApprovals(releaseId: number) {
    return access.listApprovals(this.db, releaseId)
  }

  // ---- schedules ----

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

  // ---- tokens and the audit log ----

  insertToken(token: TokenRecord) {
    return access.insertToken(this.db, token)
  }

  putToken(token: TokenRecord) {
    return access.putToken(this.db, token)
  }

  tokenByHash(hash: string) {
    return access.tokenByHash(this.db, hash)
  }

  getToken(name: string) {
    return access.getToken(this.db, name)
  }

  listTokens() {
    return access.listTokens(this.db)
  }

  rotateToken(name: string, hash: string, expiresAt: string | null, rotatedAt: string) {
    return access.rotateToken(this.db, name, hash, expiresAt, rotatedAt)
  }

  deleteToken(name: string) {
    return access.deleteToken(this.db, name)
  }

  touchToken(name: string, at: string) {
    return access.touchToken(this.db, name, at)
  }

  appendAudit(entries: NewAuditEntry[]) {
    return access.appendAudit(this.db, entries)
  }

  listAudit(filter: AuditFilter) {
    return access.listAudit(this.db, filter)
  }

  deleteAuditBefore(cutoff: string, limit: number) {
    return access.deleteAuditBefore(this.db, cutoff, limit)
  }

  // ---- pipeline runs ----

  insertPipelineRun(run: NewPipelineRun) {
    return pipelines.insertPipelineRun(this.db, run)
  }

  getPipelineRun(id: number) {
    return pipelines.getPipelineRun(this.db, id)
  }

  findPipelineRunByKey(key: string) {
    return pipelines.findPipelineRunByKey(this.db, key)
  }

  lockPipelineRun(id: number) {
    return pipelines.lockPipelineRun(this.db, this.dialect, id)
  }

  listPipelineRuns(filter: PipelineRunFilter) {
    return pipelines.listPipelineRuns(this.db, filter)
  }

  updatePipelineRun(id: number, patch: PipelineRunPatch) {
    return pipelines.updatePipelineRun(this.db, id, patch)
  }

  insertPipelineLink(link: PipelineLinkRecord) {
    return pipelines.insertPipelineLink(this.db, link)
  }

  listPipelineLinks(runId: number) {
    return pipelines.listPipelineLinks(this.db, runId)
  }
}
