// Notifications, delivered from a durable outbox. The events table is read into the outbox by one replica
// at a time (a cursor row held for the transaction), one delivery per event and matching subscription.
// Every replica then sends what is due: each subscription's oldest pending delivery, claimed for a while
// so that two replicas do not send it at once; a failure is retried with exponential backoff for the
// retry window before it is given up. Deliveries are at least once, in order per subscription, and
// survive restarts and the loss of a replica (its claims expire).
import {Agent, request} from 'undici'

import type {Event} from '../../api/event-schemas.js'
import {kindMatcher} from '../../api/events.js'
import type {Logger} from '../engine/context.js'
import {type EventFilter, matches, presentEvents} from '../events/present.js'
import type {DeliveryRecord, NotificationRecord, Store} from '../store/store.js'
import {DELIVERY_HEADER, EVENT_ID_HEADER, EVENT_KIND_HEADER, SIGNATURE_HEADER, signature, slackMessage, slackTestMessage, type TestPayload, webhookBody} from './payloads.js'
import {givesUp, retryDelayMs} from './retry.js'
import type {AddressPolicy} from './targets.js'

const OUTBOX_PAGE = 500
const SEND_BATCH = 8
const ATTEMPT_TIMEOUT_MS = 10_000
/** Longer than an attempt: a replica that dies while sending lets the claim lapse and another sends. */
const CLAIM_MS = 60_000
const TICK_MS = 1000
const ROUND_GAP_MS = 100
/** What a receiver's error answer may add to the attempt's record. */
const ERROR_TEXT_KEPT = 200

export interface NotifierOptions {
  store: Store
  log: Logger
  /** who claims deliveries */
  replica: string
  /** this control plane as receivers reach it, for links */
  publicUrl: string
  policy: AddressPolicy
  /** the first retry's delay; each next one doubles, up to an hour */
  retryMinMs: number
  /** how long a delivery is retried before it is given up */
  retryForMs: number
  now?: () => Date
}

/** How one attempt went. */
export interface AttemptOutcome {
  delivered: boolean
  statusCode: number | null
  error: string | null
  durationMs: number
  /** "HTTP 200", "timeout after 10s", "refused: ..." */
  summary: string
}

/** The subscription's filter: its scope and kinds. Log events are never delivered (they are what logs are for). */
export function notificationFilter(notification: Pick<NotificationRecord, 'project' | 'environment' | 'events'>): EventFilter {
  const kinds = kindMatcher(notification.events)
  return {
    ...(notification.project !== null && {project: notification.project}),
    ...(notification.environment !== null && {environment: notification.environment}),
    kinds: (kind) => kind !== 'log' && kinds(kind),
  }
}

export class Notifier {
  private readonly agent: Agent
  private readonly now: () => Date
  private timer: NodeJS.Timeout | undefined
  private work: Promise<void> = Promise.resolve()
  private again = false
  private busy = false
  /**
   * The last round found no subscription: commits of events do not start a round then (each round
   * is a transaction of six statements, and a busy control plane commits events many times a second);
   * the tick every second does, and a subscription made here kicks at once.
   */
  private noSubscriptions = false
  private stopped = false

  constructor(private readonly options: NotifierOptions) {
    this.now = options.now ?? (() => new Date())
    // Every connection resolves its host through the address policy: a name that resolves inward is refused.
    this.agent = new Agent({connect: {lookup: options.policy.lookup, timeout: ATTEMPT_TIMEOUT_MS}, headersTimeout: ATTEMPT_TIMEOUT_MS, bodyTimeout: ATTEMPT_TIMEOUT_MS})
  }

  async start(): Promise<void> {
    await this.options.store.listen({
      events: () => {
        if (!this.noSubscriptions) this.kick()
      },
    })
    this.timer = setInterval(() => this.kick(), TICK_MS)
    this.timer.unref()
    this.kick()
  }

  /** Reads new events into the outbox and sends what is due; a kick while busy runs once more after. */
  kick(): void {
    if (this.stopped) return
    if (this.busy) {
      this.again = true
      return
    }
    this.busy = true
    this.work = this.round()
      .catch((error) => this.options.log.error({err: error}, 'notifications: a round failed; the next one tries again'))
      .finally(() => {
        // Wakeups that came meanwhile share one more round, a little later: a busy control plane
        // commits events many times a second, and a notification needs no more than that.
        if (this.again && !this.stopped) {
          this.again = false
          setTimeout(() => {
            this.busy = false
            this.kick()
          }, ROUND_GAP_MS).unref()
        } else this.busy = false
      })
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.work
    await this.agent.close()
  }

  private async round(): Promise<void> {
    let filled
    while ((filled = await this.fill()) === 'more') {
      // a full page: read on
    }
    this.noSubscriptions = filled === 'no subscriptions'
    if (this.noSubscriptions) return
    for (;;) {
      const now = this.now()
      const due = await this.options.store.claimDeliveries(this.options.replica, now.toISOString(), new Date(now.getTime() + CLAIM_MS).toISOString(), SEND_BATCH)
      if (due.length === 0) return
      await Promise.all(due.map((delivery) => this.deliver(delivery)))
      if (this.stopped) return
    }
  }

  /** One page of events into the outbox: 'more' when the page was full. */
  private async fill(): Promise<'more' | 'done' | 'no subscriptions'> {
    return this.options.store.transaction(async (tx) => {
      const position = await tx.lockOutbox()
      const subscriptions = (await tx.listNotifications()).map((notification) => ({notification, filter: notificationFilter(notification)}))
      // Nobody to deliver to: skip to the last event (a subscription made later starts after it anyway;
      // it is made under this same lock).
      if (subscriptions.length === 0) {
        await tx.advanceOutbox(await tx.lastEventSeq())
        return 'no subscriptions'
      }
      const rows = await tx.listEvents(position, OUTBOX_PAGE)
      if (rows.length === 0) return 'done'
      const wanted = rows.filter((row) => subscriptions.some(({notification, filter}) => row.seq > notification.afterSeq && matches(filter, row)))
      const presented = new Map((await presentEvents(tx, wanted)).map((event) => [event.stored.seq, event]))
      const at = this.now().toISOString()
      const deliveries = wanted.flatMap((row) =>
        subscriptions
          .filter(({notification, filter}) => row.seq > notification.afterSeq && matches(filter, row))
          .map(({notification}) => ({
            notificationId: notification.id,
            eventSeq: row.seq,
            eventKind: row.kind,
            event: JSON.parse(presented.get(row.seq)?.json ?? 'null'),
            nextAttemptAt: at,
            createdAt: at,
          })),
      )
      await tx.insertDeliveries(deliveries)
      await tx.advanceOutbox(rows[rows.length - 1].seq)
      return rows.length === OUTBOX_PAGE ? 'more' : 'done'
    })
  }

  /** Sends one claimed delivery and records how it went, and when to try again. */
  private async deliver(delivery: DeliveryRecord): Promise<AttemptOutcome | null> {
    const {store} = this.options
    const notification = await store.getNotification(delivery.notificationId)
    if (!notification) return null
    const outcome = await this.send(notification, delivery)
    const attempt = delivery.attempts + 1
    const at = this.now()
    const givenUp = !outcome.delivered && givesUp({createdAt: delivery.createdAt, test: delivery.eventSeq === null}, at, this.options.retryForMs)
    const retryDelay = retryDelayMs(attempt, this.options.retryMinMs)
    await store.recordAttempt(
      {deliveryId: delivery.id, attempt, at: at.toISOString(), statusCode: outcome.statusCode, error: outcome.error, durationMs: outcome.durationMs},
      {status: outcome.delivered ? 'delivered' : givenUp ? 'failed' : 'pending', nextAttemptAt: new Date(at.getTime() + (outcome.delivered || givenUp ? 0 : retryDelay)).toISOString()},
      outcome.summary,
    )
    if (!outcome.delivered) {
      this.options.log.warn({notification: notification.id, delivery: delivery.id, attempt, outcome: outcome.summary, givenUp}, 'notification not delivered')
    }
    return outcome
  }

  private async send(notification: NotificationRecord, delivery: DeliveryRecord): Promise<AttemptOutcome> {
    const isTest = delivery.eventSeq === null
    const event = delivery.event as Event
    const body =
      notification.kind === 'slack'
        ? JSON.stringify(isTest ? slackTestMessage(delivery.event as TestPayload) : slackMessage(event, this.options.publicUrl))
        : isTest
          ? JSON.stringify(delivery.event)
          : webhookBody(event, this.options.publicUrl)
    const headers: Record<string, string> = {'content-type': 'application/json', 'user-agent': 'relctl-notifications'}
    if (notification.kind === 'webhook') {
      headers[EVENT_KIND_HEADER] = isTest ? 'test' : event.kind
      headers[DELIVERY_HEADER] = String(delivery.id)
      if (!isTest) headers[EVENT_ID_HEADER] = String(event.seq)
      if (notification.secret) headers[SIGNATURE_HEADER] = signature(notification.secret, body, Math.floor(this.now().getTime() / 1000))
    }
    const started = performance.now()
    try {
      const response = await request(notification.url, {method: 'POST', headers, body, dispatcher: this.agent, signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)})
      const text = (await response.body.text()).slice(0, ERROR_TEXT_KEPT)
      const delivered = response.statusCode >= 200 && response.statusCode < 300
      return {delivered, statusCode: response.statusCode, error: delivered ? null : text || null, durationMs: performance.now() - started, summary: `HTTP ${response.statusCode}`}
    } catch (error) {
      const err = error as {code?: string; name?: string; message?: string; cause?: {code?: string; message?: string}}
      const code = err.cause?.code ?? err.code
      const summary =
        err.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT'
          ? `timeout after ${ATTEMPT_TIMEOUT_MS / 1000}s`
          : code === 'ERELCTL_ADDRESS'
            ? (err.cause?.message ?? err.message ?? 'refused')
            : `${code ?? 'error'}: ${err.cause?.message ?? err.message ?? String(error)}`
      return {delivered: false, statusCode: null, error: summary, durationMs: performance.now() - started, summary}
    }
  }

  /** Sends a test to a subscription now, out of turn, and records it as a delivery of its own. */
  async test(notification: NotificationRecord): Promise<{delivery: number; outcome: AttemptOutcome}> {
    const at = this.now()
    const payload: TestPayload = {test: true, notification: notification.id, message: `a test of notification ${notification.id} from the control plane at ${this.options.publicUrl}`, at: at.toISOString()}
    const delivery = await this.options.store.insertClaimedDelivery(
      {notificationId: notification.id, eventSeq: null, eventKind: 'test', event: payload, nextAttemptAt: at.toISOString(), createdAt: at.toISOString()},
      this.options.replica,
      new Date(at.getTime() + CLAIM_MS).toISOString(),
    )
    const outcome = (await this.deliver(delivery)) as AttemptOutcome
    return {delivery: delivery.id, outcome}
  }
}
