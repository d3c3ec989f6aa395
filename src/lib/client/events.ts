// Following the event stream: one Server-Sent Events connection, read as it comes, resumed from the last
// event seen after a drop (Last-Event-ID), so that no event is lost and none is seen twice. Where the
// stream is not served (an older control plane, a proxy that rewrites or buffers it) opening it fails
// with StreamUnavailableError, and the waiting commands poll instead.
import {STREAM_HEARTBEAT_MS} from '../api/events.js'
import type {Event} from '../api/event-schemas.js'
import type {ControlPlaneClient, EventStreamQuery} from './client.js'
import {delay} from './delay.js'
import {ApiError, UnreachableError} from './errors.js'

/** How long opening may take before the stream counts as unavailable (a proxy holding it back). */
const OPEN_TIMEOUT_MS = 10_000
/** Three heartbeats missed: the connection is dead even if no error says so. */
const SILENCE_MS = 3 * STREAM_HEARTBEAT_MS
const OPEN_COMMENT = /^ ?stream open at (\d+)/

/** The event stream cannot be used here; the reason says why, for the one line that says so. */
export class StreamUnavailableError extends Error {}

/** What a wait for events brings: the events, in order, and whether some could not be resumed. */
export interface EventBatch {
  events: Event[]
  /** events were missed (the position was older than the retention): whatever the caller knows may be stale */
  gap: boolean
}

export interface FollowOptions {
  /** resume after this sequence number instead of starting now */
  after?: number
  /** one line for people: the stream dropped, resumed, was replaced */
  onNotice?: (text: string) => void
}

export class EventFollower {
  private queue: Event[] = []
  private gap = false
  /** reconnected after a drop: a reader that could not look meanwhile should look again */
  private resumed = false
  private wakeUp: (() => void) | null = null
  /** the last sequence number received (or the stream's start): where a reconnect resumes */
  private position: number | undefined
  /** aborts the connection: on close, and when one does not open in time */
  private controller = new AbortController()
  private closed = false
  /** why the stream is down, while it is */
  private down: UnreachableError | null = null
  private failure: unknown = null
  /** the first connection's first bytes arrived */
  private onOpen: () => void = () => undefined

  private constructor(
    private readonly client: ControlPlaneClient,
    private readonly query: EventStreamQuery,
    private readonly options: FollowOptions,
  ) {
    this.position = options.after
  }

  /**
   * Opens the stream and resolves once the control plane says it is open: a state read after this
   * misses nothing the stream will not bring. Rejects with StreamUnavailableError where there is no
   * stream to follow, with the API's error for a refused query.
   */
  static async open(client: ControlPlaneClient, query: EventStreamQuery, options: FollowOptions = {}): Promise<EventFollower> {
    const follower = new EventFollower(client, query, options)
    const body = await follower.connect()
    // Open once its first bytes arrive: headers alone may come through a proxy that holds the body back.
    const opened = new Promise<void>((resolve) => (follower.onOpen = resolve))
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), OPEN_TIMEOUT_MS)))
    void follower.run(body)
    const outcome = await Promise.race([opened, late])
    clearTimeout(timer)
    if (outcome === 'late') {
      follower.close()
      throw new StreamUnavailableError(`the event stream sent nothing within ${OPEN_TIMEOUT_MS / 1000}s of opening (a proxy that buffers it?)`)
    }
    return follower
  }

  /** The sequence number of the last event received, or where the stream opened. */
  get lastSeq(): number | undefined {
    return this.position
  }

  /** Where the stream began: the position resumed from, or the last event when it opened. */
  openedAfter: number | undefined

  /**
   * The events received since the last call; waits until one comes or the deadline passes (then with no
   * events). Throws UnreachableError when the deadline passed while the control plane could not be reached.
   */
  async next(deadline: number): Promise<EventBatch> {
    while (this.queue.length === 0 && !this.gap && !this.resumed && this.failure === null && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve
        // setTimeout takes at most 2^31-1 ms; a longer wait just loops.
        timer = setTimeout(resolve, Math.min(deadline - Date.now(), 2 ** 31 - 1))
      })
      clearTimeout(timer)
      this.wakeUp = null
    }
    if (this.failure !== null && this.queue.length === 0) throw this.failure
    if (this.queue.length === 0 && this.down && Date.now() >= deadline) throw this.down
    const batch = {events: this.queue, gap: this.gap}
    this.queue = []
    this.gap = false
    this.resumed = false
    return batch
  }

  close(): void {
    this.closed = true
    this.controller.abort()
    this.wakeUp?.()
  }

  /** One connection: resolves with the body once the stream is open. */
  private async connect(): Promise<AsyncIterable<Buffer>> {
    this.controller = new AbortController()
    // The control plane sends the headers once the subscription is in place, so their arrival means open.
    let slow = false
    const timer = setTimeout(() => {
      slow = true
      this.controller.abort()
    }, OPEN_TIMEOUT_MS)
    let response
    try {
      // Where to resume goes in Last-Event-ID, as a reconnecting EventSource sends it; none: from now.
      response = await this.client.openEventStream(this.query, {lastEventId: this.position, signal: this.controller.signal, bodyTimeoutMs: SILENCE_MS})
    } catch (error) {
      if (slow) throw new StreamUnavailableError(`the event stream did not open within ${OPEN_TIMEOUT_MS / 1000}s (a proxy that holds it back?)`)
      throw error
    } finally {
      clearTimeout(timer)
    }
    const contentType = String(response.headers['content-type'] ?? '')
    if (response.statusCode === 404) {
      await response.body.dump()
      throw new StreamUnavailableError('this control plane serves no event stream (HTTP 404 for /v1/events; an older version?)')
    }
    if (response.statusCode >= 400) {
      const text = await response.body.text()
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        throw new StreamUnavailableError(`the event stream answered HTTP ${response.statusCode}`)
      }
      const error = (body as {error?: {code: string; message: string; hint?: string}}).error
      if (!error?.code) throw new StreamUnavailableError(`the event stream answered HTTP ${response.statusCode}`)
      throw new ApiError(response.statusCode, error)
    }
    if (!contentType.startsWith('text/event-stream')) {
      await response.body.dump()
      throw new StreamUnavailableError(`the event stream came back as ${contentType || 'something else'}, not text/event-stream (a proxy in between?)`)
    }
    return response.body
  }

  /** Reads connections one after another until closed; a drop reconnects from the last event received. */
  private async run(firstBody: AsyncIterable<Buffer>): Promise<void> {
    let body: AsyncIterable<Buffer> | null = firstBody
    for (let attempt = 0; !this.closed; ) {
      if (body) {
        try {
          await this.read(body)
        } catch (error) {
          if (this.closed) return
          this.noteDown(error)
        }
        body = null
        if (this.closed) return
      }
      await delay(Math.min(5000, 250 * 2 ** Math.min(attempt, 5)))
      if (this.closed) return
      try {
        body = await this.connect()
        attempt = 0
        if (this.down) {
          this.options.onNotice?.('event stream resumed')
          this.resumed = true
          this.wakeUp?.()
        }
        this.down = null
      } catch (error) {
        attempt++
        if (error instanceof ApiError && error.body.code === 'gone') {
          // Older than the retention: what happened meanwhile is gone; start from now and say so.
          this.position = undefined
          this.gap = true
          this.wakeUp?.()
          continue
        }
        if (error instanceof StreamUnavailableError || error instanceof ApiError) {
          this.failure = error
          this.wakeUp?.()
          return
        }
        this.noteDown(error)
      }
    }
  }

  private noteDown(error: unknown) {
    if (!this.down) this.options.onNotice?.(`event stream interrupted (${error instanceof Error ? error.message : String(error)}); resuming`)
    this.down = error instanceof UnreachableError ? error : new UnreachableError(this.client.url, error instanceof Error ? error.message : String(error))
    this.wakeUp?.()
  }

  private async read(body: AsyncIterable<Buffer>): Promise<void> {
    // Loaded when a stream is followed, not on every command's start.
    const {createParser} = await import('eventsource-parser')
    const decoder = new TextDecoder()
    const parser = createParser({
      onEvent: (message) => {
        const event = JSON.parse(message.data) as Event
        this.position = event.seq
        this.queue.push(event)
        this.wakeUp?.()
      },
      onComment: (comment) => {
        const open = OPEN_COMMENT.exec(comment)
        if (open && this.position === undefined) this.position = Number(open[1])
        this.openedAfter ??= this.position
        this.onOpen()
      },
    })
    for await (const chunk of body) parser.feed(decoder.decode(chunk, {stream: true}))
    if (!this.closed) throw new Error('the control plane ended the stream')
  }
}
