import * as Args from '@oclif/core/args'

import type {Freeze} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {freezeRule, freezeScope} from '../../lib/cli/freezes.js'

export default class FreezeDelete extends ApiCommand<typeof FreezeDelete> {
  static summary = 'Delete a freeze: what it held may start at once.'

  static examples = ['<%= config.bin %> <%= command.id %> 3', '<%= config.bin %> <%= command.id %> 3 --json']

  static args = {
    id: Args.integer({description: 'Freeze id (relctl freeze list).', required: true, min: 1}),
  }

  async run(): Promise<Freeze> {
    const freeze = await (await this.client()).deleteFreeze(this.args.id)
    this.print(`Deleted freeze ${freeze.id} on ${freezeScope(freeze)} (${freezeRule(freeze)}); queued releases it held may start now.`)
    return freeze
  }
}
