// Admission: which queued releases of one environment may start now, and why each other one waits.
// A pure function of the environment's active releases and its policy, so that it can be tested
// exhaustively (see test/lib/server/engine/rules/admission.property.test.ts) and re-run on every change.
import type {PauseState as PauseRecord, WaitingFor} from '../../../api/schemas.js'
import type {LockSet} from '../../store/store.js'
import {conflicts, sharedResources} from './locks.js'
import type {EffectiveSettings} from './settings.js'

export interface ActiveRelease {
  id: number
  status: 'pending_approval' | 'queued' | 'running'
  lockSet: LockSet
}

export interface PauseState {
  level: 'project' | 'environment'
  by: string
  reason: string | null
}

export interface AdmissionPolicy {
  environment: string
  parallel: boolean
  maxParallel: number
  pause: PauseState | null
}

export interface AdmissionDecision {
  /** ids to start now, in queue order */
  start: number[]
  /** why each queued or pending release that does not start waits */
  waiting: Map<number, WaitingFor>
}

/** An environment's admission policy from its effective settings and the pauses that hold (the first decides). */
export function toPolicy(environment: string, settings: EffectiveSettings, pauses: PauseRecord[]): AdmissionPolicy {
  const [pause] = pauses
  return {
    environment,
    parallel: settings.parallel.value,
    maxParallel: settings.maxParallel.value,
    pause: pause ? {level: pause.level, by: pause.by, reason: pause.reason} : null,
  }
}

function describeShared(shared: string[] | '*'): string {
  return shared === '*' ? 'the whole environment' : `resources: ${shared.join(', ')}`
}

/**
 * @param releases the environment's pending, queued and running releases in queue (id) order
 * @param capacity how many more releases the engine can run right now, across all environments
 */
export function decideAdmission(releases: ActiveRelease[], policy: AdmissionPolicy, capacity: number): AdmissionDecision {
  const start: number[] = []
  const waiting = new Map<number, WaitingFor>()
  const active: ActiveRelease[] = releases.filter((release) => release.status === 'running')
  const queuedBefore: ActiveRelease[] = []
  let slots = capacity

  for (const release of releases) {
    if (release.status === 'running') continue
    if (release.status === 'pending_approval') {
      waiting.set(release.id, {reason: 'approval', message: `waits for approval: relctl release approve ${release.id}`})
      continue
    }
    const wait = whyWait(release, active, queuedBefore, policy, slots)
    if (wait) {
      waiting.set(release.id, wait)
      queuedBefore.push(release)
    } else {
      start.push(release.id)
      active.push({...release, status: 'running'})
      slots--
    }
  }
  return {start, waiting}
}

/** What a decision leaves in an environment's queue: where each waiting release stands, and why it waits. */
export interface QueueStanding {
  positions: Map<number, number>
  waiting: Map<number, WaitingFor>
}

/**
 * Where each release that waits stands in its queue: 1-based, in queue order, counting neither the
 * running releases nor those in `starting` (that a decision starts).
 */
export function queuePositions(releases: ActiveRelease[], starting: readonly number[] = []): Map<number, number> {
  const started = new Set(starting)
  const positions = new Map<number, number>()
  for (const release of releases) if (release.status !== 'running' && !started.has(release.id)) positions.set(release.id, positions.size + 1)
  return positions
}

function whyWait(
  release: ActiveRelease,
  running: ActiveRelease[],
  queuedBefore: ActiveRelease[],
  policy: AdmissionPolicy,
  slots: number,
): WaitingFor | null {
  if (policy.pause) {
    const {level, by, reason} = policy.pause
    return {reason: 'paused', message: `${level === 'project' ? 'the project' : `environment ${policy.environment}`} is paused by ${by}${reason ? `: ${reason}` : ''}`}
  }
  if (!policy.parallel) {
    const ahead = running.length > 0 ? running : queuedBefore.slice(0, 1)
    if (ahead.length > 0) {
      const ids = ahead.map((other) => other.id)
      return {
        reason: 'serial',
        releases: ids,
        message: `waits for release ${ids.join(', ')} to finish (parallel releases are off in ${policy.environment})`,
      }
    }
  } else {
    const blockers = [...running, ...queuedBefore].filter((other) => conflicts(other.lockSet, release.lockSet))
    if (blockers.length > 0) {
      const shared = new Set<string>()
      let whole = false
      for (const blocker of blockers) {
        const common = sharedResources(blocker.lockSet, release.lockSet)
        if (common === '*') whole = true
        else for (const name of common) shared.add(name)
      }
      const resources = whole ? ['*'] : [...shared].sort()
      const ids = blockers.map((other) => other.id)
      return {
        reason: 'conflict',
        releases: ids,
        resources,
        message: `waits for release ${ids.join(', ')} (${describeShared(whole ? '*' : resources)})`,
      }
    }
    if (running.length >= policy.maxParallel) {
      return {
        reason: 'max-parallel',
        running: running.length,
        max: policy.maxParallel,
        message: `max parallel ${policy.maxParallel} reached in ${policy.environment} (${running.length} running)`,
      }
    }
  }
  if (slots <= 0) return {reason: 'capacity', message: 'the control plane is running as many releases as it may; waits for one to end'}
  return null
}
