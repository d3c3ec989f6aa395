// Failed authentications, throttled per source address: a leaky bucket that lets FAILED_AUTH_BURST
// failures through at once and then one per FAILED_AUTH_INTERVAL_MS. While an address is over it, its
// requests are answered 429 before their token is looked at: a throttled guesser learns nothing, not
// even from a right guess. Kept per replica, in memory.
import {FAILED_AUTH_BURST, FAILED_AUTH_INTERVAL_MS} from './limits.js'

const ADDRESSES_KEPT = 10_000

export class AuthThrottle {
  /** by address: the bucket as milliseconds still to drain (one interval per failure) at a time */
  private readonly buckets = new Map<string, {debtMs: number; at: number}>()

  constructor(
    private readonly burst = FAILED_AUTH_BURST,
    private readonly intervalMs = FAILED_AUTH_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** How long the address must wait before its next attempt; 0 when it may try now. */
  retryAfterMs(address: string): number {
    // Throttled while one more failure would take the bucket past the burst.
    return Math.max(0, this.debt(address) - (this.burst - 1) * this.intervalMs)
  }

  /** Counts a failed authentication from the address. */
  failed(address: string): void {
    const debtMs = this.debt(address) + this.intervalMs
    this.buckets.delete(address)
    if (this.buckets.size >= ADDRESSES_KEPT) this.prune()
    this.buckets.set(address, {debtMs, at: this.now()})
  }

  private debt(address: string): number {
    const bucket = this.buckets.get(address)
    return bucket ? Math.max(0, bucket.debtMs - (this.now() - bucket.at)) : 0
  }

  /** Forgets the addresses whose buckets have drained; if none has, the one that failed longest ago. */
  private prune(): void {
    for (const address of this.buckets.keys()) if (this.debt(address) === 0) this.buckets.delete(address)
    if (this.buckets.size >= ADDRESSES_KEPT) this.buckets.delete(this.buckets.keys().next().value as string)
  }
}
