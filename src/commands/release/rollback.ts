import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import type {DryRun, Release} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'
import {cancelOnTimeoutFlag, INTERRUPT_EXIT_CODES, releaseControlFlags, releaseControls, waitFlags} from '../../lib/cli/flags.js'
import {watchRelease} from '../../lib/cli/outcomes.js'
import {dryRunText, releaseSummary} from '../../lib/cli/render.js'

export default class ReleaseRollback extends ApiCommand<typeof ReleaseRollback> {
  static summary = 'Roll back a release: a new release of type rollback that puts back the versions it changed.'

  static description = `Every resource the release deployed goes back to the version it had before; a resource it created is deleted (needs --allow-destructive) and one it deleted is created again. The rollback locks what the release locked (its resources for a selective release, the environment otherwise) and queues like any release; it also sets the desired versions back, so the apps end up in sync. Rolling back a release that changed nothing, or one still queued or running, is refused, and so is a rollback to a version blocked with relctl app block. During a freeze an operator may roll back with --override-freeze --reason "...".

${toHelpSection({
  ok: 'accepted (with --wait: succeeded)',
  usage: 'nothing to roll back, release still running, a delete without --allow-destructive, or a blocked version',
  releaseFailed: 'with --wait: the rollback failed',
  timeout: 'with --wait: timed out',
  stateLock: 'state lock held (--on-conflict fail)',
  paused: 'blocked by a pause or a freeze',
  auth: '--override-freeze by a token that is not an operator here',
  notFound: 'release not found',
  ...INTERRUPT_EXIT_CODES,
})}`

  static examples = [
    '<%= config.bin %> <%= command.id %> 41',
    '<%= config.bin %> <%= command.id %> 41 --dry-run',
    '<%= config.bin %> <%= command.id %> 41 --wait --timeout 10m --comment "bad build" --json',
    '<%= config.bin %> <%= command.id %> 41 --override-freeze --reason "incident 4411" --wait',
  ]

  static args = {
    id: Args.integer({description: 'The release to roll back.', required: true, min: 1}),
  }

  static flags = {
    'allow-destructive': Flags.boolean({summary: 'Allow deleting resources the release created.'}),
    comment: Flags.string({summary: 'Why (default: "rollback of release ID").'}),
    'on-conflict': Flags.option({options: ['queue', 'fail'] as const, default: 'queue', summary: 'Queue behind a conflicting release, or fail at once (exit 5).'})(),
    'dry-run': Flags.boolean({summary: 'Print the plan and what would hold it back now; queue nothing.', exclusive: ['wait']}),
    wait: Flags.boolean({summary: 'Wait for the rollback to end; exit 0 only when it succeeded.'}),
    ...releaseControlFlags,
    ...waitFlags,
    ...cancelOnTimeoutFlag,
  }

  async run(): Promise<Release | DryRun> {
    const client = await this.client()
    const request = {
      allowDestructive: this.flags['allow-destructive'],
      onConflict: this.flags['on-conflict'],
      source: 'cli' as const,
      ...(this.flags.comment && {comment: this.flags.comment}),
      ...releaseControls(this.flags),
    }
    if (this.flags['dry-run']) {
      const dryRun = await client.rollbackDryRun(this.args.id, request)
      this.print(dryRunText(dryRun))
      return dryRun
    }
    const {release, created} = await client.rollback(this.args.id, request, crypto.randomUUID())
    this.note(releaseSummary(release, created))
    if (!this.flags.wait) {
      this.print(String(release.id))
      return release
    }
    const final = await watchRelease(client, release, this.flags)
    this.print(`Release ${final.id} (rollback of ${this.args.id}) succeeded`)
    return final
  }
}
