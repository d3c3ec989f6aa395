import * as Args from '@oclif/core/args'

import type {Release} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {releaseDetails} from '../../lib/cli/render.js'

export default class ReleaseShow extends ApiCommand<typeof ReleaseShow> {
  static summary = 'Show a release: metadata, status, what it waits for, and its plan with each task\'s status.'

  static examples = ['<%= config.bin %> <%= command.id %> 42', '<%= config.bin %> <%= command.id %> 42 --json']

  static args = {
    id: Args.integer({description: 'Release id.', required: true, min: 1}),
  }

  async run(): Promise<Release> {
    const release = await (await this.client()).getRelease(this.args.id)
    this.print(releaseDetails(release))
    return release
  }
}
