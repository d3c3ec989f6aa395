// Property-based test of the admission rule over one environment: random sequences of triggers (some
// overriding freezes), completions, cancels and policy changes (parallel, max, pauses, freeze windows
// opening and closing); decideAdmission decides after every command and the model starts what it says.
// Invariants are checked after every step, and at the end the queue must drain.
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import type {WaitingFor} from '../../../../../src/lib/api/schemas.js'
import {type ActiveRelease, type AdmissionDecision, decideAdmission} from '../../../../../src/lib/server/engine/rules/admission.js'
import {conflicts} from '../../../../../src/lib/server/engine/rules/locks.js'
import type {LockSet} from '../../../../../src/lib/server/store/store.js'

const RESOURCES = ['api', 'web', 'db', 'cache', 'worker', 'edge'] as const

type Command =
  | {kind: 'trigger'; lockSet: LockSet; overridesFreeze: boolean}
  | {kind: 'complete'; pick: number}
  | {kind: 'cancel'; pick: number}
  | {kind: 'parallel'; on: boolean}
  | {kind: 'max'; n: number}
  | {kind: 'pause'; on: boolean}
  | {kind: 'freeze'; on: boolean}
  | {kind: 'capacity'; n: number}

const lockSetArb: fc.Arbitrary<LockSet> = fc.oneof(
  {weight: 1, arbitrary: fc.constant('*' as const)},
  {weight: 4, arbitrary: fc.subarray([...RESOURCES], {minLength: 1}).map((names) => [...names].sort())},
)

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(lockSetArb, fc.integer({min: 0, max: 5})).map(([lockSet, dice]) => ({kind: 'trigger' as const, lockSet, overridesFreeze: dice === 0})),
  },
  {weight: 5, arbitrary: fc.nat(20).map((pick) => ({kind: 'complete' as const, pick}))},
  {weight: 1, arbitrary: fc.nat(20).map((pick) => ({kind: 'cancel' as const, pick}))},
  {weight: 1, arbitrary: fc.boolean().map((on) => ({kind: 'parallel' as const, on}))},
  {weight: 1, arbitrary: fc.integer({min: 1, max: 5}).map((n) => ({kind: 'max' as const, n}))},
  {weight: 1, arbitrary: fc.boolean().map((on) => ({kind: 'pause' as const, on}))},
  {weight: 1, arbitrary: fc.boolean().map((on) => ({kind: 'freeze' as const, on}))},
  {weight: 1, arbitrary: fc.integer({min: 1, max: 8}).map((n) => ({kind: 'capacity' as const, n}))},
)

/** The environment's starting policy and the engine's capacity (small, so that it binds). */
const initialArb: fc.Arbitrary<Command[]> = fc
  .tuple(fc.boolean(), fc.integer({min: 1, max: 5}), fc.integer({min: 1, max: 8}))
  .map(([on, n, capacity]) => [
    {kind: 'parallel', on},
    {kind: 'max', n},
    {kind: 'capacity', n: capacity},
  ])

interface ModelRelease {
  id: number
  lockSet: LockSet
  overridesFreeze: boolean
  status: 'queued' | 'running' | 'done' | 'cancelled'
}

class Environment {
  releases: ModelRelease[] = []
  parallel = false
  maxParallel = 10
  paused = false
  /** a freeze window is open */
  frozen = false
  /** the engine's capacity; this environment is the only one using it */
  capacity = 200
  private nextId = 1
  log: string[] = []

  get queued() {
    return this.releases.filter((release) => release.status === 'queued')
  }

  get running() {
    return this.releases.filter((release) => release.status === 'running')
  }

  apply(command: Command) {
    this.log.push(JSON.stringify(command))
    switch (command.kind) {
      case 'trigger':
        this.releases.push({id: this.nextId++, lockSet: command.lockSet, overridesFreeze: command.overridesFreeze, status: 'queued'})
        break
      case 'complete': {
        const running = this.running
        if (running.length > 0) running[command.pick % running.length].status = 'done'
        break
      }
      case 'cancel': {
        const queued = this.queued
        if (queued.length > 0) queued[command.pick % queued.length].status = 'cancelled'
        break
      }
      case 'parallel':
        this.parallel = command.on
        break
      case 'max':
        this.maxParallel = command.n
        break
      case 'pause':
        this.paused = command.on
        break
      case 'freeze':
        this.frozen = command.on
        break
      case 'capacity':
        this.capacity = command.n
        break
    }
  }

  /** Runs admission, checks the decision against the rule, starts what it says, checks the invariants. */
  admit(): AdmissionDecision {
    const before = this.releases.filter((release) => release.status === 'queued' || release.status === 'running').map((release) => ({...release}))
    const active: ActiveRelease[] = before.map((release) => ({
      id: release.id,
      status: release.status as 'queued' | 'running',
      lockSet: release.lockSet,
      overridesFreeze: release.overridesFreeze,
    }))
    const runningBefore = before.filter((release) => release.status === 'running')
    const queuedBefore = before.filter((release) => release.status === 'queued')
    const capacity = this.capacity - runningBefore.length
    const decision = decideAdmission(
      active,
      {
        environment: 'prod',
        parallel: this.parallel,
        maxParallel: this.maxParallel,
        pause: this.paused ? {level: 'environment', by: 'alice', reason: 'incident'} : null,
        freeze: this.frozen ? {id: 7, until: '2027-01-04T07:00:00.000Z', message: 'freeze until 2027-01-04T07:00:00.000Z: year-end'} : null,
      },
      capacity,
    )
    const context = () => `\ncommands:\n${this.log.join('\n')}\nbefore: ${JSON.stringify(before)}\ndecision: ${JSON.stringify({start: decision.start, waiting: [...decision.waiting]})}`

    // The decision starts queued releases only, each once, in queue order.
    const queuedIds = queuedBefore.map((release) => release.id)
    expect(decision.start.every((id) => queuedIds.includes(id)), context()).toBe(true)
    expect(new Set(decision.start).size, context()).toBe(decision.start.length)
    expect(decision.start, context()).toEqual([...decision.start].sort((a, b) => a - b))
    // Every queued release either starts or says why it waits.
    for (const release of queuedBefore) {
      expect(decision.start.includes(release.id) !== decision.waiting.has(release.id), `release ${release.id}${context()}`).toBe(true)
    }
    if (this.paused) expect(decision.start, context()).toEqual([])
    // 0. while a freeze holds, only releases that override it start
    if (this.frozen) {
      for (const id of decision.start) expect((this.releases.find((release) => release.id === id) as ModelRelease).overridesFreeze, `${id} started in a freeze${context()}`).toBe(true)
    }

    for (const id of decision.start) (this.releases.find((release) => release.id === id) as ModelRelease).status = 'running'

    const running = this.running
    const stillQueued = this.queued
    // 1. never two conflicting releases running at once
    for (let i = 0; i < running.length; i++) {
      for (let j = i + 1; j < running.length; j++) {
        expect(conflicts(running[i].lockSet, running[j].lockSet), `${running[i].id} and ${running[j].id} conflict${context()}`).toBe(false)
      }
    }
    if (decision.start.length > 0) {
      // 2. admission never takes the environment above its limit, nor the engine above its capacity
      expect(running.length, context()).toBeLessThanOrEqual(this.parallel ? this.maxParallel : 1)
      expect(running.length, context()).toBeLessThanOrEqual(this.capacity)
    }
    // 3. no overtaking: nothing starts while an earlier-queued conflicting release is still queued
    //    (with parallel releases off, every release conflicts with every other), except a release that
    //    overrides a freeze, which goes past the releases the freeze holds
    for (const id of decision.start) {
      const started = running.find((release) => release.id === id) as ModelRelease
      for (const earlier of stillQueued.filter((release) => release.id < id && !this.heldByFreeze(release))) {
        expect(this.parallel && !conflicts(earlier.lockSet, started.lockSet), `${id} overtook ${earlier.id}${context()}`).toBe(true)
      }
    }
    // 4. each reason to wait is true, and a release that could start does start (nothing idles)
    for (const release of queuedBefore.filter((r) => decision.waiting.has(r.id))) {
      this.checkWaiting(release, decision.waiting.get(release.id) as WaitingFor, runningBefore, decision.start, queuedBefore, capacity, context)
    }
    return decision
  }

  /** A queued release that the freeze in force keeps waiting. */
  heldByFreeze(release: ModelRelease): boolean {
    return this.frozen && !this.paused && !release.overridesFreeze
  }

  private checkWaiting(
    release: ModelRelease,
    wait: WaitingFor,
    runningBefore: ModelRelease[],
    started: number[],
    queuedBefore: ModelRelease[],
    capacity: number,
    context: () => string,
  ) {
    const where = `release ${release.id} waits for ${JSON.stringify(wait)}${context()}`
    if (this.paused) {
      expect(wait.reason, where).toBe('paused')
      return
    }
    if (this.heldByFreeze(release)) {
      expect(wait, where).toMatchObject({reason: 'freeze', freeze: 7, until: '2027-01-04T07:00:00.000Z'})
      return
    }
    // What was ahead of this release when admission reached it (releases held by the freeze hold back nobody).
    const startedAhead = started.filter((id) => id < release.id)
    const runningAhead = [...runningBefore.map((r) => r.id), ...startedAhead].sort((a, b) => a - b)
    const queuedAhead = queuedBefore.filter((r) => r.id < release.id && !started.includes(r.id) && !this.heldByFreeze(r))
    const lockOf = (id: number) => (this.releases.find((r) => r.id === id) as ModelRelease).lockSet
    if (!this.parallel) {
      if (wait.reason === 'serial') {
        const expected = runningAhead.length > 0 ? runningAhead : queuedAhead.slice(0, 1).map((r) => r.id)
        expect(expected.length, where).toBeGreaterThan(0)
        expect(wait.releases, where).toEqual(expected)
      } else {
        expect(wait.reason, where).toBe('capacity')
        expect(runningAhead.length + queuedAhead.length, where).toBe(0)
        expect(capacity - startedAhead.length, where).toBeLessThanOrEqual(0)
      }
      return
    }
    const blockers = [...runningAhead, ...queuedAhead.map((r) => r.id)].filter((id) => conflicts(lockOf(id), release.lockSet))
    if (blockers.length > 0) {
      expect(wait.reason, where).toBe('conflict')
      expect([...(wait.releases ?? [])].sort((a, b) => a - b), where).toEqual(blockers.sort((a, b) => a - b))
      return
    }
    if (runningAhead.length >= this.maxParallel) {
      expect(wait, where).toMatchObject({reason: 'max-parallel', running: runningAhead.length, max: this.maxParallel})
      return
    }
    expect(wait.reason, where).toBe('capacity')
    expect(capacity - startedAhead.length, where).toBeLessThanOrEqual(0)
  }
}

describe('admission over random command sequences', () => {
  it('keeps the admission invariants after every step and never starves a queued release', () => {
    fc.assert(
      fc.property(initialArb, fc.array(commandArb, {maxLength: 60}), fc.nat(), (initial, commands, seed) => {
        const env = new Environment()
        for (const command of initial) env.apply(command)
        for (const command of commands) {
          env.apply(command)
          env.admit()
        }
        // Drain: no pause, no freeze; complete running releases one at a time; every queued release must start.
        const waitingAtEnd = env.queued.map((release) => release.id)
        env.apply({kind: 'pause', on: false})
        env.apply({kind: 'freeze', on: false})
        env.admit()
        let pick = seed
        const bound = env.releases.length + 1
        for (let step = 0; step < bound && (env.running.length > 0 || env.queued.length > 0); step++) {
          expect(env.running.length, `queued releases ${env.queued.map((r) => r.id)} but nothing runs\n${env.log.join('\n')}`).toBeGreaterThan(0)
          env.apply({kind: 'complete', pick: pick++})
          env.admit()
        }
        expect(env.queued, env.log.join('\n')).toEqual([])
        expect(env.running, env.log.join('\n')).toEqual([])
        for (const id of waitingAtEnd) expect(env.releases.find((r) => r.id === id)?.status).toBe('done')
      }),
      {numRuns: 300},
    )
  })

  it('reaches max parallel when nothing conflicts', () => {
    fc.assert(
      fc.property(fc.integer({min: 1, max: 5}), fc.integer({min: 1, max: 12}), (max, count) => {
        const env = new Environment()
        env.apply({kind: 'parallel', on: true})
        env.apply({kind: 'max', n: max})
        for (let i = 0; i < count; i++) env.apply({kind: 'trigger', lockSet: [`r${i}`], overridesFreeze: false})
        env.admit()
        expect(env.running.map((r) => r.id)).toEqual(Array.from({length: Math.min(max, count)}, (_, i) => i + 1))
      }),
      {numRuns: 100},
    )
  })

  it('while a freeze holds, an override starts past the releases it holds, and they start in order when it ends', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(lockSetArb, {minLength: 1, maxLength: 8}), fc.nat(7), (parallel, lockSets, override) => {
        const env = new Environment()
        env.apply({kind: 'parallel', on: parallel})
        env.apply({kind: 'freeze', on: true})
        lockSets.forEach((lockSet, index) => env.apply({kind: 'trigger', lockSet, overridesFreeze: index === override % lockSets.length}))
        env.admit()
        const overriding = env.releases.find((release) => release.overridesFreeze) as ModelRelease
        // Nothing runs yet: the override is the first to start, whatever is queued before it.
        expect(env.running.map((release) => release.id)).toEqual([overriding.id])
        env.apply({kind: 'freeze', on: false})
        env.apply({kind: 'complete', pick: 0})
        env.admit()
        // The freeze over, the queue starts from its head again.
        const first = env.releases.find((release) => release.status !== 'done')
        if (first) expect(first.status).toBe('running')
        else expect(env.releases).toHaveLength(1)
      }),
      {numRuns: 200},
    )
  })
})
