import type {Notification} from '../../lib/api/notification-schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {ago, table} from '../../lib/cli/output.js'

export default class NotifyList extends ApiCommand<typeof NotifyList> {
  static summary = 'List the notification subscriptions, with how their deliveries go.'

  static description = 'STATUS is failing while deliveries to a subscription fail (they are retried, in order, for 24h by default); PENDING counts the deliveries waiting to be sent or retried; LAST is the outcome of the latest attempt. See each attempt with relctl notify deliveries ID.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<Notification[]> {
    const client = await this.client()
    const notifications = await client.listNotifications()
    if (notifications.length === 0) this.print('No notifications. Add one with: relctl notify add --url URL --events release.failed')
    else {
      this.print(
        table(notifications, [
          {header: 'id', get: (notification) => notification.id},
          {header: 'kind', get: (notification) => notification.kind},
          {header: 'target', get: (notification) => notification.target},
          {header: 'scope', get: (notification) => (notification.project ? `${notification.project}${notification.environment ? `/${notification.environment}` : ''}` : 'control plane')},
          {header: 'events', get: (notification) => notification.events.join(',')},
          {header: 'status', get: (notification) => (notification.status === 'failing' ? `FAILING since ${ago(notification.failingSince)}` : 'ok')},
          {header: 'pending', get: (notification) => notification.pending},
          {header: 'last', get: (notification) => (notification.lastOutcome ? `${notification.lastOutcome} ${ago(notification.lastAttemptAt)}` : '-')},
        ]),
      )
    }
    return notifications
  }
}
