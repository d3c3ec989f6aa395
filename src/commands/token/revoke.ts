import * as Args from '@oclif/core/args'

import type {TokenInfo} from '../../lib/api/access.js'
import {ApiCommand} from '../../lib/cli/base-command.js'

export default class TokenRevoke extends ApiCommand<typeof TokenRevoke> {
  static summary = 'Revoke a token: its secret stops working at once (on every replica within a second).'

  static description = 'The token is deleted; what it did stays in the audit log and in the releases it triggered or approved. Needs an admin of the control plane.'

  static examples = ['<%= config.bin %> <%= command.id %> ci-shop', '<%= config.bin %> <%= command.id %> ci-shop --json']

  static args = {
    name: Args.string({description: 'The token\'s name.', required: true}),
  }

  async run(): Promise<TokenInfo> {
    const token = await (await this.client()).revokeToken(this.args.name)
    this.print(`Revoked token ${token.name}: its secret no longer works.`)
    return token
  }
}
