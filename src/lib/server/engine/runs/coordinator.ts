// The run coordinator: admission turns and the life of every run on this control plane. An
// environment's turn (one admission decision at a time per environment) decides with the pure rules
// which queued releases start; a start claims the release (queued -> running) and records its plan in
// one transaction; a finish records the outcome and admits again. It also counts capacity, stops runs
// at shutdown, and at start records what a previous process left running as interrupted.
import type {ReleaseResource} from '../../../api/schemas.js'
import type {NewTask, ProjectRecord, ReleaseRecord} from '../../store/store.js'
import type {EngineContext} from '../context.js'
import {nowOf} from '../context.js'
import {environmentSpec, policyFor} from '../lookups.js'
import {type AdmissionPolicy, decideAdmission} from '../rules/admission.js'
import {checkPlanSize} from '../rules/plan-size.js'
import {type PlannedTask, planReleaseInTurns} from '../rules/planner.js'
import {LogWriter} from './log-writer.js'
import {type ReleaseOutcome, ReleaseRun} from './runner.js'
import {transitionRelease, updateTask} from './transitions.js'

export const RECOVERY_LOG_LINE = 'the control plane stopped while this task ran; its processes were stopped by the supervisor'

/** The key of an environment's admission turn. */
export function environmentKey(project: string, environment: string): string {
  return `${project}\u0000${environment}`
}

export function toNewTask({requires, ...task}: PlannedTask): NewTask {
  return {...task, dependsOn: requires}
}

export class RunCoordinator {
  private readonly runs = new Map<number, ReleaseRun>()
  private readonly starting = new Map<number, Promise<ReleaseRun | null>>()
  private readonly environmentQueues = new Map<string, Promise<unknown>>()
  private admitting = true
  private readonly logs: LogWriter

  constructor(private readonly ctx: EngineContext) {
    this.logs = new LogWriter(ctx.store, (error) => ctx.log.error({err: error}, 'could not store task log lines'))
  }

  /** Records what a previous process left running as interrupted, then admits every queued release. */
  async start(): Promise<{queued: number; environments: number}> {
    for (const release of await this.ctx.store.listReleases({statuses: ['running']})) {
      await this.recoverInterrupted(release).catch((error) => this.ctx.log.error({releaseId: release.id, err: error}, 'could not record an interrupted release'))
    }
    return this.admitAllQueued()
  }

  get isAdmitting(): boolean {
    return this.admitting
  }

  /** How many more releases may start now, across all environments. */
  freeCapacity(): number {
    return this.ctx.capacity - this.runs.size
  }

  /** The run of a release that runs here, for an answer from memory. */
  runOf(id: number): ReleaseRun | undefined {
    return this.runs.get(id)
  }

  /** Stops a release that runs here (one still starting too) and waits until its end is recorded; false when none runs here. */
  async cancelRun(id: number, subject: string): Promise<boolean> {
    const run = this.runs.get(id) ?? (await this.starting.get(id))
    if (!run) return false
    this.ctx.log.info({releaseId: id, by: subject}, 'cancelling running release')
    run.stop('cancelled')
    await run.finished
    return true
  }

  /** Stops admitting; lets running releases finish for graceMs, then stops them and records them as interrupted. */
  async shutdown(graceMs: number): Promise<void> {
    this.admitting = false
    const running = [...this.runs.values()]
    if (running.length === 0) return
    this.ctx.log.info({running: running.length, graceMs}, 'waiting for running releases before shutting down')
    let timer: NodeJS.Timeout | undefined
    const graceOver = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs)
    })
    const allDone = Promise.all(running.map((run) => run.done.then(() => run.finished)))
    if ((await Promise.race([allDone, graceOver])) === 'timeout') {
      for (const run of this.runs.values()) run.stop('interrupted')
    }
    clearTimeout(timer)
    await Promise.all(running.map((run) => run.finished))
  }

  /** Runs fn in the environment's turn: after every earlier call for it has settled. */
  inTurn<T>(project: string, environment: string, fn: () => Promise<T>): Promise<T> {
    const key = environmentKey(project, environment)
    const previous = this.environmentQueues.get(key) ?? Promise.resolve()
    const next = previous.then(fn, fn)
    const tail = next.catch(() => undefined)
    this.environmentQueues.set(key, tail)
    void tail.then(() => {
      if (this.environmentQueues.get(key) === tail) this.environmentQueues.delete(key)
    })
    return next
  }

  /** Takes the environment's turn and starts what may start. */
  admit(project: string, environment: string): Promise<void> {
    return this.inTurn(project, environment, () => this.admitNow(project, environment))
  }

  /** Starts what may start; the caller holds the environment's turn (and may pass the policy it just read). */
  async admitNow(project: string, environment: string, policy?: AdmissionPolicy): Promise<void> {
    if (!this.admitting) return
    const decision = decideAdmission(
      await this.ctx.store.activeLocks(project, environment),
      policy ?? (await policyFor(this.ctx.store, project, environment)),
      this.freeCapacity(),
    )
    let failedToStart = false
    for (const id of decision.start) if (!(await this.startRelease(id))) failedToStart = true
    // A release that could not start has ended failed: what waited behind it may start now.
    if (failedToStart) await this.admitNow(project, environment)
  }

  /** Starts a release; while it starts, a cancel waits for the run instead of missing it. False when it could not start and was recorded as failed. */
  private async startRelease(id: number): Promise<boolean> {
    let ended = false
    const starting = this.startRun(id).catch(async (error: unknown) => {
      ended = await this.recordStartFailure(id, error)
      return null
    })
    this.starting.set(id, starting)
    try {
      await starting
    } finally {
      this.starting.delete(id)
    }
    return !ended
  }

  /** The claim: queued -> running and the plan, in one transaction; then the run. */
  private async startRun(id: number): Promise<ReleaseRun | null> {
    const started = await this.ctx.store.transaction(async (tx) => {
      const release = await transitionRelease(tx, id, ['queued'], 'running', {startedAt: nowOf(this.ctx)})
      if (!release) return null
      const project = (await tx.getProject(release.project)) as ProjectRecord
      // Versions are read again at start: an earlier release may have changed what is deployed.
      const names = release.resources.map((resource) => resource.name)
      const apps = new Map((await tx.listApps(release.project, release.environment, names)).map((app) => [app.name, app]))
      const resources = release.resources.map((resource) => {
        const deployed = apps.get(resource.name)?.deployedVersion ?? null
        const action = resource.action === 'delete' ? 'delete' : deployed === null ? 'create' : 'update'
        return {...resource, action, fromVersion: deployed} as ReleaseResource
      })
      const environment = environmentSpec(project, release.environment)
      const planInput = {blueprint: project.blueprint, environment, resources, targetOrder: release.options.targetOrder, steps: release.options.steps}
      // The blueprint may have grown since the trigger.
      checkPlanSize(planInput)
      const plan = await planReleaseInTurns(planInput)
      const tasks = await tx.insertTasks(id, plan.tasks.map(toNewTask))
      return {release, project, environment, tasks}
    })
    if (!started) return null
    const run = new ReleaseRun(this.ctx.store, started.release, started.project, started.environment, started.tasks, this.logs, () => nowOf(this.ctx), this.ctx.passEnv)
    run.finished = run.done.then(
      (outcome) => this.finish(run, outcome),
      (error) => this.finish(run, {status: 'failed', error: `internal error: ${(error as Error).message}`}),
    )
    this.runs.set(id, run)
    this.ctx.log.info({releaseId: id, tasks: started.tasks.length}, 'release started')
    return run
  }

  private async finish(run: ReleaseRun, outcome: ReleaseOutcome): Promise<void> {
    const {id, project, environment} = run.release
    try {
      await transitionRelease(this.ctx.store, id, ['running'], outcome.status, {finishedAt: nowOf(this.ctx), error: outcome.error})
      this.ctx.log.info({releaseId: id, status: outcome.status, error: outcome.error}, 'release finished')
    } catch (error) {
      this.ctx.log.error({releaseId: id, err: error}, 'could not record the end of a release')
    }
    const wasFull = this.runs.size >= this.ctx.capacity
    this.runs.delete(id)
    if (!this.admitting) return
    await this.admit(project, environment)
    if (wasFull) await this.admitAllQueued()
  }

  /** Admits in every environment that has queued releases; says how many of each there were. */
  private async admitAllQueued(): Promise<{queued: number; environments: number}> {
    const queued = await this.ctx.store.listReleases({statuses: ['queued']})
    const environments = new Map(queued.map((release) => [environmentKey(release.project, release.environment), release]))
    for (const {project, environment} of environments.values()) {
      // One environment that cannot be admitted does not hold back the others, nor the engine's start.
      await this.admit(project, environment).catch((error) => this.ctx.log.error({project, environment, err: error}, 'could not admit queued releases'))
    }
    return {queued: queued.length, environments: environments.size}
  }

  /**
   * A release that cannot start ends failed with the reason, instead of staying queued: a queued release
   * that can never start would hold its environment's queue, and fail every admission there again.
   * True when the release has ended (so admission may go on past it).
   */
  private async recordStartFailure(id: number, error: unknown): Promise<boolean> {
    const reason = `could not start: ${error instanceof Error ? error.message : String(error)}`
    try {
      const ended = await transitionRelease(this.ctx.store, id, ['queued', 'running'], 'failed', {finishedAt: nowOf(this.ctx), error: reason})
      this.ctx.log.error({releaseId: id, err: error}, 'release could not start; recorded as failed')
      return ended !== null
    } catch (recordError) {
      this.ctx.log.error({releaseId: id, err: error, recordError}, 'release could not start, and its failure could not be recorded')
      return false
    }
  }

  /**
   * A release that was running when the previous control plane stopped is recorded as interrupted. Its
   * deploys did not survive it: the deploy supervisor stops every process group when its channel to the
   * control plane closes, and the new control plane starts only once that supervisor has exited
   * (drivers/supervisor-client.ts), so a new release never overlaps an orphan of the old one.
   */
  private async recoverInterrupted(release: ReleaseRecord): Promise<void> {
    const now = nowOf(this.ctx)
    await this.ctx.store.transaction(async (tx) => {
      for (const task of await tx.listTasks(release.id)) {
        if (task.status === 'running') {
          await updateTask(tx, task.id, {status: 'interrupted', finishedAt: now, error: 'the control plane stopped while this task ran'})
          await tx.appendLogs([{releaseId: release.id, taskId: task.id, resource: task.resource ?? task.hook, target: task.target, stream: 'system', line: RECOVERY_LOG_LINE, at: now}])
          if (task.resource) await tx.updateApp(release.project, release.environment, task.resource, {health: 'Unknown'}, now)
        } else if (task.status === 'pending') {
          await updateTask(tx, task.id, {status: 'cancelled', finishedAt: now, error: 'not started: the control plane stopped'})
        }
      }
      await transitionRelease(tx, release.id, ['running'], 'failed', {
        finishedAt: now,
        error: 'interrupted: the control plane stopped while it ran; trigger it again',
      })
    })
    this.ctx.log.warn({releaseId: release.id}, 'release was running when the control plane stopped; recorded as interrupted')
  }
}
