// The engine: the only writer of release state, as a thin facade over its parts. Routes and tests call
// these methods; each delegates to the part that owns it (see docs/architecture.md for the layout).
import {hostname} from 'node:os'

import type {ReleaseStatus} from '../../api/domain.js'
import {DEFAULT_LEASE_MS} from '../../api/replica-limits.js'
import type {
  AddFreezeRequest,
  AppHistoryEntry,
  AppState,
  ApplyResponse,
  BlockedVersion,
  BlockResponse,
  DryRun,
  Freeze,
  Environment,
  LogsResponse,
  PauseResponse,
  Release,
  Replica,
  ResumeResponse,
  RetryRequest,
  Schedule,
  SetApprovalRequest,
  SetParallelRequest,
  SetQueueRequest,
  SetScheduleRequest,
  SettingsView,
  SyncResponse,
  TriggerRequest,
  UnblockResponse,
} from '../../api/schemas.js'
import type {Store} from '../store/store.js'
import type {PipelineDryRun, PipelineRun, PipelineRunSummary, PromoteRequest, PromoteResponse, RunPipelineRequest, RunPipelineResponse} from '../../api/pipeline-schemas.js'
import {Actions} from './actions.js'
import {applyProject} from './apply.js'
import {Blocks} from './blocks.js'
import type {EngineContext, Logger} from './context.js'
import {Freezes} from './freezes.js'
import {requireProject, requireProjectEnvironment} from './lookups.js'
import {Pauses} from './pauses.js'
import {Pipelines, type RunContext} from './pipelines.js'
import {Refresher} from './refresh.js'
import {RunCoordinator} from './runs/coordinator.js'
import {defaultReplicaId, type ReplicaIdentity} from './runs/leases.js'
import {Schedules} from './schedules.js'
import {Settings} from './settings.js'
import {type RollbackRequest, type SyncOptions, type TriggerContext, type TriggerOutcome, Triggers} from './triggers.js'
import {Views} from './views.js'

export type {Logger} from './context.js'
export type {TriggerContext, TriggerOutcome} from './triggers.js'

export interface EngineOptions {
  store: Store
  log: Logger
  /** how many releases may run at once across all environments */
  capacity?: number
  now?: () => Date
  /** names of the server's variables every deploy sees, besides the basics (server start --pass-env) */
  passEnv?: readonly string[]
  /** who this replica is and how long its leases last; default: this host and process, a 15 s lease */
  replica?: Partial<ReplicaIdentity>
}

export class Engine {
  private readonly ctx: EngineContext
  private readonly runs: RunCoordinator
  private readonly views: Views
  private readonly refresher: Refresher
  private readonly triggers: Triggers
  private readonly actions: Actions
  private readonly settings: Settings
  private readonly pauses: Pauses
  private readonly schedules: Schedules
  private readonly freezes: Freezes
  private readonly blocks: Blocks
  private readonly pipelines: Pipelines

  constructor(options: EngineOptions) {
    this.ctx = {store: options.store, log: options.log, capacity: options.capacity ?? 200, clock: options.now ?? (() => new Date()), passEnv: options.passEnv ?? []}
    const replica = options.replica ?? {}
    const host = replica.host ?? hostname()
    this.runs = new RunCoordinator(this.ctx, {
      id: replica.id ?? defaultReplicaId(host, 0, process.pid),
      host,
      pid: replica.pid ?? process.pid,
      url: replica.url ?? null,
      version: replica.version ?? 'unknown',
      capacity: this.ctx.capacity,
      leaseMs: replica.leaseMs ?? DEFAULT_LEASE_MS,
    })
    this.views = new Views(this.ctx, () => this.runs.freeCapacity())
    this.refresher = new Refresher(this.ctx, this.views)
    this.triggers = new Triggers(this.ctx, this.runs, this.views, this.refresher)
    this.actions = new Actions(this.ctx, this.runs, this.views)
    this.settings = new Settings(this.ctx, this.runs)
    this.pauses = new Pauses(this.ctx, this.runs)
    this.schedules = new Schedules(this.ctx, this.runs, this.views, this.triggers)
    this.freezes = new Freezes(this.ctx, this.runs)
    this.blocks = new Blocks(this.ctx)
    this.pipelines = new Pipelines(this.ctx, this.runs, this.views, this.triggers, this.actions)
  }

  /** The id of this replica: it owns the runs and notification claims it makes. */
  get replicaId(): string {
    return this.runs.replicaId
  }

  /** Recovers what a previous process left running, admits every queued release, starts the schedule timer. */
  async start(): Promise<void> {
    const {environments} = await this.runs.start()
    this.schedules.startTimer()
    this.freezes.startTimer()
    await this.pipelines.start()
    this.ctx.log.info({environmentsWithQueued: environments, replica: this.runs.replicaId}, 'engine started')
  }

  /** Stops admitting and firing schedules; lets running releases finish for graceMs, then stops them as interrupted. */
  async shutdown(graceMs: number): Promise<void> {
    await this.schedules.stopTimer()
    await this.freezes.stopTimer()
    await this.pipelines.stop()
    await this.runs.shutdown(graceMs)
  }

  // ---- projects, environments, apps ----

  /** Throws not_found, with the names that exist, unless the project (and the environment, when given) exist. */
  async requireScope(project: string, environment?: string): Promise<void> {
    if (environment === undefined) await requireProject(this.ctx.store, project)
    else await requireProjectEnvironment(this.ctx.store, project, environment)
  }

  applyProject(content: string, file: string, baseDir: string, options: {allowDestructive?: boolean; dryRun?: boolean} = {}): Promise<ApplyResponse> {
    return applyProject(this.ctx, this.views, content, file, baseDir, options)
  }

  listProjects() {
    return this.views.listProjects()
  }

  getProject(name: string) {
    return this.views.getProject(name)
  }

  listEnvironments(project: string): Promise<Environment[]> {
    return this.views.listEnvironments(project)
  }

  getEnvironment(project: string, name: string): Promise<Environment> {
    return this.views.getEnvironment(project, name)
  }

  listApps(project: string, environment: string): Promise<AppState[]> {
    return this.views.listApps(project, environment)
  }

  refreshApps(project: string, environment: string): Promise<AppState[]> {
    return this.refresher.refreshApps(project, environment)
  }

  setDesiredVersion(project: string, environment: string, name: string, version: string): Promise<AppState> {
    return this.actions.setDesiredVersion(project, environment, name, version)
  }

  appHistory(project: string, environment: string, app: string, limit: number): Promise<AppHistoryEntry[]> {
    return this.views.appHistory(project, environment, app, limit)
  }

  // ---- releases ----

  trigger(project: string, environment: string, request: TriggerRequest, context: TriggerContext): Promise<TriggerOutcome> {
    return this.triggers.trigger(project, environment, request, context)
  }

  sync(project: string, environment: string, apps: string[], options: SyncOptions, context: TriggerContext): Promise<SyncResponse | DryRun> {
    return this.triggers.sync(project, environment, apps, options, context)
  }

  rollback(id: number, request: RollbackRequest, context: TriggerContext): Promise<TriggerOutcome> {
    return this.triggers.rollback(id, request, context)
  }

  /** A new release of what release `id` did not get done, at the same versions and with the same options. */
  retry(id: number, request: RetryRequest, context: TriggerContext): Promise<TriggerOutcome> {
    return this.triggers.retry(id, request, context)
  }

  getRelease(id: number): Promise<Release> {
    return this.views.getRelease(id)
  }

  listReleases(filter: {project?: string; environment?: string; statuses?: ReleaseStatus[]; limit: number; order?: 'asc' | 'desc'}): Promise<Release[]> {
    return this.views.listReleases(filter)
  }

  readLogs(id: number, after: number, limit: number, filter: {resource?: string; target?: string} = {}): Promise<LogsResponse> {
    return this.views.readLogs(id, after, limit, filter)
  }

  cancel(id: number, subject: string): Promise<Release> {
    return this.actions.cancel(id, subject)
  }

  decide(id: number, decision: 'approved' | 'rejected', subject: string, comment: string | null): Promise<Release> {
    return this.actions.decide(id, decision, subject, comment)
  }

  // ---- settings, pauses, schedules ----

  getSettings(project?: string, environment?: string): Promise<SettingsView> {
    return this.settings.getSettings(project, environment)
  }

  setParallel(request: SetParallelRequest, subject: string): Promise<SettingsView> {
    return this.settings.setParallel(request, subject)
  }

  setApproval(request: SetApprovalRequest, subject: string): Promise<SettingsView> {
    return this.settings.setApproval(request, subject)
  }

  setQueue(request: SetQueueRequest, subject: string): Promise<SettingsView> {
    return this.settings.setQueue(request, subject)
  }

  /** Pauses the control plane (project null), a project (environment null) or an environment. */
  pause(project: string | null, environment: string | null, reason: string | null, subject: string): Promise<PauseResponse> {
    return this.pauses.pause(project, environment, reason, subject)
  }

  resume(project: string | null, environment: string | null, subject: string): Promise<ResumeResponse> {
    return this.pauses.resume(project, environment, subject)
  }

  // ---- freezes and blocked versions ----

  addFreeze(request: AddFreezeRequest, subject: string): Promise<Freeze> {
    return this.freezes.add(request, subject)
  }

  listFreezes(scope: {project?: string; environment?: string}): Promise<Freeze[]> {
    return this.freezes.list(scope)
  }

  deleteFreeze(id: number, subject: string): Promise<Freeze> {
    return this.freezes.delete(id, subject)
  }

  blockVersion(project: string, app: string, version: string, reason: string, subject: string): Promise<BlockResponse> {
    return this.blocks.block(project, app, version, reason, subject)
  }

  unblockVersion(project: string, app: string, version: string, subject: string): Promise<UnblockResponse> {
    return this.blocks.unblock(project, app, version, subject)
  }

  listBlockedVersions(project: string): Promise<BlockedVersion[]> {
    return this.blocks.list(project)
  }

  setSchedule(project: string, environment: string, request: SetScheduleRequest, subject: string): Promise<Schedule> {
    return this.schedules.setSchedule(project, environment, request, subject)
  }

  getSchedule(project: string, environment: string): Promise<Schedule> {
    return this.schedules.getSchedule(project, environment)
  }

  pauseSchedule(project: string, environment: string, paused: boolean): Promise<Schedule> {
    return this.schedules.pauseSchedule(project, environment, paused)
  }

  deleteSchedule(project: string, environment: string): Promise<Schedule> {
    return this.schedules.deleteSchedule(project, environment)
  }

  /** The replicas serving this database that are alive, with what each runs. */
  listReplicas(): Promise<Replica[]> {
    return this.runs.leases.replicas()
  }

  // ---- pipelines and promote ----

  runPipeline(project: string, pipeline: string, request: RunPipelineRequest, context: RunContext): Promise<RunPipelineResponse | PipelineDryRun> {
    return this.pipelines.run(project, pipeline, request, context)
  }

  getPipelineRun(id: number): Promise<PipelineRun> {
    return this.pipelines.getRun(id)
  }

  listPipelineRuns(project: string, filter: {pipeline?: string; active?: boolean; limit: number; visible?: (environments: string[]) => boolean}): Promise<PipelineRunSummary[]> {
    return this.pipelines.listRuns(project, filter)
  }

  approvePipelineRun(id: number, subject: string, comment: string | null): Promise<PipelineRun> {
    return this.pipelines.approve(id, subject, comment)
  }

  rejectPipelineRun(id: number, subject: string, comment: string | null): Promise<PipelineRun> {
    return this.pipelines.reject(id, subject, comment)
  }

  cancelPipelineRun(id: number, subject: string): Promise<PipelineRun> {
    return this.pipelines.cancel(id, subject)
  }

  /** Advances every pipeline run under way now (each replica does so every second on its own). */
  advancePipelines(): Promise<void> {
    return this.pipelines.sweep()
  }

  promote(project: string, to: string, request: PromoteRequest, context: RunContext): Promise<PromoteResponse> {
    return this.pipelines.promote(project, to, request, context)
  }

  /** Fires every schedule that is due; returns when the next one is due. */
  fireDueSchedules(): Promise<Date | null> {
    return this.schedules.fireDueSchedules()
  }
}
