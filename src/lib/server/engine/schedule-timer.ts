// The schedule timer: wakes when the next schedule is due (at least once a minute), runs one check at
// a time, and can be woken early when a schedule changes.
const MAX_SLEEP_MS = 60_000

export class ScheduleTimer {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> = Promise.resolve()
  private stopped = true

  constructor(
    private readonly check: () => Promise<Date | null>,
    private readonly clock: () => Date,
    private readonly log: {error(object: object, message?: string): void},
  ) {}

  start() {
    this.stopped = false
    this.wake()
  }

  /** Checks now (after any check under way), then sleeps until the next due time. */
  wake() {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.running = this.running.then(() => this.tick())
  }

  async stop() {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  private async tick() {
    if (this.stopped) return
    let next: Date | null = null
    try {
      next = await this.check()
    } catch (error) {
      this.log.error({err: error}, 'schedule check failed')
    }
    if (this.stopped) return
    const sleep = next ? Math.min(MAX_SLEEP_MS, Math.max(0, next.getTime() - this.clock().getTime())) : MAX_SLEEP_MS
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.wake(), sleep)
    this.timer.unref()
  }
}
