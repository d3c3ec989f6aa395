// The exec driver: runs the resource's shell command with /bin/sh -c in the blueprint's folder, passing
// the task in RELCTL_* environment variables (never pasted into the command). Every command runs
// through the deploy supervisor (supervisor.ts), which gives it its own process group, so that a cancel
// or a timeout stops everything it started, and nothing it started outlives the control plane.
import {formatDuration} from '../../api/duration.js'
import {deployEnvironment} from './deploy-env.js'
import {type Driver, type DriverResult, type StatusContext, succeeded, type TaskContext} from './driver.js'
import {deploySupervisor} from './supervisor-client.js'

export function taskEnvironment(ctx: TaskContext): Record<string, string> {
  return {
    RELCTL_PROJECT: ctx.project,
    RELCTL_ENVIRONMENT: ctx.environment,
    RELCTL_RESOURCE: ctx.hook ? '' : ctx.resource.name,
    RELCTL_HOOK: ctx.hook ?? '',
    RELCTL_VERSION: ctx.version ?? '',
    RELCTL_PREVIOUS_VERSION: ctx.previousVersion ?? '',
    RELCTL_ACTION: ctx.action,
    RELCTL_RELEASE_ID: String(ctx.releaseId),
    RELCTL_TARGET: ctx.target ?? '',
  }
}

/** A status command sees the task variables of an update to the recorded version, in no release (id 0). */
function statusEnvironment(ctx: StatusContext): Record<string, string> {
  return {
    RELCTL_PROJECT: ctx.project,
    RELCTL_ENVIRONMENT: ctx.environment,
    RELCTL_RESOURCE: ctx.resource.name,
    RELCTL_HOOK: '',
    RELCTL_VERSION: ctx.recordedVersion ?? '',
    RELCTL_PREVIOUS_VERSION: ctx.recordedVersion ?? '',
    RELCTL_ACTION: 'update',
    RELCTL_RELEASE_ID: '0',
    RELCTL_TARGET: ctx.target ?? '',
  }
}

const STATUS_TIMEOUT_MS = 60_000

interface CommandRun {
  cwd: string
  env: Record<string, string>
  signal: AbortSignal
  log: TaskContext['log']
}

function runTaskCommand(command: string, ctx: TaskContext, timeoutMs: number): Promise<DriverResult> {
  return runCommand(command, {cwd: ctx.baseDir, env: {...deployEnvironment(ctx), ...taskEnvironment(ctx)}, signal: ctx.signal, log: ctx.log}, timeoutMs)
}

async function runCommand(command: string, ctx: CommandRun, timeoutMs: number): Promise<DriverResult> {
  if (ctx.signal.aborted) return {ok: false, exitCode: null, error: 'cancelled before it started'}
  const running = deploySupervisor.run({command, cwd: ctx.cwd, env: ctx.env}, (line) => ctx.log(line.stream, line.line))
  let stoppedBecause: string | null = null
  const stop = (why: string) => {
    if (stoppedBecause) return
    stoppedBecause = why
    const pid = running.pid()
    ctx.log('system', `${why}: stopping ${pid === undefined ? 'its process group' : `process group ${pid}`}`)
    running.stop()
  }
  const timeout = setTimeout(() => stop(`timed out after ${formatDuration(timeoutMs)}`), timeoutMs)
  const onAbort = () => stop(String(ctx.signal.reason ?? 'cancelled'))
  ctx.signal.addEventListener('abort', onAbort, {once: true})
  const {code, signal, error} = await running.exited
  clearTimeout(timeout)
  ctx.signal.removeEventListener('abort', onAbort)
  if (error !== undefined) return {ok: false, exitCode: null, error}
  if (stoppedBecause) return {ok: false, exitCode: code, error: stoppedBecause}
  if (code === 0) return succeeded
  return {ok: false, exitCode: code, error: code === null ? `killed by ${signal}` : `exited with code ${code}`}
}

export const execDriver: Driver = {
  deploy(ctx) {
    return runTaskCommand(requireExec(ctx).deploy, ctx, ctx.resource.timeoutMs)
  },
  async destroy(ctx) {
    const command = requireExec(ctx).destroy
    if (!command) {
      ctx.log('system', `${ctx.resource.name} has no exec.destroy command; relctl forgets it without running anything`)
      return succeeded
    }
    return runTaskCommand(command, ctx, ctx.resource.timeoutMs)
  },
  async health(ctx) {
    const command = requireExec(ctx).health
    if (!command) return null
    return runTaskCommand(command, ctx, ctx.resource.timeoutMs)
  },
  /** The status command's last line of stdout is the live version. */
  async status(ctx) {
    const command = ctx.resource.exec?.status
    if (!command) return null
    const lines: string[] = []
    const env = {...deployEnvironment(ctx), ...statusEnvironment(ctx)}
    const log: TaskContext['log'] = (stream, line) => {
      if (stream === 'stdout' && line.trim()) lines.push(line.trim())
    }
    const result = await runCommand(command, {cwd: ctx.baseDir, env, signal: new AbortController().signal, log}, STATUS_TIMEOUT_MS)
    return result.ok && lines.length > 0 ? (lines.at(-1) as string) : null
  },
  runHook(ctx, command) {
    return runTaskCommand(command, ctx, ctx.resource.timeoutMs)
  },
}

function requireExec(ctx: TaskContext) {
  if (!ctx.resource.exec) throw new Error(`resource ${ctx.resource.name} has no exec settings`)
  return ctx.resource.exec
}
