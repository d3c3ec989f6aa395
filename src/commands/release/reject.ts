import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import type {Release} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {releaseSummary} from '../../lib/cli/render.js'

export default class ReleaseReject extends ApiCommand<typeof ReleaseReject> {
  static summary = 'Reject a release pending approval: it will not run.'

  static description = 'Records who decided and the optional comment; only a release in status pending_approval can be decided.'

  static examples = ['<%= config.bin %> <%= command.id %> 58', '<%= config.bin %> <%= command.id %> 58 --comment "not now" --json']

  static args = {
    id: Args.integer({description: 'Release id.', required: true, min: 1}),
  }

  static flags = {
    comment: Flags.string({summary: 'Why: recorded with the decision.'}),
  }

  async run(): Promise<Release> {
    const release = await (await this.client()).decideRelease(this.args.id, 'reject', this.flags.comment)
    this.print(releaseSummary(release, true))
    return release
  }
}
