// The exec driver: runs the resource's shell command with /bin/sh -c in the blueprint's folder, passing
// the task in RELCTL_* environment variables (never pasted into the command). The child leads its own
// process group so that a cancel or a timeout stops everything it started.
import {spawn} from 'node:child_process'
import {createInterface} from 'node:readline'

import {formatDuration} from '../../api/duration.js'
import {deployEnvironment} from './deploy-env.js'
import {type Driver, type DriverResult, succeeded, type TaskContext} from './driver.js'

const KILL_GRACE_MS = 5000

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

export function runCommand(command: string, ctx: TaskContext, timeoutMs: number): Promise<DriverResult> {
  return new Promise((resolve) => {
    if (ctx.signal.aborted) {
      resolve({ok: false, exitCode: null, error: 'cancelled before it started'})
      return
    }
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: ctx.baseDir,
      env: {...deployEnvironment(ctx), ...taskEnvironment(ctx)},
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stoppedBecause: string | null = null
    let killTimer: NodeJS.Timeout | undefined
    const stopGroup = (why: string) => {
      if (stoppedBecause || child.pid === undefined) return
      stoppedBecause = why
      ctx.log('system', `${why}: stopping process group ${child.pid}`)
      signalGroup(child.pid, 'SIGTERM')
      killTimer = setTimeout(() => signalGroup(child.pid as number, 'SIGKILL'), KILL_GRACE_MS)
      killTimer.unref()
    }
    const timeout = setTimeout(() => stopGroup(`timed out after ${formatDuration(timeoutMs)}`), timeoutMs)
    const onAbort = () => stopGroup(String(ctx.signal.reason ?? 'cancelled'))
    ctx.signal.addEventListener('abort', onAbort, {once: true})

    createInterface({input: child.stdout}).on('line', (line) => ctx.log('stdout', line))
    createInterface({input: child.stderr}).on('line', (line) => ctx.log('stderr', line))

    const finish = (result: DriverResult) => {
      clearTimeout(timeout)
      ctx.signal.removeEventListener('abort', onAbort)
      // The shell is gone; make sure nothing it left behind in its group outlives the task.
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL')
      if (killTimer) clearTimeout(killTimer)
      resolve(result)
    }
    child.on('error', (error) => finish({ok: false, exitCode: null, error: `could not start /bin/sh: ${error.message}`}))
    child.on('close', (code, signal) => {
      if (stoppedBecause) finish({ok: false, exitCode: code, error: stoppedBecause})
      else if (code === 0) finish(succeeded)
      else finish({ok: false, exitCode: code, error: code === null ? `killed by ${signal}` : `exited with code ${code}`})
    })
  })
}

function signalGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal)
  } catch {
    // the group has already exited
  }
}

export const execDriver: Driver = {
  deploy(ctx) {
    return runCommand(requireExec(ctx).deploy, ctx, ctx.resource.timeoutMs)
  },
  async destroy(ctx) {
    const command = requireExec(ctx).destroy
    if (!command) {
      ctx.log('system', `${ctx.resource.name} has no exec.destroy command; relctl forgets it without running anything`)
      return succeeded
    }
    return runCommand(command, ctx, ctx.resource.timeoutMs)
  },
  async health(ctx) {
    const command = requireExec(ctx).health
    if (!command) return null
    return runCommand(command, ctx, ctx.resource.timeoutMs)
  },
}

function requireExec(ctx: TaskContext) {
  if (!ctx.resource.exec) throw new Error(`resource ${ctx.resource.name} has no exec settings`)
  return ctx.resource.exec
}
