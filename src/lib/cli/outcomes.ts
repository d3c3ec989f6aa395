// What the waiting commands print and exit with when the wait ends, and waiting for one release.
import {EXIT, isFinalStatus} from '../api/domain.js'
import type {Event, ReleaseEventData} from '../api/event-schemas.js'
import type {AppState, Release} from '../api/schemas.js'
import type {ControlPlaneClient} from '../client/client.js'
import {type Changes, watchChanges} from '../client/changes.js'
import {delay, jitter} from '../client/delay.js'
import {ApiError, CliError, UnreachableError} from '../client/errors.js'
import {nothingUnderWay, releaseItNow, waitForApps, type WaitOptions, type WaitOutcome} from '../client/wait.js'
import {formatDuration} from '../api/duration.js'
import {untilInterrupted} from './interrupt.js'
import {Progress} from './output.js'
import {appTable} from './render.js'

const LOG_TAIL_LINES = 20

/** The failed tasks of a release with the last lines of each one's log. */
export async function failureReport(client: ControlPlaneClient, release: Release): Promise<string> {
  const full = release.tasks ? release : await client.getRelease(release.id)
  const failed = (full.tasks ?? []).filter((task) => task.status === 'failed' || task.status === 'interrupted')
  const lines = [`Release ${full.id} ${full.status}${full.error ? `: ${full.error}` : ''}`]
  for (const task of failed) {
    lines.push('', `Task ${task.key} (${task.kind === 'hook' ? 'hook' : [task.action, task.toVersion].filter(Boolean).join(' ')}) ${task.status}: ${task.error ?? ''}`)
    const logs = await client.releaseLogs(full.id, {resource: task.resource ?? task.hook ?? undefined, ...(task.target && {target: task.target}), limit: 5000})
    const tail = logs.lines.slice(-LOG_TAIL_LINES)
    if (tail.length > 0) lines.push(`  last ${tail.length} log line(s):`, ...tail.map((line) => `  | ${line.line}`))
  }
  if (failed.length > 0) lines.push('', `Full logs: relctl release logs ${full.id}`)
  return lines.join('\n')
}

export interface WaitResult {
  outcome: WaitOutcome['kind']
  apps: AppState[]
  release?: Release
}

/**
 * --cancel-on-timeout: cancels the releases a timed-out wait was waiting on that are still pending,
 * queued or running, and says what it cancelled.
 */
async function cancelWaitedOn(client: ControlPlaneClient, ids: number[]): Promise<string> {
  const cancelled: number[] = []
  for (const id of ids) {
    try {
      await client.cancelRelease(id)
      cancelled.push(id)
    } catch (error) {
      // It ended meanwhile: nothing to cancel.
      if (!(error instanceof ApiError) || error.exitCode !== EXIT.usage) throw error
    }
  }
  return cancelled.length > 0 ? `; cancelled release ${cancelled.join(', ')} (--cancel-on-timeout)` : '; nothing was left to cancel (--cancel-on-timeout)'
}

/** Turns a finished wait into the command's result, or into the error with the documented exit code. */
export async function settleWait(
  client: ControlPlaneClient,
  outcome: WaitOutcome,
  timeoutText: string,
  scope: {project: string; environment: string},
  cancelOnTimeout = false,
): Promise<WaitResult> {
  switch (outcome.kind) {
    case 'stable':
      return {outcome: 'stable', apps: outcome.apps}
    case 'failed': {
      const report = await failureReport(client, outcome.release)
      const release = await client.getRelease(outcome.release.id)
      throw new CliError(report, EXIT.releaseFailed, `release_${outcome.release.status}`, undefined, {apps: outcome.apps, release})
    }
    case 'degraded': {
      const names = outcome.apps.filter((app) => app.health === 'Degraded').map((app) => app.name)
      throw new CliError(
        `app${names.length > 1 ? 's' : ''} ${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} Degraded and nothing is running to fix ${names.length > 1 ? 'them' : 'it'}:\n${appTable(outcome.apps)}`,
        EXIT.releaseFailed,
        'degraded',
        'look at the last release\'s logs (relctl release logs ID), fix, and sync again',
        {apps: outcome.apps},
      )
    }
    case 'timeout': {
      const reasons = [outcome.paused, outcome.idle.length > 0 && nothingUnderWay(outcome.idle)].filter(Boolean).join('; ')
      const active = [...new Set(outcome.apps.flatMap((app) => app.activeReleases.map((release) => release.id)))]
      const cancelled = cancelOnTimeout ? await cancelWaitedOn(client, active) : ''
      const apps = cancelOnTimeout ? await client.listApps(scope.project, scope.environment) : outcome.apps
      throw new CliError(
        `timed out after ${timeoutText}${reasons ? ` (${reasons})` : ''}${cancelled}; current state:\n${appTable(apps.filter((app) => outcome.apps.some((waited) => waited.name === app.name)))}`,
        EXIT.timeout,
        'timeout',
        outcome.paused
          ? outcome.paused.includes(' is paused by ')
            ? 'nothing starts while paused: resume (relctl resume -p P [-e E]) or wait longer with --timeout'
            : 'nothing starts while frozen: wait for the freeze to end (relctl freeze list) with a longer --timeout'
          : outcome.idle.length > 0
            ? releaseItNow(scope, outcome.idle)
            : 'wait longer with --timeout',
        {apps: outcome.apps},
      )
    }
    case 'unreachable':
      throw new CliError(`${outcome.error.message} (gave up after ${timeoutText})`, EXIT.unreachable, 'unreachable', outcome.error.hint, {apps: outcome.apps})
  }
}

export type ReleaseWait = {kind: 'final'; release: Release} | {kind: 'timeout'; release: Release} | {kind: 'unreachable'; release: Release; error: UnreachableError}

/**
 * Follows one release until it ends, reporting each change of its or its tasks' status: from the events
 * of its environment (a queued release's wait may change with any other's), or by looking at the interval
 * where there is no event stream.
 */
export async function waitForRelease(
  client: ControlPlaneClient,
  first: Release,
  options: {timeoutMs: number; intervalMs: number; onChange: (text: string) => void},
): Promise<ReleaseWait> {
  const deadline = Date.now() + options.timeoutMs
  const changes = await watchChanges(client, {project: first.project, environment: first.environment, kinds: 'release.*,task.*'}, {intervalMs: options.intervalMs, onNotice: options.onChange})
  try {
    return await followRelease(client, first.id, deadline, changes, options.onChange)
  } finally {
    changes.close()
  }
}

async function followRelease(client: ControlPlaneClient, id: number, deadline: number, changes: Changes, onChange: (text: string) => void): Promise<ReleaseWait> {
  const seen = new Map<string, string>()
  // Tasks first, then the release: its end is news only after the ends of its tasks.
  const report = (current: Release) => {
    for (const task of current.tasks ?? []) {
      if (seen.get(`task:${task.key}`) !== task.status && task.status !== 'pending') onChange(`  ${task.key}: ${task.status}${task.error ? ` (${task.error})` : ''}`)
      seen.set(`task:${task.key}`, task.status)
    }
    const releaseState = `${current.status}${current.waitingFor ? `: ${current.waitingFor.message}` : ''}`
    if (seen.get('release') !== releaseState) onChange(`release ${current.id} ${releaseState}`)
    seen.set('release', releaseState)
  }
  let release: Release | null = null
  let unreachable: UnreachableError | null = null
  let lookAgain = true
  for (;;) {
    if (lookAgain) {
      try {
        release = await client.getRelease(id, {timeoutMs: 10_000})
        unreachable = null
        lookAgain = false
      } catch (error) {
        if (!(error instanceof UnreachableError)) throw error
        if (!unreachable) onChange(`${error.message}; retrying until the timeout`)
        unreachable = error
      }
    }
    if (release) report(release)
    if (release && isFinalStatus(release.status)) return {kind: 'final', release}
    if (Date.now() >= deadline) {
      const last = release ?? (await client.getRelease(id))
      return unreachable ? {kind: 'unreachable', release: last, error: unreachable} : {kind: 'timeout', release: last}
    }
    let batch
    try {
      batch = unreachable ? (await delay(Math.min(jitter(2000), Math.max(0, deadline - Date.now()))), null) : await changes.next(deadline)
    } catch (error) {
      if (!(error instanceof UnreachableError) || !release) throw error
      return {kind: 'unreachable', release, error}
    }
    if (!batch || batch.gap || !release) {
      lookAgain = true
      continue
    }
    for (const event of batch.events) {
      if (event.releaseId !== id) {
        // Another release of the environment moved: what a queued one waits for may have changed.
        if (release.status === 'queued' || release.status === 'pending_approval') lookAgain = true
        continue
      }
      release = applyEvent(release, event)
    }
    // The end of the release is read once more as a whole: its error and every task as recorded.
    if (isFinalStatus(release.status)) lookAgain = true
  }
}

/** A release with one of its events applied: the event carries the release's or a task's state after the change. */
function applyEvent(release: Release, event: Event): Release {
  if (event.kind === 'task.started' || event.kind === 'task.ended') {
    const {releaseId: _releaseId, ...task} = event.data
    return {...release, tasks: (release.tasks ?? []).map((current) => (current.id === task.id ? task : current))}
  }
  if (event.kind.startsWith('release.')) {
    const data = event.data as ReleaseEventData
    // A queued release's position and wait are not in its events; a GET brings them while it queues.
    return {...release, ...data, ...(data.status !== 'queued' && {waitingFor: undefined, queuePosition: undefined})}
  }
  return release
}

/** Exit 0 for a succeeded release; 3 with the failure report otherwise. */
export async function settleRelease(client: ControlPlaneClient, wait: ReleaseWait, timeoutText: string, cancelOnTimeout = false): Promise<Release> {
  if (wait.kind === 'timeout') {
    if (cancelOnTimeout) {
      const cancelled = await cancelWaitedOn(client, [wait.release.id])
      const release = await client.getRelease(wait.release.id)
      throw new CliError(`timed out after ${timeoutText}${cancelled}; release ${release.id} is ${release.status}`, EXIT.timeout, 'timeout', `see it with: relctl release show ${release.id}`, {release})
    }
    throw new CliError(`timed out after ${timeoutText}; release ${wait.release.id} is ${wait.release.status}`, EXIT.timeout, 'timeout', `keep watching with: relctl release show ${wait.release.id}`, {release: wait.release})
  }
  if (wait.kind === 'unreachable') {
    throw new CliError(`${wait.error.message} (gave up after ${timeoutText})`, EXIT.unreachable, 'unreachable', wait.error.hint, {release: wait.release})
  }
  if (wait.release.status === 'succeeded') return wait.release
  throw new CliError(await failureReport(client, wait.release), EXIT.releaseFailed, `release_${wait.release.status}`, undefined, {release: wait.release})
}

interface WaitFlags {
  timeout: number
  interval: number
  'cancel-on-timeout'?: boolean
}

/** Waits for one release with progress on stderr: the release when it succeeded, else the documented error. */
export async function watchRelease(client: ControlPlaneClient, release: Release, flags: WaitFlags): Promise<Release> {
  const progress = await Progress.create(`release ${release.id}`)
  try {
    const waiting = waitForRelease(client, release, {timeoutMs: flags.timeout, intervalMs: flags.interval, onChange: (text) => progress.event(text)})
    const wait = await untilInterrupted(waiting, `relctl release logs ${release.id} --follow`, () => progress.stop())
    progress.stop()
    return await settleRelease(client, wait, formatDuration(flags.timeout), flags['cancel-on-timeout'])
  } finally {
    progress.stop()
  }
}

/** Waits for apps with progress on stderr: their states once stable, else the documented error. */
export async function watchApps(
  client: ControlPlaneClient,
  options: Omit<WaitOptions, 'timeoutMs' | 'intervalMs' | 'onChange' | 'onStatus'>,
  flags: WaitFlags,
): Promise<WaitResult> {
  const progress = await Progress.create(`waiting for ${options.apps.join(', ')}`)
  try {
    const waiting = waitForApps(client, {
      ...options,
      timeoutMs: flags.timeout,
      intervalMs: flags.interval,
      onChange: (text) => progress.event(text),
      onStatus: (text) => progress.status(text),
    })
    const resume = `relctl release wait ${options.apps.join(',')} -p ${options.project} -e ${options.environment}${options.sync ? ' --sync' : ''}`
    const outcome = await untilInterrupted(waiting, resume, () => progress.stop())
    progress.stop()
    return await settleWait(client, outcome, formatDuration(flags.timeout), options, flags['cancel-on-timeout'])
  } finally {
    progress.stop()
  }
}
