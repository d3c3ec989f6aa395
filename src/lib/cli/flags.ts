// Flags shared by commands. Every API command takes the connection and scope flags, each with its
// environment variable; a flag wins over its variable, and both win over the profile.
import * as Flags from '@oclif/core/flags'

import {parseDuration} from '../api/duration.js'

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
