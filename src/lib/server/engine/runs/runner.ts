// The runner: carries out one release's plan. A task starts once the tasks it requires have succeeded
// and the tasks it comes after have ended; a task whose requirement did not succeed is skipped once
// they have all ended, while independent tasks go on. A failure in a step with haltOnError stops everything not yet started.
// An app's state changes once all of its tasks (one per target) have ended.
import {setMaxListeners} from 'node:events'
import {setImmediate as nextTurn, setTimeout as sleep} from 'node:timers/promises'

import type {EndReason, Health, ReleaseStatus, TaskStatus} from '../../../api/domain.js'
import {formatDuration} from '../../../api/duration.js'
import type {Release} from '../../../api/schemas.js'
import type {EnvironmentSpec, ResourceSpec, RetryPolicy, WorkflowStep} from '../../blueprint/blueprint.js'
import {backoffBefore} from '../../blueprint/retries.js'
import type {DriverResult, TaskContext} from '../../drivers/driver.js'
import {driverFor} from '../../drivers/index.js'
import {DEFAULT_TASK_TIMEOUT_MS} from '../../blueprint/blueprint.js'
import type {NewLogLine, ProjectRecord, ReleaseRecord, Store, TaskRecord} from '../../store/store.js'
import type {Logger} from '../context.js'
import type {LogWriter} from './log-writer.js'
import {type DeferredWrite, recordStarts, recordTaskEnd, type ReleaseLogLine, type RunEnd, type TaskEnd, updateTask} from './transitions.js'

export type StopReason = 'cancelled' | 'interrupted' | 'deadline'

export interface ReleaseOutcome {
  status: Extract<ReleaseStatus, 'succeeded' | 'failed' | 'cancelled'>
  error: string | null
  /** the engine ended it on its own: it ran past its deadline */
  endReason?: EndReason
}

/** The retry policy of each task: its resource's `retries`, or for a target hook the environment's `hooks.retries`. */
export function retryPolicyOf(resources: readonly ResourceSpec[], environment: EnvironmentSpec): (task: Pick<TaskRecord, 'kind' | 'resource'>) => RetryPolicy | null {
  const byName = new Map(resources.map((resource) => [resource.name, resource.retries]))
  return (task) => (task.kind === 'hook' ? environment.hookRetries : (byName.get(task.resource ?? '') ?? null))
}

const STOPPED: Record<StopReason, string> = {
  cancelled: 'the release was stopped',
  interrupted: 'the release was stopped',
  deadline: 'the release ran past its deadline',
}

/** How long the runner's loop works before it offers the event loop a turn. */
const SLICE_MS = 10
const NOT_SUCCEEDED: TaskStatus[] = ['failed', 'skipped', 'cancelled', 'interrupted']

interface TaskResult {
  status: TaskStatus
  exitCode?: number | null
  error?: string | null
  /** the deploy itself went through (a health check may still have failed) */
  deployed?: boolean
}

export class ReleaseRun {
  private readonly controller = new AbortController()
  private stopReason: StopReason | null = null
  private halted: string | null = null
  private readonly status = new Map<string, TaskStatus>()
  private readonly results = new Map<string, TaskResult>()
  /** the targets where a task has started, for the afterTarget hooks that must run even after a halt */
  private readonly startedTargets = new Set<string | null>()
  private readonly tasksOfResource = new Map<string, TaskRecord[]>()
  private readonly endedOfResource = new Map<string, number>()
  /** tasks whose end is not recorded yet */
  private unsettled: number
  /**
   * Changes of this run's tasks that the turn finishing the release records: the last task's end, and
   * every change since one the database refused (they keep their order).
   */
  private readonly unwritten: DeferredWrite[] = []
  /** the log lines that turn records, taken from the writer's buffer */
  private readonly lastLines: ReleaseLogLine[] = []
  private readonly specs: Map<string, ResourceSpec>
  private readonly haltingSteps: Set<string>
  private readonly retryPolicy: (task: TaskRecord) => RetryPolicy | null
  readonly done: Promise<ReleaseOutcome>
  /** Resolves once the engine has recorded the outcome; set by the engine when it starts the run. */
  finished: Promise<void> = Promise.resolve()

  constructor(
    private readonly store: Store,
    readonly release: ReleaseRecord,
    private readonly project: ProjectRecord,
    private readonly environment: EnvironmentSpec,
    private readonly tasks: TaskRecord[],
    private readonly logs: LogWriter,
    private readonly now: () => string,
    private readonly passEnv: readonly string[],
    /** the control plane's own log (this.log writes the release's log lines) */
    private readonly serverLog: Logger,
  ) {
    for (const task of tasks) {
      if (task.resource === null) continue
      const siblings = this.tasksOfResource.get(task.resource)
      if (siblings) siblings.push(task)
      else this.tasksOfResource.set(task.resource, [task])
    }
    this.unsettled = tasks.length
    this.specs = new Map(project.blueprint.resources.map((spec) => [spec.name, spec]))
    this.haltingSteps = new Set(project.blueprint.workflow.filter((step: WorkflowStep) => step.haltOnError).map((step: WorkflowStep) => step.step))
    this.retryPolicy = retryPolicyOf(project.blueprint.resources, environment)
    // Every running task listens for a stop: a big plan runs thousands at once, which is no leak.
    setMaxListeners(0, this.controller.signal)
    this.done = this.execute()
  }

  /** The release as it started, with its plan, in the API's shape. */
  snapshot(): Release {
    const {lockSet: _lockSet, ...release} = this.release
    return {...release, tasks: this.tasks.map(({releaseId: _releaseId, ...task}) => ({...task, status: this.status.get(task.key) ?? task.status}))}
  }

  /** Stops running tasks (their whole process groups) and starts nothing more; false when it was stopped already. */
  stop(reason: StopReason): boolean {
    if (this.stopReason) return false
    this.stopReason = reason
    this.controller.abort(
      reason === 'cancelled' ? 'cancelled by request' : reason === 'deadline' ? `the release ran past its deadline (${this.release.deadlineAt})` : 'interrupted: the control plane is shutting down',
    )
    return true
  }

  private log(task: TaskRecord | null, stream: NewLogLine['stream'], line: string) {
    this.logs.add({
      project: this.release.project,
      environment: this.release.environment,
      releaseId: this.release.id,
      taskId: task?.id ?? null,
      resource: task ? (task.resource ?? task.hook) : null,
      target: task?.target ?? null,
      stream,
      line,
      at: this.now(),
      attempt: task ? task.attempt : null,
    })
  }

  private async execute(): Promise<ReleaseOutcome> {
    // The turn that claimed the release recorded the start of its first tasks: they run at once.
    const startedByClaim: TaskRecord[] = []
    for (const task of this.tasks) {
      this.status.set(task.key, task.status === 'running' ? 'running' : 'pending')
      if (task.status === 'running') startedByClaim.push(task)
    }
    this.log(null, 'system', `release ${this.release.id} (${this.release.type}) started with ${this.tasks.length} task(s)`)
    // A task is looked at again only when the last task it waits for has ended, or when a stop or a halt
    // reaches every task: linear in tasks and edges. A task whose requirement did not succeed is skipped
    // then too, not earlier: a step waits only for the nearest step before it, and a task of that step
    // must not end before the steps it waits for have ended.
    const {waiters, unmet} = waitersOf(this.tasks)
    const ended: string[] = []
    let wake: (() => void) | null = null
    const taskEnded = (task: TaskRecord) => {
      ended.push(task.key)
      wake?.()
    }
    /** tasks found ready in this pass: they start together */
    const ready: TaskRecord[] = []
    let running = startedByClaim.length
    this.launch(startedByClaim, taskEnded, {startRecorded: true})
    let swept = 'nothing' as 'nothing' | 'halt' | 'stop'
    let queue: TaskRecord[] = [...this.tasks]
    const hasEnded = (key: string) => {
      for (const task of waiters.get(key) ?? []) {
        const left = (unmet.get(task.key) as number) - 1
        unmet.set(task.key, left)
        if (left === 0) queue.push(task)
      }
    }

    let sliceStarted = performance.now()
    for (;;) {
      for (let index = 0; index < queue.length; index++) {
        // Thousands of tasks to look at (the first pass of a big plan): let timers and requests run too.
        if (index % 256 === 255 && performance.now() - sliceStarted > SLICE_MS) {
          if (ready.length > 0) this.launch(ready.splice(0), taskEnded)
          await nextTurn()
          sliceStarted = performance.now()
        }
        const sweep: typeof swept | null = this.stopReason ? (swept === 'stop' ? null : 'stop') : this.halted && swept === 'nothing' ? 'halt' : null
        if (sweep) {
          swept = sweep
          queue.push(...this.tasks.filter((task) => this.status.get(task.key) === 'pending'))
        }
        const task = queue[index]
        if (this.status.get(task.key) !== 'pending') continue
        if (await this.settleIfNotToRun(task)) {
          hasEnded(task.key)
        } else if (unmet.get(task.key) === 0) {
          this.status.set(task.key, 'running')
          running++
          ready.push(task)
        }
      }
      if (ready.length > 0) this.launch(ready.splice(0), taskEnded)
      if (running === 0) break
      if (ended.length === 0) await new Promise<void>((resolve) => (wake = resolve))
      wake = null
      queue = []
      for (const key of ended.splice(0)) {
        running--
        hasEnded(key)
      }
    }
    // Its lines already on their way are stored before its end; the rest go with the end (recordEnd).
    await this.logs.written()
    return this.outcome()
  }

  /** Cancels a task the release will no longer start, or skips one whose requirement failed; false when it may still run. */
  private async settleIfNotToRun(task: TaskRecord): Promise<boolean> {
    const stopped = this.stopReason ? STOPPED[this.stopReason] : this.mustStillRun(task) ? null : this.halted
    if (stopped) {
      await this.settle(task, {status: 'cancelled', error: `not started: ${stopped}`})
      return true
    }
    const blocked = task.dependsOn.find((key) => NOT_SUCCEEDED.includes(this.status.get(key) as TaskStatus))
    if (!blocked) return false
    this.log(task, 'system', `skipped: it needs ${blocked}, which did not succeed`)
    await this.settle(task, {status: 'skipped', error: `skipped: ${blocked} did not succeed`})
    return true
  }

  /** A halt still lets afterTarget run where the rollout had begun on that target: it puts the target back. */
  private mustStillRun(task: TaskRecord): boolean {
    return task.hook === 'afterTarget' && this.startedTargets.has(task.target)
  }

  private outcome(): ReleaseOutcome {
    const failed = this.tasks.filter((task) => this.status.get(task.key) === 'failed').map((task) => task.key)
    if (this.stopReason === 'cancelled') return {status: 'cancelled', error: 'cancelled by request'}
    if (this.stopReason === 'interrupted') return {status: 'failed', error: 'interrupted: the control plane shut down while it ran; trigger it again'}
    if (this.stopReason === 'deadline') {
      const stopped = this.tasks.filter((task) => this.results.get(task.key)?.error?.startsWith('stopped:')).map((task) => task.key)
      const limit = this.release.options.deadlineMs === undefined ? '' : ` of ${formatDuration(this.release.options.deadlineMs)}`
      return {
        status: 'failed',
        error: `deadline: it ran past its deadline${limit} (${this.release.deadlineAt}); stopped: ${stopped.join(', ') || 'nothing was running'}`,
        endReason: 'deadline',
      }
    }
    if (this.halted) {
      const ran = this.tasks.filter((task) => this.status.get(task.key) === 'succeeded').map((task) => task.key)
      const notStarted = this.tasks.filter((task) => this.status.get(task.key) === 'cancelled').map((task) => task.key)
      return {
        status: 'failed',
        error: `${this.halted}; already ran (not undone): ${ran.join(', ') || 'nothing'}; not started: ${notStarted.join(', ') || 'nothing'}`,
      }
    }
    if (failed.length > 0) return {status: 'failed', error: `task${failed.length > 1 ? 's' : ''} failed: ${failed.join(', ')}`}
    return {status: 'succeeded', error: null}
  }

  /** Records a task's end; when it was the last task of its resource, records what that did to the app. */
  private async settle(task: TaskRecord, result: TaskResult) {
    this.status.set(task.key, result.status)
    this.results.set(task.key, result)
    if (result.status === 'failed' && task.step && this.haltingSteps.has(task.step) && !this.halted) {
      this.halted = `halted at step "${task.step}" (haltOnError): ${task.key} failed`
    }
    let app: ReturnType<ReleaseRun['appChange']> = null
    if (task.resource !== null) {
      const siblings = this.tasksOfResource.get(task.resource) as TaskRecord[]
      const endedSiblings = (this.endedOfResource.get(task.resource) ?? 0) + 1
      this.endedOfResource.set(task.resource, endedSiblings)
      if (endedSiblings === siblings.length) app = this.appChange(task, siblings)
    }
    const at = this.now()
    const taskEnd: TaskEnd = {task, change: {status: result.status, finishedAt: at, exitCode: result.exitCode ?? null, error: result.error ?? null}, app, at}
    const record = (tx: Store) => recordTaskEnd(tx, this.release, taskEnd)
    this.unsettled--
    // The last task's end is recorded with the release's own, in the turn that finishes it.
    if (this.unsettled === 0) this.unwritten.push({apply: record, taskEnd})
    else await this.write(record, taskEnd)
  }

  /**
   * Records a change of this run's tasks in a transaction of its own. Once the database has refused one
   * (a dropped connection, a deadlock), that one and every change made after it wait for the turn that
   * finishes the release, which is tried until it succeeds: none is lost, and a task's changes keep
   * their order (its next change is made only once the one before is written or deferred). The run goes on.
   */
  private async write(change: (tx: Store) => Promise<void>, taskEnd?: TaskEnd): Promise<void> {
    if (this.unwritten.length === 0) {
      try {
        await this.store.transaction(change)
        return
      } catch (error) {
        this.serverLog.error({releaseId: this.release.id, err: error}, 'could not record a change of a running release; it is recorded with its end')
      }
    }
    this.unwritten.push({apply: change, taskEnd})
  }

  /**
   * The release's end as the turn that records it takes it (runs/transitions.ts recordRunEnds): its
   * last log lines and, for when it ends here (it is still running), its last task's end and what was
   * left unwritten before, in order. The lines are kept until that turn commits: a turn that failed is
   * tried again with them.
   */
  endOf(outcome: ReleaseOutcome): RunEnd {
    this.lastLines.push(...this.logs.takeLinesOf(this.release.id))
    const fields = {error: outcome.error, ...(outcome.endReason && {endReason: outcome.endReason})}
    return {release: this.release, status: outcome.status, fields, lines: this.lastLines, writes: this.unwritten}
  }

  private appChange(task: TaskRecord, siblings: TaskRecord[]): Parameters<Store['updateApp']>[3] | 'delete' | null {
    const results = siblings.map((sibling) => this.results.get(sibling.key) as TaskResult)
    if (!results.some((result) => result.status !== 'skipped' && result.status !== 'cancelled') && !results.some((result) => result.deployed)) {
      // Nothing of this resource ran: its app is as it was, unless a run had begun it.
      return siblings.some((sibling) => sibling.startedAt) ? {health: 'Unknown'} : null
    }
    if (results.some((result) => result.status === 'interrupted' || (result.status === 'cancelled' && this.stopReason))) return {health: 'Unknown'}
    const allDeployed = results.every((result) => result.deployed)
    if (task.action === 'delete') {
      if (!allDeployed) return {health: 'Degraded'}
      const removed = !this.specs.has(task.resource as string)
      return removed ? 'delete' : {deployedVersion: null, health: 'Missing'}
    }
    if (!allDeployed) return {health: 'Degraded'}
    const health: Health = results.every((result) => result.status === 'succeeded') ? 'Healthy' : 'Degraded'
    // A rollback moves the desired version back too, or the app would be out of sync at once.
    return {deployedVersion: task.toVersion, health, drift: null, ...(this.release.type === 'rollback' && {desiredVersion: task.toVersion})}
  }

  private context(task: TaskRecord, resource: ResourceSpec): TaskContext {
    return {
      project: this.release.project,
      environment: this.release.environment,
      releaseId: this.release.id,
      resource,
      action: task.action,
      version: task.toVersion,
      previousVersion: task.fromVersion,
      target: task.target,
      hook: task.hook,
      baseDir: this.project.baseDir,
      passEnv: this.passEnv,
      signal: this.controller.signal,
      log: (stream, line) => this.log(task, stream, line),
    }
  }

  /**
   * Starts tasks that became ready together: records their start in one transaction (the first tasks of
   * the release were recorded by the turn that claimed it), then runs each; `ended` hears of each end.
   */
  private launch(tasks: TaskRecord[], ended: (task: TaskRecord) => void, {startRecorded = false} = {}): void {
    const at = this.now()
    for (const task of tasks) {
      task.startedAt ??= at
      this.startedTargets.add(task.target)
    }
    const recorded = startRecorded ? Promise.resolve() : this.write((tx) => recordStarts(tx, this.release, tasks, at))
    for (const task of tasks) void recorded.then(() => this.runTask(task)).finally(() => ended(task))
  }

  /** Runs a task to its end and records it; never rejects (its caller does not wait for it). */
  private async runTask(task: TaskRecord): Promise<void> {
    if (task.attempts > 1) this.log(task, 'system', `attempt 1/${task.attempts}`)
    let result: TaskResult
    try {
      result = await this.attempts(task)
    } catch (error) {
      // A driver that throws instead of answering (a hook's; runDeploy answers a deploy's itself): the task fails.
      this.log(task, 'system', `${task.key} failed: internal error: ${(error as Error).message}`)
      result = {status: 'failed', exitCode: null, error: `internal error: ${(error as Error).message}`}
    }
    await this.settle(task, result)
  }

  private async runHook(task: TaskRecord): Promise<TaskResult> {
    const command = task.hook ? this.environment.hooks[task.hook] : null
    if (!command) return {status: 'succeeded', exitCode: 0}
    const pseudo: ResourceSpec = {
      name: task.hook as string,
      kind: 'hook',
      dependsOn: [],
      version: null,
      driver: 'exec',
      exec: null,
      simulate: null,
      timeoutMs: DEFAULT_TASK_TIMEOUT_MS,
      retries: this.environment.hookRetries,
    }
    this.log(task, 'system', `running ${task.hook} on ${task.target}`)
    const result = await driverFor(pseudo).runHook(this.context(task, pseudo), command)
    return this.ended(task, result)
  }

  private ended(task: TaskRecord, result: DriverResult): TaskResult {
    if (result.ok) return {status: 'succeeded', exitCode: 0, deployed: true}
    if (this.stopReason !== null) return this.stoppedResult(task, result.error ?? STOPPED[this.stopReason], result.exitCode)
    this.log(task, 'system', `${task.key} failed: ${result.error}`)
    return {status: 'failed', exitCode: result.exitCode, error: result.error}
  }

  /** A task the stop reached while it ran: cancelled (a cancel, a deadline) or interrupted (a shutdown). */
  private stoppedResult(task: TaskRecord, why: string, exitCode: number | null = null): TaskResult {
    const reason = this.stopReason as StopReason
    this.log(task, 'system', `${task.key} stopped: ${why}`)
    return {status: reason === 'interrupted' ? 'interrupted' : 'cancelled', exitCode, error: reason === 'deadline' ? `stopped: ${STOPPED.deadline}` : why}
  }

  /**
   * Runs a task once, then again while it fails and its retry policy has attempts left, after a backoff
   * that a stop cuts short. Each attempt is recorded (attempt N of M, with a task.started event), and its
   * log lines carry its number.
   */
  private async attempts(task: TaskRecord): Promise<TaskResult> {
    const policy = this.retryPolicy(task)
    let result = task.kind === 'hook' ? await this.runHook(task) : await this.runDeploy(task)
    while (result.status === 'failed' && policy && task.attempt < task.attempts && !this.stopReason) {
      const wait = backoffBefore(policy, task.attempt + 1)
      this.log(task, 'system', `attempt ${task.attempt}/${task.attempts} failed; attempt ${task.attempt + 1} in ${formatDuration(wait)}`)
      try {
        await sleep(wait, undefined, {signal: this.controller.signal})
      } catch {
        return this.stoppedResult(task, 'stopped between attempts')
      }
      task.attempt++
      const attempt = task.attempt
      await this.write((tx) => updateTask(tx, this.release, task, {status: 'running', attempt}))
      this.log(task, 'system', `attempt ${task.attempt}/${task.attempts}`)
      result = task.kind === 'hook' ? await this.runHook(task) : await this.runDeploy(task)
    }
    return result
  }

  private async runDeploy(task: TaskRecord): Promise<TaskResult> {
    const spec = this.specs.get(task.resource as string)
    if (!spec) {
      // A resource removed from the blueprint: only a delete reaches here, and there is nothing left to run.
      this.log(task, 'system', `${task.resource} is no longer in the blueprint; relctl forgets it`)
      return {status: 'succeeded', exitCode: 0, deployed: true}
    }
    const ctx = this.context(task, spec)
    const driver = driverFor(spec)
    let result: DriverResult
    try {
      result = task.action === 'delete' ? await driver.destroy(ctx) : await driver.deploy(ctx)
    } catch (error) {
      result = {ok: false, exitCode: null, error: `driver error: ${(error as Error).message}`}
    }
    if (!result.ok) return this.ended(task, result)
    if (task.action === 'delete') {
      this.log(task, 'system', `deleted ${task.key}`)
      return {status: 'succeeded', exitCode: 0, deployed: true}
    }
    const health = await driver.health(ctx)
    if (health === null || health.ok) {
      this.log(task, 'system', `deployed ${task.key} ${task.toVersion ?? ''}: Healthy`)
      return {status: 'succeeded', exitCode: 0, deployed: true}
    }
    this.log(task, 'system', `deployed ${task.key} ${task.toVersion ?? ''}, but the health check failed: ${health.error}`)
    return {status: 'failed', exitCode: health.exitCode, error: `health check failed: ${health.error}`, deployed: true}
  }
}

/** The tasks of a plan that wait for no other task: they start as soon as their release does. */
export function firstTasks(tasks: TaskRecord[]): TaskRecord[] {
  const keys = new Set(tasks.map((task) => task.key))
  const waitsFor = (task: TaskRecord, key: string) => key !== task.key && keys.has(key)
  return tasks.filter((task) => !task.dependsOn.some((key) => waitsFor(task, key)) && !task.after.some((key) => waitsFor(task, key)))
}

/**
 * Task key -> the tasks that wait for it; task key -> how many of the tasks it waits for have not
 * ended yet. Edges to keys outside the plan count as met.
 */
function waitersOf(tasks: TaskRecord[]) {
  const keys = new Set(tasks.map((task) => task.key))
  const waiters = new Map<string, TaskRecord[]>()
  const unmet = new Map<string, number>()
  for (const task of tasks) {
    const edges = new Set([...task.dependsOn, ...task.after].filter((key) => keys.has(key) && key !== task.key))
    for (const key of edges) {
      const list = waiters.get(key)
      if (list) list.push(task)
      else waiters.set(key, [task])
    }
    unmet.set(task.key, edges.size)
  }
  return {waiters, unmet}
}
