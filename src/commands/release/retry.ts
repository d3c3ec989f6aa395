import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import type {DryRun, Release} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'
import {cancelOnTimeoutFlag, INTERRUPT_EXIT_CODES, releaseControlFlags, releaseControls, waitFlags} from '../../lib/cli/flags.js'
import {watchRelease} from '../../lib/cli/outcomes.js'
import {dryRunText, releaseSummary} from '../../lib/cli/render.js'

export default class ReleaseRetry extends ApiCommand<typeof ReleaseRetry> {
  static summary = 'Retry a release: a new release of what it did not get done, at the same versions and with the same options.'

  static description = `The new release deploys each resource of the release that has a deploy task that failed, was skipped, cancelled or interrupted (on every target of that resource), or all of its resources when it never started (cancelled or expired while queued, rejected, or failed to start). It takes them to the versions the release was taking them to, with its flags (--force, --allow-destructive), its one-off target order and its --deadline and --expire-after; it is a selective release (a rollback stays a rollback) and locks only what it deploys. Refused while the release is pending, queued or running, and when it succeeded.

${toHelpSection({
  ok: 'accepted (with --wait: succeeded)',
  usage: 'the release is still active or succeeded, nothing is left to retry, or a version is blocked',
  releaseFailed: 'with --wait: the retry failed, was cancelled or was rejected',
  timeout: 'with --wait: timed out',
  stateLock: 'state lock held (--on-conflict fail)',
  paused: 'blocked by a pause or a freeze',
  auth: 'authentication failed or permission denied',
  notFound: 'release not found',
  unreachable: true,
  ...INTERRUPT_EXIT_CODES,
})}`

  static examples = [
    '<%= config.bin %> <%= command.id %> 42',
    '<%= config.bin %> <%= command.id %> 42 --wait --timeout 15m',
    '<%= config.bin %> <%= command.id %> 42 --dry-run --json',
  ]

  static args = {
    id: Args.integer({description: 'The release to retry.', required: true, min: 1}),
  }

  static flags = {
    comment: Flags.string({summary: 'Why (default: "retry of release ID").'}),
    'on-conflict': Flags.option({options: ['queue', 'fail'] as const, default: 'queue', summary: 'Queue behind a conflicting release, or fail at once (exit 5).'})(),
    'dry-run': Flags.boolean({summary: 'Print the plan and what would hold it back now; queue nothing.', exclusive: ['wait']}),
    wait: Flags.boolean({summary: 'Wait for the retry to end; exit 0 only when it succeeded.'}),
    ...releaseControlFlags,
    ...waitFlags,
    ...cancelOnTimeoutFlag,
  }

  async run(): Promise<Release | DryRun> {
    const client = await this.client()
    const request = {
      onConflict: this.flags['on-conflict'],
      source: 'cli' as const,
      ...(this.flags.comment && {comment: this.flags.comment}),
      ...releaseControls(this.flags),
    }
    if (this.flags['dry-run']) {
      const dryRun = await client.retryDryRun(this.args.id, request)
      this.print(dryRunText(dryRun))
      return dryRun
    }
    const {release, created} = await client.retry(this.args.id, request, crypto.randomUUID())
    this.note(releaseSummary(release, created))
    if (!this.flags.wait) {
      this.print(String(release.id))
      return release
    }
    const final = await watchRelease(client, release, this.flags)
    this.print(`Release ${final.id} (retry of ${this.args.id}) succeeded`)
    return final
  }
}
