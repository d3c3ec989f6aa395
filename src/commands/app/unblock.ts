import * as Args from '@oclif/core/args'

import type {UnblockResponse} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'

export default class AppUnblock extends ApiCommand<typeof AppUnblock> {
  static summary = 'Lift the block of a version of an app: it may be deployed again.'

  static examples = ['<%= config.bin %> <%= command.id %> api 3.3.0 --project shop', '<%= config.bin %> <%= command.id %> api 3.3.0 -p shop --json']

  static args = {
    app: Args.string({description: 'App (resource) name.', required: true}),
    version: Args.string({description: 'The blocked version.', required: true}),
  }

  async run(): Promise<UnblockResponse> {
    const project = this.project()
    const result = await (await this.client()).unblockVersion(project, this.args.app, this.args.version)
    this.print(result.unblocked ? `Unblocked ${this.args.app} ${this.args.version} in project ${project}.` : `${this.args.app} ${this.args.version} was not blocked in project ${project}; nothing changed.`)
    return result
  }
}
