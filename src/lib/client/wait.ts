// Waiting for apps to become stable: open the event stream, look once, then look again whenever an event
// about the apps arrives (or, without a stream, at the interval) until every app is stable, a release
// touching them fails, the deadline passes, or the control plane stays unreachable. All apps are watched
// together, not one after another.
import {ACTIVE_STATUSES} from '../api/domain.js'
import type {AppState, Environment, PauseState, Release} from '../api/schemas.js'
import type {ControlPlaneClient} from './client.js'
import {type Changes, watchChanges} from './changes.js'
import {delay, jitter} from './delay.js'
import {CliError, UnreachableError} from './errors.js'

export interface WaitOptions {
  project: string
  environment: string
  apps: string[]
  timeoutMs: number
  intervalMs: number
  /** trigger a sync when apps are out of sync and nothing is queued or running for them */
  sync: boolean
  /** releases whose end the caller already cares about (e.g. the one `release sync` just made) */
  watch?: number[]
  onChange?: (text: string) => void
  onStatus?: (text: string) => void
  idempotencyKey?: () => string
}

export type WaitOutcome =
  | {kind: 'stable'; apps: AppState[]}
  | {kind: 'failed'; apps: AppState[]; release: Release}
  | {kind: 'degraded'; apps: AppState[]}
  /** `idle`: the apps that were not stable with nothing queued or running for them when time ran out */
  | {kind: 'timeout'; apps: AppState[]; paused: string | null; idle: string[]}
  | {kind: 'unreachable'; apps: AppState[]; error: UnreachableError}

const BAD_ENDINGS = new Set(['failed', 'cancelled', 'rejected'])

export function describeApp(app: AppState): string {
  const active = app.activeReleases.map((release) => `release ${release.id} ${release.status}`).join(', ')
  return `${app.name}: ${app.sync}/${app.health} (deployed ${app.deployedVersion ?? 'nothing'}, desired ${app.desiredVersion ?? '-'})${active ? `, ${active}` : ''}`
}

/** The events that can change whether apps are stable, or why they wait. */
const WAIT_KINDS = 'release.*,app.changed,pause.changed,freeze.changed'

/** What holds the environment's releases back now: its pauses and the freezes in force, in words. */
function heldBy(pauses: PauseState[], freezes: Environment['freezes']): string {
  const paused = pauses.map((pause) => {
    const where = pause.level === 'control-plane' ? 'the control plane' : pause.level === 'project' ? `project ${pause.project}` : `${pause.project}/${pause.environment}`
    return `${where} is paused by ${pause.by} since ${pause.at}${pause.reason ? `: ${pause.reason}` : ''}`
  })
  const frozen = freezes.filter((window) => window.inForce).map((window) => `frozen until ${window.endsAt} (freeze ${window.freeze}): ${window.reason}`)
  return [...paused, ...frozen].join('; ')
}

export async function waitForApps(client: ControlPlaneClient, options: WaitOptions): Promise<WaitOutcome> {
  const deadline = Date.now() + options.timeoutMs
  // The stream first: the state read after it opens misses nothing the stream will not bring.
  const changes = await watchChanges(
    client,
    {project: options.project, environment: options.environment, app: options.apps.join(','), kinds: WAIT_KINDS},
    {intervalMs: options.intervalMs, onNotice: (text) => options.onChange?.(text)},
  )
  try {
    return await waitWithChanges(client, options, deadline, changes)
  } finally {
    changes.close()
  }
}

async function waitWithChanges(client: ControlPlaneClient, options: WaitOptions, deadline: number, changes: Changes): Promise<WaitOutcome> {
  const watched = new Set(options.watch ?? [])
  const lastDescription = new Map<string, string>()
  let apps: AppState[] = []
  let synced = false
  let unreachableSince: UnreachableError | null = null
  let lastPause = ''
  let saidIdle = false
  const say = (text: string) => options.onChange?.(text)

  for (let first = true; ; first = false) {
    const remaining = deadline - Date.now()
    let states: AppState[]
    let pauses: PauseState[]
    let freezes: Environment['freezes']
    try {
      const timeoutMs = Math.max(1000, Math.min(10_000, remaining))
      ;[states, {pauses, freezes}] = await Promise.all([
        client.listApps(options.project, options.environment, {timeoutMs}),
        client.getEnvironment(options.project, options.environment),
      ])
      if (unreachableSince) say('control plane reachable again')
      unreachableSince = null
    } catch (error) {
      if (!(error instanceof UnreachableError)) throw error
      if (!unreachableSince) say(`${error.message}; retrying until the timeout`)
      unreachableSince = error
      if (Date.now() >= deadline) return {kind: 'unreachable', apps, error}
      // The stream stays silent while nothing changes: look again at the interval until this works.
      await delay(Math.min(jitter(options.intervalMs), Math.max(0, deadline - Date.now())))
      continue
    }

    if (first) {
      const unknown = options.apps.filter((name) => !states.some((state) => state.name === name))
      if (unknown.length > 0) {
        throw new CliError(
          `unknown app${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => `"${name}"`).join(', ')} in ${options.project}/${options.environment}; valid apps: ${states.map((state) => state.name).join(', ')}`,
          9,
          'not_found',
        )
      }
    }
    apps = options.apps.map((name) => states.find((state) => state.name === name) as AppState)

    for (const app of apps) {
      const description = describeApp(app)
      if (lastDescription.get(app.name) !== description) say(description)
      lastDescription.set(app.name, description)
      for (const release of app.activeReleases) watched.add(release.id)
    }
    if (apps.every((app) => app.stable)) return {kind: 'stable', apps}

    const pauseText = heldBy(pauses, freezes)
    if (pauseText !== lastPause) {
      if (pauseText) say(`${pauseText}; nothing starts until ${pauses.length > 0 ? 'it is resumed' : 'then'}`)
      else say(lastPause.includes(' is paused by ') ? 'resumed: releases may start again' : 'the freeze ended: releases may start again')
    }
    lastPause = pauseText

    // A watched release that is no longer active has ended: a bad ending ends the wait.
    const active = new Set(apps.flatMap((app) => app.activeReleases.map((release) => release.id)))
    for (const id of [...watched]) {
      if (active.has(id)) continue
      const release = await client.getRelease(id)
      if (ACTIVE_STATUSES.includes(release.status)) continue
      watched.delete(id)
      if (BAD_ENDINGS.has(release.status)) return {kind: 'failed', apps, release}
    }

    const idle = apps.filter((app) => app.activeReleases.length === 0 && !app.stable)
    if (options.sync && !synced) {
      const outOfSync = idle.filter((app) => app.sync !== 'Synced')
      if (outOfSync.length > 0) {
        const result = await client.sync(
          options.project,
          options.environment,
          {apps: outOfSync.map((app) => app.name), source: 'cli'},
          options.idempotencyKey?.() ?? crypto.randomUUID(),
        )
        synced = true
        if (result.release) {
          watched.add(result.release.id)
          say(`triggered release ${result.release.id} to sync ${outOfSync.map((app) => app.name).join(', ')}`)
          continue
        }
      }
    }

    // Nothing is running for these apps and they are not fine: they will not become stable by waiting.
    if (!(options.sync && synced && watched.size > 0)) {
      // The release that left them so says the most (failed tasks, logs); Degraded alone says less.
      const lastFailed = idle.find((app) => app.lastRelease && BAD_ENDINGS.has(app.lastRelease.status))
      if (lastFailed?.lastRelease && (!options.sync || synced)) {
        return {kind: 'failed', apps, release: await client.getRelease(lastFailed.lastRelease.id)}
      }
      if (idle.some((app) => app.health === 'Degraded')) return {kind: 'degraded', apps}
    }

    // Apps that nothing will move unless a release comes from elsewhere: say so once, and keep waiting.
    const stuck = options.sync ? [] : idle.map((app) => app.name)
    if (stuck.length > 0 && !saidIdle) {
      say(`${nothingUnderWay(stuck)}; waiting in case a release starts elsewhere. ${releaseItNow(options, stuck)}`)
      saidIdle = true
    }

    if (Date.now() >= deadline) return {kind: 'timeout', apps, paused: lastPause || null, idle: stuck}
    options.onStatus?.(`waiting for ${apps.filter((app) => !app.stable).map((app) => app.name).join(', ')}`)
    try {
      await changes.next(deadline)
    } catch (error) {
      if (!(error instanceof UnreachableError)) throw error
      return {kind: 'unreachable', apps, error}
    }
  }
}

/** "nothing is queued or running for web" */
export function nothingUnderWay(apps: string[]): string {
  return `nothing is queued or running for ${apps.join(', ')}`
}

/** The two commands that release apps nothing releases. */
export function releaseItNow(scope: {project: string; environment: string}, apps: string[]): string {
  const args = `${apps.join(',')} -p ${scope.project} -e ${scope.environment}`
  return `To release ${apps.length > 1 ? 'them' : 'it'} now: relctl release wait ${args} --sync, or relctl release sync ${args}`
}
