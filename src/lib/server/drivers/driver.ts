// How a task deploys. A driver gets everything about the task in a TaskContext and reports
// success or failure; its output goes to the task's log through ctx.log. It also reads a resource's
// live version (status, for a refresh) and runs an environment's target hooks.
import type {Action} from '../../api/domain.js'
import type {ResourceSpec} from '../blueprint/blueprint.js'

export interface TaskContext {
  project: string
  environment: string
  releaseId: number
  resource: ResourceSpec
  action: Action
  version: string | null
  previousVersion: string | null
  target: string | null
  /** set for a target hook (beforeTarget, afterTarget) */
  hook?: string | null
  /** the blueprint's folder: exec commands run here */
  baseDir: string
  /** names of the control plane's variables every deploy sees (server start --pass-env) */
  passEnv: readonly string[]
  signal: AbortSignal
  log: (stream: 'stdout' | 'stderr' | 'system', line: string) => void
}

/** What a refresh asks a driver: the live version of one resource on one target. */
export interface StatusContext {
  project: string
  environment: string
  resource: ResourceSpec
  target: string | null
  /** the version the last deploy recorded */
  recordedVersion: string | null
  baseDir: string
  passEnv: readonly string[]
}

export interface DriverResult {
  ok: boolean
  exitCode: number | null
  error: string | null
}

export interface Driver {
  deploy(ctx: TaskContext): Promise<DriverResult>
  destroy(ctx: TaskContext): Promise<DriverResult>
  /** null when the resource has no health check: a successful deploy counts as Healthy. */
  health(ctx: TaskContext): Promise<DriverResult | null>
  /** The live version; null when the driver cannot tell (no status command, or it failed). */
  status(ctx: StatusContext): Promise<string | null>
  /** Runs a target hook's command (ctx.hook names the hook). */
  runHook(ctx: TaskContext, command: string): Promise<DriverResult>
}

export const succeeded: DriverResult = {ok: true, exitCode: 0, error: null}
