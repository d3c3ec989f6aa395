// Admission: which queued releases of one environment may start now, and why each other one waits.
// A pure function of the environment's active releases and its policy, so that it can be tested
// exhaustively (see test/lib/server/engine/rules/admission.property.test.ts) and re-run on every change.
import type {PauseState as PauseRecord, WaitingFor} from '../../../api/schemas.js'
import type {LockSet} from '../../store/store.js'
import {describeFreeze, type FreezeHold} from './freeze-rules.js'
import {conflicts, sharedResources} from './locks.js'
import type {EffectiveSettings} from './settings.js'

export interface ActiveRelease {
  id: number
  status: 'pending_approval' | 'queued' | 'running'
  lockSet: LockSet
  /** triggered with --override-freeze: a freeze does not hold it (a pause does) */
  overridesFreeze?: boolean
}

export interface PauseState {
  level: 'control-plane' | 'project' | 'environment'
  by: string
  reason: string | null
}

/** A freeze in force: which one, and until when releases stay frozen. */
export interface FreezeState {
  id: number
  until: string
  /** what a waiting release says: "freeze until ...: reason (freeze N on ...)" */
  message: string
}

export interface AdmissionPolicy {
  environment: string
  parallel: boolean
  maxParallel: number
  pause: PauseState | null
  freeze: FreezeState | null
}

export interface AdmissionDecision {
  /** ids to start now, in queue order */
  start: number[]
  /** why each queued or pending release that does not start waits */
  waiting: Map<number, WaitingFor>
}

/**
 * An environment's admission policy from its effective settings, the pauses that hold (the first decides)
 * and the freeze that holds, if any.
 */
export function toPolicy(environment: string, settings: EffectiveSettings, pauses: PauseRecord[], freeze: FreezeHold | null): AdmissionPolicy {
  const [pause] = pauses
  return {
    environment,
    parallel: settings.parallel.value,
    maxParallel: settings.maxParallel.value,
    pause: pause ? {level: pause.level, by: pause.by, reason: pause.reason} : null,
    freeze: freeze ? {id: freeze.freeze.id, until: freeze.until.toISOString(), message: describeFreeze(freeze)} : null,
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
      // Like a release pending approval, one held by a freeze holds back nobody: while the freeze lasts only
      // releases that override it may start, and they go past it.
      if (wait.reason !== 'freeze') queuedBefore.push(release)
    } else {
      start.push(release.id)
      active.push({...release, status: 'running'})
      slots--
    }
  }
  return {start, waiting}
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
    const what = level === 'control-plane' ? 'the control plane' : level === 'project' ? 'the project' : `environment ${policy.environment}`
    return {reason: 'paused', message: `${what} is paused by ${by}${reason ? `: ${reason}` : ''}`}
  }
  if (policy.freeze && !release.overridesFreeze) return {reason: 'freeze', message: policy.freeze.message, freeze: policy.freeze.id, until: policy.freeze.until}
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
