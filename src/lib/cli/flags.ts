// Flags shared by commands. Every API command takes the connection and scope flags, each with its
// environment variable; a flag wins over its variable, and both win over the profile.
import * as Flags from '@oclif/core/flags'

import {EXIT} from '../api/domain.js'
import {DurationError, parseDuration} from '../api/duration.js'
import type {TriggerRequest} from '../api/schemas.js'
import {CliError} from '../client/errors.js'

export const connectionFlags = {
  url: Flags.string({env: 'RELCTL_URL', summary: 'Control plane URL (default: the profile\'s, else http://127.0.0.1:7420).', helpGroup: 'GLOBAL'}),
  token: Flags.string({env: 'RELCTL_TOKEN', summary: 'Bearer token (default: the profile\'s).', helpGroup: 'GLOBAL'}),
  profile: Flags.string({env: 'RELCTL_PROFILE', summary: 'Profile to read URL and token from.', default: 'default', helpGroup: 'GLOBAL'}),
  'ca-file': Flags.string({env: 'RELCTL_CA_FILE', summary: 'PEM certificate (or CA) to trust for an https:// control plane (default: the profile\'s).', helpGroup: 'GLOBAL'}),
}

export const scopeFlags = {
  project: Flags.string({char: 'p', env: 'RELCTL_PROJECT', summary: 'Project (blueprint) name.', helpGroup: 'GLOBAL'}),
  environment: Flags.string({char: 'e', env: 'RELCTL_ENVIRONMENT', summary: 'Environment name.', helpGroup: 'GLOBAL'}),
}

export const durationFlag = Flags.custom<number>({
  parse: async (input) => parseDuration(input),
})

export const waitFlags = {
  timeout: durationFlag({summary: 'How long to wait: 90s, 15m, 1h.', default: 30 * 60_000, defaultHelp: async () => '30m'}),
  interval: durationFlag({summary: 'How often to look where there is no event stream, or while the control plane is unreachable (a little jitter is added).', default: 2000, defaultHelp: async () => '2s'}),
}


/** A wait stopped by a signal; the release itself goes on. */
export const INTERRUPT_EXIT_CODES = {
  interrupted: 'interrupted (Ctrl-C, SIGINT) while waiting; the release goes on',
  terminated: 'terminated (SIGTERM) while waiting; the release goes on',
} as const

/** What the exit codes of a wait for apps mean (release wait, release sync --wait). */
export const WAIT_EXIT_CODES = {
  ok: 'the apps are stable (Synced, Healthy, nothing queued or running for them)',
  releaseFailed: 'a release touching the apps failed, was cancelled or rejected, or an app is Degraded',
  timeout: 'timed out (--timeout); the current state is printed',
  unreachable: 'the control plane stayed unreachable until the timeout',
  ...INTERRUPT_EXIT_CODES,
} as const

/** How a release meets a freeze, and its deadlines: release trigger, sync, rollback and retry. */
export const releaseControlFlags = {
  'on-freeze': Flags.option({options: ['fail', 'queue'] as const, default: 'fail' as const, summary: 'While a freeze holds: fail at once (exit 6), or queue the release until the freeze ends.'})(),
  'override-freeze': Flags.boolean({summary: 'Start even while a freeze holds; operators only; needs --reason, recorded on the release and in the audit log.'}),
  reason: Flags.string({summary: 'Why the freeze is overridden (with --override-freeze).'}),
  deadline: Flags.string({summary: 'How long the release may run, e.g. 30m: past it, it is stopped and ends failed (reason deadline).'}),
  'expire-after': Flags.string({summary: 'How long it may wait to start, e.g. 2h: past it, it is cancelled (reason expired).'}),
}

/** The request fields of releaseControlFlags, checked as far as the CLI can without asking. */
export function releaseControls(flags: {'on-freeze': 'fail' | 'queue'; 'override-freeze': boolean; reason?: string; deadline?: string; 'expire-after'?: string}): Pick<
  TriggerRequest,
  'onFreeze' | 'overrideFreeze' | 'deadline' | 'expireAfter'
> {
  if (flags['override-freeze'] && !flags.reason?.trim()) {
    throw new CliError('--override-freeze needs --reason: say why the freeze is overridden (it is recorded on the release and in the audit log)', EXIT.usage, 'usage', 'e.g. --override-freeze --reason "incident 4411"')
  }
  if (flags.reason !== undefined && !flags['override-freeze']) {
    throw new CliError('--reason goes with --override-freeze', EXIT.usage, 'usage', 'for a note on the release, use --comment')
  }
  for (const flag of ['deadline', 'expire-after'] as const) {
    const text = flags[flag]
    if (text === undefined) continue
    try {
      parseDuration(text)
    } catch (error) {
      if (error instanceof DurationError) throw new CliError(`--${flag}: ${error.message}`, EXIT.usage, 'usage')
      throw error
    }
  }
  return {
    ...(flags['on-freeze'] === 'queue' && {onFreeze: 'queue' as const}),
    ...(flags['override-freeze'] && {overrideFreeze: {reason: (flags.reason as string).trim()}}),
    ...(flags.deadline !== undefined && {deadline: flags.deadline}),
    ...(flags['expire-after'] !== undefined && {expireAfter: flags['expire-after']}),
  }
}

/** For the waits of release trigger, sync, rollback, retry and wait. */
export const cancelOnTimeoutFlag = {
  'cancel-on-timeout': Flags.boolean({summary: 'When --timeout passes, cancel the releases waited on (the exit code is still 4).'}),
}

/** --all, or the project (and environment) flags: never both. */
export function allOrScope(all: boolean, flags: {project?: string; environment?: string}, verb: string): {project?: string; environment?: string} {
  if (all) {
    if (flags.project || flags.environment) {
      throw new CliError(`--all ${verb}s the whole control plane; it takes no --project or --environment`, EXIT.usage, 'usage', 'drop -p/-e (or unset RELCTL_PROJECT and RELCTL_ENVIRONMENT), or drop --all')
    }
    return {}
  }
  if (!flags.project) throw new CliError('no project given', EXIT.usage, 'usage', `pass --project NAME (-p) or set RELCTL_PROJECT; --all ${verb}s every project`)
  return {project: flags.project, ...(flags.environment && {environment: flags.environment})}
}
