// Triggers: every way a release is asked for (trigger, sync, rollback, and the schedules' releases). A
// trigger is validated against the environment and recorded durably in the environment's admission
// turn, then admitted at once. A dry run answers with the plan and what would hold it back, as a value.
import {ACTIVE_STATUSES} from '../../api/domain.js'
import type {AppState, DryRun, Release, ReleaseOptions, ReleaseResource, RetryRequest, SyncResponse, TriggerRequest} from '../../api/schemas.js'
import {ControlPlaneError, invalid} from '../errors.js'
import type {ProjectRecord, ReleaseRecord, Store} from '../store/store.js'
import {refuseBlockedVersions} from './blocks.js'
import type {EngineContext} from './context.js'
import {effectiveSettingsOf, environmentSpec, freezeHoldOf, policyFor, releaseNotFound, requireProjectEnvironment} from './lookups.js'
import type {Refresher} from './refresh.js'
import {type ActiveRelease, decideAdmission, toPolicy} from './rules/admission.js'
import {after, readDeadlines} from './rules/deadlines.js'
import {describeFreeze, frozenError} from './rules/freeze-rules.js'
import {lockSetFor, sharedResources} from './rules/locks.js'
import {describePauses, pausedError} from './rules/pauses.js'
import {supersededBy} from './rules/queue.js'
import {checkPlanSize} from './rules/plan-size.js'
import {describeOrder, graphOf, planReleaseInTurns} from './rules/planner.js'
import {resolveResources} from './rules/resolution.js'
import {type RunCoordinator, toNewTask} from './runs/coordinator.js'
import type {Together} from './runs/turns.js'
import {recordReleaseCreated, transitionRelease} from './runs/transitions.js'
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
  /** a rollback's or a retry's resources, worked out from the release it undoes or runs again */
  resources?: ReleaseResource[]
  /** the release a retry runs again */
  retryOf?: number
  /** recorded with the release: the pipeline run it is the work of, the environment it was promoted from */
  options?: Pick<ReleaseOptions, 'pipeline' | 'promotedFrom'>
}

/** How a trigger meets a freeze, and its deadlines: the same for triggers, syncs, rollbacks and retries. */
export type ReleaseControls = Pick<TriggerRequest, 'onFreeze' | 'overrideFreeze' | 'deadline' | 'expireAfter'>

export interface Triggered {
  release: Release
  created: boolean
}

/** A trigger's answer: the release (new, or the one its idempotency key names), or the plan of a dry run. */
export type TriggerOutcome = Triggered | DryRun

export interface SyncOptions extends ReleaseControls {
  force: boolean
  refresh: boolean
  dryRun: boolean
  comment: string | null
  source: 'cli' | 'api'
}

export interface RollbackRequest extends ReleaseControls {
  allowDestructive?: boolean
  comment?: string
  dryRun?: boolean
  onConflict?: 'queue' | 'fail'
  source?: 'cli' | 'api'
}

/** The controls of a request, without the keys it does not set. */
function controlsOf(request: ReleaseControls): ReleaseControls {
  const {onFreeze, overrideFreeze, deadline, expireAfter} = request
  return {...(onFreeze && {onFreeze}), ...(overrideFreeze && {overrideFreeze}), ...(deadline && {deadline}), ...(expireAfter && {expireAfter})}
}

/** What a refusal calls the release it would have made. */
function whatIsReleased(request: TriggerRequest, context: TriggerContext): string {
  if (context.retryOf !== undefined) return `the retry of release ${context.retryOf}`
  if (context.rollbackOf !== undefined) return `the rollback of release ${context.rollbackOf}`
  if (context.source === 'schedule') return `the scheduled ${request.type} release`
  return `this ${request.type} release`
}

/** A probe's id in a decision: after every real release, so it is judged as the last queued. */
const PROBE = Number.MAX_SAFE_INTEGER

/** A trigger waiting for its environment's turn. */
interface PendingTrigger {
  project: string
  environment: string
  request: TriggerRequest
  context: TriggerContext
}

/** What a turn made of a trigger: its release, or the refusal it met (a pause, a freeze, an unknown app, a state lock). */
type TriggerRecorded = {release: ReleaseRecord; created: boolean} | {refused: ControlPlaneError}

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
    const {value: recorded, report: queue} = await this.runs.turnTogetherWithQueue(projectName, environment, this.recordTriggers, {project: projectName, environment, request, context})
    if ('refused' in recorded) throw recorded.refused
    const {release, created} = recorded
    // A release that has just started is answered from its run; one that waits, from the decision of
    // the turn that queued it (no read); one found by its idempotency key, or that could not start, is read.
    const run = created ? this.runs.runOf(release.id) : undefined
    if (run) return {release: run.snapshot(), created}
    const waiting = created ? this.views.waitingRelease(release, queue) : null
    return {release: waiting ?? (await this.views.getRelease(release.id)), created}
  }

  /**
   * The triggers of one environment that reach one turn, recorded together: on PostgreSQL each of a
   * trigger's statements is a round trip that the environment's lock waits for, and asked for at once
   * the triggers' reads go out in one message and their inserts in the next. A trigger refused by what
   * it read is answered with its refusal, the others recorded all the same. Triggers that read the
   * queue (--on-conflict fail, a supersede queue) must see those before them: each is recorded alone,
   * in its order.
   */
  private readonly recordTriggers: Together<PendingTrigger, TriggerRecorded> = async (tx, triggers) => {
    const record = async ({project: projectName, environment, request, context}: PendingTrigger): Promise<TriggerRecorded> => {
      try {
        const project = await requireProjectEnvironment(tx, projectName, environment)
        return await this.createRelease(tx, project, environment, request, context)
      } catch (error) {
        // A refusal comes before the trigger writes anything; any other failure fails the turn, which is then made again one change at a time.
        if (error instanceof ControlPlaneError) return {refused: error}
        throw error
      }
    }
    const {project, environment} = triggers[0]
    const supersede = (await effectiveSettingsOf(tx, project, environment)).queueMode.value === 'supersede'
    const readsQueue = (trigger: PendingTrigger) => supersede || trigger.request.onConflict === 'fail'
    const recorded: TriggerRecorded[] = []
    for (let start = 0; start < triggers.length; ) {
      // Those that do not read the queue, one after the other, go together; one that does goes alone.
      let end = start + 1
      if (!readsQueue(triggers[start])) while (end < triggers.length && !readsQueue(triggers[end])) end++
      recorded.push(...(await Promise.all(triggers.slice(start, end).map(record))))
      start = end
    }
    return recorded
  }

  /** What a trigger would release and lock; shared by real triggers and dry runs. */
  private async prepareRelease(store: Store, project: ProjectRecord, environment: string, request: TriggerRequest, context: TriggerContext) {
    const named = request.type === 'selective' && request.resources ? request.resources.map((resource) => resource.name) : undefined
    const apps = await store.listApps(project.name, environment, named)
    const resources =
      context.resources ?? (await resolveResources(request, apps, project.blueprint, async () => (await store.listApps(project.name, environment)).map((app) => app.name)))
    await refuseBlockedVersions(store, project.name, resources, `${whatIsReleased(request, context)} would deploy a blocked version`)
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
    readDeadlines(request)
    const {resources, lockSet, planInput} = await this.prepareRelease(store, project, environment, request, context)
    const plan = await planReleaseInTurns(planInput)
    const approval = (await effectiveSettingsOf(store, project.name, environment)).approval.value
    const now = this.ctx.clock()
    const decision = decideAdmission(
      [...(await store.activeLocks(project.name, environment)), {id: PROBE, status: approval ? 'pending_approval' : 'queued', lockSet, overridesFreeze: Boolean(request.overrideFreeze)}],
      await policyFor(store, project.name, environment, now),
      this.runs.freeCapacity(),
    )
    const pauses = await store.listPauses(project.name, environment)
    const hold = await freezeHoldOf(store, project.name, environment, now)
    const waiting = decision.waiting.get(PROBE)
    const wouldWaitFor =
      pauses.length > 0
        ? {reason: 'paused' as const, message: describePauses(pauses)}
        : hold && !request.overrideFreeze
          ? {
              reason: 'freeze' as const,
              message: `${describeFreeze(hold)}${request.onFreeze === 'queue' ? '; it would queue until then' : '; a trigger is refused now (exit 6) unless it has --on-freeze queue or --override-freeze'}`,
              freeze: hold.freeze.id,
              until: hold.until.toISOString(),
            }
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
    const now = this.ctx.clock()
    const hold = await freezeHoldOf(store, project.name, environment, now)
    if (hold && request.onFreeze !== 'queue' && !request.overrideFreeze) throw frozenError(hold)
    const settings = await effectiveSettingsOf(store, project.name, environment)
    const policy = toPolicy(environment, settings, pauses, hold)
    const deadlines = readDeadlines(request)
    const {resources, lockSet} = await this.prepareRelease(store, project, environment, request, context)
    // The queue is read only when this trigger needs it: reading a long queue for every trigger made a
    // burst of triggers quadratic in the queue's length (the admission turn reads it once per burst).
    const supersede = settings.queueMode.value === 'supersede'
    const active = supersede || request.onConflict === 'fail' ? await store.activeLocks(project.name, environment) : []
    // In a supersede queue, the waiting releases this one covers give way to it.
    const superseded = supersede ? supersededBy(lockSet, active) : []
    if (request.onConflict === 'fail') {
      const ahead = active.filter((release) => !superseded.includes(release.id))
      const decision = decideAdmission([...ahead, {id: PROBE, status: 'queued', lockSet, overridesFreeze: Boolean(request.overrideFreeze)}], policy, Infinity)
      const wait = decision.waiting.get(PROBE)
      if (wait && (wait.reason === 'conflict' || wait.reason === 'serial') && wait.releases?.length) {
        const holder = ahead.find((release) => release.id === wait.releases?.[0]) as ActiveRelease
        throw stateLockError(holder, lockSet, `${project.name}/${environment}`)
      }
    }
    const createdAt = now.toISOString()
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
        ...(context.retryOf !== undefined && {retryOf: context.retryOf}),
        ...deadlines,
        ...context.options,
      },
      createdAt,
      freezeOverride: request.overrideFreeze ? {by: context.subject, reason: request.overrideFreeze.reason, at: createdAt} : null,
      expiresAt: deadlines.expireAfterMs === undefined ? null : after(createdAt, deadlines.expireAfterMs),
    })
    if (result.created) {
      const {id, status} = result.release
      await recordReleaseCreated(store, result.release, result.release.createdAt)
      this.ctx.log.info({releaseId: id, project: project.name, environment, type: request.type, status, overridesFreeze: Boolean(request.overrideFreeze)}, 'release accepted')
      for (const older of superseded) {
        const cancelled = await transitionRelease(store, older, ['queued', 'pending_approval'], 'cancelled', {finishedAt: createdAt, error: `superseded by release ${id}`, endReason: 'superseded'})
        if (cancelled) this.ctx.log.info({releaseId: older, by: id}, 'queued release superseded')
      }
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
      ...controlsOf(options),
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
      ...controlsOf(request),
    }
    return this.trigger(original.project, original.environment, trigger, {...context, rollbackOf: id, rollbackOfType: original.type, resources})
  }

  /**
   * A release that runs again what an ended release did not get done: the resources with a deploy task
   * that failed, was skipped, cancelled or interrupted (all of them when it never ran), at the versions it
   * was taking them to, with its flags, target order and deadlines.
   */
  async retry(id: number, request: RetryRequest, context: TriggerContext): Promise<TriggerOutcome> {
    const {store} = this.ctx
    const original = await store.getRelease(id)
    if (!original) throw releaseNotFound(id)
    if (ACTIVE_STATUSES.includes(original.status)) {
      throw invalid(`release ${id} is still ${original.status.replace('_', ' ')}; a retry runs again what a release that has ended did not get done`, `wait for it (relctl release wait) or cancel it (relctl release cancel ${id})`)
    }
    if (original.status === 'succeeded') throw invalid(`release ${id} succeeded; there is nothing to retry`)
    await requireProjectEnvironment(store, original.project, original.environment)
    const tasks = await store.listTasks(id)
    const unfinished = new Set(tasks.filter((task) => task.kind === 'deploy' && task.status !== 'succeeded').map((task) => task.resource as string))
    const left = tasks.length === 0 ? original.resources : original.resources.filter((resource) => unfinished.has(resource.name))
    if (left.length === 0) {
      const failed = tasks.filter((task) => task.status !== 'succeeded').map((task) => task.key)
      throw invalid(`every deploy of release ${id} succeeded (${failed.join(', ')} did not); a retry runs deploys again, not target hooks alone`, `release the apps again if the hooks must run: relctl release trigger --resources ... -p ${original.project} -e ${original.environment}`)
    }
    const apps = new Set((await store.listApps(original.project, original.environment)).map((app) => app.name))
    const gone = left.find((resource) => !apps.has(resource.name))
    if (gone) throw invalid(`${gone.name} no longer exists in ${original.project}/${original.environment}; release ${id} cannot be retried`, 'add it back to the blueprint and apply it')
    const {deadlineMs, expireAfterMs} = original.options
    const trigger: TriggerRequest = {
      type: original.type === 'rollback' ? 'rollback' : 'selective',
      force: original.force,
      allowDestructive: original.allowDestructive,
      comment: request.comment ?? `retry of release ${id}`,
      onConflict: request.onConflict,
      dryRun: request.dryRun,
      source: request.source ?? 'api',
      ...(original.options.targetOrder && {targetOrder: original.options.targetOrder}),
      ...(deadlineMs !== undefined && {deadline: `${deadlineMs}ms`}),
      ...(expireAfterMs !== undefined && {expireAfter: `${expireAfterMs}ms`}),
      ...controlsOf(request),
    }
    return this.trigger(original.project, original.environment, trigger, {
      ...context,
      retryOf: id,
      resources: left.map((resource) => ({...resource, fromVersion: null})),
      // It locks what it deploys, as a selective release, whatever the original locked.
      rollbackOfType: 'selective',
      ...(original.options.rollbackOf !== undefined && {rollbackOf: original.options.rollbackOf}),
    })
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
