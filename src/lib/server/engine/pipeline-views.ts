// Read models of pipelines: what the API shows of a run (its summary, and its tree of stages, steps,
// environments and releases, each with a status worked out from the releases it made), of a list of runs,
// and of a dry run. Nothing here writes; the runs are advanced by pipelines.ts.
import {ACTIVE_STATUSES, isFinalRunStatus, type PipelineRunStatus} from '../../api/domain.js'
import {durationText} from '../../api/duration.js'
import type {PipelineEventData} from '../../api/event-schemas.js'
import type {PipelineDryRun, PipelineRun, PipelineRunEnvironment, PipelineRunStage, PipelineRunStep, PipelineRunSummary, PipelineWaitingFor} from '../../api/pipeline-schemas.js'
import type {Release} from '../../api/schemas.js'
import type {PipelineSpec} from '../blueprint/pipelines.js'
import {ControlPlaneError} from '../errors.js'
import type {PipelineLinkRecord, PipelineRunRecord, ProjectRecord} from '../store/store.js'
import type {EngineContext} from './context.js'
import {requireProject} from './lookups.js'
import {describePipelineOrder, type PipelinePlan, releaseOrder, stepApps} from './rules/pipeline-plan.js'
import type {RunWaiting} from './rules/pipeline-runs.js'
import type {Views} from './views.js'

export const ACTIVE_RUN_STATUSES: PipelineRunStatus[] = ['queued', 'running']

export function runNotFound(id: number): ControlPlaneError {
  return new ControlPlaneError('not_found', `pipeline run ${id} not found`, {hint: 'list runs with: relctl pipeline list -p PROJECT'})
}

/**
 * What access rules read: the environments a run touches ('all'), or those whose approval it needs
 * ('gate'): the stage it waits at, else the stages with an approval gate (so that an approver asked
 * about a run that no longer waits hears why, rather than that he may not).
 */
export function environmentsOf(run: PipelineRunRecord, which: 'all' | 'gate'): string[] {
  const {stages} = run.plan
  if (which === 'gate') {
    const stage = run.waiting?.reason === 'approval' && run.waiting.stage !== undefined ? run.waiting.stage : null
    if (stage !== null) return stages[stage].environments
    const gated = stages.filter((candidate) => candidate.gate.approval)
    if (gated.length > 0) return gated.flatMap((candidate) => candidate.environments)
  }
  return stages.flatMap((candidate) => candidate.environments)
}

export class PipelineViews {
  constructor(
    private readonly ctx: EngineContext,
    private readonly views: Views,
  ) {}

  async getRun(id: number): Promise<PipelineRun> {
    const run = await this.ctx.store.getPipelineRun(id)
    if (!run) throw runNotFound(id)
    return this.runView(run)
  }

  /** Runs newest first (with `visible`: those it lets through, its grants, say). */
  async listRuns(projectName: string, filter: {pipeline?: string; active?: boolean; limit: number; visible?: (environments: string[]) => boolean}): Promise<PipelineRunSummary[]> {
    const project = await requireProject(this.ctx.store, projectName)
    const runs = await this.ctx.store.listPipelineRuns({project: project.name, pipeline: filter.pipeline, statuses: filter.active ? ACTIVE_RUN_STATUSES : undefined, limit: filter.limit})
    return runs.filter((run) => !filter.visible || filter.visible(environmentsOf(run, 'all'))).map((run) => this.summary(run))
  }

  summary(run: PipelineRunRecord): PipelineEventData {
    const {plan} = run
    const at = Math.min(run.step, plan.steps.length - 1)
    const final = isFinalRunStatus(run.status)
    return {
      id: run.id,
      project: run.project,
      pipeline: run.pipeline,
      status: run.status,
      versions: plan.apps,
      services: plan.services,
      queue: plan.queue,
      onFailure: plan.onFailure,
      stage: plan.steps[at].stage + 1,
      step: at + 1,
      steps: plan.steps.length,
      waitingFor: final || !run.waiting ? null : waitingView(run.waiting, this.ctx.clock().getTime()),
      supersededBy: run.supersededBy,
      approvals: run.approvals.map((approval) => ({...approval, stage: approval.stage + 1})),
      decision: run.decision,
      error: run.error,
      createdBy: run.createdBy,
      source: run.source,
      comment: run.comment,
      idempotencyKey: run.idempotencyKey,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
    }
  }

  /** The tree: stage -> step -> environment -> release (with its tasks), each with its status. */
  private async runView(run: PipelineRunRecord): Promise<PipelineRun> {
    const {plan} = run
    const links = await this.ctx.store.listPipelineLinks(run.id)
    const releases = new Map<number, Release>()
    for (const link of links) if (link.releaseId !== null) releases.set(link.releaseId, await this.views.getRelease(link.releaseId))
    const final = isFinalRunStatus(run.status)
    const find = (step: number, environment: string, kind: PipelineLinkRecord['kind']) => links.find((link) => link.step === step && link.environment === environment && link.kind === kind)
    const steps: PipelineRunStep[] = plan.steps.map((step, index) => {
      const environments: PipelineRunEnvironment[] = step.environments.map((environment) => {
        const deploy = find(index, environment, 'deploy')
        const rollback = find(index, environment, 'rollback')
        return {
          environment,
          apps: stepApps(plan, index),
          release: deploy?.releaseId ? (releases.get(deploy.releaseId) ?? null) : null,
          rollback: rollback?.releaseId ? (releases.get(rollback.releaseId) ?? null) : null,
          note: deploy?.note ?? rollback?.note ?? null,
        }
      })
      return {step: index + 1, service: step.service, status: stepStatus(run, index, environments, final), environments}
    })
    const stages: PipelineRunStage[] = plan.stages.map((stage, index) => {
      const own = steps.filter((_, stepIndex) => plan.steps[stepIndex].stage === index)
      const current = !final && run.step < plan.steps.length && plan.steps[run.step].stage === index ? steps[run.step] : undefined
      return {stage: index + 1, name: stage.name, environments: stage.environments, order: stage.order, gate: gateView(stage.gate), status: stageStatus(own, current, final), steps: own}
    })
    return {...this.summary(run), stages}
  }
}

/** What a run would do, and what it would wait for (a pause or a freeze refuses it; a fifo queue makes it wait). */
export function dryRunView(project: ProjectRecord, pipeline: PipelineSpec, plan: PipelinePlan, older: PipelineRunRecord | undefined, held: {reason: 'paused' | 'freeze'; message: string} | null): PipelineDryRun {
  const {blueprint} = project
  const wouldWaitFor: PipelineWaitingFor | null = held
    ? {reason: held.reason, message: `${held.message}; a run would be refused now`}
    : older
      ? {reason: 'queue', message: `would wait for run ${older.id} of pipeline ${pipeline.name} to end (queue: fifo)`, runs: [older.id]}
      : null
  return {
    dryRun: true,
    project: project.name,
    pipeline: pipeline.name,
    versions: plan.apps,
    services: plan.services,
    queue: plan.queue,
    onFailure: plan.onFailure,
    stages: plan.stages.map((stage, index) => ({stage: index + 1, name: stage.name, environments: stage.environments, order: stage.order, gate: gateView(stage.gate)})),
    steps: plan.steps.map((step, index) => ({
      step: index + 1,
      stage: step.stage + 1,
      service: step.service,
      environments: step.environments.map((environment) => {
        const apps = stepApps(plan, index).map((app) => app.name)
        return {environment, apps, order: releaseOrder(blueprint, environment, apps)}
      }),
    })),
    order: describePipelineOrder(blueprint, plan),
    wouldWaitFor,
  }
}

function gateView(gate: PipelinePlan['stages'][number]['gate']) {
  return {soak: gate.soakMs === null ? null : durationText(gate.soakMs), soakMs: gate.soakMs, approval: gate.approval}
}

function waitingView(waiting: RunWaiting, now: number): PipelineWaitingFor {
  const {stage, until, ...rest} = waiting
  return {
    ...rest,
    ...(stage !== undefined && {stage: stage + 1}),
    ...(until !== undefined && {until, leftMs: Math.max(0, Date.parse(until) - now)}),
  }
}

type PartStatus = PipelineRunStep['status']

function stepStatus(run: PipelineRunRecord, index: number, environments: PipelineRunEnvironment[], final: boolean): PartStatus {
  const current = !final && index === run.step
  const statuses = environments.map((environment) => (environment.release ? environment.release.status : environment.note ? 'failed' : null))
  if (statuses.every((status) => status === null)) {
    if (final) return 'skipped'
    return current && run.waiting && ['approval', 'paused', 'queue'].includes(run.waiting.reason) ? 'waiting' : 'pending'
  }
  if (statuses.some((status) => status !== null && ACTIVE_STATUSES.includes(status as Release['status']))) return 'running'
  if (statuses.some((status) => status === 'failed' || status === 'rejected')) return 'failed'
  if (statuses.some((status) => status === 'cancelled')) return 'cancelled'
  if (statuses.some((status) => status === null)) return final ? 'skipped' : 'running'
  return current && run.waiting?.reason === 'soak' ? 'soaking' : 'succeeded'
}

function stageStatus(steps: PipelineRunStep[], current: PipelineRunStep | undefined, final: boolean): PartStatus {
  if (current && current.status !== 'succeeded') return current.status
  const statuses = steps.map((step) => step.status)
  for (const status of ['failed', 'cancelled'] as const) if (statuses.includes(status)) return status
  if (statuses.every((status) => status === 'succeeded')) return 'succeeded'
  if (statuses.every((status) => status === 'pending')) return 'pending'
  if (statuses.every((status) => status === 'skipped')) return 'skipped'
  return final ? 'skipped' : 'running'
}
