// What tells a waiting command that something may have changed: the event stream, or, where the control
// plane serves none (an older version, a proxy that buffers), a timer, said once on stderr.
import {formatDuration} from '../api/duration.js'
import type {ControlPlaneClient, EventStreamQuery} from './client.js'
import {delay, jitter} from './delay.js'
import {UnreachableError} from './errors.js'
import {type EventBatch, EventFollower, StreamUnavailableError} from './events.js'

export interface Changes {
  /**
   * What changed since the last call, waiting until something does or the deadline passes; null from the
   * timer, which knows nothing: look again. Throws UnreachableError when the deadline passed while the
   * control plane could not be reached.
   */
  next(deadline: number): Promise<EventBatch | null>
  close(): void
}

export interface ChangeOptions {
  /** how often to look when polling */
  intervalMs: number
  /** one line for people: the stream dropped or resumed, or polling replaces it */
  onNotice: (text: string) => void
}

/**
 * Follows the events that match the query; the stream is open when this resolves, so look after it.
 * A control plane that cannot be reached yet is looked at every interval, and followed once it answers.
 */
export async function watchChanges(client: ControlPlaneClient, query: EventStreamQuery, options: ChangeOptions): Promise<Changes> {
  try {
    return await openChanges(client, query, options)
  } catch (error) {
    if (error instanceof UnreachableError) return untilReachable(client, query, options)
    throw error
  }
}

/** The stream, or the timer where the control plane serves none; throws UnreachableError. */
async function openChanges(client: ControlPlaneClient, query: EventStreamQuery, options: ChangeOptions): Promise<Changes> {
  try {
    const follower = await EventFollower.open(client, query, {onNotice: options.onNotice})
    // A stream that goes away for good (the control plane replaced by an older one) gives way to the timer.
    let fallback: Changes | null = null
    return {
      async next(deadline) {
        if (fallback) return fallback.next(deadline)
        try {
          return await follower.next(deadline)
        } catch (error) {
          if (!(error instanceof StreamUnavailableError)) throw error
          follower.close()
          options.onNotice(`${error.message}; looking every ${formatDuration(options.intervalMs)} instead`)
          fallback = polling(options.intervalMs)
          return null
        }
      },
      close: () => follower.close(),
    }
  } catch (error) {
    if (!(error instanceof StreamUnavailableError)) throw error
    options.onNotice(`${error.message}; looking every ${formatDuration(options.intervalMs)} instead`)
    return polling(options.intervalMs)
  }
}

/** Polls while the control plane cannot be reached, and follows its stream from the first look that can. */
function untilReachable(client: ControlPlaneClient, query: EventStreamQuery, options: ChangeOptions): Changes {
  let current: Changes | null = null
  let closed = false
  return {
    async next(deadline) {
      if (current) return current.next(deadline)
      await delay(Math.min(jitter(options.intervalMs), Math.max(0, deadline - Date.now())))
      try {
        const opened = await openChanges(client, query, options)
        if (closed) opened.close()
        else current = opened
      } catch (error) {
        if (!(error instanceof UnreachableError)) throw error
      }
      // Either way, look again: the caller's state may be older than the stream just opened.
      return null
    },
    close() {
      closed = true
      current?.close()
    },
  }
}

export function polling(intervalMs: number): Changes {
  return {
    async next(deadline) {
      await delay(Math.min(jitter(intervalMs), Math.max(0, deadline - Date.now())))
      return null
    },
    close() {},
  }
}
