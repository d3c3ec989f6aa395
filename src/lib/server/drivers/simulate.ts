// The simulate driver: takes its configured time, logs like a deploy would, and fails on purpose for
// the versions listed in failVersions. For demos and tests that need no scripts.
import {formatDuration} from '../../api/duration.js'
import {type Driver, type DriverResult, succeeded, type TaskContext} from './driver.js'

const PROGRESS_STEPS = 4

function settings(ctx: TaskContext) {
  return ctx.resource.simulate ?? {durationMs: 1000, failVersions: [], healthy: true}
}

async function pass(ctx: TaskContext, verb: string): Promise<DriverResult> {
  const {durationMs, failVersions} = settings(ctx)
  const what = [ctx.resource.name, ctx.version].filter(Boolean).join(' ')
  ctx.log('stdout', `${verb} ${what} in ${ctx.environment} (simulated, ${formatDuration(durationMs)})`)
  for (let step = 1; step <= PROGRESS_STEPS; step++) {
    const cancelled = await sleep(durationMs / PROGRESS_STEPS, ctx.signal)
    if (cancelled) return {ok: false, exitCode: null, error: String(ctx.signal.reason ?? 'cancelled')}
    ctx.log('stdout', `${verb} ${ctx.resource.name}: ${Math.round((step / PROGRESS_STEPS) * 100)}%`)
  }
  if (ctx.version !== null && failVersions.includes(ctx.version)) {
    ctx.log('stderr', `simulated failure: version ${ctx.version} is listed in simulate.failVersions`)
    return {ok: false, exitCode: 1, error: `simulated failure for version ${ctx.version}`}
  }
  return succeeded
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(true)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(false)
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      resolve(true)
    }
    signal.addEventListener('abort', onAbort, {once: true})
  })
}

export const simulateDriver: Driver = {
  deploy: (ctx) => pass(ctx, 'deploying'),
  destroy: (ctx) => pass(ctx, 'destroying'),
  async health(ctx) {
    return settings(ctx).healthy ? succeeded : {ok: false, exitCode: 1, error: 'simulated health check failed (simulate.healthy: false)'}
  },
  /** A simulated resource runs what was last deployed: it never drifts. */
  async status(ctx) {
    return ctx.recordedVersion
  },
  async runHook(ctx) {
    ctx.log('stdout', `running ${ctx.hook} on ${ctx.target} (simulated)`)
    return succeeded
  },
}
