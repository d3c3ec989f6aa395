import type {TokenInfo} from '../../lib/api/access.js'
import {ApiCommand} from '../../lib/cli/base-command.js'

export default class TokenList extends ApiCommand<typeof TokenList> {
  static summary = 'List the tokens: name, grants, expiry, last use (never a secret).'

  static description = 'Needs an admin of the control plane. A revoked token is gone from the list; an expired one stays, with its expiry in the past, until it is rotated or revoked.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<TokenInfo[]> {
    const tokens = await (await this.client()).listTokens()
    const {tokensTable} = await import('../../lib/cli/tokens.js')
    this.print(tokensTable(tokens))
    return tokens
  }
}
