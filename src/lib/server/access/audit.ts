// The audit log: one entry per mutating request (who, what, scope, when, source address, outcome),
// refusals included, appended before the answer goes out; and its retention cleanup.
import type {AuditEntry} from '../../api/access.js'
import type {Logger} from '../engine/context.js'
import type {AuditFilter, NewAuditEntry, Store} from '../store/store.js'

/** entries deleted per statement: each is one short transaction */
const BATCH = 1000
const CLEANUP_INTERVAL_MS = 3_600_000

interface Waiting {
  entry: NewAuditEntry
  resolve(): void
  reject(error: unknown): void
}

export class AuditLog {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> = Promise.resolve()
  /** entries that arrived while a write was under way: the next write takes them all */
  private waiting: Waiting[] = []
  private writing = false

  constructor(
    private readonly store: Store,
    private readonly retentionMs: number,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Appends an entry, stamped now; resolves once it is stored. Entries of concurrent requests share a
   * write (a group commit): under a burst of requests one statement and one commit store tens of them.
   */
  append(entry: Omit<NewAuditEntry, 'at'>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({entry: {at: this.now().toISOString(), ...entry}, resolve, reject})
      if (!this.writing) void this.writeWaiting()
    })
  }

  private async writeWaiting(): Promise<void> {
    this.writing = true
    while (this.waiting.length > 0) {
      const batch = this.waiting
      this.waiting = []
      try {
        await this.store.appendAudit(batch.map(({entry}) => entry))
        for (const {resolve} of batch) resolve()
      } catch (error) {
        // One entry the database refuses must not lose the others: each is written alone again.
        if (batch.length === 1) batch[0].reject(error)
        else for (const waiting of batch) await this.store.appendAudit([waiting.entry]).then(waiting.resolve, waiting.reject)
      }
    }
    this.writing = false
  }

  list(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.store.listAudit(filter)
  }

  /** Cleans now, then every hour (or every half retention, when that is shorter). */
  startRetention(): void {
    const tick = () => {
      this.running = this.sweep().catch((error) => this.log.error({err: error}, 'audit retention cleanup failed'))
    }
    tick()
    this.timer = setInterval(tick, Math.max(1000, Math.min(CLEANUP_INTERVAL_MS, this.retentionMs / 2)))
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.running
  }

  /** Deletes the entries older than the retention; returns how many. */
  async sweep(): Promise<number> {
    const cutoff = new Date(this.now().getTime() - this.retentionMs).toISOString()
    let total = 0
    for (;;) {
      const deleted = await this.store.deleteAuditBefore(cutoff, BATCH)
      total += deleted
      if (deleted < BATCH) break
    }
    if (total > 0) this.log.info({entries: total, cutoff}, 'deleted audit entries past the audit retention')
    return total
  }
}
