import * as Args from '@oclif/core/args'

import type {Notification} from '../../lib/api/notification-schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'

export default class NotifyRemove extends ApiCommand<typeof NotifyRemove> {
  static summary = 'Remove a notification subscription; its pending deliveries are dropped.'

  static description = toHelpSection({ok: true, notFound: 'no such notification'})

  static examples = ['<%= config.bin %> <%= command.id %> 3']

  static args = {
    id: Args.integer({description: 'Notification id (relctl notify list).', required: true, min: 1}),
  }

  async run(): Promise<Notification> {
    const client = await this.client()
    const removed = await client.removeNotification(this.args.id)
    this.print(`Removed notification ${removed.id} (${removed.kind} ${removed.target})${removed.pending > 0 ? `; ${removed.pending} pending deliveries dropped` : ''}`)
    return removed
  }
}
