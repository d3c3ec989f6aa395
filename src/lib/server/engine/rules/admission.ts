// Admission: which queued releases of one environment may start now, and why each other one waits.
// A pure function of the environment's active releases and its policy, so that it can be tested
// exhaustively (see test/lib/server/engine/rules/admission.property.test.ts) and re-run on every change.
import type {PauseState as PauseRecord, WaitingFor} from '../../../api/schemas.js'
import type {LockSet} from '../../store/store.js'
import {describeFreeze, type FreezeHold} from './freeze-rules.js'
import {sharedResources} from './locks.js'
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
  const ahead = new ReleasesAhead(releases.length)
  for (const release of releases) if (release.status === 'running') ahead.addRunning(release)
  const reasons = new SharedReasons(policy)
  let slots = capacity

  for (const release of releases) {
    if (release.status === 'running') continue
    if (release.status === 'pending_approval') {
      waiting.set(release.id, {reason: 'approval', message: `waits for approval: relctl release approve ${release.id}`})
      continue
    }
    const wait = whyWait(release, ahead, reasons, policy, slots)
    if (wait) {
      waiting.set(release.id, wait)
      // Like a release pending approval, one held by a freeze holds back nobody: while the freeze lasts only
      // releases that override it may start, and they go past it.
      if (wait.reason !== 'freeze') ahead.addQueued(release)
    } else {
      start.push(release.id)
      ahead.addRunning({...release, status: 'running'})
      slots--
    }
  }
  return {start, waiting}
}

/**
 * The releases ahead of the one being decided: the running ones, then those queued before it, each in
 * order. Indexed by the resources they lock, so that the ones a lock set conflicts with are found
 * without comparing it with every release ahead (a queue of hundreds is decided again on every turn).
 */
class ReleasesAhead {
  readonly running: ActiveRelease[] = []
  readonly queued: ActiveRelease[] = []
  /** the order blockers are named in: running ones first */
  private readonly rank = new Map<ActiveRelease, number>()
  private readonly byResource = new Map<string, ActiveRelease[]>()
  private readonly wholeEnvironment: ActiveRelease[] = []

  constructor(private readonly queueLength: number) {}

  addRunning(release: ActiveRelease): void {
    this.rank.set(release, this.running.length)
    this.running.push(release)
    this.index(release)
  }

  addQueued(release: ActiveRelease): void {
    this.rank.set(release, this.queueLength + this.queued.length)
    this.queued.push(release)
    this.index(release)
  }

  /** The releases ahead that conflict with a lock set, running ones first, each in order. */
  conflictingWith(lockSet: LockSet): ActiveRelease[] {
    if (lockSet === '*') return [...this.running, ...this.queued]
    const found = new Set<ActiveRelease>(this.wholeEnvironment)
    for (const name of lockSet) for (const holder of this.byResource.get(name) ?? []) found.add(holder)
    return [...found].sort((a, b) => (this.rank.get(a) as number) - (this.rank.get(b) as number))
  }

  private index(release: ActiveRelease): void {
    if (release.lockSet === '*') {
      this.wholeEnvironment.push(release)
      return
    }
    for (const name of release.lockSet) {
      const holders = this.byResource.get(name)
      if (holders) holders.push(release)
      else this.byResource.set(name, [release])
    }
  }
}

/**
 * Reasons that many releases of one decision share (paused, frozen, serial, max parallel, capacity): one object
 * each, not one per release. Readers never change them.
 */
class SharedReasons {
  private paused: WaitingFor | undefined
  private frozen: WaitingFor | undefined
  private serial: {after: ActiveRelease[]; wait: WaitingFor} | undefined
  private maxParallel: {running: number; wait: WaitingFor} | undefined
  private capacity: WaitingFor | undefined

  constructor(private readonly policy: AdmissionPolicy) {}

  pausedWait(pause: PauseState): WaitingFor {
    const {level, by, reason} = pause
    const what = level === 'control-plane' ? 'the control plane' : level === 'project' ? 'the project' : `environment ${this.policy.environment}`
    this.paused ??= {reason: 'paused', message: `${what} is paused by ${by}${reason ? `: ${reason}` : ''}`}
    return this.paused
  }

  frozenWait(freeze: FreezeState): WaitingFor {
    this.frozen ??= {reason: 'freeze', message: freeze.message, freeze: freeze.id, until: freeze.until}
    return this.frozen
  }

  serialWait(after: ActiveRelease[]): WaitingFor {
    const kept = this.serial
    if (kept && kept.after.length === after.length && kept.after.every((release, index) => release === after[index])) return kept.wait
    const ids = after.map((other) => other.id)
    const wait: WaitingFor = {reason: 'serial', releases: ids, message: `waits for release ${ids.join(', ')} to finish (parallel releases are off in ${this.policy.environment})`}
    this.serial = {after, wait}
    return wait
  }

  maxParallelWait(running: number): WaitingFor {
    if (this.maxParallel?.running !== running) {
      const max = this.policy.maxParallel
      this.maxParallel = {running, wait: {reason: 'max-parallel', running, max, message: `max parallel ${max} reached in ${this.policy.environment} (${running} running)`}}
    }
    return this.maxParallel.wait
  }

  capacityWait(): WaitingFor {
    this.capacity ??= {reason: 'capacity', message: 'the control plane is running as many releases as it may; waits for one to end'}
    return this.capacity
  }
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

function whyWait(release: ActiveRelease, ahead: ReleasesAhead, reasons: SharedReasons, policy: AdmissionPolicy, slots: number): WaitingFor | null {
  if (policy.pause) return reasons.pausedWait(policy.pause)
  if (policy.freeze && !release.overridesFreeze) return reasons.frozenWait(policy.freeze)
  const {running, queued} = ahead
  if (!policy.parallel) {
    const after = running.length > 0 ? running : queued.slice(0, 1)
    if (after.length > 0) return reasons.serialWait(after)
  } else {
    const blockers = ahead.conflictingWith(release.lockSet)
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
    if (running.length >= policy.maxParallel) return reasons.maxParallelWait(running.length)
  }
  if (slots <= 0) return reasons.capacityWait()
  return null
}
