import type {Environment} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {table} from '../../lib/cli/output.js'

export default class EnvList extends ApiCommand<typeof EnvList> {
  static summary = 'List the environments of a project with their settings and state.'

  static examples = ['<%= config.bin %> <%= command.id %> --project shop', 'RELCTL_PROJECT=shop <%= config.bin %> <%= command.id %> --json']

  async run(): Promise<Environment[]> {
    const environments = await (await this.client()).listEnvironments(this.project())
    this.print(
      table(environments, [
        {header: 'environment', get: (env) => env.name},
        {header: 'apps', get: (env) => `${env.apps.synced}/${env.apps.total} synced, ${env.apps.healthy} healthy`},
        {header: 'parallel', get: (env) => (env.settings.parallel ? `on (max ${env.settings.maxParallel})` : 'off')},
        {header: 'approval', get: (env) => (env.settings.approval ? 'on' : 'off')},
        {header: 'paused', get: (env) => (env.paused ? 'yes' : 'no')},
        {header: 'active releases', get: (env) => env.activeReleases.map((release) => `${release.id} ${release.status}`).join(', ')},
      ]),
    )
    return environments
  }
}
