import * as Args from '@oclif/core/args'

import {EXIT} from '../../lib/api/domain.js'
import type {TestResult} from '../../lib/api/notification-schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'
import {CliError} from '../../lib/client/errors.js'

export default class NotifyTest extends ApiCommand<typeof NotifyTest> {
  static summary = 'Send a test delivery to a subscription now, and say how it went.'

  static description = `The test goes out at once, ahead of the subscription's pending deliveries, and is not retried. A webhook receives {"test": true, "notification": ID, "message": ..., "at": ...} with X-Relctl-Event: test, signed like every delivery; Slack, a one-line message. It shows in relctl notify deliveries ID.

${toHelpSection({ok: 'delivered: the target answered 2xx', releaseFailed: 'not delivered: the target answered an error, or could not be reached', notFound: 'no such notification'})}`

  static examples = ['<%= config.bin %> <%= command.id %> 3', '<%= config.bin %> <%= command.id %> 3 --json']

  static args = {
    id: Args.integer({description: 'Notification id (relctl notify list).', required: true, min: 1}),
  }

  async run(): Promise<TestResult> {
    const client = await this.client()
    const result = await client.testNotification(this.args.id)
    if (!result.delivered) {
      throw new CliError(
        `test delivery ${result.delivery} to notification ${this.args.id} failed: ${result.outcome}${result.error && result.error !== result.outcome ? ` (${result.error})` : ''}`,
        EXIT.releaseFailed,
        'not_delivered',
        'check the receiver and its URL; relctl notify deliveries shows every attempt',
        result,
      )
    }
    this.print(`Delivered: ${result.outcome} in ${result.durationMs} ms (delivery ${result.delivery})`)
    return result
  }
}
