// Pipelines: runs that move versions through stages of environments, and promote. A run is a row of the
// database with the plan it follows; its work in each environment is an ordinary release (source
// `pipeline`), made in that environment's turn, so every queue, lock, pause, approval and parallel
// setting of the environment applies to it.
//
// Any replica may advance any run: on its creation, when events are committed (a release ended, here or
// on another replica), and on a sweep every second, so a run outlives restarts and lost replicas. One
// advance decides (rules/pipeline-runs.ts) in a transaction that holds the run's row; the releases it
// asks for are then made each in its environment's turn, which holds the run's row again and checks that
// the run still wants them, with an idempotency key per run, step and environment: an advance repeated
// anywhere never makes a release twice (pipeline-releases.ts, which makes promote's release too). What the
// API shows of runs is worked out in pipeline-views.ts.
import {ACTIVE_STATUSES, isFinalRunStatus} from '../../api/domain.js'
import type {EventKind} from '../../api/events.js'
import type {PipelineDryRun, PipelineRun, PipelineRunSummary, PromoteRequest, PromoteResponse, RunPipelineRequest, RunPipelineResponse} from '../../api/pipeline-schemas.js'
import type {PipelineSpec} from '../blueprint/pipelines.js'
import {ControlPlaneError, forbidden, invalid, notFound} from '../errors.js'
import type {PipelineRunPatch, PipelineRunRecord, ProjectRecord, Store} from '../store/store.js'
import type {Actions} from './actions.js'
import {refuseBlockedVersions} from './blocks.js'
import {type EngineContext, nowOf} from './context.js'
import {freezeHoldOf, requireProject} from './lookups.js'
import {PipelineReleases} from './pipeline-releases.js'
import {ACTIVE_RUN_STATUSES, dryRunView, environmentsOf, PipelineViews, runNotFound} from './pipeline-views.js'
import {describeFreeze} from './rules/freeze-rules.js'
import {touches} from './rules/locks.js'
import {passOf, planPipeline, type PipelineApp, stepApps} from './rules/pipeline-plan.js'
import {type AppFact, decideRun, type ReleaseFact, type RunDecision, type RunFacts, type RunState, type RunWaiting, stageLabel} from './rules/pipeline-runs.js'
import {describePauses} from './rules/pauses.js'
import type {RunCoordinator} from './runs/coordinator.js'
import type {Triggers} from './triggers.js'
import type {Views} from './views.js'

/** How often every replica looks at the runs under way, whatever it was told: a lost wakeup costs at most this. */
export const PIPELINE_SWEEP_MS = 1000
/** Advances of one run that follow each other (release, look again) before the next wakeup takes over. */
const MAX_ROUNDS = 8

export interface RunContext {
  subject: string
  idempotencyKey: string | null
}

function stateOf(run: PipelineRunRecord): RunState {
  return {
    id: run.id,
    status: run.status,
    step: run.step,
    plan: run.plan,
    createdBy: run.createdBy,
    approvals: run.approvals,
    supersededBy: run.supersededBy,
    error: run.error,
    rollingBack: run.rollingBack,
  }
}

function sameWaiting(a: RunWaiting | null, b: RunWaiting | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/**
 * Whether a new wait is news worth an event: releases under way are news of their own (their events); a
 * soak is news when it starts, is held, or starts again (not each time what holds it changes).
 */
function waitingNews(before: RunWaiting | null, after: RunWaiting | null): boolean {
  if (!after || after.reason === 'release') return false
  if (!before || before.reason !== after.reason) return true
  return after.reason === 'soak' ? before.until !== after.until || before.stage !== after.stage : before.message !== after.message
}

export class Pipelines {
  private readonly inFlight = new Map<number, Promise<void>>()
  private readonly again = new Set<number>()
  private timer: NodeJS.Timeout | undefined
  private stopped = true
  private sweeping: Promise<void> | null = null
  private sweepAgain = false
  /** runs under way at the last sweep: wakeups are ignored while there are none (the sweep finds new ones) */
  private knownActive = 0

  private readonly pipelineViews: PipelineViews
  private readonly releases: PipelineReleases

  constructor(
    private readonly ctx: EngineContext,
    runs: RunCoordinator,
    views: Views,
    triggers: Triggers,
    private readonly actions: Actions,
  ) {
    this.pipelineViews = new PipelineViews(ctx, views)
    this.releases = new PipelineReleases(ctx, runs, views, triggers)
  }

  // ---- the loop ----

  async start(): Promise<void> {
    this.stopped = false
    await this.ctx.store.listen({events: () => this.wake()})
    const tick = () => {
      if (this.stopped) return
      this.timer = setTimeout(() => void this.sweep().finally(tick), PIPELINE_SWEEP_MS)
      this.timer.unref()
    }
    await this.sweep()
    tick()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.sweeping
    await Promise.all(this.inFlight.values())
  }

  /** Events were committed (here, or on another replica): a release may have ended. */
  private wake(): void {
    if (this.stopped || this.knownActive === 0) return
    void this.sweep()
  }

  /** Advances every run under way; one sweep at a time, and one more when asked meanwhile. */
  sweep(): Promise<void> {
    if (this.sweeping) {
      this.sweepAgain = true
      return this.sweeping
    }
    this.sweeping = (async () => {
      do {
        this.sweepAgain = false
        if (this.stopped) break
        try {
          const active = await this.ctx.store.listPipelineRuns({statuses: ACTIVE_RUN_STATUSES, order: 'asc'})
          this.knownActive = active.length
          for (const run of active) await this.advance(run.id)
        } catch (error) {
          this.ctx.log.error({err: error}, 'pipeline sweep failed')
        }
      } while (this.sweepAgain)
    })().finally(() => {
      this.sweeping = null
    })
    return this.sweeping
  }

  /** Moves a run as far as it can go now; calls for one run share one advance (and one more after it). */
  advance(id: number): Promise<void> {
    const current = this.inFlight.get(id)
    if (current) {
      this.again.add(id)
      return current
    }
    const advancing = (async () => {
      do {
        this.again.delete(id)
        try {
          await this.advanceOnce(id)
        } catch (error) {
          this.ctx.log.error({runId: id, err: error}, 'could not advance a pipeline run')
        }
      } while (this.again.has(id) && !this.stopped)
    })().finally(() => this.inFlight.delete(id))
    this.inFlight.set(id, advancing)
    return advancing
  }

  private async advanceOnce(id: number): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const outcome = await this.decideAndRecord(id)
      if (!outcome || (outcome.decision.trigger.length === 0 && outcome.decision.rollback.length === 0)) return
      const {run, decision} = outcome
      await Promise.all(decision.trigger.map((environment) => this.releases.release(run, run.step, environment)))
      for (const rollback of decision.rollback) await this.releases.rollBack(run, rollback.step, rollback.environment, rollback.releaseId)
    }
  }

  /**
   * Decides for the run, first without holding anything (most looks change nothing), then, when the
   * decision changes something, again in a transaction that holds the run's row, and records it.
   */
  private async decideAndRecord(id: number): Promise<{run: PipelineRunRecord; decision: RunDecision} | null> {
    const {store} = this.ctx
    const seen = await store.getPipelineRun(id)
    if (!seen || isFinalRunStatus(seen.status)) return null
    const glance = await this.decide(store, seen)
    if (!glance.changes) return {run: seen, decision: glance.decision}
    return store.transaction(async (tx) => {
      const run = await tx.lockPipelineRun(id)
      if (!run || isFinalRunStatus(run.status)) return null
      const {decision, patch, events} = await this.decide(tx, run)
      const updated = Object.keys(patch).length > 0 ? ((await tx.updatePipelineRun(id, patch)) as PipelineRunRecord) : run
      await this.appendRunEvents(tx, updated, events)
      if (events.includes('pipeline.stage') || patch.status) this.ctx.log.info({runId: id, status: updated.status, step: updated.step, events}, 'pipeline run advanced')
      return {run: updated, decision}
    })
  }

  /** One decision, followed through the steps it completes: what to write, and what to release. */
  private async decide(store: Store, run: PipelineRunRecord) {
    let state = stateOf(run)
    const patch: PipelineRunPatch = {}
    const events: EventKind[] = []
    let decision: RunDecision
    for (;;) {
      decision = decideRun(state, await this.factsOf(store, run, state))
      Object.assign(patch, decision.patch)
      events.push(...decision.events)
      state = {...state, ...(decision.patch as Partial<RunState>)}
      if (!decision.again) break
    }
    const final = isFinalRunStatus(state.status)
    const waiting = final ? null : decision.waiting
    if (!sameWaiting(run.waiting, waiting)) patch.waiting = waiting
    if (!final && waitingNews(run.waiting, waiting)) events.push('pipeline.waiting')
    const changes = Object.keys(patch).length > 0 || events.length > 0
    return {state, decision, patch, events, changes}
  }

  /** What the decision for the run's current step reads, from the store given (the transaction's, when there is one). */
  private async factsOf(store: Store, run: PipelineRunRecord, state: RunState): Promise<RunFacts> {
    const {plan} = state
    const now = this.ctx.clock()
    let olderActive: number | null = null
    if (state.status === 'queued' && plan.queue === 'fifo') {
      const [oldest] = await store.listPipelineRuns({project: run.project, pipeline: run.pipeline, statuses: ACTIVE_RUN_STATUSES, order: 'asc', limit: 1})
      if (oldest && oldest.id < run.id) olderActive = oldest.id
    }
    const links = await store.listPipelineLinks(run.id)
    const releases = new Map<number, ReleaseFact>()
    const held = new Map<string, {reason: 'paused' | 'freeze'; message: string}>()
    const apps: AppFact[] = []
    if (state.step < plan.steps.length) {
      const pass = passOf(plan, state.step)
      for (const link of links) {
        if (link.releaseId === null || link.step < pass.first || link.step > pass.last) continue
        const release = await store.getRelease(link.releaseId)
        if (release) releases.set(release.id, {id: release.id, status: release.status, error: release.error, finishedAt: release.finishedAt})
      }
      const step = plan.steps[state.step]
      for (const environment of step.environments) {
        // A pause or a freeze holds the step there: the run waits, and releases when it is lifted or ends.
        const pauses = await store.listPauses(run.project, environment)
        const freeze = pauses.length > 0 ? null : await freezeHoldOf(store, run.project, environment, now)
        if (pauses.length > 0) held.set(environment, {reason: 'paused', message: describePauses(pauses)})
        else if (freeze) held.set(environment, {reason: 'freeze', message: `releases are frozen: ${describeFreeze(freeze)}`})
      }
      const stage = plan.stages[step.stage]
      if (state.step === pass.last && stage.gate.soakMs !== null) {
        const names = stepApps(plan, state.step).map((app) => app.name)
        for (const environment of stage.environments) apps.push(...(await appFacts(store, run.project, environment, names)))
      }
    }
    return {now, olderActive, links, releases, held, apps}
  }

  private async appendRunEvents(store: Store, run: PipelineRunRecord, kinds: EventKind[]): Promise<void> {
    if (kinds.length === 0) return
    const at = nowOf(this.ctx)
    const data = this.pipelineViews.summary(run)
    await store.appendEvents(kinds.map((kind) => ({kind, project: run.project, environment: null, releaseId: null, taskId: null, apps: null, data, at})))
  }

  // ---- runs: start, read, decide ----

  async run(projectName: string, pipelineName: string, request: RunPipelineRequest, context: RunContext): Promise<RunPipelineResponse | PipelineDryRun> {
    const {store} = this.ctx
    const project = await requireProject(store, projectName)
    const pipeline = project.blueprint.pipelines.find((candidate) => candidate.name === pipelineName)
    if (!pipeline) {
      const known = project.blueprint.pipelines.map((candidate) => candidate.name)
      throw notFound('pipeline', pipelineName, known, known.length > 0 ? undefined : 'declare it under "pipelines:" in the blueprint and apply it', `project ${project.name}`)
    }
    if (context.idempotencyKey && !request.dryRun) {
      const existing = await store.findPipelineRunByKey(context.idempotencyKey)
      if (existing) {
        if (existing.project !== project.name || existing.pipeline !== pipeline.name) {
          throw invalid(`idempotency key "${context.idempotencyKey}" was already used for pipeline run ${existing.id} of ${existing.project}/${existing.pipeline}`, 'use a new key for a different request')
        }
        return {run: await this.getRun(existing.id), created: false}
      }
    }
    const versions = await this.versionsFor(project, pipeline, request)
    // Refused before anything is recorded, as a trigger would be; a version blocked later fails its stage.
    await refuseBlockedVersions(store, project.name, versions.map(({name, version}) => ({name, toVersion: version})), `pipeline ${pipeline.name} would deploy a blocked version`)
    const plan = planPipeline(project.blueprint, pipeline, versions)
    const held = await this.firstStageHold(project.name, plan.steps[0].environments)
    const older = pipeline.queue === 'fifo' ? (await store.listPipelineRuns({project: project.name, pipeline: pipeline.name, statuses: ACTIVE_RUN_STATUSES, order: 'asc', limit: 1}))[0] : undefined
    if (request.dryRun) return dryRunView(project, pipeline, plan, older, held)
    if (held) throw new ControlPlaneError(held.reason === 'paused' ? 'paused' : 'frozen', `${held.message}; the run's first stage could not start, so no run was recorded`, {hint: held.hint})
    if (older && request.onConflict === 'fail') {
      throw new ControlPlaneError('state_lock', `run ${older.id} of pipeline ${pipeline.name} is ${older.status} (queue: fifo), and this run would wait for it; nothing was recorded`, {
        hint: `wait for it (relctl pipeline wait ${older.id}), or run with --on-conflict queue`,
      })
    }
    const {run, created} = await store.transaction(async (tx) => {
      const inserted = await tx.insertPipelineRun({
        project: project.name,
        pipeline: pipeline.name,
        status: 'queued',
        plan,
        createdBy: context.subject,
        source: request.source ?? 'api',
        comment: request.comment ?? null,
        idempotencyKey: context.idempotencyKey,
        createdAt: nowOf(this.ctx),
      })
      if (!inserted.created) return inserted
      await this.appendRunEvents(tx, inserted.run, ['pipeline.created'])
      if (pipeline.queue === 'supersede') {
        // The older runs finish the stage they are in and start no other.
        for (const previous of await tx.listPipelineRuns({project: project.name, pipeline: pipeline.name, statuses: ACTIVE_RUN_STATUSES})) {
          if (previous.id < inserted.run.id) await tx.updatePipelineRun(previous.id, {supersededBy: inserted.run.id})
        }
      }
      return inserted
    })
    if (created) {
      this.ctx.log.info({runId: run.id, project: project.name, pipeline: pipeline.name, by: context.subject}, 'pipeline run accepted')
      this.knownActive++
      await this.advance(run.id)
    }
    return {run: await this.getRun(run.id), created}
  }

  /** The run's apps and versions: --set, --apps (an app without a version takes the first environment's desired version). */
  private async versionsFor(project: ProjectRecord, pipeline: PipelineSpec, request: RunPipelineRequest): Promise<PipelineApp[]> {
    const declared = project.blueprint.resources.map((resource) => resource.name)
    const versions = new Map<string, string>()
    for (const {name, version} of request.versions ?? []) {
      if (versions.has(name) && versions.get(name) !== version) throw invalid(`${name} is given two versions: ${versions.get(name)} and ${version}`, 'give each app one version: --set api=1.5.0')
      versions.set(name, version)
    }
    const apps = request.apps ? [...new Set(request.apps)] : versions.size > 0 ? [...versions.keys()] : declared
    const unknown = [...new Set([...apps, ...versions.keys()])].filter((name) => !declared.includes(name))
    if (unknown.length > 0) {
      throw new ControlPlaneError('not_found', `unknown app${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in project ${project.name}; apps: ${declared.join(', ')}`, {validNames: declared})
    }
    const outside = [...versions.keys()].filter((name) => !apps.includes(name))
    if (outside.length > 0) throw invalid(`--set names ${outside.join(', ')}, which --apps leaves out`, 'add them to --apps, or drop them from --set')
    const firstEnvironment = pipeline.stages[0].environments[0]
    const states = await this.ctx.store.listApps(project.name, firstEnvironment, apps.filter((name) => !versions.has(name)))
    return apps.map((name) => ({name, version: versions.get(name) ?? states.find((state) => state.name === name)?.desiredVersion ?? 'latest'}))
  }

  /** A pause or a freeze on an environment of the first stage: a run is refused then, as a trigger would be. */
  private async firstStageHold(project: string, environments: string[]): Promise<{reason: 'paused' | 'freeze'; message: string; hint: string} | null> {
    const {store} = this.ctx
    const now = this.ctx.clock()
    for (const environment of environments) {
      const pauses = await store.listPauses(project, environment)
      if (pauses.length > 0) {
        const scope = pauses[0].level === 'environment' ? ` -e ${pauses[0].environment}` : ''
        return {reason: 'paused', message: describePauses(pauses), hint: `when it is time, resume (relctl resume -p ${project}${scope}) and run the pipeline again`}
      }
      const freeze = await freezeHoldOf(store, project, environment, now)
      if (freeze) return {reason: 'freeze', message: `releases are frozen: ${describeFreeze(freeze)}`, hint: 'run the pipeline again when the freeze ends (relctl freeze list)'}
    }
    return null
  }

  getRun(id: number): Promise<PipelineRun> {
    return this.pipelineViews.getRun(id)
  }

  /** Runs newest first (with `visible`: those it lets through, its grants, say). */
  listRuns(projectName: string, filter: {pipeline?: string; active?: boolean; limit: number; visible?: (environments: string[]) => boolean}): Promise<PipelineRunSummary[]> {
    return this.pipelineViews.listRuns(projectName, filter)
  }

  /** What access rules read: the environments a run touches ('all'), or those whose approval it needs ('gate'). */
  static environmentsOf(run: PipelineRunRecord, which: 'all' | 'gate'): string[] {
    return environmentsOf(run, which)
  }

  async approve(id: number, subject: string, comment: string | null): Promise<PipelineRun> {
    await this.gateDecision(id, subject, comment, 'approved')
    await this.advance(id)
    return this.getRun(id)
  }

  async reject(id: number, subject: string, comment: string | null): Promise<PipelineRun> {
    await this.gateDecision(id, subject, comment, 'rejected')
    return this.getRun(id)
  }

  private async gateDecision(id: number, subject: string, comment: string | null, decision: 'approved' | 'rejected'): Promise<void> {
    const at = nowOf(this.ctx)
    await this.ctx.store.transaction(async (tx) => {
      const run = await tx.lockPipelineRun(id)
      if (!run) throw runNotFound(id)
      // What it waits for now, not what was last recorded.
      const {state, decision: current} = await this.decide(tx, run)
      const waiting = isFinalRunStatus(state.status) ? null : current.waiting
      if (waiting?.reason !== 'approval' || waiting.stage === undefined) {
        const now = isFinalRunStatus(run.status) ? run.status : waiting ? `waiting: ${waiting.message}` : run.status
        throw invalid(`pipeline run ${id} is not waiting for an approval (it is ${now}); only a run at an approval gate can be ${decision}`)
      }
      const stage = waiting.stage
      if (decision === 'approved') {
        if (run.createdBy === subject) {
          const scope = run.plan.stages[stage].environments.map((environment) => `${run.project}/${environment}`).join(', ')
          throw forbidden(`token ${subject} created pipeline run ${id}; the creator of a run cannot approve its gates`, `another approver of ${scope} must approve it`)
        }
        const updated = (await tx.updatePipelineRun(id, {approvals: [...run.approvals, {stage, by: subject, at, comment}], waiting: null})) as PipelineRunRecord
        await this.appendRunEvents(tx, updated, ['pipeline.approved'])
      } else {
        const updated = (await tx.updatePipelineRun(id, {
          status: 'rejected',
          decision: {decision: 'rejected', by: subject, at, comment},
          error: `${stageLabel(run.plan, stage)} rejected by ${subject}${comment ? `: ${comment}` : ''}`,
          finishedAt: at,
          waiting: null,
        })) as PipelineRunRecord
        await this.appendRunEvents(tx, updated, ['pipeline.rejected'])
      }
    })
    this.ctx.log.info({runId: id, decision, by: subject}, 'pipeline run gate decided')
  }

  /** Ends the run: no other release starts; its releases pending, queued or running are cancelled. */
  async cancel(id: number, subject: string): Promise<PipelineRun> {
    const at = nowOf(this.ctx)
    await this.ctx.store.transaction(async (tx) => {
      const run = await tx.lockPipelineRun(id)
      if (!run) throw runNotFound(id)
      if (isFinalRunStatus(run.status)) throw invalid(`pipeline run ${id} has already ${run.status === 'superseded' ? 'been superseded' : `ended (${run.status})`}; there is nothing to cancel`)
      const updated = (await tx.updatePipelineRun(id, {status: 'cancelled', decision: {decision: 'cancelled', by: subject, at, comment: null}, error: `cancelled by ${subject}`, finishedAt: at, waiting: null})) as PipelineRunRecord
      await this.appendRunEvents(tx, updated, ['pipeline.cancelled'])
    })
    // A release the run made before the cancel committed is linked by now: the run's row was held while it was made.
    for (const link of await this.ctx.store.listPipelineLinks(id)) {
      if (link.releaseId === null) continue
      const release = await this.ctx.store.getRelease(link.releaseId)
      if (!release || !ACTIVE_STATUSES.includes(release.status)) continue
      await this.actions.cancel(release.id, subject).catch((error) => {
        if (!(error instanceof ControlPlaneError)) throw error
      })
    }
    this.ctx.log.info({runId: id, by: subject}, 'pipeline run cancelled')
    return this.getRun(id)
  }

  // ---- promote ----

  /** The versions deployed and stable in `from` become the desired versions of `to`, released there at once. */
  promote(projectName: string, to: string, request: PromoteRequest, context: RunContext): Promise<PromoteResponse> {
    return this.releases.promote(projectName, to, request, context)
  }
}

/** The apps of an environment among those named, as a soak reads them. */
async function appFacts(store: Store, project: string, environment: string, names: string[]): Promise<AppFact[]> {
  const [apps, active] = await Promise.all([store.listApps(project, environment, names), store.activeLocks(project, environment)])
  return apps.map((app) => {
    const sync = app.deployedVersion !== null && app.deployedVersion === app.desiredVersion && !app.removed ? 'Synced' : 'OutOfSync'
    const busy = active.some((release) => touches(release.lockSet, app.name))
    return {environment, name: app.name, sync, health: app.health, stable: sync === 'Synced' && app.health === 'Healthy' && !busy, updatedAt: app.updatedAt}
  })
}
