// The engine: the only writer of release state. It validates triggers, queues them durably, decides
// admission per environment (one decision at a time per environment), starts runs and records outcomes.
import {ACTIVE_RELEASE_STATUSES, type ReleaseStatus} from '../../api/domain.js'
import type {
  AppHistoryEntry,
  AppState,
  ApplyResponse,
  DryRun,
  Environment,
  LogsResponse,
  PauseResponse,
  PauseState,
  ResumeResponse,
  Schedule,
  ScheduleRun,
  SetScheduleRequest,
  Release,
  ReleaseResource,
  SetApprovalRequest,
  SetParallelRequest,
  SettingsChange,
  SettingsView,
  SyncResponse,
  TriggerRequest,
} from '../../api/schemas.js'
import {type Blueprint, type EnvironmentSpec, parseBlueprint, plainEnvironment, type ResourceSpec} from '../blueprint/blueprint.js'
import {driverFor} from '../drivers/index.js'
import {ControlPlaneError, invalid, notFound} from '../errors.js'
import type {AppRecord, NewTask, ProjectRecord, ReleaseRecord, ScheduleRecord, SettingsRecord, Store} from '../store/store.js'
import {type ActiveRelease, type AdmissionPolicy, decideAdmission} from './rules/admission.js'
import {applyInTransaction} from './apply.js'
import {lockSetFor, sharedResources, touches} from './rules/locks.js'
import {checkPlanSize} from './rules/plan-size.js'
import {describeOrder, graphOf, type PlannedTask, planReleaseInTurns} from './rules/planner.js'
import {LogWriter} from './runs/log-writer.js'
import {recoverInterrupted} from './runs/recovery.js'
import {type ReleaseOutcome, ReleaseRun} from './runs/runner.js'
import {recordStartFailure} from './runs/start-failure.js'
import {compileRule, dueRuns, nextRunAfter} from './rules/schedule-rules.js'
import {ScheduleTimer} from './schedule-timer.js'
import {refuseImpossibleSchedule} from './rules/schedule-types.js'
import {describePauses, pausedError} from './rules/pauses.js'
import {resolveResources} from './rules/resolution.js'
import {type EffectiveSettings, effectiveSettings, exclusivityViolation, type Scope, scopeName} from './rules/settings.js'

export interface Logger {
  info(object: object, message?: string): void
  warn(object: object, message?: string): void
  error(object: object, message?: string): void
}

export interface EngineOptions {
  store: Store
  log: Logger
  /** how many releases may run at once across all environments */
  capacity?: number
  now?: () => Date
  /** names of the server's variables every deploy sees, besides the basics (server start --pass-env) */
  passEnv?: readonly string[]
}

export interface TriggerContext {
  subject: string
  idempotencyKey: string | null
  /** set by the control plane itself (schedules); otherwise the request says */
  source?: Release['source']
  /** live versions were read already (a sync with --refresh) */
  refreshed?: boolean
  /** the release a rollback undoes, and its type */
  rollbackOf?: number
  rollbackOfType?: Release['type']
  /** a rollback's resources, worked out from the release it undoes */
  resources?: ReleaseResource[]
}

export const ACTIVE_STATUSES: ReleaseStatus[] = [...ACTIVE_RELEASE_STATUSES]
const SETTINGS_HISTORY = 20
const SCHEDULE_RUNS_SHOWN = 20

export class Engine {
  private readonly store: Store
  private readonly log: Logger
  private readonly capacity: number
  private readonly clock: () => Date
  private readonly runs = new Map<number, ReleaseRun>()
  private readonly starting = new Map<number, Promise<ReleaseRun | null>>()
  private readonly environmentQueues = new Map<string, Promise<unknown>>()
  private admitting = true
  private readonly scheduler: ScheduleTimer
  private readonly logs: LogWriter
  private readonly passEnv: readonly string[]

  constructor(options: EngineOptions) {
    this.store = options.store
    this.log = options.log
    this.capacity = options.capacity ?? 200
    this.clock = options.now ?? (() => new Date())
    this.passEnv = options.passEnv ?? []
    this.scheduler = new ScheduleTimer(() => this.fireDueSchedules(), this.clock, options.log)
    this.logs = new LogWriter(this.store, (error) => this.log.error({err: error}, 'could not store task log lines'))
  }

  private now(): string {
    return this.clock().toISOString()
  }

  /** Recovers what a previous process left running, then admits every queued release. */
  async start(): Promise<void> {
    for (const release of await this.store.listReleases({statuses: ['running']})) {
      await this.recoverInterrupted(release).catch((error) => this.log.error({releaseId: release.id, err: error}, 'could not record an interrupted release'))
    }
    const {queued, environments} = await this.admitAllQueued()
    this.scheduler.start()
    this.log.info({queued, environments}, 'engine started')
  }

  private async recoverInterrupted(release: ReleaseRecord) {
    await recoverInterrupted(this.store, release, this.now())
    this.log.warn({releaseId: release.id}, 'release was running when the control plane stopped; recorded as interrupted')
  }

  /** Stops admitting; lets running releases finish for graceMs, then stops them and records them as interrupted. */
  async shutdown(graceMs: number): Promise<void> {
    this.admitting = false
    await this.scheduler.stop()
    const running = [...this.runs.values()]
    if (running.length === 0) return
    this.log.info({running: running.length, graceMs}, 'waiting for running releases before shutting down')
    let timer: NodeJS.Timeout | undefined
    const graceOver = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs)
    })
    const allDone = Promise.all(running.map((run) => run.done.then(() => run.finished)))
    if ((await Promise.race([allDone, graceOver])) === 'timeout') {
      for (const run of this.runs.values()) run.stop('interrupted')
    }
    clearTimeout(timer)
    await Promise.all(running.map((run) => run.finished))
  }

  // ---- projects, environments, apps ----

  async applyProject(content: string, file: string, baseDir: string, options: {allowDestructive?: boolean; dryRun?: boolean} = {}): Promise<ApplyResponse> {
    let blueprint: Blueprint
    try {
      blueprint = parseBlueprint(content, file)
    } catch (error) {
      const problems = (error as {problems?: {path: string; message: string; line?: number; column?: number}[]}).problems
      if (!problems) throw error
      throw new ControlPlaneError('invalid_blueprint', (error as Error).message, {
        hint: 'fix the problems listed and apply again',
        details: problems.map((problem) => ({
          path: problem.path,
          message: problem.line ? `line ${problem.line}: ${problem.message}` : problem.message,
        })),
      })
    }
    const {project, ...outcome} = await applyInTransaction(this.store, {blueprint, file, baseDir, now: this.now(), ...options}, async (tx, environment) =>
      (await tx.listReleases({project: blueprint.project, environment, statuses: ACTIVE_STATUSES})).length > 0,
    )
    // A dry run wrote no environment, so the blueprint's are the ones the project would have.
    return {...outcome, project: {...(await this.projectView(project)), ...(outcome.dryRun && {environments: blueprint.environments.map((environment) => environment.name)})}}
  }

  async listProjects() {
    return Promise.all((await this.store.listProjects()).map((project) => this.projectView(project)))
  }

  async getProject(name: string) {
    return this.projectView(await this.requireProject(name))
  }

  private async projectView(project: ProjectRecord) {
    return {
      name: project.name,
      file: project.file,
      baseDir: project.baseDir,
      environments: inBlueprintOrder(project, await this.store.listEnvironments(project.name)).map((environment) => environment.name),
      resources: project.blueprint.resources.map((spec) => ({
        name: spec.name,
        kind: spec.kind,
        driver: spec.driver,
        dependsOn: spec.dependsOn,
        version: spec.version,
      })),
      createdAt: project.createdAt,
      appliedAt: project.appliedAt,
    }
  }

  private async requireProject(name: string): Promise<ProjectRecord> {
    const project = await this.store.getProject(name)
    if (!project) {
      const known = (await this.store.listProjects()).map((p) => p.name)
      throw notFound('project', name, known, 'declare it with: relctl project apply -f relctl.yaml')
    }
    return project
  }

  private async requireEnvironment(project: ProjectRecord, environment: string): Promise<void> {
    if (!(await this.store.getEnvironment(project.name, environment))) {
      const known = (await this.store.listEnvironments(project.name)).map((env) => env.name)
      throw notFound('environment', environment, known, 'add it under "environments:" in the blueprint and apply it', `project ${project.name}`)
    }
  }

  async listEnvironments(projectName: string): Promise<Environment[]> {
    const project = await this.requireProject(projectName)
    const environments = inBlueprintOrder(project, await this.store.listEnvironments(project.name))
    return Promise.all(environments.map((environment) => this.environmentView(project.name, environment.name, environment.createdAt)))
  }

  async getEnvironment(projectName: string, name: string): Promise<Environment> {
    const project = await this.requireProject(projectName)
    await this.requireEnvironment(project, name)
    const environment = await this.store.getEnvironment(project.name, name)
    return this.environmentView(project.name, name, environment?.createdAt ?? this.now())
  }

  private async environmentView(project: string, name: string, createdAt: string): Promise<Environment> {
    const settings = await this.effectiveSettingsOf(project, name)
    const policy = await this.policyFor(project, name)
    const spec = (await this.store.getProject(project))?.blueprint.environments.find((environment) => environment.name === name)
    const apps = await this.appStates(project, name)
    const active = await this.store.listReleases({project, environment: name, statuses: ACTIVE_STATUSES})
    return {
      project,
      name,
      settings: {parallel: settings.parallel.value, maxParallel: settings.maxParallel.value, approval: settings.approval.value},
      targets: spec?.targets ?? [],
      rollout: spec?.rollout ?? plainEnvironment(name).rollout,
      paused: policy.pause !== null,
      pauses: await this.store.listPauses(project, name),
      schedule: await this.scheduleView(project, name),
      apps: {
        total: apps.length,
        synced: apps.filter((app) => app.sync === 'Synced').length,
        healthy: apps.filter((app) => app.health === 'Healthy').length,
      },
      activeReleases: active.reverse().map((release) => ({id: release.id, status: release.status, type: release.type})),
      createdAt,
    }
  }

  async listApps(projectName: string, environment: string): Promise<AppState[]> {
    const project = await this.requireProject(projectName)
    await this.requireEnvironment(project, environment)
    return this.appStates(project.name, environment)
  }

  private async appStates(project: string, environment: string): Promise<AppState[]> {
    const [apps, active, last] = await Promise.all([
      this.store.listApps(project, environment),
      this.store.listReleases({project, environment, statuses: ACTIVE_STATUSES}),
      this.store.lastReleasePerApp(project, environment),
    ])
    const order = (await this.store.getProject(project))?.blueprint.resources.map((spec) => spec.name) ?? []
    const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length)
    return apps
      .sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name))
      .map((app) => {
        const sync = !app.removed && app.deployedVersion !== null && app.deployedVersion === app.desiredVersion ? 'Synced' : 'OutOfSync'
        const activeReleases = active
          .filter((release) => touches(release.lockSet, app.name))
          .reverse()
          .map((release) => ({id: release.id, status: release.status, type: release.type}))
        return {
          name: app.name,
          kind: app.kind,
          desiredVersion: app.desiredVersion,
          deployedVersion: app.deployedVersion,
          sync,
          health: app.health,
          removedFromBlueprint: app.removed,
          drift: app.drift,
          activeReleases,
          lastRelease: last.get(app.name) ?? null,
          stable: sync === 'Synced' && app.health === 'Healthy' && activeReleases.length === 0,
          updatedAt: app.updatedAt,
        }
      })
  }

  async setDesiredVersion(projectName: string, environment: string, name: string, version: string): Promise<AppState> {
    const project = await this.requireProject(projectName)
    await this.requireEnvironment(project, environment)
    const apps = await this.store.listApps(project.name, environment)
    const app = apps.find((candidate) => candidate.name === name)
    if (!app) throw notFound('app', name, apps.map((candidate) => candidate.name))
    if (app.removed) throw invalid(`app "${name}" was removed from the blueprint`, 'add it back to the blueprint, or delete it with a release using --allow-destructive')
    await this.store.updateApp(project.name, environment, name, {desiredVersion: version}, this.now())
    return (await this.appStates(project.name, environment)).find((state) => state.name === name) as AppState
  }

  // ---- releases ----

  async trigger(projectName: string, environment: string, request: TriggerRequest, context: TriggerContext): Promise<{release: Release; created: boolean}> {
    if (context.idempotencyKey) {
      const existing = await this.store.findByIdempotencyKey(context.idempotencyKey)
      if (existing) {
        if (existing.project !== projectName || existing.environment !== environment) {
          throw invalid(
            `idempotency key "${context.idempotencyKey}" was already used for release ${existing.id} of ${existing.project}/${existing.environment}`,
            'use a new key for a different request',
          )
        }
        return {release: await this.getRelease(existing.id), created: false}
      }
    }
    if (request.refresh || request.dryRun) {
      const project = await this.requireProject(projectName)
      await this.requireEnvironment(project, environment)
      const refreshed = request.refresh && !context.refreshed ? await this.refresh(project, environment) : []
      if (request.dryRun) throw new DryRunResult(await this.dryRun(project, environment, request, context, refreshed))
    }
    // All of a trigger's reads happen in the environment's turn: under a burst of triggers the first
    // ones are accepted and started before the later ones are even looked at.
    const {release, created} = await this.serialized(environmentKey(projectName, environment), async () => {
      const project = await this.requireProject(projectName)
      await this.requireEnvironment(project, environment)
      const result = await this.createRelease(this.store, project, environment, request, context)
      if (result.created) await this.admitNow(projectName, environment, result.policy)
      return result
    })
    // A release that has just started is answered from its run; a queued one says what it waits for.
    const run = created ? this.runs.get(release.id) : undefined
    if (run) return {release: run.snapshot(), created}
    return {release: await this.getRelease(release.id), created}
  }

  /**
   * Validates a trigger against the environment and records the release, with the store given (which
   * may be a transaction). Callers hold the environment's admission turn and admit afterwards.
   */
  /** What a trigger would release and lock; shared by real triggers and dry runs. */
  private async prepareRelease(store: Store, project: ProjectRecord, environment: string, request: TriggerRequest, context: TriggerContext) {
    const named = request.type === 'selective' && request.resources ? request.resources.map((resource) => resource.name) : undefined
    const apps = await store.listApps(project.name, environment, named)
    const resources =
      context.resources ?? (await resolveResources(request, apps, project.blueprint, async () => (await store.listApps(project.name, environment)).map((app) => app.name)))
    // A rollback locks what the release it undoes locked: its resources for a selective one, else everything.
    const lockSet = lockSetFor(context.rollbackOfType ?? request.type, resources, graphOf(project.blueprint))
    const planInput = {
      blueprint: project.blueprint,
      environment: environmentSpec(project, environment),
      resources,
      targetOrder: request.targetOrder,
      steps: request.type === 'custom' ? request.steps : undefined,
    }
    checkPlanSize(planInput)
    return {resources, lockSet, planInput}
  }

  /** The plan of a trigger and what would hold it back now; nothing is queued. */
  private async dryRun(project: ProjectRecord, environment: string, request: TriggerRequest, context: TriggerContext, refreshed: DryRun['refreshed']): Promise<DryRun> {
    const {resources, lockSet, planInput} = await this.prepareRelease(this.store, project, environment, request, context)
    const plan = await planReleaseInTurns(planInput)
    const probe = Number.MAX_SAFE_INTEGER
    const approval = (await this.effectiveSettingsOf(project.name, environment)).approval.value
    const decision = decideAdmission(
      [...(await this.activeReleases(project.name, environment)), {id: probe, status: approval ? 'pending_approval' : 'queued', lockSet}],
      await this.policyFor(project.name, environment),
      this.capacity - this.runs.size,
    )
    const pauses = await this.store.listPauses(project.name, environment)
    const waiting = decision.waiting.get(probe)
    const wouldWaitFor =
      pauses.length > 0
        ? {reason: 'paused' as const, message: describePauses(pauses)}
        : waiting?.reason === 'approval'
          ? {reason: 'approval' as const, message: 'would wait for approval: the approval workflow is on here (relctl release approve ID)'}
          : (waiting ?? null)
    return {
      dryRun: true,
      project: project.name,
      environment,
      type: request.type,
      resources,
      plan: {...plan, tasks: plan.tasks.map(toNewTask)},
      order: describeOrder(plan),
      wouldWaitFor,
      refreshed,
    }
  }

  private async createRelease(
    store: Store,
    project: ProjectRecord,
    environment: string,
    request: TriggerRequest,
    context: TriggerContext,
  ): Promise<{release: ReleaseRecord; created: boolean; policy: AdmissionPolicy}> {
    const pauses = await store.listPauses(project.name, environment)
    if (pauses.length > 0) throw pausedError(pauses)
    const settings = await this.effectiveSettingsOf(project.name, environment, store)
    // What admission needs next is what was just read: the caller passes it on instead of reading it again.
    const policy = toPolicy(environment, settings, pauses)
    const {resources, lockSet} = await this.prepareRelease(store, project, environment, request, context)
    if (request.onConflict === 'fail') {
      const active = await store.activeLocks(project.name, environment)
      const probe = Number.MAX_SAFE_INTEGER
      const decision = decideAdmission([...active, {id: probe, status: 'queued', lockSet}], policy, Infinity)
      const wait = decision.waiting.get(probe)
      if (wait && (wait.reason === 'conflict' || wait.reason === 'serial') && wait.releases?.length) {
        const holder = active.find((release) => release.id === wait.releases?.[0]) as ActiveRelease
        // With parallel releases off the environment runs one release at a time: even disjoint releases wait.
        const common = sharedResources(holder.lockSet, lockSet)
        const disjoint = common !== '*' && common.length === 0
        const shared = disjoint ? '*' : common
        const sharedText = disjoint
          ? `${project.name}/${environment} (parallel releases are off there, so releases run one at a time)`
          : shared === '*'
            ? 'the whole environment'
            : shared.join(', ')
        throw new ControlPlaneError('state_lock', `state lock held by release ${holder.id} (${holder.status}) on ${sharedText}; nothing was queued`, {
          holder: {releaseId: holder.id, resources: shared === '*' ? ['*'] : shared},
          hint: `wait for it (relctl release show ${holder.id}) or trigger with --on-conflict queue`,
        })
      }
    }
    const approval = settings.approval.value
    const result = await store.insertRelease({
      project: project.name,
      environment,
      type: request.type,
      status: approval ? 'pending_approval' : 'queued',
      resources,
      lockSet,
      refresh: request.refresh ?? false,
      force: request.force ?? false,
      allowDestructive: request.allowDestructive ?? false,
      comment: request.comment ?? null,
      triggeredBy: context.subject,
      source: context.source ?? request.source ?? 'api',
      idempotencyKey: context.idempotencyKey,
      options: {
        ...(request.targetOrder && {targetOrder: request.targetOrder}),
        ...(request.type === 'custom' && request.steps && {steps: [...new Set(request.steps)]}),
        ...(context.rollbackOf !== undefined && {rollbackOf: context.rollbackOf}),
      },
      createdAt: this.now(),
    })
    if (result.created) {
      const {id, status} = result.release
      this.log.info({releaseId: id, project: project.name, environment, type: request.type, status}, 'release accepted')
    }
    return {...result, policy}
  }

  async sync(
    projectName: string,
    environment: string,
    apps: string[],
    options: {force: boolean; refresh: boolean; dryRun: boolean; comment: string | null; source: 'cli' | 'api'},
    context: TriggerContext,
  ): Promise<SyncResponse> {
    const project = await this.requireProject(projectName)
    await this.requireEnvironment(project, environment)
    const refreshed = options.refresh ? await this.refresh(project, environment) : []
    const states = await this.appStates(project.name, environment)
    const names = [...new Set(apps)]
    const unknown = names.filter((name) => !states.some((state) => state.name === name))
    if (unknown.length > 0) {
      const valid = states.map((state) => state.name)
      throw new ControlPlaneError('not_found', `unknown app${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => `"${name}"`).join(', ')} in ${project.name}/${environment}; valid apps: ${valid.join(', ')}`, {
        validNames: valid,
      })
    }
    const selected = names.map((name) => states.find((state) => state.name === name) as AppState)
    const removed = selected.filter((state) => state.removedFromBlueprint)
    if (removed.length > 0) {
      const list = removed.map((state) => state.name).join(',')
      throw invalid(
        `${list} ${removed.length > 1 ? 'were' : 'was'} removed from the blueprint; a sync only deploys what the blueprint declares`,
        `delete with: relctl release trigger --resources ${removed.map((state) => `${state.name}:delete`).join(',')} --allow-destructive -p ${project.name} -e ${environment}`,
      )
    }
    // An app that a queued or running release already takes to its desired version needs no second release.
    const active = await this.store.listReleases({project: project.name, environment, statuses: ACTIVE_STATUSES})
    const underWay = (state: AppState) =>
      active.some((release) => release.resources.some((resource) => resource.name === state.name && resource.toVersion === state.desiredVersion && resource.action !== 'delete'))
    const outOfSync = selected.filter((state) => options.force || (state.sync !== 'Synced' && !underWay(state)))
    if (outOfSync.length === 0) return {release: null, apps: selected}
    const request: TriggerRequest = {
      type: 'selective',
      resources: outOfSync.map((state) => ({name: state.name})),
      force: options.force,
      refresh: options.refresh,
      comment: options.comment ?? undefined,
      source: options.source,
    }
    if (options.dryRun) throw new DryRunResult(await this.dryRun(project, environment, request, context, refreshed))
    const {release} = await this.trigger(project.name, environment, request, {...context, refreshed: true})
    const after = await this.appStates(project.name, environment)
    return {release, apps: names.map((name) => after.find((state) => state.name === name) as AppState)}
  }

  async getRelease(id: number): Promise<Release> {
    const release = await this.store.getRelease(id)
    if (!release) throw releaseNotFound(id)
    const [annotated] = await this.annotate([release])
    return {...annotated, tasks: (await this.store.listTasks(id)).map(({releaseId: _releaseId, ...task}) => task)}
  }

  async listReleases(filter: {project?: string; environment?: string; statuses?: ReleaseStatus[]; limit: number; order?: 'asc' | 'desc'}): Promise<Release[]> {
    if (filter.project) {
      const project = await this.requireProject(filter.project)
      if (filter.environment) await this.requireEnvironment(project, filter.environment)
    }
    return this.annotate(await this.store.listReleases(filter))
  }

  /** Adds what is derived, not stored: queue position and why a queued release waits. */
  private async annotate(releases: ReleaseRecord[]): Promise<Release[]> {
    const decisions = new Map<string, {order: number[]; waiting: Map<number, NonNullable<Release['waitingFor']>>}>()
    for (const release of releases) {
      if (!ACTIVE_STATUSES.includes(release.status) || release.status === 'running') continue
      const key = environmentKey(release.project, release.environment)
      if (decisions.has(key)) continue
      const active = await this.activeReleases(release.project, release.environment)
      const decision = decideAdmission(active, await this.policyFor(release.project, release.environment), this.capacity - this.runs.size)
      decisions.set(key, {order: active.filter((r) => r.status !== 'running').map((r) => r.id), waiting: decision.waiting})
    }
    return releases.map(({lockSet: _lockSet, ...release}) => {
      const decision = decisions.get(environmentKey(release.project, release.environment))
      if (!decision || !decision.order.includes(release.id)) return release
      const waitingFor = decision.waiting.get(release.id)
      return {...release, queuePosition: decision.order.indexOf(release.id) + 1, ...(waitingFor && {waitingFor})}
    })
  }

  async readLogs(id: number, after: number, limit: number, filter: {resource?: string; target?: string} = {}): Promise<LogsResponse> {
    const release = await this.store.getRelease(id)
    if (!release) throw releaseNotFound(id)
    const lines = await this.store.readLogs(id, after, limit, filter)
    return {
      lines: lines.map(({releaseId: _releaseId, ...line}) => line),
      next: lines.length > 0 ? lines[lines.length - 1].id : after,
      releaseStatus: release.status,
      logsDeletedAt: await this.store.logsDeletedAt(id),
    }
  }

  async cancel(id: number, subject: string): Promise<Release> {
    const release = await this.store.getRelease(id)
    if (!release) throw releaseNotFound(id)
    if (release.status === 'running') {
      const run = this.runs.get(id) ?? (await this.starting.get(id))
      if (run) {
        this.log.info({releaseId: id, by: subject}, 'cancelling running release')
        run.stop('cancelled')
        await run.finished
      }
      return this.getRelease(id)
    }
    const cancelled = await this.store.transitionRelease(id, ['queued', 'pending_approval'], 'cancelled', {
      finishedAt: this.now(),
      error: `cancelled by ${subject} before it started`,
    })
    if (!cancelled) {
      const current = await this.store.getRelease(id)
      if (current?.status === 'running') return this.cancel(id, subject)
      throw invalid(`release ${id} is already ${(current?.status ?? release.status).replace('_', ' ')}; there is nothing to cancel`)
    }
    this.log.info({releaseId: id, by: subject}, 'queued release cancelled')
    await this.admit(release.project, release.environment)
    return this.getRelease(id)
  }

  // ---- rollback, history, refresh ----

  async rollback(
    id: number,
    request: {allowDestructive?: boolean; comment?: string; dryRun?: boolean; onConflict?: 'queue' | 'fail'; source?: 'cli' | 'api'},
    context: TriggerContext,
  ): Promise<{release: Release; created: boolean}> {
    const original = await this.store.getRelease(id)
    if (!original) throw releaseNotFound(id)
    if (ACTIVE_STATUSES.includes(original.status)) {
      throw invalid(`release ${id} is still ${original.status.replace('_', ' ')}; a rollback undoes a release that has ended`, `wait for it (relctl release wait) or cancel it (relctl release cancel ${id})`)
    }
    const project = await this.requireProject(original.project)
    await this.requireEnvironment(project, original.environment)
    const changed = new Map<string, {action: ReleaseResource['action']; fromVersion: string | null; toVersion: string | null}>()
    for (const task of await this.store.listTasks(id)) {
      if (task.kind === 'deploy' && task.status === 'succeeded' && task.resource && !changed.has(task.resource)) {
        changed.set(task.resource, {action: task.action, fromVersion: task.fromVersion, toVersion: task.toVersion})
      }
    }
    // A redeploy of the same version (--force) changed nothing that a rollback could put back.
    const effective = [...changed].filter(([, change]) => change.action !== 'update' || (change.fromVersion !== null && change.fromVersion !== change.toVersion))
    if (effective.length === 0) throw invalid(`release ${id} changed nothing; there is nothing to roll back`)
    const apps = new Map((await this.store.listApps(original.project, original.environment)).map((app) => [app.name, app]))
    const resources: ReleaseResource[] = []
    for (const [name, change] of effective) {
      const app = apps.get(name)
      if (!app) throw invalid(`${name} no longer exists in ${original.project}/${original.environment}; it cannot be rolled back`, 'add it back to the blueprint and apply it')
      // Undo: an update goes back to the version before; a create is deleted; a delete is created again.
      const action = change.action === 'create' ? 'delete' : change.action === 'delete' ? 'create' : 'update'
      if (action === 'delete' && !request.allowDestructive) {
        throw invalid(`release ${id} created ${name}; rolling it back deletes it, which is destructive`, `add --allow-destructive to roll back release ${id}`)
      }
      resources.push({name, action, fromVersion: app.deployedVersion, toVersion: action === 'delete' ? null : change.fromVersion})
    }
    const trigger: TriggerRequest = {
      type: 'rollback',
      allowDestructive: request.allowDestructive ?? false,
      comment: request.comment ?? `rollback of release ${id}`,
      onConflict: request.onConflict,
      dryRun: request.dryRun,
      source: request.source ?? 'api',
    }
    return this.trigger(original.project, original.environment, trigger, {...context, rollbackOf: id, rollbackOfType: original.type, resources})
  }

  async appHistory(projectName: string, environment: string, app: string, limit: number): Promise<AppHistoryEntry[]> {
    const project = await this.requireProject(projectName)
    await this.requireEnvironment(project, environment)
    const apps = await this.store.listApps(project.name, environment)
    if (!apps.some((candidate) => candidate.name === app)) throw notFound('app', app, apps.map((candidate) => candidate.name), undefined, `${project.name}/${environment}`)
    return this.store.appHistory(project.name, environment, app, limit)
  }

  async refreshApps(projectName: string, environment: string): Promise<AppState[]> {
    const project = await this.requireProject(projectName)
    await this.requireEnvironment(project, environment)
    await this.refresh(project, environment)
    return this.appStates(project.name, environment)
  }

  /**
   * Reads live versions through each resource's driver (exec: its status command) (on every target) and records drift:
   * a live version unlike the recorded one becomes the deployed version, so the app shows OutOfSync
   * and the next release corrects it. The drift note stays until a deploy of the app succeeds.
   */
  private async refresh(project: ProjectRecord, environment: string): Promise<DryRun['refreshed']> {
    const spec = environmentSpec(project, environment)
    const apps = new Map((await this.store.listApps(project.name, environment)).map((app) => [app.name, app]))
    const drifted: DryRun['refreshed'] = []
    for (const resource of project.blueprint.resources) {
      const app = apps.get(resource.name)
      if (!app) continue
      // Every target is compared with what the last deploy recorded, not with an earlier refresh's finding.
      const baseline = app.drift ? app.drift.recordedVersion : app.deployedVersion
      const lives: string[] = []
      for (const target of spec.targets.length > 0 ? spec.targets : [null]) {
        const live = await driverFor(resource).status({project: project.name, environment, resource, target, recordedVersion: baseline, baseDir: project.baseDir, passEnv: this.passEnv})
        if (live !== null) lives.push(live)
      }
      const live = lives.find((version) => version !== baseline)
      if (live !== undefined) {
        if (app.drift?.liveVersion !== live || app.deployedVersion !== live) {
          const drift = {recordedVersion: baseline, liveVersion: live, at: this.now()}
          await this.store.updateApp(project.name, environment, app.name, {deployedVersion: live, drift, ...(app.health === 'Missing' && {health: 'Healthy'})}, this.now())
          this.log.info({project: project.name, environment, app: app.name, recorded: baseline, live}, 'drift found by refresh')
        }
        drifted.push({name: app.name, recordedVersion: baseline, liveVersion: live})
      } else if (app.drift && lives.length > 0) {
        // Every target runs the recorded version again (put right by hand): the drift is gone.
        await this.store.updateApp(project.name, environment, app.name, {deployedVersion: baseline, drift: null}, this.now())
      }
    }
    return drifted
  }

  // ---- settings ----

  private async requireScope(project: string | undefined, environment: string | undefined): Promise<Scope> {
    if (!project && !environment) return {project: null, environment: null}
    if (!project) throw invalid('an environment needs its project', 'pass --project too')
    if (!environment) throw invalid('settings are per environment or for the whole control plane', 'pass --environment too, or neither')
    await this.requireEnvironment(await this.requireProject(project), environment)
    return {project, environment}
  }

  async getSettings(project?: string, environment?: string): Promise<SettingsView> {
    const scope = await this.requireScope(project, environment)
    return this.settingsView(scope)
  }

  private async settingsView(scope: Scope): Promise<SettingsView> {
    const controlPlane = await this.store.getSettings(null, null)
    const own = scope.project ? await this.store.getSettings(scope.project, scope.environment) : null
    const settings = effectiveSettings(controlPlane, own)
    return {scope, ...settings, history: await this.store.listSettingsChanges(scope.project, scope.environment, SETTINGS_HISTORY)}
  }

  async setParallel(request: SetParallelRequest, subject: string): Promise<SettingsView> {
    if (request.enabled === undefined && request.max === undefined) throw invalid('nothing to change', 'pass --enabled or --disabled, and/or --max N')
    return this.changeSettings(request, {parallel: request.enabled, maxParallel: request.max}, subject)
  }

  async setApproval(request: SetApprovalRequest, subject: string): Promise<SettingsView> {
    return this.changeSettings(request, {approval: request.enabled}, subject)
  }

  private async changeSettings(
    request: {project?: string; environment?: string},
    patch: Partial<Pick<SettingsRecord, 'parallel' | 'maxParallel' | 'approval'>>,
    subject: string,
  ): Promise<SettingsView> {
    const scope = await this.requireScope(request.project, request.environment)
    const now = this.now()
    const approvalTurnedOff = await this.store.transaction(async (tx) => {
      const current = (await tx.getSettings(scope.project, scope.environment)) ?? {...scope, parallel: null, maxParallel: null, approval: null, updatedBy: subject, updatedAt: now}
      const next: SettingsRecord = {...current, updatedBy: subject, updatedAt: now}
      const changes: SettingsChange[] = []
      for (const key of ['parallel', 'maxParallel', 'approval'] as const) {
        const value = patch[key]
        if (value === undefined || value === current[key]) continue
        ;(next as unknown as Record<string, unknown>)[key] = value
        changes.push({...scope, setting: key, oldValue: current[key] === null ? null : String(current[key]), newValue: String(value), changedBy: subject, changedAt: now})
      }
      const rows = (await tx.listSettings()).filter((row) => row.project !== scope.project || row.environment !== scope.environment)
      const violation = exclusivityViolation([...rows, next])
      if (violation) {
        const where = scopeName(violation.scope)
        const flags = violation.scope.project ? ` -p ${violation.scope.project} -e ${violation.scope.environment}` : ''
        const refusal = patch.parallel
          ? `parallel releases cannot be turned on: the approval workflow is on for ${where}`
          : `the approval workflow cannot be turned on: parallel releases are on for ${where}`
        throw invalid(
          `${refusal}, and the two exclude each other (a release pending approval cannot run in parallel)`,
          patch.parallel ? `turn the approval workflow off first: relctl settings set-approval --disabled${flags}` : `turn parallel releases off first: relctl settings set-parallel --disabled${flags}`,
        )
      }
      await tx.saveSettings(next, changes)
      return patch.approval === false && current.approval !== false
    })
    this.log.info({scope, patch, by: subject}, 'settings changed')
    const environments = scope.project ? [{project: scope.project, environment: scope.environment as string}] : await this.allEnvironments()
    for (const {project, environment} of environments) {
      if (approvalTurnedOff && !(await this.effectiveSettingsOf(project, environment)).approval.value) {
        await this.releasePendingApprovals(project, environment, subject)
      }
      await this.admit(project, environment)
    }
    return this.settingsView(scope)
  }

  /** With the approval workflow off, releases waiting for approval go to the queue. */
  private async releasePendingApprovals(project: string, environment: string, subject: string) {
    for (const release of await this.store.listReleases({project, environment, statuses: ['pending_approval']})) {
      await this.store.transitionRelease(release.id, ['pending_approval'], 'queued', {
        decision: {decision: 'approved', by: subject, at: this.now(), comment: 'the approval workflow was turned off'},
      })
    }
  }

  private async allEnvironments(): Promise<{project: string; environment: string}[]> {
    const all: {project: string; environment: string}[] = []
    for (const project of await this.store.listProjects()) {
      for (const environment of await this.store.listEnvironments(project.name)) all.push({project: project.name, environment: environment.name})
    }
    return all
  }

  // ---- pauses ----

  async pause(projectName: string, environment: string | null, reason: string | null, subject: string): Promise<PauseResponse> {
    const project = await this.requireProject(projectName)
    if (environment !== null) await this.requireEnvironment(project, environment)
    const {pause, created} = await this.store.addPause({
      level: environment === null ? 'project' : 'environment',
      project: project.name,
      environment,
      by: subject,
      at: this.now(),
      reason,
    })
    if (created) this.log.info({project: project.name, environment, by: subject, reason}, 'releases paused')
    return {pause, alreadyPaused: !created}
  }

  async resume(projectName: string, environment: string | null, subject: string): Promise<ResumeResponse> {
    const project = await this.requireProject(projectName)
    if (environment !== null) await this.requireEnvironment(project, environment)
    const resumed = await this.store.removePause(project.name, environment)
    if (resumed) this.log.info({project: project.name, environment, by: subject}, 'releases resumed')
    const environments = environment === null ? (await this.store.listEnvironments(project.name)).map((env) => env.name) : [environment]
    for (const name of environments) await this.admit(project.name, name)
    // The other level's pauses still hold: the project's for an environment, the environments' for the project.
    const stillPaused = (await this.store.listPauses(project.name, environment)).filter((pause) => pause.level !== (environment === null ? 'project' : 'environment'))
    return {resumed, stillPaused}
  }

  // ---- schedules ----

  async setSchedule(projectName: string, environment: string, request: SetScheduleRequest, subject: string): Promise<Schedule> {
    const project = await this.requireProject(projectName)
    await this.requireEnvironment(project, environment)
    const now = this.clock()
    const rule = compileRule(request, now)
    const resources = [...new Set(request.resources ?? [])]
    refuseImpossibleSchedule(request.type, resources, project.blueprint)
    if (resources.length > 0) {
      const known = (await this.store.listApps(project.name, environment)).map((app) => app.name)
      const unknown = resources.find((name) => !known.includes(name))
      if (unknown) throw notFound('app', unknown, known, undefined, `${project.name}/${environment}`)
    }
    const at = now.toISOString()
    await this.store.upsertSchedule({
      project: project.name,
      environment,
      rule: {...(request.every && {every: request.every}), ...(request.cron && {cron: rule.kind === 'cron' ? rule.expression : request.cron, timezone: rule.kind === 'cron' ? rule.timezone : 'UTC'})},
      type: request.type,
      resources,
      paused: false,
      nextRunAt: nextRunAfter(rule, now).toISOString(),
      createdBy: subject,
      createdAt: at,
      updatedAt: at,
    })
    this.log.info({project: project.name, environment, rule: request, by: subject}, 'schedule set')
    this.scheduler.wake()
    return (await this.scheduleView(project.name, environment)) as Schedule
  }

  async getSchedule(projectName: string, environment: string): Promise<Schedule> {
    const project = await this.requireProject(projectName)
    await this.requireEnvironment(project, environment)
    const view = await this.scheduleView(project.name, environment)
    if (!view) throw new ControlPlaneError('not_found', `${project.name}/${environment} has no schedule`, {hint: `set one with: relctl schedule set -p ${project.name} -e ${environment} --every 6h --type full`})
    return view
  }

  async pauseSchedule(projectName: string, environment: string, paused: boolean): Promise<Schedule> {
    const view = await this.getSchedule(projectName, environment)
    await this.store.setSchedulePaused(view.project, view.environment, paused, this.now())
    return (await this.scheduleView(view.project, view.environment)) as Schedule
  }

  async deleteSchedule(projectName: string, environment: string): Promise<Schedule> {
    const view = await this.getSchedule(projectName, environment)
    await this.store.deleteSchedule(view.project, view.environment)
    return view
  }

  private async scheduleView(project: string, environment: string): Promise<Schedule | null> {
    const schedule = await this.store.getSchedule(project, environment)
    if (!schedule) return null
    return {...schedule, runs: await this.store.listScheduleRuns(project, environment, SCHEDULE_RUNS_SHOWN)}
  }

  /** Fires every schedule that is due; returns when the next one is due, for the timer. */
  async fireDueSchedules(): Promise<Date | null> {
    let earliest: Date | null = null
    for (const schedule of await this.store.listSchedules()) {
      const now = this.clock()
      try {
        if (Date.parse(schedule.nextRunAt) <= now.getTime() && this.admitting) await this.fireSchedule(schedule, now)
      } catch (error) {
        this.log.error({err: error, project: schedule.project, environment: schedule.environment}, 'schedule could not fire')
      }
      const current = await this.store.getSchedule(schedule.project, schedule.environment)
      if (current && (!earliest || Date.parse(current.nextRunAt) < earliest.getTime())) earliest = new Date(current.nextRunAt)
    }
    return earliest
  }

  private async fireSchedule(schedule: ScheduleRecord, now: Date): Promise<void> {
    const {project: projectName, environment} = schedule
    const rule = compileRule(schedule.rule, new Date(schedule.createdAt))
    const due = dueRuns(rule, new Date(schedule.nextRunAt), now)
    if (due.length === 0) return
    const project = await this.requireProject(projectName)
    const recordedAt = now.toISOString()
    const outcome = await this.serialized(environmentKey(projectName, environment), () =>
      this.store.transaction(async (tx) => {
        // Moving next_run_at past the due runs is the claim: whoever does it records and fires them, once.
        if (!(await tx.advanceSchedule(projectName, environment, schedule.nextRunAt, nextRunAfter(rule, now).toISOString()))) return null
        const missed: ScheduleRun[] = due.slice(0, -1).map((slot) => ({
          slotAt: slot.toISOString(),
          recordedAt,
          outcome: 'missed',
          releaseId: null,
          reason: 'the control plane was not running at this time; only the latest due run fires',
        }))
        const slotAt = due[due.length - 1].toISOString()
        const skip = (reason: string): ScheduleRun => ({slotAt, recordedAt, outcome: 'skipped', releaseId: null, reason})
        const active = await tx.activeLocks(projectName, environment)
        const pauses = await tx.listPauses(projectName, environment)
        let run: ScheduleRun
        if (schedule.paused) run = skip('the schedule is paused')
        else if (pauses.length > 0) run = skip(describePauses(pauses))
        else if (active.length > 0) run = skip(`release ${active[0].id} is ${active[0].status.replace('_', ' ')} in ${environment}; scheduled releases never queue`)
        else {
          try {
            const {release} = await this.createRelease(
              tx,
              project,
              environment,
              {type: schedule.type, ...(schedule.type === 'selective' && {resources: schedule.resources.map((name) => ({name}))}), comment: `scheduled run of ${slotAt}`},
              {subject: 'schedule', idempotencyKey: `schedule:${projectName}/${environment}@${slotAt}`, source: 'schedule'},
            )
            run = {slotAt, recordedAt, outcome: 'released', releaseId: release.id, reason: null}
          } catch (error) {
            if (!(error instanceof ControlPlaneError)) throw error
            run = skip(error.message)
          }
        }
        await tx.insertScheduleRuns(projectName, environment, [...missed, run])
        return run
      }),
    )
    if (!outcome) return
    this.log.info({project: projectName, environment, slotAt: outcome.slotAt, outcome: outcome.outcome, releaseId: outcome.releaseId, reason: outcome.reason}, 'schedule fired')
    if (outcome.releaseId !== null) await this.admit(projectName, environment)
  }

  // ---- approvals ----

  async decide(id: number, decision: 'approved' | 'rejected', subject: string, comment: string | null): Promise<Release> {
    const release = await this.store.getRelease(id)
    if (!release) throw releaseNotFound(id)
    const at = this.now()
    const done = await this.store.transitionRelease(id, ['pending_approval'], decision === 'approved' ? 'queued' : 'rejected', {
      decision: {decision, by: subject, at, comment},
      ...(decision === 'rejected' && {finishedAt: at, error: `rejected by ${subject}${comment ? `: ${comment}` : ''}`}),
    })
    if (!done) {
      const current = (await this.store.getRelease(id)) as ReleaseRecord
      throw invalid(
        `release ${id} is ${current.status.replace('_', ' ')}; only a release pending approval can be ${decision}`,
        current.decision ? `it was ${current.decision.decision} by ${current.decision.by} at ${current.decision.at}` : undefined,
      )
    }
    this.log.info({releaseId: id, decision, by: subject}, 'release decided')
    if (decision === 'approved') await this.admit(release.project, release.environment)
    return this.getRelease(id)
  }

  // ---- admission and runs ----

  private activeReleases(project: string, environment: string): Promise<ActiveRelease[]> {
    return this.store.activeLocks(project, environment)
  }

  private async effectiveSettingsOf(project: string, environment: string, store = this.store): Promise<EffectiveSettings> {
    const rows = await store.settingsFor(project, environment)
    return effectiveSettings(rows.controlPlane, rows.environment)
  }

  private async policyFor(project: string, environment: string, store = this.store): Promise<AdmissionPolicy> {
    return toPolicy(environment, await this.effectiveSettingsOf(project, environment, store), await store.listPauses(project, environment))
  }

  /** Runs fn after every earlier call for the same key has settled: one admission decision at a time per environment. */
  private serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.environmentQueues.get(key) ?? Promise.resolve()
    const next = previous.then(fn, fn)
    const tail = next.catch(() => undefined)
    this.environmentQueues.set(key, tail)
    void tail.then(() => {
      if (this.environmentQueues.get(key) === tail) this.environmentQueues.delete(key)
    })
    return next
  }

  admit(project: string, environment: string): Promise<void> {
    return this.serialized(environmentKey(project, environment), () => this.admitNow(project, environment))
  }

  private async admitNow(project: string, environment: string, policy?: AdmissionPolicy): Promise<void> {
    if (!this.admitting) return
    const decision = decideAdmission(
      await this.activeReleases(project, environment),
      policy ?? (await this.policyFor(project, environment)),
      this.capacity - this.runs.size,
    )
    let failedToStart = false
    for (const id of decision.start) if (!(await this.startRelease(id))) failedToStart = true
    // A release that could not start has ended failed: what waited behind it may start now.
    if (failedToStart) await this.admitNow(project, environment)
  }

  /** Starts a release; while it starts, a cancel waits for the run instead of missing it. */
  /** False when the release could not start and was recorded as failed. */
  private async startRelease(id: number): Promise<boolean> {
    let ended = false
    const starting = this.startRun(id).catch(async (error: unknown) => {
      ended = await recordStartFailure(this.store, this.log, id, error, this.now())
      return null
    })
    this.starting.set(id, starting)
    try {
      await starting
    } finally {
      this.starting.delete(id)
    }
    return !ended
  }

  private async startRun(id: number): Promise<ReleaseRun | null> {
    const started = await this.store.transaction(async (tx) => {
      const now = this.now()
      const release = await tx.transitionRelease(id, ['queued'], 'running', {startedAt: now})
      if (!release) return null
      const project = (await tx.getProject(release.project)) as ProjectRecord
      // Versions are read again at start: an earlier release may have changed what is deployed.
      const names = release.resources.map((resource) => resource.name)
      const apps = new Map((await tx.listApps(release.project, release.environment, names)).map((app) => [app.name, app]))
      const resources = release.resources.map((resource) => {
        const deployed = apps.get(resource.name)?.deployedVersion ?? null
        const action = resource.action === 'delete' ? 'delete' : deployed === null ? 'create' : 'update'
        return {...resource, action, fromVersion: deployed} as ReleaseResource
      })
      const environment = environmentSpec(project, release.environment)
      const planInput = {blueprint: project.blueprint, environment, resources, targetOrder: release.options.targetOrder, steps: release.options.steps}
      // The blueprint may have grown since the trigger.
      checkPlanSize(planInput)
      const plan = await planReleaseInTurns(planInput)
      const tasks = await tx.insertTasks(id, plan.tasks.map(toNewTask))
      return {release, project, environment, tasks}
    })
    if (!started) return null
    const run = new ReleaseRun(this.store, started.release, started.project, started.environment, started.tasks, this.logs, () => this.now(), this.passEnv)
    run.finished = run.done.then(
      (outcome) => this.finish(run, outcome),
      (error) => this.finish(run, {status: 'failed', error: `internal error: ${(error as Error).message}`}),
    )
    this.runs.set(id, run)
    this.log.info({releaseId: id, tasks: started.tasks.length}, 'release started')
    return run
  }

  private async finish(run: ReleaseRun, outcome: ReleaseOutcome): Promise<void> {
    const {id, project, environment} = run.release
    try {
      await this.store.transitionRelease(id, ['running'], outcome.status, {finishedAt: this.now(), error: outcome.error})
      this.log.info({releaseId: id, status: outcome.status, error: outcome.error}, 'release finished')
    } catch (error) {
      this.log.error({releaseId: id, err: error}, 'could not record the end of a release')
    }
    const wasFull = this.runs.size >= this.capacity
    this.runs.delete(id)
    if (!this.admitting) return
    await this.admit(project, environment)
    if (wasFull) await this.admitAllQueued()
  }

  /** Admits in every environment that has queued releases; says how many of each there were. */
  private async admitAllQueued(): Promise<{queued: number; environments: number}> {
    const queued = await this.store.listReleases({statuses: ['queued']})
    const environments = new Map(queued.map((release) => [environmentKey(release.project, release.environment), release]))
    for (const {project, environment} of environments.values()) {
      // One environment that cannot be admitted does not hold back the others, nor the engine's start.
      await this.admit(project, environment).catch((error) => this.log.error({project, environment, err: error}, 'could not admit queued releases'))
    }
    return {queued: queued.length, environments: environments.size}
  }
}

/** The key of an environment's admission turn. */
function environmentKey(project: string, environment: string): string {
  return `${project}\u0000${environment}`
}

function releaseNotFound(id: number): ControlPlaneError {
  return new ControlPlaneError('not_found', `release ${id} not found`, {hint: 'list releases with: relctl release list'})
}

function toPolicy(environment: string, settings: EffectiveSettings, pauses: PauseState[]): AdmissionPolicy {
  const [pause] = pauses
  return {
    environment,
    parallel: settings.parallel.value,
    maxParallel: settings.maxParallel.value,
    pause: pause ? {level: pause.level, by: pause.by, reason: pause.reason} : null,
  }
}

function toNewTask({requires, ...task}: PlannedTask): NewTask {
  return {...task, dependsOn: requires}
}

/** The environment as the blueprint declares it; one removed meanwhile plans as a plain environment. */
export function environmentSpec(project: ProjectRecord, name: string): EnvironmentSpec {
  return project.blueprint.environments.find((environment) => environment.name === name) ?? plainEnvironment(name)
}

function inBlueprintOrder<T extends {name: string}>(project: ProjectRecord, environments: T[]): T[] {
  const order = project.blueprint.environments.map((environment) => environment.name)
  return [...environments].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name))
}

/** Thrown through trigger and sync to answer a dry run: the plan, or null when nothing would be released. */
export class DryRunResult {
  constructor(readonly dryRun: DryRun | null) {}
}


