import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import type {NewToken} from '../../lib/api/access.js'
import {ApiCommand} from '../../lib/cli/base-command.js'

export default class TokenRotate extends ApiCommand<typeof TokenRotate> {
  static summary = 'Give a token a new secret (same name and grants); prints it once. The old secret stops working at once.'

  static description = 'The new secret lives as long as the token did from its creation (or its last rotation), unless --expires says otherwise. Needs an admin of the control plane.'

  static examples = ['<%= config.bin %> <%= command.id %> ci-shop', '<%= config.bin %> <%= command.id %> ci-shop --expires 30d --json']

  static args = {
    name: Args.string({description: 'The token\'s name.', required: true}),
  }

  static flags = {
    expires: Flags.string({summary: 'How long the new secret is valid: 90d, 12h, 2w (default: the token\'s lifetime).'}),
  }

  async run(): Promise<NewToken> {
    const token = await (await this.client()).rotateToken(this.args.name, this.flags.expires)
    const {newTokenNote, STORE_IT_NOW} = await import('../../lib/cli/tokens.js')
    this.note(newTokenNote(token, 'Rotated'))
    this.print(token.token)
    this.note(STORE_IT_NOW)
    return token
  }
}
