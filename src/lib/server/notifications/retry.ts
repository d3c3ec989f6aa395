// Pure: when a failed notification delivery is tried again, and when it is given up (docs/notifications.md).

/** The longest wait between two tries of one delivery. */
export const MAX_RETRY_DELAY_MS = 3_600_000
/** Each wait is varied by up to this fraction either way, so that deliveries failing together do not retry in step. */
export const RETRY_JITTER = 0.2

/**
 * How long to wait after failed try number `attempt` (1 for the first try): `minMs`, then twice as long
 * each time, varied by up to ±20% (`random` in [0, 1) picks where), never more than an hour.
 */
export function retryDelayMs(attempt: number, minMs: number, random: () => number = Math.random): number {
  const base = minMs * 2 ** Math.max(0, attempt - 1)
  const jittered = base * (1 - RETRY_JITTER + random() * 2 * RETRY_JITTER)
  return Math.min(MAX_RETRY_DELAY_MS, jittered)
}

/**
 * True when a delivery that just failed is given up rather than tried again: once `retryForMs` has passed
 * since the delivery was queued (moments after its event). A test delivery (`notify test`) is tried once.
 */
export function givesUp(delivery: {createdAt: string; test: boolean}, now: Date, retryForMs: number): boolean {
  return delivery.test || now.getTime() >= Date.parse(delivery.createdAt) + retryForMs
}
