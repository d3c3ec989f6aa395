// Failed authentications, throttled per source address: a leaky bucket that lets FAILED_AUTH_BURST
// failures through at once and then one per FAILED_AUTH_INTERVAL_MS. While an address is over it, its
// requests are answered 429 before their token is looked at: a throttled guesser learns nothing, not
// even from a right guess. Kept per replica, in memory.
import {FAILED_AUTH_BURST, FAILED_AUTH_INTERVAL_MS} from './limits.js'

const ADDRESSES_KEPT = 10_000

export class AuthThrottle {
  /** by address: the bucket's level (failures not yet leaked away) at a time */
  private readonly buckets = new Map<string, {level: number; at: number}>()

  constructor(
    private readonly burst = FAILED_AUTH_BURST,
    private readonly intervalMs = FAILED_AUTH_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** How long the address must wait before its next attempt; 0 when it may try now. */
  retryAfterMs(address: string): number {
    // Throttled while one more failure would take the bucket past the burst.
    const over = this.level(address) - (this.burst - 1)
    return over > 0 ? Math.ceil(over * this.intervalMs) : 0
  }

  /** Counts a failed authentication from the address. */
  failed(address: string): void {
    const level = this.level(address) + 1
    this.buckets.delete(address)
    if (this.buckets.size >= ADDRESSES_KEPT) this.prune()
    this.buckets.set(address, {level, at: this.now()})
  }

  private level(address: string): number {
    const bucket = this.buckets.get(address)
    return bucket ? Math.max(0, bucket.level - (this.now() - bucket.at) / this.intervalMs) : 0
  }

  /** Forgets the addresses whose buckets have emptied; if none has, the one that failed longest ago. */
  private prune(): void {
    for (const address of this.buckets.keys()) if (this.level(address) === 0) this.buckets.delete(address)
    if (this.buckets.size >= ADDRESSES_KEPT) this.buckets.delete(this.buckets.keys().next().value as string)
  }
}
