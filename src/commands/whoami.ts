import {ApiCommand} from '../lib/cli/base-command.js'

export interface WhoAmIResult {
  url: string
  profile: string
  actor: string
  serverVersion: string
  database: string
}

export default class WhoAmI extends ApiCommand<typeof WhoAmI> {
  static summary = 'Show which control plane the CLI talks to, and check the token.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --profile prod --json']

  async run(): Promise<WhoAmIResult> {
    const client = await this.client()
    const who = await client.whoami()
    const result = {url: client.url, profile: this.apiFlags.profile, actor: who.subject, serverVersion: who.serverVersion, database: who.database}
    this.print([`url:      ${result.url}`, `profile:  ${result.profile}`, `actor:    ${result.actor}`, `server:   relctl ${result.serverVersion}`, `database: ${result.database}`].join('\n'))
    return result
  }
}
