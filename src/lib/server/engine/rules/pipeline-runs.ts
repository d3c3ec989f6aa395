// What a pipeline run does next, decided from what the database holds: the run, the releases it made,
// and for its current step the pauses and (for a soak) the apps. Pure: the engine gathers the facts,
// asks, and records the answer in the transaction that holds the run's row (engine/pipelines.ts).
//
// One decision covers the run's current step. When the step is done the decision moves the run to the
// next one and says `again`: the engine gathers that step's facts and asks again, in the same
// transaction, so one pass of the engine can go through several steps (a gate that is already met).
import type {PipelineRunStatus, PipelineWaitReason, ReleaseStatus} from '../../../api/domain.js'
import {durationText} from '../../../api/duration.js'
import {firstStepOfStage, passOf, type PipelinePlan} from './pipeline-plan.js'

export interface RunWaiting {
  reason: PipelineWaitReason
  message: string
  /** the stage (index) a gate belongs to */
  stage?: number
  /** a soak: when it ends, if the apps stay Synced and Healthy */
  until?: string
  /** what it waits for */
  runs?: number[]
  releases?: number[]
}

export interface StageApproval {
  stage: number
  by: string
  at: string
  comment: string | null
}

/** The run as the decision reads it. */
export interface RunState {
  id: number
  status: PipelineRunStatus
  step: number
  plan: PipelinePlan
  createdBy: string
  approvals: StageApproval[]
  supersededBy: number | null
  /** set once the run is failing: it ends failed (after its rollbacks, with onFailure: rollback) */
  error: string | null
  rollingBack: boolean
}

/** A release the run made (or could not make: no release, and a note why). */
export interface RunLink {
  step: number
  environment: string
  kind: 'deploy' | 'rollback'
  releaseId: number | null
  note: string | null
}

export interface ReleaseFact {
  id: number
  status: ReleaseStatus
  error: string | null
  finishedAt: string | null
}

export interface AppFact {
  environment: string
  name: string
  sync: string
  health: string
  /** Synced, Healthy, and nothing pending, queued or running touches it */
  stable: boolean
  updatedAt: string
}

export interface RunFacts {
  now: Date
  /** fifo: the oldest run of the pipeline created before this one that has not ended */
  olderActive: number | null
  links: RunLink[]
  releases: ReadonlyMap<number, ReleaseFact>
  /** the pauses and freezes that hold the current step's environments: environment -> what holds it */
  held: ReadonlyMap<string, {reason: 'paused' | 'freeze'; message: string}>
  /** for a soak: the current pass's apps in its stage's environments */
  apps: AppFact[]
}

/** pipeline.stage: the run reached a stage (with services: sequential, an app's pass through it); it may wait at its gate next. */
export type RunEventKind = 'pipeline.started' | 'pipeline.stage' | 'pipeline.succeeded' | 'pipeline.failed' | 'pipeline.superseded'

export interface RunPatch {
  status?: PipelineRunStatus
  step?: number
  startedAt?: string
  finishedAt?: string
  error?: string | null
  rollingBack?: boolean
}

export interface RunDecision {
  patch: RunPatch
  waiting: RunWaiting | null
  events: RunEventKind[]
  /** environments of the current step to release now */
  trigger: string[]
  /** ended releases of the failed pass to roll back now */
  rollback: {step: number; environment: string; releaseId: number}[]
  /** the run moved to its next step: gather that step's facts and decide again */
  again: boolean
}

const ACTIVE: readonly ReleaseStatus[] = ['pending_approval', 'queued', 'running']

/** "stage 2 (staging-eu, staging-us)", or "stage 2 staging (...)" for a named one. */
export function stageLabel(plan: PipelinePlan, stage: number): string {
  const {name, environments} = plan.stages[stage]
  return `stage ${stage + 1}${name ? ` ${name}` : ''} (${environments.join(', ')})`
}

function releaseText(link: RunLink, release: ReleaseFact | undefined): string {
  if (!release) return `${link.environment}: ${link.note ?? 'no release'}`
  return `release ${release.id} (${link.environment}) ${release.status.replace('_', ' ')}${release.error && release.status !== 'succeeded' ? `: ${release.error}` : ''}`
}

export function decideRun(run: RunState, facts: RunFacts): RunDecision {
  const decision: RunDecision = {patch: {}, waiting: null, events: [], trigger: [], rollback: [], again: false}
  const now = facts.now.toISOString()
  const {plan} = run
  const end = (status: PipelineRunStatus, event: RunEventKind | null, error: string | null = run.error) => {
    Object.assign(decision.patch, {status, finishedAt: now, error})
    if (event) decision.events.push(event)
    return decision
  }

  if (run.status === 'queued') {
    if (facts.olderActive !== null) {
      decision.waiting = {reason: 'queue', message: `waits for run ${facts.olderActive} of pipeline ${plan.pipeline} to end (queue: fifo)`, runs: [facts.olderActive]}
      return decision
    }
    Object.assign(decision.patch, {status: 'running', startedAt: now})
    decision.events.push('pipeline.started', 'pipeline.stage')
  }
  if (run.step >= plan.steps.length) return end('succeeded', 'pipeline.succeeded')

  const step = plan.steps[run.step]
  const pass = passOf(plan, run.step)
  const linkOf = (index: number, environment: string, kind: RunLink['kind'] = 'deploy') =>
    facts.links.find((link) => link.step === index && link.environment === environment && link.kind === kind)
  const links = step.environments.map((environment) => linkOf(run.step, environment)).filter((link): link is RunLink => link !== undefined)
  const started = links.length > 0

  if (run.error !== null) return rollingBack(run, facts, pass, linkOf, decision, end)

  if (!started && run.step === pass.first) {
    // A superseded run starts no other stage (pass); the one under way has finished.
    if (run.supersededBy !== null) return end('superseded', 'pipeline.superseded', `run ${run.supersededBy} replaced it (queue: supersede)`)
    const stage = plan.stages[step.stage]
    if (stage.gate.approval && firstStepOfStage(plan, step.stage) === run.step && !run.approvals.some((approval) => approval.stage === step.stage)) {
      decision.waiting = {
        reason: 'approval',
        stage: step.stage,
        message: `waits for approval of ${stageLabel(plan, step.stage)}: relctl pipeline approve ${run.id} (by someone other than ${run.createdBy}, who created the run)`,
      }
      return decision
    }
  }

  const missing = step.environments.filter((environment) => !linkOf(run.step, environment))
  if (missing.length > 0) {
    const held = missing.filter((environment) => facts.held.has(environment))
    decision.trigger = missing.filter((environment) => !facts.held.has(environment))
    if (held.length > 0) {
      const holds = held.map((environment) => ({environment, ...(facts.held.get(environment) as {reason: 'paused' | 'freeze'; message: string})}))
      decision.waiting = {reason: holds[0].reason, message: holds.map((hold) => `${hold.environment}: ${hold.message}`).join('; ')}
    } else {
      decision.waiting = {reason: 'release', message: `releases ${stageLabel(plan, step.stage)}: ${decision.trigger.join(', ')}`}
    }
    return decision
  }

  const active = links.filter((link) => link.releaseId !== null && ACTIVE.includes(facts.releases.get(link.releaseId)?.status ?? 'queued'))
  if (active.length > 0) {
    decision.waiting = {
      reason: 'release',
      message: active.map((link) => releaseText(link, facts.releases.get(link.releaseId as number))).join('; '),
      releases: active.map((link) => link.releaseId as number),
    }
    return decision
  }

  const bad = links.filter((link) => link.releaseId === null || facts.releases.get(link.releaseId)?.status !== 'succeeded')
  if (bad.length > 0) {
    const error = `${stageLabel(plan, step.stage)} failed: ${bad.map((link) => releaseText(link, link.releaseId === null ? undefined : facts.releases.get(link.releaseId))).join('; ')}`
    if (plan.onFailure === 'rollback') {
      decision.patch.error = error
      decision.patch.rollingBack = true
      return rollingBack({...run, error, rollingBack: true}, facts, pass, linkOf, decision, end)
    }
    return end('failed', 'pipeline.failed', error)
  }

  // The step succeeded everywhere.
  if (run.step === plan.steps.length - 1) return end('succeeded', 'pipeline.succeeded')
  if (run.step === pass.last) {
    if (run.supersededBy !== null) return end('superseded', 'pipeline.superseded', `run ${run.supersededBy} replaced it (queue: supersede)`)
    const soakMs = plan.stages[step.stage].gate.soakMs
    if (soakMs !== null) {
      const waiting = soak(run, facts, pass, linkOf, soakMs)
      if (waiting) {
        decision.waiting = waiting
        return decision
      }
    }
  }
  decision.patch.step = run.step + 1
  // The run reaches the next stage (or the next app's pass): news once, from the one writer that moved it.
  if (passOf(plan, run.step + 1).first === run.step + 1) decision.events.push('pipeline.stage')
  decision.again = true
  return decision
}

/**
 * After a pass: its apps must stay Synced and Healthy (and untouched by any release) for the soak. The
 * clock starts at the later of the pass's end and the last change of any of its apps, so an app that
 * degraded and recovered meanwhile starts it again; while one is not fine, the soak is held.
 */
function soak(run: RunState, facts: RunFacts, pass: {first: number; last: number}, linkOf: (step: number, environment: string) => RunLink | undefined, soakMs: number): RunWaiting | null {
  const {plan} = run
  const stage = plan.steps[run.step].stage
  const label = stageLabel(plan, stage)
  const unwell = facts.apps.filter((app) => !app.stable)
  if (unwell.length > 0) {
    const what = unwell.map((app) => `${app.name} in ${app.environment} is ${app.sync}/${app.health}${app.sync === 'Synced' && app.health === 'Healthy' ? ' with a release under way' : ''}`).join('; ')
    return {reason: 'soak', stage, message: `soak of ${label} held: ${what}; its ${durationText(soakMs)} start again once every app is Synced and Healthy`}
  }
  let since = 0
  for (let index = pass.first; index <= pass.last; index++) {
    for (const environment of plan.steps[index].environments) {
      const finished = facts.releases.get(linkOf(index, environment)?.releaseId ?? -1)?.finishedAt
      if (finished) since = Math.max(since, Date.parse(finished))
    }
  }
  for (const app of facts.apps) since = Math.max(since, Date.parse(app.updatedAt))
  const until = since + soakMs
  if (facts.now.getTime() >= until) return null
  const untilText = new Date(until).toISOString()
  return {reason: 'soak', stage, until: untilText, message: `soak of ${label}, ${durationText(soakMs)}: its apps are Synced and Healthy since ${new Date(since).toISOString()}; the next stage starts at ${untilText} if they stay so`}
}

/**
 * A failed pass with onFailure: rollback: every release of the pass that ended is rolled back (newest
 * first), each with an ordinary rollback release; the run ends failed once they have ended.
 */
function rollingBack(
  run: RunState,
  facts: RunFacts,
  pass: {first: number; last: number},
  linkOf: (step: number, environment: string, kind?: RunLink['kind']) => RunLink | undefined,
  decision: RunDecision,
  end: (status: PipelineRunStatus, event: RunEventKind | null, error?: string | null) => RunDecision,
): RunDecision {
  if (!run.rollingBack) return end('failed', 'pipeline.failed')
  const {plan} = run
  const rolled: string[] = []
  const underWay: number[] = []
  for (let index = run.step; index >= pass.first; index--) {
    for (const environment of [...plan.steps[index].environments].reverse()) {
      const deploy = linkOf(index, environment)
      if (!deploy || deploy.releaseId === null) continue
      const rollback = linkOf(index, environment, 'rollback')
      if (!rollback) {
        decision.rollback.push({step: index, environment, releaseId: deploy.releaseId})
        continue
      }
      if (rollback.releaseId === null) {
        rolled.push(`${environment}: ${rollback.note ?? 'not rolled back'}`)
        continue
      }
      const release = facts.releases.get(rollback.releaseId)
      if (!release || ACTIVE.includes(release.status)) underWay.push(rollback.releaseId)
      else rolled.push(releaseText(rollback, release))
    }
  }
  if (decision.rollback.length > 0 || underWay.length > 0) {
    const releases = underWay.length > 0 ? underWay : undefined
    decision.waiting = {reason: 'rollback', message: `rolls back ${stageLabel(plan, plan.steps[run.step].stage)} after: ${run.error}`, ...(releases && {releases})}
    return decision
  }
  return end('failed', 'pipeline.failed', `${run.error}; rollbacks: ${rolled.join('; ') || 'none'}`)
}
