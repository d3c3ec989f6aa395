import * as Args from '@oclif/core/args'

import type {Release} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'

export default class ReleaseCancel extends ApiCommand<typeof ReleaseCancel> {
  static summary = 'Cancel a release: a queued one leaves the queue, a running one is stopped.'

  static description = 'Stopping a running release ends its running tasks (their whole process groups) and starts nothing more; tasks not started are marked cancelled. The next queued release may then start.'

  static examples = ['<%= config.bin %> <%= command.id %> 57', '<%= config.bin %> <%= command.id %> 57 --json']

  static args = {
    id: Args.integer({description: 'Release id.', required: true, min: 1}),
  }

  async run(): Promise<Release> {
    const release = await (await this.client()).cancelRelease(this.args.id)
    this.print(`Release ${release.id} is ${release.status}${release.error ? ` (${release.error})` : ''}`)
    return release
  }
}
