// The runner: carries out one release's tasks. A task starts as soon as the tasks it depends on have
// succeeded; a failed task skips everything that depends on it while independent tasks finish.
import type {Health, ReleaseStatus, TaskStatus} from '../../api/domain.js'
import type {ResourceSpec} from '../blueprint/blueprint.js'
import type {DriverResult, TaskContext} from '../drivers/driver.js'
import {driverFor} from '../drivers/index.js'
import type {NewLogLine, ProjectRecord, ReleaseRecord, Store, TaskRecord} from '../store/store.js'
import type {LogWriter} from './log-writer.js'

export type StopReason = 'cancelled' | 'interrupted'

export interface ReleaseOutcome {
  status: Extract<ReleaseStatus, 'succeeded' | 'failed' | 'cancelled'>
  error: string | null
}

type AppPatch = Parameters<Store['updateApp']>[3] | 'delete'

export class ReleaseRun {
  private readonly controller = new AbortController()
  private stopReason: StopReason | null = null
  readonly done: Promise<ReleaseOutcome>
  /** Resolves once the engine has recorded the outcome; set by the engine when it starts the run. */
  finished: Promise<void> = Promise.resolve()

  constructor(
    private readonly store: Store,
    readonly release: ReleaseRecord,
    private readonly project: ProjectRecord,
    private readonly tasks: TaskRecord[],
    private readonly logs: LogWriter,
    private readonly now: () => string,
  ) {
    this.done = this.execute()
  }

  /** Stops running tasks (their whole process groups) and starts nothing more. */
  stop(reason: StopReason) {
    if (this.stopReason) return
    this.stopReason = reason
    this.controller.abort(reason === 'cancelled' ? 'cancelled by request' : 'interrupted: the control plane is shutting down')
  }

  private log(task: TaskRecord | null, stream: NewLogLine['stream'], line: string) {
    this.logs.add({releaseId: this.release.id, taskId: task?.id ?? null, resource: task?.resource ?? null, stream, line, at: this.now()})
  }

  private async execute(): Promise<ReleaseOutcome> {
    const specs = new Map(this.project.blueprint.resources.map((spec) => [spec.name, spec]))
    const status = new Map<string, TaskStatus>(this.tasks.map((task) => [task.resource, 'pending']))
    const running = new Map<string, Promise<void>>()
    this.log(null, 'system', `release ${this.release.id} (${this.release.type}) started with ${this.tasks.length} task(s)`)

    // A task's end and what it did to its app are recorded together, in one transaction.
    const settle = async (task: TaskRecord, outcome: TaskStatus, fields: {exitCode?: number | null; error?: string | null} = {}, app?: AppPatch) => {
      status.set(task.resource, outcome)
      const {project, environment} = this.release
      await this.store.transaction(async (tx) => {
        await tx.updateTask(task.id, {status: outcome, finishedAt: this.now(), ...fields})
        if (app === 'delete') await tx.deleteApp(project, environment, task.resource)
        else if (app) await tx.updateApp(project, environment, task.resource, app, this.now())
      })
    }

    // Each pass starts every ready task and skips those whose dependencies failed; then waits for one to end.
    for (;;) {
      for (const task of this.tasks) {
        if (status.get(task.resource) !== 'pending') continue
        if (this.stopReason) {
          await settle(task, 'cancelled', {error: 'not started: the release was stopped'})
          continue
        }
        const blocked = task.dependsOn.find((name) => ['failed', 'skipped', 'cancelled', 'interrupted'].includes(status.get(name) ?? ''))
        if (blocked) {
          await settle(task, 'skipped', {error: `skipped: ${blocked} did not succeed`})
          this.log(task, 'system', `skipped: it depends on ${blocked}, which did not succeed`)
          continue
        }
        if (task.dependsOn.every((name) => (status.get(name) ?? 'succeeded') === 'succeeded')) {
          status.set(task.resource, 'running')
          running.set(
            task.resource,
            this.runTask(task, specs.get(task.resource), settle).finally(() => running.delete(task.resource)),
          )
        }
      }
      if (running.size === 0) break
      await Promise.race(running.values())
    }
    await this.logs.flush()
    return this.outcome(status)
  }

  private outcome(status: Map<string, TaskStatus>): ReleaseOutcome {
    const failed = this.tasks.filter((task) => status.get(task.resource) === 'failed').map((task) => task.resource)
    if (this.stopReason === 'cancelled') return {status: 'cancelled', error: 'cancelled by request'}
    if (this.stopReason === 'interrupted') return {status: 'failed', error: 'interrupted: the control plane shut down while it ran; trigger it again'}
    if (failed.length > 0) return {status: 'failed', error: `task${failed.length > 1 ? 's' : ''} failed: ${failed.join(', ')}`}
    return {status: 'succeeded', error: null}
  }

  private async runTask(
    task: TaskRecord,
    spec: ResourceSpec | undefined,
    settle: (task: TaskRecord, outcome: TaskStatus, fields?: {exitCode?: number | null; error?: string | null}, app?: AppPatch) => Promise<void>,
  ): Promise<void> {
    const {project, environment} = this.release
    const at = this.now()
    await this.store.transaction(async (tx) => {
      await tx.updateTask(task.id, {status: 'running', startedAt: at})
      await tx.updateApp(project, environment, task.resource, {health: 'Progressing'}, at)
    })

    if (!spec) {
      // A resource removed from the blueprint: only a delete reaches here, and there is nothing left to run.
      this.log(task, 'system', `${task.resource} is no longer in the blueprint; relctl forgets it`)
      await settle(task, 'succeeded', {exitCode: 0}, 'delete')
      return
    }

    const ctx: TaskContext = {
      project,
      environment,
      releaseId: this.release.id,
      resource: spec,
      action: task.action,
      version: task.toVersion,
      previousVersion: task.fromVersion,
      target: null,
      baseDir: this.project.baseDir,
      signal: this.controller.signal,
      log: (stream, line) => this.log(task, stream, line),
    }
    const driver = driverFor(spec)
    let result: DriverResult
    try {
      result = task.action === 'delete' ? await driver.destroy(ctx) : await driver.deploy(ctx)
    } catch (error) {
      result = {ok: false, exitCode: null, error: `driver error: ${(error as Error).message}`}
    }

    if (!result.ok) {
      const stopped = this.stopReason !== null
      this.log(task, 'system', `${task.action} of ${task.resource} ${stopped ? 'stopped' : 'failed'}: ${result.error}`)
      const outcome = stopped ? (this.stopReason === 'cancelled' ? 'cancelled' : 'interrupted') : 'failed'
      await settle(task, outcome, result, {health: stopped ? 'Unknown' : 'Degraded'})
      return
    }

    if (task.action === 'delete') {
      const removed = !this.project.blueprint.resources.some((resource) => resource.name === task.resource)
      this.log(task, 'system', `deleted ${task.resource}`)
      await settle(task, 'succeeded', {exitCode: 0}, removed ? 'delete' : {deployedVersion: null, health: 'Missing'})
      return
    }

    const health = await this.checkHealth(driver.health.bind(driver), ctx)
    const deployed = {deployedVersion: task.toVersion, health: health.health}
    if (health.health === 'Healthy') {
      this.log(task, 'system', `deployed ${task.resource} ${task.toVersion ?? ''}: Healthy`)
      await settle(task, 'succeeded', {exitCode: 0}, deployed)
    } else {
      this.log(task, 'system', `deployed ${task.resource} ${task.toVersion ?? ''}, but the health check failed: ${health.error}`)
      await settle(task, 'failed', {exitCode: health.exitCode, error: `health check failed: ${health.error}`}, deployed)
    }
  }

  private async checkHealth(
    check: (ctx: TaskContext) => Promise<DriverResult | null>,
    ctx: TaskContext,
  ): Promise<{health: Health; error: string | null; exitCode: number | null}> {
    const result = await check(ctx)
    if (result === null || result.ok) return {health: 'Healthy', error: null, exitCode: 0}
    return {health: 'Degraded', error: result.error, exitCode: result.exitCode}
  }
}
