import * as Flags from '@oclif/core/flags'

import {splitList} from '../lib/api/domain.js'
import type {PromoteResponse} from '../lib/api/pipeline-schemas.js'
import {ApiCommand} from '../lib/cli/base-command.js'
import {toHelpSection} from '../lib/cli/exit-codes.js'
import {INTERRUPT_EXIT_CODES, waitFlags} from '../lib/cli/flags.js'
import {commentFlag} from '../lib/cli/pipeline-flags.js'

export default class Promote extends ApiCommand<typeof Promote> {
  static summary = 'Promote the versions deployed and stable in one environment to another.'

  static description = `Exactly the versions deployed in --from, and only if each app is stable there (Synced, Healthy, no release pending, queued or running for it); otherwise nothing changes and the command exits 2 naming the apps that are not. Those versions become the desired versions of --to, and the apps that --to does not run at them yet get one selective release there, under its own queue, locks, pause and approval workflow. --apps picks the apps (default: every app of --from). Gates of pipelines do not apply: run the pipeline for them (relctl pipeline run).

Every promote carries an idempotency key (a new one per run unless --idempotency-key is given), so a retried request never releases twice.

${toHelpSection({
  ok: 'promoted (with --wait: the release succeeded), or --to runs those versions already',
  usage: 'an app is not deployed and stable in --from, or invalid input',
  releaseFailed: 'with --wait: the release failed, was cancelled or was rejected',
  timeout: 'with --wait: timed out',
  paused: '--to is paused: nothing was queued',
  auth: 'authentication failed, or the token may not deploy to --to',
  unreachable: 'control plane unreachable',
  notFound: 'project, environment or app not found',
  ...INTERRUPT_EXIT_CODES,
})}`

  static examples = [
    '<%= config.bin %> <%= command.id %> --project shop --from staging-eu --to prod-eu --wait',
    '<%= config.bin %> <%= command.id %> --project shop --from staging --to prod --apps api,web --comment "CAB 2291" --json',
  ]

  static flags = {
    from: Flags.string({summary: 'The environment whose deployed versions to promote.', required: true}),
    to: Flags.string({summary: 'The environment to release them to.', required: true}),
    apps: Flags.string({summary: 'Apps to promote, a,b (default: every app of --from).'}),
    comment: commentFlag,
    'idempotency-key': Flags.string({summary: 'Makes retries safe: the same key returns the same release.'}),
    wait: Flags.boolean({summary: 'Wait for the release to end; exit 0 only when it succeeded.'}),
    ...waitFlags,
  }

  async run(): Promise<PromoteResponse> {
    const project = this.project()
    const client = await this.client()
    const result = await client.promote(
      project,
      this.flags.to,
      {from: this.flags.from, ...(this.flags.apps && {apps: splitList(this.flags.apps)}), ...(this.flags.comment && {comment: this.flags.comment}), source: 'cli'},
      this.flags['idempotency-key'] ?? crypto.randomUUID(),
    )
    const {versionsText} = await import('../lib/api/event-text.js')
    const {releaseSummary} = await import('../lib/cli/render.js')
    const versions = versionsText(result.versions)
    if (!result.release) {
      this.note(`${result.to} runs ${versions} already; nothing to release`)
      return result
    }
    this.note(`Promoting ${versions} from ${result.from} to ${result.to}${result.unchanged.length > 0 ? ` (${result.unchanged.join(', ')} already there)` : ''}`)
    this.note(releaseSummary(result.release, true))
    if (!this.flags.wait) {
      this.print(String(result.release.id))
      return result
    }
    const {watchRelease} = await import('../lib/cli/outcomes.js')
    const release = await watchRelease(client, result.release, this.flags)
    this.print(`Release ${release.id} succeeded: ${result.to} runs ${versions}`)
    return {...result, release}
  }
}
