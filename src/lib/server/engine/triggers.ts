// Triggers: every way a release is asked for (trigger, sync, rollback, and the schedules' releases). A
// trigger is validated against the environment and recorded durably in the environment's admission
// turn, then admitted at once. A dry run answers with the plan and what would hold it back, as a value.
import {ACTIVE_STATUSES} from '../../api/domain.js'
import type {AppState, DryRun, Release, ReleaseOptions, ReleaseResource, SyncResponse, TriggerRequest} from '../../api/schemas.js'
import {ControlPlaneError, invalid} from '../errors.js'
import type {ProjectRecord, ReleaseRecord, Store} from '../store/store.js'
import type {EngineContext} from './context.js'
import {nowOf} from './context.js'
import {effectiveSettingsOf, environmentSpec, policyFor, releaseNotFound, requireProjectEnvironment} from './lookups.js'
import type {Refresher} from './refresh.js'
import {type ActiveRelease, decideAdmission, toPolicy} from './rules/admission.js'
import {lockSetFor, sharedResources} from './rules/locks.js'
import {describePauses, pausedError} from './rules/pauses.js'
import {checkPlanSize} from './rules/plan-size.js'
import {describeOrder, graphOf, planReleaseInTurns} from './rules/planner.js'
import {resolveResources} from './rules/resolution.js'
import {type RunCoordinator, toNewTask} from './runs/coordinator.js'
import {recordReleaseCreated} from './runs/transitions.js'
import type {Views} from './views.js'

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
  /** recorded with the release: the pipeline run it is the work of, the environment it was promoted from */
  options?: Pick<ReleaseOptions, 'pipeline' | 'promotedFrom'>
}

export interface Triggered {
  release: Release
  created: boolean
}

/** A trigger's answer: the release (new, or the one its idempotency key names), or the plan of a dry run. */
export type TriggerOutcome = Triggered | DryRun

export interface SyncOptions {
  force: boolean
  refresh: boolean
  dryRun: boolean
  comment: string | null
  source: 'cli' | 'api'
}

export interface RollbackRequest {
  allowDestructive?: boolean
  comment?: string
  dryRun?: boolean
  onConflict?: 'queue' | 'fail'
  source?: 'cli' | 'api'
}

/** A probe's id in a decision: after every real release, so it is judged as the last queued. */
const PROBE = Number.MAX_SAFE_INTEGER

export class Triggers {
  constructor(
    private readonly ctx: EngineContext,
    private readonly runs: RunCoordinator,
    private readonly views: Views,
    private readonly refresher: Refresher,
  ) {}

  async trigger(projectName: string, environment: string, request: TriggerRequest, context: TriggerContext): Promise<TriggerOutcome> {
    const existing = await this.idempotent(projectName, environment, context)
    if (existing) return existing
    if (request.refresh || request.dryRun) {
      const project = await requireProjectEnvironment(this.ctx.store, projectName, environment)
      const refreshed = request.refresh && !context.refreshed ? await this.refresher.refresh(project, environment) : []
      if (request.dryRun) return this.dryRun(project, environment, request, context, refreshed)
    }
    return this.enqueue(projectName, environment, request, context)
  }

  /** The release an idempotency key already names; a key of another environment is refused. */
  private async idempotent(projectName: string, environment: string, context: TriggerContext): Promise<Triggered | null> {
    if (!context.idempotencyKey) return null
    const existing = await this.ctx.store.findByIdempotencyKey(context.idempotencyKey)
    if (!existing) return null
    if (existing.project !== projectName || existing.environment !== environment) {
      throw invalid(
        `idempotency key "${context.idempotencyKey}" was already used for release ${existing.id} of ${existing.project}/${existing.environment}`,
        'use a new key for a different request',
      )
    }
    return {release: await this.views.getRelease(existing.id), created: false}
  }

  private async enqueue(projectName: string, environment: string, request: TriggerRequest, context: TriggerContext): Promise<Triggered> {
    // All of a trigger's reads happen in the environment's turn: under a burst of triggers the first
    // ones are accepted and started before the later ones are even looked at.
    const {release, created} = await this.runs.turn(projectName, environment, async (tx) => {
      const project = await requireProjectEnvironment(tx, projectName, environment)
      return this.createRelease(tx, project, environment, request, context)
    })
    // A release that has just started is answered from its run; a queued one says what it waits for.
    const run = created ? this.runs.runOf(release.id) : undefined
    if (run) return {release: run.snapshot(), created}
    return {release: await this.views.getRelease(release.id), created}
  }

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
    const {store} = this.ctx
    const {resources, lockSet, planInput} = await this.prepareRelease(store, project, environment, request, context)
    const plan = await planReleaseInTurns(planInput)
    const approval = (await effectiveSettingsOf(store, project.name, environment)).approval.value
    const decision = decideAdmission(
      [...(await store.activeLocks(project.name, environment)), {id: PROBE, status: approval ? 'pending_approval' : 'queued', lockSet}],
      await policyFor(store, project.name, environment),
      this.runs.freeCapacity(),
    )
    const pauses = await store.listPauses(project.name, environment)
    const waiting = decision.waiting.get(PROBE)
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

  /**
   * Validates a trigger against the environment and records the release, in the environment's turn
   * (the store given is its transaction), which admits it with what else waits there.
   */
  async createRelease(
    store: Store,
    project: ProjectRecord,
    environment: string,
    request: TriggerRequest,
    context: TriggerContext,
  ): Promise<{release: ReleaseRecord; created: boolean}> {
    const pauses = await store.listPauses(project.name, environment)
    if (pauses.length > 0) throw pausedError(pauses)
    const settings = await effectiveSettingsOf(store, project.name, environment)
    const policy = toPolicy(environment, settings, pauses)
    const {resources, lockSet} = await this.prepareRelease(store, project, environment, request, context)
    if (request.onConflict === 'fail') {
      const active = await store.activeLocks(project.name, environment)
      const decision = decideAdmission([...active, {id: PROBE, status: 'queued', lockSet}], policy, Infinity)
      const wait = decision.waiting.get(PROBE)
      if (wait && (wait.reason === 'conflict' || wait.reason === 'serial') && wait.releases?.length) {
        const holder = active.find((release) => release.id === wait.releases?.[0]) as ActiveRelease
        throw stateLockError(holder, lockSet, `${project.name}/${environment}`)
      }
    }
    const result = await store.insertRelease({
      project: project.name,
      environment,
      type: request.type,
      status: settings.approval.value ? 'pending_approval' : 'queued',
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
        ...context.options,
      },
      createdAt: nowOf(this.ctx),
    })
    if (result.created) {
      const {id, status} = result.release
      await recordReleaseCreated(store, result.release, result.release.createdAt)
      this.ctx.log.info({releaseId: id, project: project.name, environment, type: request.type, status}, 'release accepted')
    }
    return result
  }

  /** A selective release of the out-of-sync apps among those named; nothing when they are all in sync. */
  async sync(projectName: string, environment: string, apps: string[], options: SyncOptions, context: TriggerContext): Promise<SyncResponse | DryRun> {
    const project = await requireProjectEnvironment(this.ctx.store, projectName, environment)
    const refreshed = options.refresh ? await this.refresher.refresh(project, environment) : []
    const states = await this.views.appStates(project.name, environment)
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
    const active = await this.ctx.store.listReleases({project: project.name, environment, statuses: ACTIVE_STATUSES})
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
    if (options.dryRun) return this.dryRun(project, environment, request, context, refreshed)
    const {release} = (await this.idempotent(project.name, environment, context)) ?? (await this.enqueue(project.name, environment, request, {...context, refreshed: true}))
    const after = await this.views.appStates(project.name, environment)
    return {release, apps: names.map((name) => after.find((state) => state.name === name) as AppState)}
  }

  /** A release that undoes what an ended release changed: versions back, creates deleted, deletes created. */
  async rollback(id: number, request: RollbackRequest, context: TriggerContext): Promise<TriggerOutcome> {
    const {store} = this.ctx
    const original = await store.getRelease(id)
    if (!original) throw releaseNotFound(id)
    if (ACTIVE_STATUSES.includes(original.status)) {
      throw invalid(`release ${id} is still ${original.status.replace('_', ' ')}; a rollback undoes a release that has ended`, `wait for it (relctl release wait) or cancel it (relctl release cancel ${id})`)
    }
    await requireProjectEnvironment(store, original.project, original.environment)
    const changed = new Map<string, {action: ReleaseResource['action']; fromVersion: string | null; toVersion: string | null}>()
    for (const task of await store.listTasks(id)) {
      if (task.kind === 'deploy' && task.status === 'succeeded' && task.resource && !changed.has(task.resource)) {
        changed.set(task.resource, {action: task.action, fromVersion: task.fromVersion, toVersion: task.toVersion})
      }
    }
    // A redeploy of the same version (--force) changed nothing that a rollback could put back.
    const effective = [...changed].filter(([, change]) => change.action !== 'update' || (change.fromVersion !== null && change.fromVersion !== change.toVersion))
    if (effective.length === 0) throw invalid(`release ${id} changed nothing; there is nothing to roll back`)
    const apps = new Map((await store.listApps(original.project, original.environment)).map((app) => [app.name, app]))
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
}

/** The refusal of an --on-conflict fail trigger that would wait: who holds the lock, on what, and what to do. */
function stateLockError(holder: ActiveRelease, lockSet: ActiveRelease['lockSet'], where: string): ControlPlaneError {
  // With parallel releases off the environment runs one release at a time: even disjoint releases wait.
  const common = sharedResources(holder.lockSet, lockSet)
  const disjoint = common !== '*' && common.length === 0
  const shared = disjoint ? '*' : common
  const sharedText = disjoint ? `${where} (parallel releases are off there, so releases run one at a time)` : shared === '*' ? 'the whole environment' : shared.join(', ')
  return new ControlPlaneError('state_lock', `state lock held by release ${holder.id} (${holder.status}) on ${sharedText}; nothing was queued`, {
    holder: {releaseId: holder.id, resources: shared === '*' ? ['*'] : shared},
    hint: `wait for it (relctl release show ${holder.id}) or trigger with --on-conflict queue`,
  })
}
