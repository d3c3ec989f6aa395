// How releases, apps and failures read in a terminal. Pure functions of API data -> text.
import type {AppState, Environment, LogLine, Release, Task} from '../api/schemas.js'
import {formatDuration} from '../api/duration.js'
import {ago, table} from './output.js'
import {localAndUtc, ruleText} from './schedule.js'

export function appTable(apps: AppState[]): string {
  return table(apps, [
    {header: 'app', get: (app) => app.name},
    {header: 'kind', get: (app) => app.kind},
    {header: 'desired', get: (app) => app.desiredVersion},
    {header: 'deployed', get: (app) => app.deployedVersion},
    {header: 'sync', get: (app) => (app.removedFromBlueprint ? 'OutOfSync (removed)' : app.sync)},
    {header: 'health', get: (app) => app.health},
    {header: 'release', get: (app) => app.activeReleases.map((release) => `${release.id} ${release.status}`).join(', ') || (app.lastRelease ? `last: ${app.lastRelease.id} ${app.lastRelease.status}` : '')},
  ])
}

export function resourcesText(release: Pick<Release, 'resources'>): string {
  if (release.resources.length === 0) return '(nothing to change)'
  return release.resources.map((resource) => (resource.action === 'update' ? resource.name : `${resource.name}:${resource.action}`)).join(', ')
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

function taskDuration(task: Task): string {
  if (!task.startedAt) return ''
  const end = task.finishedAt ? Date.parse(task.finishedAt) : Date.now()
  return formatDuration(end - Date.parse(task.startedAt))
}

export function taskTable(tasks: Task[]): string {
  return table(tasks, [
    {header: 'level', get: (task) => task.level},
    {header: 'task', get: (task) => task.resource},
    {header: 'action', get: (task) => task.action},
    {header: 'version', get: (task) => (task.action === 'delete' ? `${task.fromVersion ?? '-'} -> (deleted)` : `${task.fromVersion ?? '-'} -> ${task.toVersion ?? '-'}`)},
    {header: 'status', get: (task) => task.status},
    {header: 'took', get: taskDuration},
    {header: 'after', get: (task) => task.dependsOn.join(', ')},
    {header: 'error', get: (task) => task.error},
  ])
}

export function releaseDetails(release: Release): string {
  const lines = [
    `Release ${release.id}: ${release.type} of ${release.project}/${release.environment}`,
    `  status:     ${release.status}${statusSuffix(release)}`,
    `  resources:  ${resourcesText(release)}`,
    `  flags:      ${flagsText(release) || '-'}`,
    `  comment:    ${release.comment ?? '-'}`,
    `  triggered:  by ${release.triggeredBy} from ${release.source}, ${release.createdAt}${release.idempotencyKey ? ` (key ${release.idempotencyKey})` : ''}`,
  ]
  if (release.decision) {
    const {decision, by, at, comment} = release.decision
    lines.push(`  decision:   ${decision} by ${by} at ${at}${comment ? ` (${comment})` : ''}`)
  }
  if (release.startedAt) lines.push(`  started:    ${release.startedAt}`)
  if (release.finishedAt) {
    const took = release.startedAt ? ` (took ${formatDuration(Date.parse(release.finishedAt) - Date.parse(release.startedAt))})` : ''
    lines.push(`  finished:   ${release.finishedAt}${took}`)
  }
  if (release.error) lines.push(`  error:      ${release.error}`)
  if (release.tasks?.length) lines.push('', taskTable(release.tasks))
  return lines.join('\n')
}

function statusSuffix(release: Release): string {
  if (release.status === 'queued' || release.status === 'pending_approval') {
    const position = release.queuePosition ? ` (position ${release.queuePosition})` : ''
    return `${position}${release.waitingFor ? `: ${release.waitingFor.message}` : ''}`
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
    `  parallel:     ${environment.settings.parallel ? `on (max ${environment.settings.maxParallel})` : 'off'}`,
    `  approval:     ${environment.settings.approval ? 'on' : 'off'}`,
    ...(environment.pauses.length === 0
      ? ['  paused:       no']
      : environment.pauses.map(
          (pause) => `  paused:       yes, at the ${pause.level} level, by ${pause.by} since ${pause.at}${pause.reason ? `: ${pause.reason}` : ''}`,
        )),
    `  schedule:     ${environment.schedule ? `${ruleText(environment.schedule)}, ${environment.schedule.type}${environment.schedule.paused ? ' (paused)' : ''}; next run ${localAndUtc(environment.schedule.nextRunAt)}` : 'none'}`,
    ...(environment.schedule?.runs.map((run) => `                ${run.slotAt} ${run.outcome}${run.releaseId ? ` release ${run.releaseId}` : ''}${run.reason ? `: ${run.reason}` : ''}`) ?? []),
    `  active:       ${environment.activeReleases.map((release) => `${release.id} (${release.type}, ${release.status})`).join(', ') || 'none'}`,
  ].join('\n')
}

export function logLine(line: LogLine, options: {withResource: boolean}): string {
  const time = line.at.slice(11, 19)
  const who = options.withResource ? `${line.resource ?? 'release'} ` : ''
  const stream = line.stream === 'stdout' ? '' : `[${line.stream}] `
  return `${time} ${who}| ${stream}${line.line}`
}
