// The releases pipelines make: the release of a run's step in one environment (and the rollback of one
// when the run fails), and promote. Each is an ordinary selective release made in the environment's turn
// after the desired versions are set there, so every queue, lock, pause, approval and parallel setting of
// the environment applies to it. A run's release is made with an idempotency key per run, step and
// environment, and only while the run, whose row the turn holds, still wants it (pipelines.ts decides).
import type {AppVersion, PromoteRequest, PromoteResponse} from '../../api/pipeline-schemas.js'
import type {AppState} from '../../api/schemas.js'
import {ControlPlaneError, invalid, notFound} from '../errors.js'
import type {PipelineRunRecord} from '../store/store.js'
import {type EngineContext, nowOf} from './context.js'
import {requireProjectEnvironment} from './lookups.js'
import type {RunContext} from './pipelines.js'
import {stepApps} from './rules/pipeline-plan.js'
import {stageLabel} from './rules/pipeline-runs.js'
import type {RunCoordinator} from './runs/coordinator.js'
import {changeApp} from './runs/transitions.js'
import type {TriggerContext, Triggers} from './triggers.js'
import type {Views} from './views.js'

/** The idempotency key of a run's release: one per run, step and environment (and the release a rollback undoes). */
export function pipelineReleaseKey(run: number, step: number, environment: string): string {
  return `pipeline:${run}:${step + 1}:${environment}`
}

export class PipelineReleases {
  constructor(
    private readonly ctx: EngineContext,
    private readonly runs: RunCoordinator,
    private readonly views: Views,
    private readonly triggers: Triggers,
  ) {}

  /** The release of a step in one environment: the desired versions set, then one selective release of the step's apps. */
  async release(run: PipelineRunRecord, step: number, environment: string): Promise<void> {
    const {plan} = run
    const apps = stepApps(plan, step)
    const label = stageLabel(plan, plan.steps[step].stage)
    const context: TriggerContext = {
      subject: run.createdBy,
      idempotencyKey: pipelineReleaseKey(run.id, step, environment),
      source: 'pipeline',
      options: {pipeline: {run: run.id, pipeline: run.pipeline, stage: plan.steps[step].stage + 1, step: step + 1}},
    }
    try {
      await this.runs.turn(run.project, environment, async (tx) => {
        // The run's row, after the environment's turn, as every writer of runs takes them.
        const current = await tx.lockPipelineRun(run.id)
        if (!current || current.status !== 'running' || current.step !== step || current.error !== null) return
        const project = await requireProjectEnvironment(tx, run.project, environment)
        const existing = await tx.findByIdempotencyKey(context.idempotencyKey as string)
        if (!existing) {
          const at = nowOf(this.ctx)
          for (const app of apps) await changeApp(tx, run.project, environment, app.name, {desiredVersion: app.version}, at)
        }
        const {release} = await this.triggers.createRelease(
          tx,
          project,
          environment,
          {type: 'selective', resources: apps.map((app) => ({name: app.name})), comment: `pipeline ${run.pipeline} run ${run.id}, ${label}${run.comment ? `: ${run.comment}` : ''}`},
          context,
        )
        await tx.insertPipelineLink({runId: run.id, step, environment, kind: 'deploy', releaseId: release.id, note: null, createdAt: release.createdAt})
      })
    } catch (error) {
      await this.refused(run, step, environment, 'deploy', error)
    }
  }

  /** A rollback of one release of the failed pass: an ordinary rollback release. */
  async rollBack(run: PipelineRunRecord, step: number, environment: string, releaseId: number): Promise<void> {
    const {plan} = run
    try {
      const outcome = await this.triggers.rollback(
        releaseId,
        {comment: `pipeline ${run.pipeline} run ${run.id}: rollback of release ${releaseId} (${stageLabel(plan, plan.steps[step].stage)} failed)`},
        {
          subject: run.createdBy,
          idempotencyKey: `${pipelineReleaseKey(run.id, step, environment)}:rollback`,
          source: 'pipeline',
          options: {pipeline: {run: run.id, pipeline: run.pipeline, stage: plan.steps[step].stage + 1, step: step + 1}},
        },
      )
      if ('release' in outcome) {
        await this.ctx.store.insertPipelineLink({runId: run.id, step, environment, kind: 'rollback', releaseId: outcome.release.id, note: null, createdAt: outcome.release.createdAt})
      }
    } catch (error) {
      await this.refused(run, step, environment, 'rollback', error)
    }
  }

  /**
   * A release the control plane refused to make. A pause or a freeze passes (the run waits; the next
   * look tries again); any other refusal (a blocked version, say) is recorded as the step's outcome in that environment, which fails it.
   */
  private async refused(run: PipelineRunRecord, step: number, environment: string, kind: 'deploy' | 'rollback', error: unknown): Promise<void> {
    const holds = error instanceof ControlPlaneError && (error.code === 'paused' || error.code === 'frozen')
    if (!(error instanceof ControlPlaneError) || holds || error.code === 'state_lock' || error.code === 'internal') {
      if (!holds) this.ctx.log.error({runId: run.id, environment, err: error}, 'could not make a pipeline release; trying again')
      return
    }
    const note = `${kind === 'deploy' ? 'could not release' : 'not rolled back'}: ${error.message}`
    await this.ctx.store.insertPipelineLink({runId: run.id, step, environment, kind, releaseId: null, note, createdAt: nowOf(this.ctx)})
    this.ctx.log.warn({runId: run.id, environment, kind, note}, 'pipeline release refused')
  }

  /** The versions deployed and stable in `from` become the desired versions of `to`, released there at once. */
  async promote(projectName: string, to: string, request: PromoteRequest, context: RunContext): Promise<PromoteResponse> {
    const {store} = this.ctx
    const project = await requireProjectEnvironment(store, projectName, to)
    await requireProjectEnvironment(store, projectName, request.from)
    if (request.from === to) throw invalid(`--from and --to are both ${to}; promote moves versions from one environment to another`)
    const source = await this.views.appStates(project.name, request.from)
    const names = request.apps ? [...new Set(request.apps)] : source.filter((app) => !app.removedFromBlueprint).map((app) => app.name)
    const unknown = names.filter((name) => !source.some((app) => app.name === name))
    if (unknown.length > 0) throw notFound(`app${unknown.length > 1 ? 's' : ''}`, unknown.join(', '), source.map((app) => app.name), undefined, `${project.name}/${request.from}`)
    const chosen = names.map((name) => source.find((app) => app.name === name) as AppState)
    const offending = chosen.filter((app) => app.deployedVersion === null || !app.stable)
    if (offending.length > 0) {
      const stable = chosen.filter((app) => !offending.includes(app)).map((app) => app.name)
      throw invalid(
        `cannot promote from ${request.from}: ${offending.map(unstableText).join('; ')}; promote moves only versions that are deployed and stable (Synced, Healthy, no release under way) in the source`,
        `wait for ${offending.length > 1 ? 'them' : 'it'} (relctl release wait ${offending.map((app) => app.name).join(',')} -p ${project.name} -e ${request.from})${stable.length > 0 ? `, or promote the others: --apps ${stable.join(',')}` : ''}`,
      )
    }
    const versions: AppVersion[] = chosen.map((app) => ({name: app.name, version: app.deployedVersion as string}))
    const outcome = await this.runs.turn(project.name, to, async (tx) => {
      const existing = context.idempotencyKey ? await tx.findByIdempotencyKey(context.idempotencyKey) : null
      if (existing) {
        if (existing.project !== project.name || existing.environment !== to) throw invalid(`idempotency key "${context.idempotencyKey}" was already used for release ${existing.id} of ${existing.project}/${existing.environment}`, 'use a new key for a different request')
        return {releaseId: existing.id, unchanged: []}
      }
      const target = await tx.listApps(project.name, to, names)
      const at = nowOf(this.ctx)
      for (const {name, version} of versions) {
        if (target.find((app) => app.name === name)?.desiredVersion !== version) await changeApp(tx, project.name, to, name, {desiredVersion: version}, at)
      }
      const moving = versions.filter(({name, version}) => target.find((app) => app.name === name)?.deployedVersion !== version)
      const unchanged = versions.filter((app) => !moving.includes(app)).map((app) => app.name)
      if (moving.length === 0) return {releaseId: null, unchanged}
      const {release} = await this.triggers.createRelease(
        tx,
        project,
        to,
        {type: 'selective', resources: moving.map(({name}) => ({name})), comment: request.comment ?? `promoted from ${request.from}`, source: request.source ?? 'api'},
        {...context, options: {promotedFrom: request.from}},
      )
      return {releaseId: release.id, unchanged}
    })
    const release = outcome.releaseId === null ? null : (this.runs.runOf(outcome.releaseId)?.snapshot() ?? (await this.views.getRelease(outcome.releaseId)))
    return {from: request.from, to, versions, release, unchanged: outcome.unchanged}
  }
}

function unstableText(app: AppState): string {
  if (app.deployedVersion === null) return `${app.name} is not deployed`
  const active = app.activeReleases.map((release) => `release ${release.id} ${release.status.replace('_', ' ')}`).join(', ')
  return `${app.name} is ${app.sync}/${app.health} (deployed ${app.deployedVersion}, desired ${app.desiredVersion ?? '-'})${active ? `, ${active}` : ''}`
}
