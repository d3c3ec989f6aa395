import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import type {AppState} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'

export default class AppSet extends ApiCommand<typeof AppSet> {
  static summary = 'Change the desired version of an app in one environment.'

  static description = 'Nothing is deployed until a release runs: follow with relctl release sync APP.'

  static examples = [
    '<%= config.bin %> <%= command.id %> api --version 1.5.0 --project shop --environment staging',
    '<%= config.bin %> <%= command.id %> api --version 1.5.0 -p shop -e staging && <%= config.bin %> release sync api -p shop -e staging --wait',
  ]

  static args = {
    app: Args.string({description: 'App (resource) name.', required: true}),
  }

  static flags = {
    version: Flags.string({summary: 'The desired version.', required: true}),
  }

  async run(): Promise<AppState> {
    const {project, environment} = this.scope()
    const app = await (await this.client()).setAppVersion(project, environment, this.args.app, this.flags.version)
    const next = app.sync === 'Synced' ? 'already deployed' : `deploy it with: relctl release sync ${app.name} -p ${project} -e ${environment}`
    this.print(`${app.name}: desired ${app.desiredVersion}, deployed ${app.deployedVersion ?? 'nothing'} (${app.sync}); ${next}`)
    return app
  }
}
