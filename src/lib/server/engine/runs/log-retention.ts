// Log retention: the log lines of releases that ended longer ago than the retention are deleted by a
// periodic cleanup; the release records stay, and `release logs` says the lines were deleted.
import type {Store} from '../../store/store.js'
import type {Logger} from '../context.js'

/** releases cleaned per batch: each batch is one short transaction */
const BATCH = 200
const MIN_INTERVAL_MS = 1000
const MAX_INTERVAL_MS = 3_600_000

export interface LogRetentionOptions {
  store: Store
  retentionMs: number
  log: Logger
  now?: () => Date
}

export class LogRetention {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> = Promise.resolve()
  private readonly now: () => Date

  constructor(private readonly options: LogRetentionOptions) {
    this.now = options.now ?? (() => new Date())
  }

  /** Cleans now, then every half retention (between a second and an hour). */
  start() {
    const interval = Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, this.options.retentionMs / 2))
    const tick = () => {
      this.running = this.sweep().catch((error) => this.options.log.error({err: error}, 'log retention cleanup failed'))
    }
    tick()
    this.timer = setInterval(tick, interval)
    this.timer.unref()
  }

  async stop() {
    clearInterval(this.timer)
    await this.running
  }

  /** Deletes the lines of every release that ended before the cutoff; returns how many releases. */
  async sweep(): Promise<number> {
    const now = this.now()
    const cutoff = new Date(now.getTime() - this.options.retentionMs).toISOString()
    let total = 0
    for (;;) {
      const ids = await this.options.store.deleteLogsEndedBefore(cutoff, now.toISOString(), BATCH)
      total += ids.length
      if (ids.length < BATCH) break
    }
    if (total > 0) this.options.log.info({releases: total, cutoff}, 'deleted the log lines of releases past the log retention')
    return total
  }
}
