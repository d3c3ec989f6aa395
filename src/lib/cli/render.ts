// How releases, apps and failures read in a terminal. Pure functions of API data -> text. Tables escape
// control characters in every cell; free text from the server (comments, errors, reasons) is escaped
// here so that a newline in it cannot fake a line of the output.
import type {AppHistoryEntry, AppState, DryRun, Environment, LogLine, PlannedTask, Release, Task} from '../api/schemas.js'
import {formatDuration} from '../api/duration.js'
import {resourcesText} from '../api/event-text.js'
import {environmentFreezeLines} from './freezes.js'
import {ago, table} from './output.js'
import {localAndUtc, ruleText} from './schedule.js'
import {printable, printableLines} from './terminal-text.js'

export function appTable(apps: AppState[]): string {
  const blocked = (app: AppState, version: string | null) => version !== null && app.blockedVersions.some((block) => block.version === version)
  return table(apps, [
    {header: 'app', get: (app) => app.name},
    {header: 'kind', get: (app) => app.kind},
    {header: 'desired', get: (app) => (blocked(app, app.desiredVersion) ? `${app.desiredVersion} (blocked)` : app.desiredVersion)},
    {header: 'deployed', get: (app) => app.deployedVersion},
    {header: 'sync', get: (app) => (app.removedFromBlueprint ? 'OutOfSync (removed)' : app.drift ? `${app.sync} (drift: recorded ${app.drift.recordedVersion ?? 'none'}, live ${app.drift.liveVersion})` : app.sync)},
    {header: 'health', get: (app) => app.health},
    {header: 'release', get: (app) => app.activeReleases.map((release) => `${release.id} ${release.status}`).join(', ') || (app.lastRelease ? `last: ${app.lastRelease.id} ${app.lastRelease.status}` : '')},
    // Only where the project has blocked versions, so that the usual table stays as narrow as it was.
    ...(apps.some((app) => app.blockedVersions.length > 0) ? [{header: 'blocked', get: (app: AppState) => app.blockedVersions.map((block) => block.version).join(', ')}] : []),
  ])
}

export function flagsText(release: Release): string {
  const flags = [release.refresh && 'refresh', release.force && 'force', release.allowDestructive && 'allow-destructive'].filter(Boolean)
  return flags.join(',')
}

export function releaseTable(releases: Release[], options: {active?: boolean} = {}): string {
  return table(releases, [
    {header: 'id', get: (release) => release.id},
    ...(options.active ? [{header: 'pos', get: (release: Release) => release.queuePosition ?? (release.status === 'running' ? 'run' : '')}] : []),
    {header: 'env', get: (release) => `${release.project}/${release.environment}`},
    {header: 'type', get: (release) => release.type},
    {header: 'status', get: (release) => release.status},
    {header: 'resources', get: (release) => resourcesText(release)},
    {header: 'flags', get: (release) => flagsText(release)},
    {header: 'by', get: (release) => `${release.triggeredBy} (${release.source})`},
    {header: 'created', get: (release) => ago(release.createdAt)},
    ...(options.active ? [{header: 'waiting for', get: (release: Release) => release.waitingFor?.message}] : []),
    {header: 'comment', get: (release) => release.comment},
  ])
}

function taskDuration(task: Pick<Task, 'startedAt' | 'finishedAt'>): string {
  if (!task.startedAt) return ''
  const end = task.finishedAt ? Date.parse(task.finishedAt) : Date.now()
  return formatDuration(end - Date.parse(task.startedAt))
}

function versionChange(task: Pick<Task, 'kind' | 'action' | 'fromVersion' | 'toVersion'>): string {
  if (task.kind === 'hook') return 'hook'
  if (task.action === 'delete') return `delete ${task.fromVersion ?? '-'}`
  return `${task.action} ${task.fromVersion ?? '(none)'} -> ${task.toVersion ?? '-'}`
}

/**
 * The plan as a tree, step -> task -> target, each node with its status and duration when the
 * release has run (plain planned tasks for a dry run).
 */
export function planTree(tasks: (Task | PlannedTask)[]): string {
  const lines: string[] = []
  const attempt = (task: Task) => (task.attempts > 1 ? ` attempt ${task.attempt}/${task.attempts}` : '')
  const state = (task: Task | PlannedTask) =>
    'status' in task ? `  ${task.status}${attempt(task)}${taskDuration(task) ? ` ${taskDuration(task)}` : ''}${task.error ? `  (${printable(task.error)})` : ''}` : ''
  // Steps in plan order; target hooks (which belong to no step) after them, under their own heading.
  const steps = [...new Set([...tasks].sort((a, b) => a.level - b.level).filter((task) => task.kind === 'deploy').map((task) => task.step))]
  const hooks = tasks.filter((task) => task.kind === 'hook')
  for (const step of [...steps, ...(hooks.length > 0 ? ['(hooks)'] : [])]) {
    const inStep = step === '(hooks)' ? hooks : tasks.filter((task) => task.kind === 'deploy' && task.step === step)
    const indent = step === null ? '' : '  '
    if (step === '(hooks)') lines.push('target hooks')
    else if (step !== null) lines.push(`step ${step}`)
    const names = [...new Set(inStep.map((task) => task.resource ?? `${task.hook} hook`))]
    for (const name of names) {
      const nodes = inStep.filter((task) => (task.resource ?? `${task.hook} hook`) === name)
      const [first] = nodes
      if (nodes.length === 1 && first.target === null) {
        lines.push(`${indent}${name}  ${versionChange(first)}  [level ${first.level}]${state(first)}`)
        continue
      }
      lines.push(`${indent}${name}  ${versionChange(first)}`)
      for (const node of nodes) lines.push(`${indent}  @${node.target}  [level ${node.level}]${state(node)}`)
    }
  }
  return lines.join('\n')
}

export function dryRunText(dryRun: DryRun): string {
  const {plan} = dryRun
  const lines = [`Dry run: ${dryRun.type} release of ${dryRun.project}/${dryRun.environment}; nothing was queued.`]
  if (dryRun.refreshed.length > 0) {
    lines.push(`  refresh found drift: ${dryRun.refreshed.map((drift) => `${drift.name} recorded ${drift.recordedVersion ?? '(none)'}, live ${drift.liveVersion}`).join('; ')}`)
  }
  lines.push(`  changes:  ${dryRun.resources.map((resource) => `${resource.name} ${versionChange({kind: 'deploy', ...resource})}`).join('; ') || 'nothing'}`)
  if (plan.targets.length > 0) lines.push(`  targets:  ${plan.targets.join(', ')} (services ${plan.rollout.services}, targets ${plan.rollout.targets})`)
  if (plan.steps.length > 0) {
    lines.push(`  steps:    ${plan.steps.map((step) => `${step.step}${step.haltOnError ? ' (haltOnError)' : ''}${step.waitForFinish ? '' : ' (waitForFinish: false)'}`).join(' -> ')}`)
  }
  if (plan.hooks.beforeTarget || plan.hooks.afterTarget) {
    const why = plan.tasks.length === 0 ? 'nothing to deploy' : 'targets roll out in parallel'
    lines.push(`  hooks:    ${plan.hooks.run ? `run around each target (beforeTarget: ${plan.hooks.beforeTarget ?? '-'}, afterTarget: ${plan.hooks.afterTarget ?? '-'})` : `not run (${why})`}`)
  }
  lines.push(`  order:    ${dryRun.order || '(no tasks)'}`)
  for (const note of plan.notes) lines.push(`  note:     ${note}`)
  lines.push(`  now:      ${dryRun.wouldWaitFor ? `would wait: ${dryRun.wouldWaitFor.message}` : 'would start at once'}`)
  if (plan.tasks.length > 0) lines.push('', planTree(plan.tasks))
  return lines.join('\n')
}

export function historyTable(entries: AppHistoryEntry[]): string {
  return table(entries, [
    {header: 'finished', get: (entry) => entry.finishedAt},
    {header: 'release', get: (entry) => `${entry.releaseId} (${entry.type})`},
    {header: 'change', get: (entry) => versionChange({kind: 'deploy', ...entry})},
    {header: 'target', get: (entry) => entry.target},
    {header: 'by', get: (entry) => entry.triggeredBy},
  ])
}

export function releaseDetails(release: Release): string {
  const lines = [
    `Release ${release.id}: ${release.type} of ${release.project}/${release.environment}`,
    `  status:     ${release.status}${statusSuffix(release)}`,
    `  resources:  ${resourcesText(release)}`,
    `  flags:      ${flagsText(release) || '-'}`,
    `  comment:    ${release.comment ? printable(release.comment) : '-'}`,
    `  triggered:  by ${release.triggeredBy} from ${release.source}, ${release.createdAt}${release.idempotencyKey ? ` (key ${release.idempotencyKey})` : ''}`,
  ]
  if (release.approvals?.length) {
    const approvals = release.approvals.map(({by, at, comment}) => `${by} at ${at}${comment ? ` (${printable(comment)})` : ''}`)
    lines.push(`  approved:   by ${approvals.join(', ')}`)
  }
  if (release.decision) {
    const {decision, by, at, comment} = release.decision
    lines.push(`  decision:   ${decision} by ${by} at ${at}${comment ? ` (${printable(comment)})` : ''}`)
  }
  if (release.startedAt) lines.push(`  started:    ${release.startedAt}`)
  if (release.finishedAt) {
    const took = release.startedAt ? ` (took ${formatDuration(Date.parse(release.finishedAt) - Date.parse(release.startedAt))})` : ''
    lines.push(`  finished:   ${release.finishedAt}${took}`)
  }
  if (release.error) lines.push(`  error:      ${printable(release.error)}${release.endReason ? ` (reason: ${release.endReason})` : ''}`)
  if (release.freezeOverride) lines.push(`  freeze:     overridden by ${release.freezeOverride.by} at ${release.freezeOverride.at}: ${printable(release.freezeOverride.reason)}`)
  if (release.options.deadlineMs !== undefined) {
    const stopsAt = release.status === 'running' && release.deadlineAt ? ` (stopped at ${release.deadlineAt} if still running)` : ''
    lines.push(`  deadline:   ${formatDuration(release.options.deadlineMs)} of running${stopsAt}`)
  }
  if (release.expiresAt && (release.status === 'queued' || release.status === 'pending_approval')) {
    lines.push(`  expires:    ${release.expiresAt} unless it starts (--expire-after ${formatDuration(release.options.expireAfterMs ?? 0)})`)
  }
  if (release.options.retryOf) lines.push(`  retries:    release ${release.options.retryOf}`)
  if (release.options.rollbackOf) lines.push(`  rolls back: release ${release.options.rollbackOf}`)
  if (release.options.pipeline) {
    const {run, pipeline, stage, step} = release.options.pipeline
    lines.push(`  pipeline:   run ${run} of ${pipeline}, stage ${stage} (step ${step}): relctl pipeline show ${run}`)
  }
  if (release.options.promotedFrom) lines.push(`  promoted:   from ${release.options.promotedFrom}`)
  if (release.options.steps) lines.push(`  steps:      ${release.options.steps.join(', ')}`)
  if (release.options.targetOrder) lines.push(`  targets:    ${release.options.targetOrder} (one-off)`)
  if (release.tasks?.length) lines.push('', planTree(release.tasks))
  return lines.join('\n')
}

function statusSuffix(release: Release): string {
  if (release.status === 'queued' || release.status === 'pending_approval') {
    const position = release.queuePosition ? ` (position ${release.queuePosition})` : ''
    return `${position}${release.waitingFor ? `: ${printable(release.waitingFor.message)}` : ''}`
  }
  return ''
}

/** One line for a trigger's answer: id, status, and for a queued release its position and reason. */
export function releaseSummary(release: Release, created: boolean): string {
  if (!created) return `Release ${release.id} already exists for this idempotency key; nothing new was queued. It is ${release.status}${statusSuffix(release)}`
  return `Release ${release.id} (${release.type}: ${resourcesText(release)}) is ${release.status}${statusSuffix(release)}`
}

export function environmentDetails(environment: Environment): string {
  return [
    `Environment ${environment.project}/${environment.name}`,
    `  apps:         ${environment.apps.total} (${environment.apps.synced} synced, ${environment.apps.healthy} healthy)`,
    ...(environment.targets.length > 0
      ? [`  targets:      ${environment.targets.join(', ')} (services ${environment.rollout.services}, targets ${environment.rollout.targets})`]
      : []),
    `  parallel:     ${environment.settings.parallel ? `on (max ${environment.settings.maxParallel})` : 'off'}`,
    `  approval:     ${environment.settings.approval ? 'on' : 'off'}`,
    ...(environment.pauses.length === 0
      ? ['  paused:       no']
      : environment.pauses.map(
          (pause) => `  paused:       yes, at the ${pause.level} level, by ${pause.by} since ${pause.at}${pause.reason ? `: ${printable(pause.reason)}` : ''}`,
        )),
    ...environmentFreezeLines(environment),
    `  schedule:     ${environment.schedule ? `${ruleText(environment.schedule)}, ${environment.schedule.type}${environment.schedule.paused ? ' (paused)' : ''}; next run ${localAndUtc(environment.schedule.nextRunAt)}` : 'none'}`,
    ...(environment.schedule?.runs.map((run) => `                ${run.slotAt} ${run.outcome}${run.releaseId ? ` release ${run.releaseId}` : ''}${run.reason ? `: ${run.reason}` : ''}`) ?? []),
    `  active:       ${environment.activeReleases.map((release) => `${release.id} (${release.type}, ${release.status})`).join(', ') || 'none'}`,
  ].join('\n')
}

/** A log line as `release logs` prints it; the line keeps its tabs, other control characters are escaped. */
export function logLine(line: LogLine, options: LogLineOptions): string {
  return printableLines(rawLogLine(line, options))
}

/** A log line with its text as the deploy wrote it (`release logs --raw`). */
export function rawLogLine(line: LogLine, options: LogLineOptions): string {
  const time = line.at.slice(11, 19)
  const target = options.withTarget && line.target ? `@${line.target}` : ''
  // The attempt a line belongs to, from the second on: the first attempt's lines read as before retries existed.
  const attempt = line.attempt !== null && line.attempt > 1 ? ` #${line.attempt}` : ''
  const who = options.withResource ? `${line.resource ?? 'release'}${target}${attempt} ` : target || attempt ? `${target}${attempt} `.trimStart() : ''
  const stream = line.stream === 'stdout' ? '' : `[${line.stream}] `
  return `${time} ${who}| ${stream}${line.line}`
}

interface LogLineOptions {
  withResource: boolean
  withTarget: boolean
}
