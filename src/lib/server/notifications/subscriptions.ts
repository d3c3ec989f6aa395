// Notification subscriptions as the API manages them: made with their target checked, listed with how
// their deliveries go, tested, removed.
import {randomBytes} from 'node:crypto'

import {kindPatternProblem} from '../../api/events.js'
import type {CreatedNotification, CreateNotificationRequest, Delivery, Notification, TestResult} from '../../api/notification-schemas.js'
import type {Engine} from '../engine/engine.js'
import {invalid, notFound} from '../errors.js'
import type {NotificationRecord, Store} from '../store/store.js'
import type {Notifier} from './notifier.js'
import {type AddressPolicy, parseTarget, shownTarget} from './targets.js'

/** Subscriptions on one control plane; more are refused, so that one event cannot fan out without bound. */
export const MAX_NOTIFICATIONS = 200

export class Subscriptions {
  constructor(
    private readonly store: Store,
    private readonly engine: Engine,
    private readonly notifier: Notifier,
    private readonly policy: AddressPolicy,
  ) {}

  async create(request: CreateNotificationRequest, subject: string): Promise<CreatedNotification> {
    for (const pattern of request.events) {
      const problem = kindPatternProblem(pattern)
      if (problem) throw invalid(`events: ${problem}`, 'e.g. --events release.failed,release.pending_approval')
    }
    if (request.events.every((pattern) => pattern === 'log')) throw invalid('log events are not delivered as notifications', 'follow logs with relctl release logs ID -f, or relctl watch --kinds log')
    if (request.environment && !request.project) throw invalid('an environment needs its project', 'pass --project too')
    if (request.project) await this.engine.requireScope(request.project, request.environment)
    if (request.kind === 'slack' && request.secret) throw invalid('Slack webhooks are not signed: a secret is for --url webhooks')
    const url = parseTarget(request.kind, request.url)
    await this.policy.check(url)
    if ((await this.store.listNotifications()).length >= MAX_NOTIFICATIONS) throw invalid(`this control plane already has ${MAX_NOTIFICATIONS} notifications`, 'remove ones no longer used: relctl notify list, relctl notify remove ID')
    const made = request.kind === 'webhook' && !request.secret ? randomBytes(32).toString('base64url') : null
    const record = await this.store.insertNotification({
      kind: request.kind,
      url: url.href,
      secret: request.kind === 'webhook' ? (request.secret ?? made) : null,
      project: request.project ?? null,
      environment: request.environment ?? null,
      events: [...new Set(request.events)],
      createdBy: subject,
      createdAt: new Date().toISOString(),
    })
    this.notifier.kick()
    return {notification: view(record, 0), secret: made}
  }

  async list(): Promise<Notification[]> {
    const [records, pending] = await Promise.all([this.store.listNotifications(), this.store.pendingDeliveryCounts()])
    return records.map((record) => view(record, pending.get(record.id) ?? 0))
  }

  async remove(id: number): Promise<Notification> {
    const record = await this.require(id)
    const pending = (await this.store.pendingDeliveryCounts()).get(id) ?? 0
    await this.store.deleteNotification(id)
    return view(record, pending)
  }

  async test(id: number): Promise<TestResult> {
    const {delivery, outcome} = await this.notifier.test(await this.require(id))
    return {delivery, delivered: outcome.delivered, statusCode: outcome.statusCode, error: outcome.error, durationMs: Math.round(outcome.durationMs), outcome: outcome.summary}
  }

  async deliveries(id: number, limit: number): Promise<Delivery[]> {
    await this.require(id)
    return (await this.store.listDeliveries(id, limit)).map(({event: _event, notificationId: _notificationId, nextAttemptAt, status, ...delivery}) => ({
      ...delivery,
      status,
      nextAttemptAt: status === 'pending' ? nextAttemptAt : null,
      attemptLog: delivery.attemptLog.map(({deliveryId: _deliveryId, ...attempt}) => attempt),
    }))
  }

  private async require(id: number): Promise<NotificationRecord> {
    const record = await this.store.getNotification(id)
    if (!record) throw notFound('notification', String(id), (await this.store.listNotifications()).map((notification) => String(notification.id)), 'list them with: relctl notify list')
    return record
  }
}

function view(record: NotificationRecord, pending: number): Notification {
  return {
    id: record.id,
    kind: record.kind,
    target: shownTarget(record.kind, record.url),
    project: record.project,
    environment: record.environment,
    events: record.events,
    signed: record.secret !== null,
    createdBy: record.createdBy,
    createdAt: record.createdAt,
    status: record.failingSince ? 'failing' : 'ok',
    failingSince: record.failingSince,
    lastAttemptAt: record.lastAttemptAt,
    lastOutcome: record.lastOutcome,
    pending,
  }
}
