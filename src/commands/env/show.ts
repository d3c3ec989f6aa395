import type {AppState, Environment} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {appTable, environmentDetails} from '../../lib/cli/render.js'

export default class EnvShow extends ApiCommand<typeof EnvShow> {
  static summary = 'Show one environment: settings, pause, schedule, active releases and app states.'

  static examples = ['<%= config.bin %> <%= command.id %> --project shop --environment prod', '<%= config.bin %> <%= command.id %> -p shop -e prod --json']

  async run(): Promise<Environment & {appStates: AppState[]}> {
    const {project, environment} = this.scope()
    const client = await this.client()
    const [env, apps] = await Promise.all([client.getEnvironment(project, environment), client.listApps(project, environment)])
    this.print(`${environmentDetails(env)}\n\n${appTable(apps)}`)
    return {...env, appStates: apps}
  }
}
