// The run coordinator: admission turns and the life of every run on this replica. The database is the
// truth: an environment's turn (runs/turns.ts) is one transaction that locks the environment, makes a
// change, decides with the pure rules which queued releases start, and claims them for this replica
// (queued -> running, owner, lease) with their plans. After the commit the claimed runs start here; a
// finish records the outcome in the environment's next turn, which admits again. Leases (runs/leases.ts)
// keep a run owned while this replica answers; any replica ends the runs of one that stopped answering.
import {setTimeout as sleep} from 'node:timers/promises'

import type {ReleaseResource} from '../../../api/schemas.js'
import type {NewTask, ProjectRecord, ReleaseRecord, ReleaseTasks, Store, TaskRecord} from '../../store/store.js'
import type {EnvironmentSpec} from '../../blueprint/blueprint.js'
import {backoffBefore} from '../../blueprint/retries.js'
import {formatDuration} from '../../../api/duration.js'
import type {EngineContext} from '../context.js'
import {nowOf} from '../context.js'
import {environmentSpec, policyFor, readTurnAhead} from '../lookups.js'
import {decideAdmission, queuePositions, type QueueStanding} from '../rules/admission.js'
import {blockedVersionError, blocksMet} from '../rules/blocks.js'
import {after} from '../rules/deadlines.js'
import {checkPlanSize} from '../rules/plan-size.js'
import {type PlannedTask, planReleaseInTurns} from '../rules/planner.js'
import {type ReplicaIdentity, ReplicaLeases} from './leases.js'
import {LogWriter} from './log-writer.js'
import {firstTasks, type ReleaseOutcome, ReleaseRun, retryPolicyOf} from './runner.js'
import {appendLogLines, changeApp, recordRunEnds, recordStarts, type RunEnd, transitionRelease, transitionReleases, updateTask} from './transitions.js'
import {EnvironmentTurns, type Together, type Turn} from './turns.js'

/** A release's end that could not be recorded is tried again after 0.1 s, then twice as long each time up to 5 s. */
const END_RETRY = {backoffMs: 100, maxBackoffMs: 5000}

export const RECOVERY_LOG_LINE = 'the control plane stopped while this task ran; its processes were stopped by the supervisor'

/** A planned task as inserted; `attempts` comes from the blueprint's retries (1 without). */
export function toNewTask({requires, ...task}: PlannedTask, attempts = 1): NewTask {
  return {...task, dependsOn: requires, attempts}
}

/** A release claimed in a turn, with what its run needs; it starts once the turn has committed. */
interface Claimed {
  release: ReleaseRecord
  project: ProjectRecord
  environment: EnvironmentSpec
  tasks: TaskRecord[]
}

export class RunCoordinator {
  private readonly runs = new Map<number, ReleaseRun>()
  /** claimed in a turn that has not committed yet: counted against capacity */
  private reserved = 0
  private admitting = true
  /** shut down past its grace: a release's end that cannot be recorded is no longer tried again */
  private pastGrace = false
  private readonly logs: LogWriter
  private readonly turns: EnvironmentTurns<Claimed, QueueStanding>
  /** The ends of runs that reach a turn together, recorded together. */
  private readonly recordEnds: Together<RunEnd, ReleaseRecord | null> = async (tx, ends) => {
    const recorded = await recordRunEnds(tx, ends, nowOf(this.ctx))
    // A stopping replica starts nothing: the others are told that the environment may move.
    if (!this.admitting) await tx.notifyAdmit(ends[0].release.project, ends[0].release.environment)
    return recorded
  }
  readonly leases: ReplicaLeases

  constructor(
    private readonly ctx: EngineContext,
    replica: ReplicaIdentity,
  ) {
    this.logs = new LogWriter(ctx.store, (error) => ctx.log.error({err: error}, 'could not store task log lines'))
    this.turns = new EnvironmentTurns<Claimed, QueueStanding>(ctx.store, {
      readAhead: (tx, {project, environment}) => readTurnAhead(tx, project, environment, this.ctx.clock()),
      admit: (tx, turn, isolated) => this.admitInTurn(tx, turn, isolated),
      committed: (claims) => this.startClaimed(claims),
      aborted: (claims) => {
        this.reserved -= claims.length
      },
    })
    this.leases = new ReplicaLeases(ctx.store, replica, ctx.clock, ctx.log, {
      expired: (release) => this.endExpired(release),
      expireQueued: () => this.expireQueued(),
      stopPastDeadline: (now) => this.stopPastDeadline(now),
      admitQueued: () => this.admitAllQueued().then(() => undefined),
      cancelRequested: (requests) => {
        for (const request of requests) this.stopRun(request.releaseId, request.by)
      },
      leaseLost: () => {
        // Others may already have failed these runs: their deploys must not go on.
        for (const run of this.runs.values()) run.stop('interrupted')
      },
      running: () => this.runs.size > 0,
    })
  }

  get replicaId(): string {
    return this.leases.identity.id
  }

  /**
   * Registers this replica, ends what it left running before it restarted (on SQLite, which one process
   * owns, everything still running), listens for wakeups and cancels, then admits every queued release.
   */
  async start(): Promise<{environments: number}> {
    const {store} = this.ctx
    await this.leases.register()
    const leftOver = store.dialect === 'sqlite' ? await store.listReleases({statuses: ['running']}) : await store.runsOf(this.replicaId)
    for (const release of leftOver) {
      await this.recoverInterrupted(release).catch((error) => this.ctx.log.error({releaseId: release.id, err: error}, 'could not record an interrupted release'))
    }
    await store.listen({
      admit: (project, environment) => {
        if (this.admitting) void this.admit(project, environment).catch((error) => this.ctx.log.error({project, environment, err: error}, 'could not admit after a wakeup'))
      },
      cancel: (releaseId) => {
        if (this.runs.has(releaseId)) void this.leases.checkCancels()
      },
    })
    this.leases.start()
    return this.admitAllQueued()
  }

  get isAdmitting(): boolean {
    return this.admitting
  }

  /** How many more releases may start on this replica now. */
  freeCapacity(): number {
    return this.ctx.capacity - this.runs.size - this.reserved
  }

  /** The run of a release that runs here, for an answer from memory. */
  runOf(id: number): ReleaseRun | undefined {
    return this.runs.get(id)
  }

  /**
   * Stops a running release: here when it runs here (waiting until its end is recorded), else by
   * recording the request for its owner, which stops it within a second. False when it does not run.
   */
  async cancelRun(id: number, subject: string): Promise<boolean> {
    const run = this.runs.get(id)
    if (run) {
      this.stopRun(id, subject)
      await run.finished
      return true
    }
    const at = nowOf(this.ctx)
    const requested = await this.ctx.store.transaction(async (tx) => {
      const recorded = await tx.requestCancel(id, subject, at)
      if (recorded) await tx.notifyCancel(id)
      return recorded
    })
    if (requested) this.ctx.log.info({releaseId: id, by: subject}, 'asked the replica that runs it to cancel the release')
    return requested
  }

  private stopRun(id: number, subject: string): void {
    const run = this.runs.get(id)
    if (!run) return
    this.ctx.log.info({releaseId: id, by: subject}, 'cancelling running release')
    run.stop('cancelled')
  }

  /**
   * Stops admitting and tells the other replicas; lets this replica's runs finish for graceMs (their
   * leases renewed meanwhile), then stops them and records them as interrupted.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.admitting = false
    await this.leases.markStopping()
    const running = [...this.runs.values()]
    if (running.length > 0) {
      this.ctx.log.info({running: running.length, graceMs}, 'waiting for running releases before shutting down')
      let timer: NodeJS.Timeout | undefined
      const graceOver = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs)
      })
      const allDone = Promise.all(running.map((run) => run.done.then(() => run.finished)))
      if ((await Promise.race([allDone, graceOver])) === 'timeout') {
        this.pastGrace = true
        for (const run of this.runs.values()) run.stop('interrupted')
      }
      clearTimeout(timer)
      await Promise.all(running.map((run) => run.finished))
    }
    await this.leases.stop()
  }

  /**
   * Makes a change in the environment's turn: in the transaction that decides admission there, so that
   * what it frees or queues is admitted at once, by one replica at a time.
   */
  turn<T>(project: string, environment: string, change: (tx: Store) => Promise<T>): Promise<T> {
    return this.turns.take(project, environment, change)
  }

  /**
   * As turn, for a change made together with the others of its kind in that turn (EnvironmentTurns.
   * takeTogether), and with what the turn's admission left in the queue (where each waiting release
   * stands, and why).
   */
  turnTogetherWithQueue<Item, Result>(project: string, environment: string, run: Together<Item, Result>, item: Item): Promise<{value: Result; report: QueueStanding}> {
    return this.turns.takeTogether(project, environment, run, item)
  }

  /** Takes the environment's turn to start what may start. */
  admit(project: string, environment: string): Promise<void> {
    return this.turns.take(project, environment)
  }

  /** Admits in every environment with queued releases (a freeze window that ended, a control-plane resume). */
  async admitEverywhere(): Promise<void> {
    await this.admitAllQueued()
  }

  /**
   * Stops this replica's runs that are past their deadline: each ends failed with reason `deadline`.
   * Every replica stops its own (the deadline is stored with the claim); a replica that stopped answering
   * loses its runs to the lease sweep anyway.
   */
  private stopPastDeadline(now: Date): void {
    for (const run of this.runs.values()) {
      const {deadlineAt} = run.release
      if (deadlineAt !== null && Date.parse(deadlineAt) <= now.getTime() && run.stop('deadline')) {
        this.ctx.log.warn({releaseId: run.release.id, deadlineAt}, 'release ran past its deadline; stopping it')
      }
    }
  }

  /**
   * Cancels the queued releases (and those pending approval) whose --expire-after has passed, each in its
   * environment's turn with a compare-and-set, so that of the replicas that sweep, one records it.
   */
  private async expireQueued(): Promise<void> {
    const now = nowOf(this.ctx)
    for (const release of await this.ctx.store.expiredQueued(now)) {
      const waited = release.options.expireAfterMs ?? 0
      const expired = await this.turn(release.project, release.environment, (tx) =>
        transitionRelease(tx, release.id, ['queued', 'pending_approval'], 'cancelled', {
          finishedAt: now,
          error: `expired: it did not start within ${formatDuration(waited)} of its trigger (--expire-after)`,
          endReason: 'expired',
        }),
      ).catch((error) => {
        this.ctx.log.error({releaseId: release.id, err: error}, 'could not expire a queued release')
        return null
      })
      if (expired) this.ctx.log.info({releaseId: release.id, expiresAt: release.expiresAt}, 'queued release expired')
    }
  }

  /**
   * Inside the turn's transaction: decides, and claims what starts here, with its plan. Several
   * releases that start together are claimed together (claimTogether). Made `isolated` (see
   * EnvironmentTurns.make), each claim runs under a savepoint: one that fails there is undone with the
   * others, which are then claimed one by one, so that it fails alone and ends failed; otherwise a
   * claim that fails fails the turn, which is then made again isolated.
   */
  private async admitInTurn(tx: Store, {project, environment}: Turn, isolated: boolean): Promise<{claims: Claimed[]; report: QueueStanding}> {
    const claims: Claimed[] = []
    const claimed = (claim: Claimed | null) => {
      if (!claim) return
      claims.push(claim)
      this.reserved++
    }
    /** read once for all the claims of the turn */
    let projectRecord: ProjectRecord | undefined
    try {
      for (;;) {
        const capacity = this.admitting ? this.freeCapacity() : 0
        const [active, policy] = await Promise.all([tx.activeLocks(project, environment), policyFor(tx, project, environment, this.ctx.clock())])
        const decision = decideAdmission(active, policy, capacity)
        // --deadline of what starts, from the queue just read (few releases have one).
        const deadlines = new Map(active.filter((release) => release.deadlineMs !== null).map((release) => [release.id, release.deadlineMs as number]))
        let endedUnstarted = false
        if (decision.start.length > 0) projectRecord ??= (await tx.getProject(project)) as ProjectRecord
        const theProject = projectRecord as ProjectRecord
        const withoutDeadline = decision.start.filter((id) => !deadlines.has(id))
        const together = withoutDeadline.length > 1 ? await this.claimTogether(tx, withoutDeadline, theProject, isolated) : null
        together?.forEach(claimed)
        for (const id of together ? decision.start.filter((id) => deadlines.has(id)) : decision.start) {
          const claimOne = () => this.claim(tx, id, theProject, deadlines.get(id) ?? null)
          try {
            claimed(await (isolated ? tx.savepoint(claimOne) : claimOne()))
          } catch (error) {
            if (!isolated) throw error
            // A release that cannot start ends failed in this same turn, and what waited behind it is decided again.
            if (await this.recordStartFailure(tx, id, error)) endedUnstarted = true
          }
        }
        if (endedUnstarted) continue
        // Releases that wait only for room on this replica may start on another one that has it.
        if ([...decision.waiting.values()].some((wait) => wait.reason === 'capacity')) await tx.notifyAdmit(project, environment)
        return {claims, report: {positions: queuePositions(active, decision.start), waiting: decision.waiting}}
      }
    } catch (error) {
      // None of its claims holds: the turn is rolled back.
      this.reserved -= claims.length
      throw error
    }
  }

  /** The claim: queued -> running, owned by this replica with a lease (and its deadline), and the plan. */
  private async claim(tx: Store, id: number, project: ProjectRecord, deadlineMs: number | null): Promise<Claimed | null> {
    const startedAt = nowOf(this.ctx)
    const release = await transitionRelease(tx, id, ['queued'], 'running', {
      startedAt,
      replica: this.replicaId,
      leaseExpiresAt: this.leases.leaseFromNow(),
      ...(deadlineMs !== null && {deadlineAt: after(startedAt, deadlineMs)}),
    })
    if (!release) return null
    const [claimed] = await this.planClaimed(tx, [release], project, startedAt)
    return claimed
  }

  /**
   * Claims releases that start together (none with a deadline, which each store with their own claim)
   * with one statement per kind of write: at a wave's end or in a burst of triggers a turn claims tens,
   * and each of their statements is a round trip on PostgreSQL. Isolated, null when one of them could
   * not start: nothing of the others is kept then, and the caller claims them one by one.
   */
  private async claimTogether(tx: Store, ids: number[], project: ProjectRecord, isolated: boolean): Promise<Claimed[] | null> {
    const startedAt = nowOf(this.ctx)
    const claimAll = async () => {
      const releases = await transitionReleases(tx, ids, ['queued'], 'running', {startedAt, replica: this.replicaId, leaseExpiresAt: this.leases.leaseFromNow()})
      return this.planClaimed(tx, releases, project, startedAt)
    }
    if (!isolated) return claimAll()
    try {
      return await tx.savepoint(claimAll)
    } catch (error) {
      this.ctx.log.info({releases: ids, err: error}, 'a release of those starting together could not start; claiming them one by one')
      return null
    }
  }

  /**
   * Plans claimed releases of one environment and records their tasks, and the start of their first
   * tasks (which run once the turn has committed, without a transaction of their own after it).
   * Throws when one of them cannot start: a version blocked after it was queued, a plan too big for
   * the blueprint as it now is.
   */
  private async planClaimed(tx: Store, releases: ReleaseRecord[], project: ProjectRecord, startedAt: string): Promise<Claimed[]> {
    if (releases.length === 0) return []
    const {environment: environmentName} = releases[0]
    // Versions are read again at start: an earlier release may have changed what is deployed.
    const names = [...new Set(releases.flatMap((release) => release.resources.map((resource) => resource.name)))]
    const [blocked, deployed] = await Promise.all([tx.listBlockedVersions(project.name), tx.listApps(project.name, environmentName, names)])
    for (const release of releases) {
      const met = blocksMet(release.resources, blocked)
      if (met.length > 0) throw blockedVersionError(met, `release ${release.id} would deploy a blocked version`)
    }
    const apps = new Map(deployed.map((app) => [app.name, app]))
    const environment = environmentSpec(project, environmentName)
    const retries = retryPolicyOf(project.blueprint.resources, environment)
    const plans: ReleaseTasks[] = []
    for (const release of releases) {
      const resources = release.resources.map((resource) => {
        const deployed = apps.get(resource.name)?.deployedVersion ?? null
        const action = resource.action === 'delete' ? 'delete' : deployed === null ? 'create' : 'update'
        return {...resource, action, fromVersion: deployed} as ReleaseResource
      })
      const planInput = {blueprint: project.blueprint, environment, resources, targetOrder: release.options.targetOrder, steps: release.options.steps}
      // The blueprint may have grown since the trigger.
      checkPlanSize(planInput)
      const plan = await planReleaseInTurns(planInput)
      plans.push({releaseId: release.id, tasks: plan.tasks.map((task) => toNewTask(task, retries(task)?.attempts ?? 1))})
    }
    const inserted = await tx.insertTasks(plans)
    const claimed: Claimed[] = releases.map((release, index) => ({release, project, environment, tasks: inserted[index]}))
    const first = claimed.flatMap(({tasks}) => firstTasks(tasks))
    if (first.length > 0) await recordStarts(tx, releases[0], first, startedAt)
    for (const task of first) Object.assign(task, {status: 'running', startedAt})
    return claimed
  }

  /** After the turn's commit: the runs of what it claimed. */
  private startClaimed(claimed: Claimed[]): void {
    for (const {release, project, environment, tasks} of claimed) {
      this.reserved--
      const run = new ReleaseRun(this.ctx.store, release, project, environment, tasks, this.logs, () => nowOf(this.ctx), this.ctx.passEnv, this.ctx.log)
      run.finished = run.done.then(
        (outcome) => this.finish(run, outcome),
        (error) => this.finish(run, {status: 'failed', error: `internal error: ${(error as Error).message}`}),
      )
      this.runs.set(release.id, run)
      this.ctx.log.info({releaseId: release.id, tasks: tasks.length, replica: this.replicaId}, 'release started')
    }
  }

  /**
   * Records the outcome in the environment's turn, which admits what waited for it. A turn that fails
   * (the database went away for a moment, a deadlock) is tried again until it records the end: else
   * the release would stay running, its lease renewed by this replica, holding its apps for good. Only
   * a shutdown past its grace gives up: the lease then lapses, and another replica (on SQLite, this
   * one's next start) records the release as interrupted.
   */
  private async finish(run: ReleaseRun, outcome: ReleaseOutcome): Promise<void> {
    const {id, project, environment} = run.release
    const wasFull = this.freeCapacity() <= 0
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const {value: ended} = await this.turns.takeTogether(project, environment, this.recordEnds, run.endOf(outcome))
          if (ended) this.ctx.log.info({releaseId: id, status: outcome.status, error: outcome.error}, 'release finished')
          else this.ctx.log.warn({releaseId: id, status: outcome.status}, 'release had already been ended by another replica (its lease had lapsed); its end here is not recorded')
          break
        } catch (error) {
          if (this.pastGrace) {
            this.ctx.log.error({releaseId: id, err: error}, 'could not record the end of a release; shutting down, it is left to its lease')
            break
          }
          const retryMs = backoffBefore(END_RETRY, attempt + 1)
          this.ctx.log.error({releaseId: id, err: error, attempt, retryMs}, 'could not record the end of a release; trying again')
          await sleep(retryMs)
        }
      }
    } finally {
      this.runs.delete(id)
    }
    if (this.admitting && wasFull) await this.admitAllQueued()
  }

  /** Admits in every environment that has queued releases; says how many environments there were. */
  private async admitAllQueued(): Promise<{environments: number}> {
    if (!this.admitting) return {environments: 0}
    const environments = await this.ctx.store.environmentsWithQueued()
    for (const {project, environment} of environments) {
      // One environment that cannot be admitted does not hold back the others, nor the engine's start.
      await this.admit(project, environment).catch((error) => this.ctx.log.error({project, environment, err: error}, 'could not admit queued releases'))
    }
    return {environments: environments.length}
  }

  /**
   * A release that cannot start ends failed with the reason, instead of staying queued: a queued release
   * that can never start would hold its environment's queue, and fail every admission there again.
   * True when the release has ended (so admission may go on past it).
   */
  private async recordStartFailure(tx: Store, id: number, error: unknown): Promise<boolean> {
    const reason = `could not start: ${error instanceof Error ? error.message : String(error)}`
    this.ctx.log.error({releaseId: id, err: error}, 'release could not start; recorded as failed')
    const ended = await transitionRelease(tx, id, ['queued', 'running'], 'failed', {finishedAt: nowOf(this.ctx), error: reason})
    return ended !== null
  }

  /** A run whose owner stopped answering: failed with its unfinished tasks interrupted, in its environment's turn. */
  private async endExpired(release: ReleaseRecord): Promise<boolean> {
    const owner = release.replica ?? 'unknown'
    // This replica's own lease can lapse too (a stalled event loop): its deploys must stop as well.
    this.runs.get(release.id)?.stop('interrupted')
    const ended = await this.turn(release.project, release.environment, async (tx) => {
      const now = nowOf(this.ctx)
      const current = await tx.getRelease(release.id)
      // Renewed meanwhile: the owner answers again.
      if (!current || current.status !== 'running' || current.replica !== release.replica || (current.leaseExpiresAt ?? '') > now) return false
      await this.interruptTasks(tx, release, now, `replica ${owner} stopped answering while this task ran`)
      const failed = await transitionRelease(tx, release.id, ['running'], 'failed', {
        finishedAt: now,
        error: `replica ${owner} stopped answering (its lease expired at ${current.leaseExpiresAt}); trigger it again`,
      })
      return failed !== null
    })
    if (ended) this.ctx.log.warn({releaseId: release.id, replica: owner}, 'the replica that ran this release stopped answering; recorded as failed')
    return ended
  }

  /**
   * A release this replica (or, on SQLite, the one process before it) was running when it stopped. Its
   * deploys did not survive: the deploy supervisor stops every process group when its channel to the
   * control plane closes, and a replica starts only once its supervisor has exited
   * (drivers/supervisor-client.ts), so a new release never overlaps an orphan of the old one.
   */
  private async recoverInterrupted(release: ReleaseRecord): Promise<void> {
    await this.turn(release.project, release.environment, async (tx) => {
      const now = nowOf(this.ctx)
      await this.interruptTasks(tx, release, now, 'the control plane stopped while this task ran')
      await transitionRelease(tx, release.id, ['running'], 'failed', {finishedAt: now, error: 'interrupted: the control plane stopped while it ran; trigger it again'})
    })
    this.ctx.log.warn({releaseId: release.id}, 'release was running when the control plane stopped; recorded as interrupted')
  }

  private async interruptTasks(tx: Store, release: ReleaseRecord, now: string, why: string): Promise<void> {
    for (const task of await tx.listTasks(release.id)) {
      if (task.status === 'running') {
        await updateTask(tx, release, task, {status: 'interrupted', finishedAt: now, error: why})
        await appendLogLines(tx, [
          {project: release.project, environment: release.environment, releaseId: release.id, taskId: task.id, resource: task.resource ?? task.hook, target: task.target, stream: 'system', line: RECOVERY_LOG_LINE, at: now},
        ])
        if (task.resource) await changeApp(tx, release.project, release.environment, task.resource, {health: 'Unknown'}, now)
      } else if (task.status === 'pending') {
        await updateTask(tx, release, task, {status: 'cancelled', finishedAt: now, error: `not started: ${why.replace(' while this task ran', '')}`})
      }
    }
  }
}
