// Retention: what is kept only for a while is deleted by one periodic cleanup. The log lines of releases
// that ended longer ago than the log retention (the release records stay, and `release logs` says the
// lines were deleted), and events older than the event retention, with the notification deliveries that
// ended before it. Events the notification outbox has not read yet are kept whatever their age.
import type {Logger} from './engine/context.js'
import type {Store} from './store/store.js'

/** releases, events or deliveries cleaned per batch: each batch is one short transaction */
const BATCH = 200
const EVENT_BATCH = 5000
const MIN_INTERVAL_MS = 1000
const MAX_INTERVAL_MS = 3_600_000

export interface RetentionOptions {
  store: Store
  logRetentionMs: number
  eventRetentionMs: number
  log: Logger
  now?: () => Date
}

export class Retention {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> = Promise.resolve()
  private readonly now: () => Date

  constructor(private readonly options: RetentionOptions) {
    this.now = options.now ?? (() => new Date())
  }

  /** Cleans now, then every half of the shorter retention (between a second and an hour). */
  start() {
    const interval = Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Math.min(this.options.logRetentionMs, this.options.eventRetentionMs) / 2))
    const tick = () => {
      this.running = Promise.all([this.sweepLogs(), this.sweepEvents()]).catch((error) => this.options.log.error({err: error}, 'retention cleanup failed'))
    }
    tick()
    this.timer = setInterval(tick, interval)
    this.timer.unref()
  }

  async stop() {
    clearInterval(this.timer)
    await this.running
  }

  /** Deletes the lines of every release that ended before the log cutoff; returns how many releases. */
  async sweepLogs(): Promise<number> {
    const now = this.now()
    const cutoff = new Date(now.getTime() - this.options.logRetentionMs).toISOString()
    let total = 0
    for (;;) {
      const ids = await this.options.store.deleteLogsEndedBefore(cutoff, now.toISOString(), BATCH)
      total += ids.length
      if (ids.length < BATCH) break
    }
    if (total > 0) this.options.log.info({releases: total, cutoff}, 'deleted the log lines of releases past the log retention')
    return total
  }

  /** Deletes the events appended before the event cutoff, and the deliveries that ended before it; returns how many events. */
  async sweepEvents(): Promise<{events: number; deliveries: number}> {
    const {store} = this.options
    const cutoff = new Date(this.now().getTime() - this.options.eventRetentionMs).toISOString()
    const unread = await store.transaction((tx) => tx.lockOutbox())
    let events = 0
    for (;;) {
      const deleted = await store.pruneEvents(cutoff, unread, EVENT_BATCH)
      events += deleted
      if (deleted < EVENT_BATCH) break
    }
    let deliveries = 0
    for (;;) {
      const deleted = await store.pruneDeliveries(cutoff, BATCH)
      deliveries += deleted
      if (deleted < BATCH) break
    }
    if (events + deliveries > 0) this.options.log.info({events, deliveries, cutoff}, 'deleted events and notification deliveries past the event retention')
    return {events, deliveries}
  }
}
