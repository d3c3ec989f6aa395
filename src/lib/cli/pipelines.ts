// How pipeline runs read in a terminal (the tree stage -> environment -> release -> tasks, a list, a dry
// run), and waiting for a run: follow the event stream, report each change of the run, its gates and its
// releases, and end with the documented exit code.
import {EXIT, isFinalRunStatus} from '../api/domain.js'
import {formatDuration} from '../api/duration.js'
import {resourcesText, versionsText} from '../api/event-text.js'
import type {PipelineDryRun, PipelineRun, PipelineRunStage, PipelineRunSummary, PipelineWaitingFor} from '../api/pipeline-schemas.js'
import type {Release, Task} from '../api/schemas.js'
import type {ControlPlaneClient} from '../client/client.js'
import {watchChanges} from '../client/changes.js'
import {delay, jitter} from '../client/delay.js'
import {CliError, UnreachableError} from '../client/errors.js'
import {untilInterrupted} from './interrupt.js'
import {failureReport} from './outcomes.js'
import {ago, Progress, table} from './output.js'
import {printable} from './terminal-text.js'

export const isFinalRun = (run: Pick<PipelineRunSummary, 'status'>) => isFinalRunStatus(run.status)

function stageHeading(stage: Pick<PipelineRunStage, 'stage' | 'name' | 'environments' | 'order'>): string {
  const order = stage.environments.length > 1 ? `; ${stage.order}` : ''
  return `stage ${stage.stage}${stage.name ? ` ${stage.name}` : ''} (${stage.environments.join(', ')}${order})`
}

function gateText(gate: PipelineRunStage['gate'], waiting: PipelineWaitingFor | null, stage: number): string {
  const parts: string[] = []
  if (gate.approval) parts.push('approval')
  if (gate.soak) {
    const here = waiting?.reason === 'soak' && waiting.stage === stage
    parts.push(`soak ${gate.soak}${here ? (waiting.leftMs !== undefined ? `, ${formatDuration(waiting.leftMs)} left` : ', held') : ''}`)
  }
  return parts.length > 0 ? `  gate: ${parts.join(', ')}` : ''
}

function statusText(run: PipelineRunSummary): string {
  if (run.waitingFor) return `${run.status}: ${printable(run.waitingFor.message)}`
  return run.status
}

/** One line for a run: id, pipeline, versions, status, what it waits for. */
export function runSummary(run: PipelineRunSummary, created = true): string {
  if (!created) return `Pipeline run ${run.id} already exists for this idempotency key; nothing new was recorded. It is ${statusText(run)}`
  return `Pipeline run ${run.id} (${run.pipeline}: ${versionsText(run.versions)}) is ${statusText(run)}`
}

export function runTable(runs: PipelineRunSummary[]): string {
  return table(runs, [
    {header: 'id', get: (run) => run.id},
    {header: 'pipeline', get: (run) => run.pipeline},
    {header: 'status', get: (run) => run.status},
    {header: 'stage', get: (run) => `${run.stage} (step ${run.step}/${run.steps})`},
    {header: 'versions', get: (run) => versionsText(run.versions)},
    {header: 'by', get: (run) => `${run.createdBy} (${run.source})`},
    {header: 'created', get: (run) => ago(run.createdAt)},
    {header: 'waiting for', get: (run) => run.waitingFor?.message ?? (isFinalRun(run) ? run.error : '')},
  ])
}

function taskLine(task: Task): string {
  const took = task.startedAt ? ` ${formatDuration((task.finishedAt ? Date.parse(task.finishedAt) : Date.now()) - Date.parse(task.startedAt))}` : ''
  return `${task.key}  ${task.status}${task.status === 'pending' ? '' : took}${task.error ? `  (${printable(task.error)})` : ''}`
}

function releaseLine(label: string, release: Release): string {
  const waiting = release.waitingFor ? `: ${printable(release.waitingFor.message)}` : ''
  const error = release.error && release.status !== 'succeeded' ? `  (${printable(release.error)})` : ''
  return `${label} ${release.id} ${release.status}${waiting}  ${release.type}: ${resourcesText(release)}${error}`
}

/** The run as a tree: stage -> step (the app, with services: sequential) -> environment -> release -> tasks. */
export function runDetails(run: PipelineRun): string {
  const lines = [
    `Pipeline run ${run.id}: ${run.pipeline} of ${run.project}`,
    `  status:     ${statusText(run)}`,
    `  versions:   ${versionsText(run.versions)}`,
    `  services:   ${run.services}; queue ${run.queue}; on failure ${run.onFailure}`,
    `  created:    by ${run.createdBy} from ${run.source}, ${run.createdAt}${run.idempotencyKey ? ` (key ${run.idempotencyKey})` : ''}`,
    `  comment:    ${run.comment ? printable(run.comment) : '-'}`,
  ]
  if (run.startedAt) lines.push(`  started:    ${run.startedAt}`)
  if (run.finishedAt) lines.push(`  finished:   ${run.finishedAt}${run.startedAt ? ` (took ${formatDuration(Date.parse(run.finishedAt) - Date.parse(run.startedAt))})` : ''}`)
  for (const approval of run.approvals) lines.push(`  approved:   stage ${approval.stage} by ${approval.by} at ${approval.at}${approval.comment ? ` (${printable(approval.comment)})` : ''}`)
  if (run.decision) lines.push(`  decision:   ${run.decision.decision} by ${run.decision.by} at ${run.decision.at}${run.decision.comment ? ` (${printable(run.decision.comment)})` : ''}`)
  if (run.supersededBy) lines.push(`  superseded: by run ${run.supersededBy}`)
  if (run.error) lines.push(`  error:      ${printable(run.error)}`)
  for (const stage of run.stages) {
    lines.push('', `${stageHeading(stage)}  ${stage.status}${gateText(stage.gate, run.waitingFor, stage.stage)}`)
    for (const step of stage.steps) {
      for (const environment of step.environments) {
        const who = `  ${step.service ? `${step.service}: ` : ''}${environment.environment}`
        if (!environment.release) {
          lines.push(`${who}  ${environment.note ? printable(environment.note) : step.status === 'skipped' ? 'skipped' : 'not started'}`)
          continue
        }
        lines.push(`${who}  ${releaseLine('release', environment.release)}`)
        for (const task of environment.release.tasks ?? []) lines.push(`      ${taskLine(task)}`)
        if (environment.rollback) lines.push(`${' '.repeat(who.length)}  ${releaseLine('rolled back by release', environment.rollback)}`)
        else if (environment.note) lines.push(`${' '.repeat(who.length)}  ${printable(environment.note)}`)
      }
    }
  }
  return lines.join('\n')
}

export function pipelineDryRunText(dryRun: PipelineDryRun): string {
  const lines = [
    `Dry run: pipeline ${dryRun.pipeline} of ${dryRun.project} (services ${dryRun.services}, queue ${dryRun.queue}, on failure ${dryRun.onFailure}); nothing was recorded.`,
    `  versions: ${versionsText(dryRun.versions)}`,
  ]
  for (const stage of dryRun.stages) {
    lines.push(`  ${stageHeading(stage)}${gateText(stage.gate, null, stage.stage)}`)
    for (const step of dryRun.steps.filter((candidate) => candidate.stage === stage.stage)) {
      const where = step.environments.map((environment) => `${environment.environment}: ${environment.order || '(nothing)'}`).join('; ')
      lines.push(`    step ${step.step}${step.service ? ` (${step.service})` : ''}  ${where}`)
    }
  }
  lines.push(`  order:    ${dryRun.order}`)
  lines.push(`  now:      ${dryRun.wouldWaitFor ? `would wait: ${dryRun.wouldWaitFor.message}` : 'would start at once'}`)
  return lines.join('\n')
}

// ---- waiting ----

export type RunWait = {kind: 'final' | 'timeout'; run: PipelineRun} | {kind: 'unreachable'; run: PipelineRun; error: UnreachableError}

/** What changed in the run since the last look, one line each: its state, then each release by stage and environment. */
function reporter(onChange: (text: string) => void): (run: PipelineRun) => void {
  const seen = new Map<string, string>()
  const say = (key: string, text: string) => {
    if (seen.get(key) !== text) onChange(text)
    seen.set(key, text)
  }
  return (run) => {
    for (const stage of run.stages) {
      for (const step of stage.steps) {
        for (const environment of step.environments) {
          const where = `${stageHeading(stage)} ${step.service ? `${step.service} in ` : ''}${environment.environment}`
          const key = `${step.step}:${environment.environment}`
          if (environment.release) say(`${key}:release`, `${where}: release ${environment.release.id} ${environment.release.status}`)
          else if (environment.note) say(`${key}:release`, `${where}: ${environment.note}`)
          if (environment.rollback) say(`${key}:rollback`, `${where}: rolled back by release ${environment.rollback.id} ${environment.rollback.status}`)
        }
      }
    }
    const waiting = run.waitingFor && run.waitingFor.reason !== 'release' ? `: ${run.waitingFor.message}` : ''
    say('run', `run ${run.id} ${run.status}${waiting}${isFinalRun(run) && run.error ? `: ${run.error}` : ''}`)
  }
}

/** Follows a run until it ends: the events of its project tell when to look again (or the timer, without a stream). */
export async function waitForRun(client: ControlPlaneClient, first: PipelineRunSummary, options: {timeoutMs: number; intervalMs: number; onChange: (text: string) => void}): Promise<RunWait> {
  const deadline = Date.now() + options.timeoutMs
  const changes = await watchChanges(client, {project: first.project, kinds: 'pipeline.*,release.*'}, {intervalMs: options.intervalMs, onNotice: options.onChange})
  const report = reporter(options.onChange)
  let run: PipelineRun | null = null
  let unreachable: UnreachableError | null = null
  try {
    for (;;) {
      try {
        run = await client.getPipelineRun(first.id, {timeoutMs: 10_000})
        if (unreachable) options.onChange('control plane reachable again')
        unreachable = null
        report(run)
      } catch (error) {
        if (!(error instanceof UnreachableError)) throw error
        if (!unreachable) options.onChange(`${error.message}; retrying until the timeout`)
        unreachable = error
      }
      if (run && isFinalRun(run)) return {kind: 'final', run}
      if (Date.now() >= deadline) {
        const last = run ?? (await client.getPipelineRun(first.id))
        return unreachable ? {kind: 'unreachable', run: last, error: unreachable} : {kind: 'timeout', run: last}
      }
      try {
        if (unreachable) await delay(Math.min(jitter(options.intervalMs), Math.max(0, deadline - Date.now())))
        // A soak ends by the clock, not by an event: look again when it is due.
        else await changes.next(run?.waitingFor?.leftMs !== undefined ? Math.min(deadline, Date.now() + run.waitingFor.leftMs + 250) : deadline)
      } catch (error) {
        if (!(error instanceof UnreachableError) || !run) throw error
        return {kind: 'unreachable', run, error}
      }
    }
  } finally {
    changes.close()
  }
}

/** Exit 0 for a run that succeeded; 3 (with the failed releases' tasks and logs) for one that did not; 4, 6 (a pause or a freeze holds it) or 8 for a wait that ran out. */
export async function settleRun(client: ControlPlaneClient, wait: RunWait, timeoutText: string): Promise<PipelineRun> {
  const {run} = wait
  if (wait.kind === 'unreachable') throw new CliError(`${wait.error.message} (gave up after ${timeoutText})`, EXIT.unreachable, 'unreachable', wait.error.hint, {run})
  if (wait.kind === 'timeout') {
    const why = run.waitingFor ? `: ${run.waitingFor.message}` : ''
    if (run.waitingFor?.reason === 'paused') {
      throw new CliError(`timed out after ${timeoutText}; pipeline run ${run.id} is blocked by a pause${why}`, EXIT.paused, 'paused', 'nothing starts there while paused: resume (relctl resume -p P [-e E]), then wait again: relctl pipeline wait ' + run.id, {run})
    }
    if (run.waitingFor?.reason === 'freeze') {
      throw new CliError(`timed out after ${timeoutText}; pipeline run ${run.id} is blocked by a freeze${why}`, EXIT.paused, 'paused', 'the run goes on by itself when the freeze ends (relctl freeze list); wait again: relctl pipeline wait ' + run.id, {run})
    }
    const hint = run.waitingFor?.reason === 'approval' ? `someone other than ${run.createdBy} approves it with: relctl pipeline approve ${run.id}` : `keep waiting with: relctl pipeline wait ${run.id}`
    throw new CliError(`timed out after ${timeoutText}; pipeline run ${run.id} is ${run.status}${why}`, EXIT.timeout, 'timeout', hint, {run})
  }
  if (run.status === 'succeeded') return run
  const reports: string[] = []
  for (const stage of run.stages) {
    for (const step of stage.steps) {
      for (const environment of step.environments) {
        if (environment.release && ['failed', 'cancelled', 'rejected'].includes(environment.release.status)) reports.push(await failureReport(client, environment.release))
      }
    }
  }
  const message = [`Pipeline run ${run.id} ${run.status}${run.error ? `: ${run.error}` : ''}`, ...reports].join('\n\n')
  const hint = run.status === 'superseded' && run.supersededBy ? `the newer run goes on: relctl pipeline wait ${run.supersededBy}` : `see it all with: relctl pipeline show ${run.id}`
  throw new CliError(message, EXIT.releaseFailed, `pipeline_${run.status}`, hint, {run})
}

/** Waits for a run with progress on stderr: the run once it succeeded, else the documented error. */
export async function watchRun(client: ControlPlaneClient, run: PipelineRunSummary, flags: {timeout: number; interval: number}): Promise<PipelineRun> {
  const progress = await Progress.create(`pipeline run ${run.id}`)
  try {
    const waiting = waitForRun(client, run, {timeoutMs: flags.timeout, intervalMs: flags.interval, onChange: (text) => progress.event(text)})
    const wait = await untilInterrupted(waiting, `relctl pipeline wait ${run.id}`, () => progress.stop(), {stopped: 'stopped waiting; the run goes on on the control plane', again: 'wait again'})
    progress.stop()
    return await settleRun(client, wait, formatDuration(flags.timeout))
  } finally {
    progress.stop()
  }
}
