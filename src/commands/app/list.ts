import * as Flags from '@oclif/core/flags'

import type {AppState} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {appTable} from '../../lib/cli/render.js'

export default class AppList extends ApiCommand<typeof AppList> {
  static summary = 'App state in an environment: desired and deployed version, sync, health, releases.'

  static description = 'An app is stable when it is Synced (deployed = desired) and Healthy and no queued or running release touches it.'

  static examples = [
    '<%= config.bin %> <%= command.id %> --project shop --environment staging',
    '<%= config.bin %> <%= command.id %> --project shop --environment prod --refresh',
    '<%= config.bin %> <%= command.id %> -p shop -e staging --json',
  ]

  static flags = {
    refresh: Flags.boolean({summary: 'Read live versions first with each resource\'s exec.status command, and show drift; deploys nothing.'}),
  }

  async run(): Promise<AppState[]> {
    const {project, environment} = this.scope()
    const apps = await (await this.client()).listApps(project, environment, {refresh: this.flags.refresh})
    this.print(appTable(apps))
    return apps
  }
}
