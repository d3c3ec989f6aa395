import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import type {Release} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {releaseSummary} from '../../lib/cli/render.js'

export default class ReleaseApprove extends ApiCommand<typeof ReleaseApprove> {
  static summary = 'Approve a release pending approval: it joins the queue.'

  static description = 'Records who decided and the optional comment; only a release in status pending_approval can be decided.'

  static examples = ['<%= config.bin %> <%= command.id %> 58', '<%= config.bin %> <%= command.id %> 58 --comment "checked with the payments team" --json']

  static args = {
    id: Args.integer({description: 'Release id.', required: true, min: 1}),
  }

  static flags = {
    comment: Flags.string({summary: 'Why: recorded with the decision.'}),
  }

  async run(): Promise<Release> {
    const release = await (await this.client()).decideRelease(this.args.id, 'approve', this.flags.comment)
    this.print(releaseSummary(release, true))
    return release
  }
}
