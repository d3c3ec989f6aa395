// What the pipeline commands share: the wait flags of a run (longer than a release's: gates take time),
// the exit codes of waiting for one, and the --set syntax.
import * as Flags from '@oclif/core/flags'

import {durationFlag, waitFlags} from './flags.js'
import {CliError} from '../client/errors.js'

export const runWaitFlags = {
  timeout: durationFlag({summary: 'How long to wait for the run: 90s, 15m, 2h.', default: 2 * 3_600_000, defaultHelp: async () => '2h'}),
  interval: waitFlags.interval,
}

/** What the exit codes of waiting for a run mean (pipeline run --wait, pipeline wait). */
export const RUN_WAIT_EXIT_CODES = {
  ok: 'the run succeeded',
  releaseFailed: 'the run failed (a release of it failed, was cancelled or rejected), was rejected at a gate, cancelled, or superseded by a newer run',
  timeout: 'timed out (--timeout); the run goes on',
  paused: 'timed out while the run was blocked by a pause or a freeze of the environment it must release next',
  unreachable: 'the control plane stayed unreachable until the timeout',
  interrupted: 'interrupted (Ctrl-C, SIGINT) while waiting; the run goes on',
  terminated: 'terminated (SIGTERM) while waiting; the run goes on',
} as const

export const commentFlag = Flags.string({summary: 'Why: recorded with the run, its decision, or the release.'})

/**
 * --set api=1.5.0,web=2.1.0 -> [{name, version}]. A comma splits only before another NAME=, so a version
 * may hold a comma; --set may also be given once per app.
 */
export function parseVersions(values: readonly string[]): {name: string; version: string}[] {
  const versions: {name: string; version: string}[] = []
  for (const value of values) {
    for (const item of value.split(/,(?=\s*[a-z0-9][a-z0-9._-]*=)/)) {
      const [name, ...rest] = item.trim().split('=')
      const version = rest.join('=')
      if (!name || rest.length === 0 || version === '') throw new CliError(`"${item}" is not APP=VERSION`, 2, 'usage', 'write --set api=1.5.0,web=2.1.0')
      versions.push({name, version})
    }
  }
  return versions
}
