// How an event reads for people, in the words `relctl watch` prints and notifications send. Pure: event ->
// text; the caller escapes it for where it goes (a terminal, Slack).
import {formatDuration} from './duration.js'
import type {Event, PipelineEventData} from './event-schemas.js'
import type {Release} from './schemas.js'

/** "api, web:create" for a release's resources; "(nothing to change)" when it has none. */
export function resourcesText(release: Pick<Release, 'resources'>): string {
  if (release.resources.length === 0) return '(nothing to change)'
  return release.resources.map((resource) => (resource.action === 'update' ? resource.name : `${resource.name}:${resource.action}`)).join(', ')
}

/** Where an event happened: control plane, a project, or project/environment. */
export function scopeOf(event: Event): string {
  if (event.project === null) return 'control plane'
  return event.environment === null ? event.project : `${event.project}/${event.environment}`
}

/** An event of a pipeline run: every `pipeline.*` kind carries the run. */
export type PipelineEvent = Extract<Event, {kind: `pipeline.${string}`}>

export function isPipelineEvent(event: Event): event is PipelineEvent {
  return event.kind.startsWith('pipeline.')
}

/** What happened, one line (a log event: one per log line). */
export function describeEvent(event: Event): string[] {
  if (isPipelineEvent(event)) return [pipelineEventText(event.kind, event.data)]
  switch (event.kind) {
    case 'release.created':
    case 'release.pending_approval':
    case 'release.approved':
    case 'release.rejected':
    case 'release.queued':
    case 'release.started':
    case 'release.succeeded':
    case 'release.failed':
    case 'release.cancelled': {
      const release = event.data
      const verb = event.kind.slice('release.'.length).replace('_', ' ')
      const detail =
        event.kind === 'release.created'
          ? ` (${release.type}: ${resourcesText(release)}) by ${release.triggeredBy}${release.comment ? `: ${release.comment}` : ''}`
          : event.kind === 'release.started' && release.replica
            ? ` on ${release.replica}`
            : (event.kind === 'release.approved' || event.kind === 'release.rejected') && release.decision
              ? ` by ${release.decision.by}${release.decision.comment ? `: ${release.decision.comment}` : ''}`
              : release.error && event.kind !== 'release.succeeded'
                ? `: ${release.error}`
                : ''
      return [`release ${release.id} ${verb}${detail}`]
    }
    case 'task.started':
    case 'task.ended': {
      const task = event.data
      return [`release ${task.releaseId} task ${task.key} ${task.status}${task.error ? `: ${task.error}` : ''}`]
    }
    case 'app.changed': {
      const app = event.data
      if (app.deleted) return [`app ${app.name} deleted`]
      return [`app ${app.name}: ${app.sync}/${app.health} (deployed ${app.deployedVersion ?? 'nothing'}, desired ${app.desiredVersion ?? '-'})${app.removedFromBlueprint ? ', removed from the blueprint' : ''}`]
    }
    case 'log':
      return event.data.lines.map((line) => `release ${event.data.releaseId} ${line.resource ?? 'release'}${line.target ? `@${line.target}` : ''} | ${line.stream === 'system' ? '[system] ' : ''}${line.line}`)
    case 'pause.changed': {
      const pause = event.data
      return [pause.paused ? `paused by ${pause.by}${pause.pause?.reason ? `: ${pause.pause.reason}` : ''}` : `resumed by ${pause.by}`]
    }
    case 'freeze.changed': {
      const {freeze, deleted, by} = event.data
      const window = freeze.cron ? `${freeze.cron} (${freeze.timezone}) for ${formatDuration(freeze.durationMs ?? 0)}` : `${freeze.from} to ${freeze.to}`
      return [`freeze ${freeze.id} ${deleted ? 'deleted' : 'added'} by ${by}: ${window}: ${freeze.reason}`]
    }
    case 'block.changed': {
      const {block, blocked, by} = event.data
      return [blocked ? `${block.app} ${block.version} blocked by ${by}: ${block.reason}` : `${block.app} ${block.version} unblocked by ${by}`]
    }
    case 'settings.changed':
      return [`settings changed: ${event.data.changes.map((change) => `${change.setting} ${change.oldValue ?? 'inherited'} -> ${change.newValue ?? 'inherited'} by ${change.changedBy}`).join(', ')}`]
    case 'schedule.fired':
      return [`schedule fired release ${event.data.run.releaseId} (slot ${event.data.run.slotAt})`]
    case 'schedule.skipped':
      return [`schedule ${event.data.run.outcome} the run of ${event.data.run.slotAt}${event.data.run.reason ? `: ${event.data.run.reason}` : ''}`]
    case 'replica.lost':
      return [`replica ${event.data.replica} stopped answering; ${event.data.detectedBy} failed its release${event.data.releases.length > 1 ? 's' : ''} ${event.data.releases.join(', ')}`]
  }
}

/** "api 1.5.0, web 2.1.0" */
export function versionsText(versions: readonly {name: string; version: string}[]): string {
  return versions.map((app) => `${app.name} ${app.version}`).join(', ')
}

function pipelineEventText(kind: PipelineEvent['kind'], run: PipelineEventData): string {
  const head = `pipeline run ${run.id} (${run.pipeline})`
  const approval = run.approvals.at(-1)
  switch (kind) {
    case 'pipeline.created':
      return `${head} created by ${run.createdBy}: ${versionsText(run.versions)}${run.comment ? `: ${run.comment}` : ''}`
    case 'pipeline.stage':
      return `${head} reached stage ${run.stage} (step ${run.step} of ${run.steps})`
    case 'pipeline.waiting':
      return `${head} waits: ${run.waitingFor?.message ?? 'for nothing'}`
    case 'pipeline.approved':
      return `${head} stage ${approval?.stage ?? run.stage} approved by ${approval?.by ?? '?'}${approval?.comment ? `: ${approval.comment}` : ''}`
    case 'pipeline.rejected':
    case 'pipeline.cancelled':
      return `${head} ${kind.slice('pipeline.'.length)} by ${run.decision?.by ?? '?'}${run.decision?.comment ? `: ${run.decision.comment}` : ''}`
    case 'pipeline.failed':
    case 'pipeline.superseded':
      return `${head} ${kind.slice('pipeline.'.length)}${run.error ? `: ${run.error}` : ''}`
    default:
      return `${head} ${kind.slice('pipeline.'.length)}`
  }
}

/** The lines one event prints in a terminal: time, scope, and what happened. */
export function eventLines(event: Event): string[] {
  const prefix = `${event.at.slice(11, 19)} ${scopeOf(event)}`
  return describeEvent(event).map((text) => `${prefix} ${text}`)
}
