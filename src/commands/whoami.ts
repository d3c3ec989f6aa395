import type {Grant} from '../lib/api/access.js'
import {ApiCommand} from '../lib/cli/base-command.js'

export interface WhoAmIResult {
  url: string
  profile: string
  /** the token's name: what the control plane records as doing what this token does */
  name: string
  grants: Grant[]
  createdAt: string
  expiresAt: string | null
  lastUsedAt: string | null
  serverVersion: string
  database: string
}

export default class WhoAmI extends ApiCommand<typeof WhoAmI> {
  static summary = 'Show the token the CLI uses: its name, grants, expiry and last use; and the control plane it talks to.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --profile prod --json']

  async run(): Promise<WhoAmIResult> {
    const client = await this.client()
    const who = await client.whoami()
    const {grantText} = await import('../lib/api/grants.js')
    const result = {url: client.url, profile: this.apiFlags.profile, ...who}
    this.print(
      [
        `token:     ${who.name}`,
        `grants:    ${who.grants.map(grantText).join(', ') || '(none)'}`,
        `expires:   ${who.expiresAt ?? 'never'}`,
        `last used: ${who.lastUsedAt ?? 'never'}`,
        `created:   ${who.createdAt}`,
        `url:       ${result.url}`,
        `profile:   ${result.profile}`,
        `server:    relctl ${who.serverVersion}`,
        `database:  ${who.database}`,
      ].join('\n'),
    )
    return result
  }
}
