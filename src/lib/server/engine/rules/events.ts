// Pure: the events of changes made outside a run (pauses, settings, schedule runs, lost replicas), each
// appended in the transaction that records its change. Releases, tasks and apps: runs/transitions.ts.
import type {BlockEventData, FreezeEventData, PauseEventData, ReplicaLostEventData, ScheduleEventData, SettingsEventData} from '../../../api/event-schemas.js'
import type {BlockedVersion, PauseState, ScheduleRun, SettingsChange} from '../../../api/schemas.js'
import type {FreezeRecord, NewEvent, SettingsRecord} from '../../store/store.js'
import {levelOf} from './freeze-rules.js'

/** A pause or a resume: of the control plane (project null), a project (environment null) or an environment. */
export function pauseChanged(project: string | null, environment: string | null, pause: PauseState | null, by: string, at: string): NewEvent {
  const data: PauseEventData = {project, environment, paused: pause !== null, pause, by, at}
  return {kind: 'pause.changed', project, environment, releaseId: null, taskId: null, apps: null, data, at}
}

export function freezeChanged(freeze: FreezeRecord, deleted: boolean, by: string, at: string): NewEvent {
  const data: FreezeEventData = {freeze: {...freeze, level: levelOf(freeze)}, deleted, by, at}
  return {kind: 'freeze.changed', project: freeze.project, environment: freeze.environment, releaseId: null, taskId: null, apps: null, data, at}
}

export function blockChanged(block: BlockedVersion, blocked: boolean, by: string, at: string): NewEvent {
  const data: BlockEventData = {block, blocked, by, at}
  return {kind: 'block.changed', project: block.project, environment: null, releaseId: null, taskId: null, apps: [block.app], data, at}
}

export function settingsChanged(record: SettingsRecord, changes: SettingsChange[]): NewEvent {
  const {project, environment, parallel, maxParallel, approval, approvalsRequired, queueMode, updatedAt} = record
  const data: SettingsEventData = {scope: {project, environment}, settings: {parallel, maxParallel, approval, approvalsRequired, queueMode}, changes}
  return {kind: 'settings.changed', project, environment, releaseId: null, taskId: null, apps: null, data, at: updatedAt}
}

export function scheduleRan(project: string, environment: string, run: ScheduleRun): NewEvent {
  const data: ScheduleEventData = {project, environment, run}
  return {
    kind: run.outcome === 'released' ? 'schedule.fired' : 'schedule.skipped',
    project,
    environment,
    releaseId: run.releaseId,
    taskId: null,
    apps: null,
    data,
    at: run.recordedAt,
  }
}

export function replicaLost(replica: string, releases: number[], detectedBy: string, at: string): NewEvent {
  const data: ReplicaLostEventData = {replica, releases, detectedBy}
  return {kind: 'replica.lost', project: null, environment: null, releaseId: null, taskId: null, apps: null, data, at}
}
