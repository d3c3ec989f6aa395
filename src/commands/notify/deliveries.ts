import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import type {Delivery} from '../../lib/api/notification-schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'
import {table} from '../../lib/cli/output.js'

export default class NotifyDeliveries extends ApiCommand<typeof NotifyDeliveries> {
  static summary = "A subscription's latest deliveries, newest first, with every attempt and its status code."

  static description = `Each line is one attempt: the delivery, its event (sequence number and kind; test for relctl notify test), where it stands (pending with its next try, delivered, or failed once given up), and the answer: an HTTP status or why there was none.

${toHelpSection({ok: true, notFound: 'no such notification'})}`

  static examples = ['<%= config.bin %> <%= command.id %> 3', '<%= config.bin %> <%= command.id %> 3 --limit 200 --json']

  static args = {
    id: Args.integer({description: 'Notification id (relctl notify list).', required: true, min: 1}),
  }

  static flags = {
    limit: Flags.integer({summary: 'How many deliveries.', default: 50, min: 1, max: 500}),
  }

  async run(): Promise<Delivery[]> {
    const client = await this.client()
    const deliveries = await client.notificationDeliveries(this.args.id, this.flags.limit)
    if (deliveries.length === 0) this.print(`Notification ${this.args.id} has no deliveries yet.`)
    else {
      type Row = {delivery: Delivery; attempt: Delivery['attemptLog'][number] | null}
      const rows = deliveries.flatMap((delivery): Row[] => (delivery.attemptLog.length > 0 ? delivery.attemptLog.map((attempt) => ({delivery, attempt})) : [{delivery, attempt: null}]))
      this.print(
        table(rows, [
          {header: 'delivery', get: ({delivery}) => delivery.id},
          {header: 'event', get: ({delivery}) => (delivery.eventSeq === null ? 'test' : `${delivery.eventSeq} ${delivery.eventKind}`)},
          {header: 'status', get: ({delivery}) => (delivery.status === 'pending' && delivery.nextAttemptAt ? `pending (next ${delivery.nextAttemptAt.slice(11, 19)})` : delivery.status)},
          {header: 'attempt', get: ({attempt}) => attempt?.attempt ?? '-'},
          {header: 'at', get: ({attempt}) => attempt?.at ?? '-'},
          {header: 'result', get: ({attempt}) => (attempt ? (attempt.statusCode === null ? (attempt.error ?? 'no answer') : `HTTP ${attempt.statusCode}`) : 'not tried yet')},
          {header: 'ms', get: ({attempt}) => attempt?.durationMs ?? ''},
        ]),
      )
    }
    return deliveries
  }
}
