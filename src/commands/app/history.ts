import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import type {AppHistoryEntry} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {historyTable} from '../../lib/cli/render.js'

export default class AppHistory extends ApiCommand<typeof AppHistory> {
  static summary = 'The versions of an app deployed in an environment, and by which releases, newest first.'

  static description = 'One row per successful deploy or delete (per target where the environment has targets). Pick a release to undo with: relctl release rollback ID.'

  static examples = ['<%= config.bin %> <%= command.id %> api --project shop --environment prod', '<%= config.bin %> <%= command.id %> api -p shop -e prod --limit 5 --json']

  static args = {
    app: Args.string({description: 'App (resource) name.', required: true}),
  }

  static flags = {
    limit: Flags.integer({summary: 'At most this many rows.', default: 50, min: 1, max: 1000}),
  }

  async run(): Promise<AppHistoryEntry[]> {
    const {project, environment} = this.scope()
    const history = await (await this.client()).appHistory(project, environment, this.args.app, this.flags.limit)
    this.print(history.length === 0 ? `${this.args.app} has not been deployed in ${project}/${environment} yet.` : historyTable(history))
    return history
  }
}
