// The event stream of one replica. One reader tails the events table (woken by every commit that appends
// events here, by PostgreSQL NOTIFY from the other replicas, and by a slow poll in case a wakeup was
// lost) and hands each new event, serialized once, to every subscription whose filter it passes. However
// many streams are open, the database sees one reader per replica.
//
// A subscription that resumes from a sequence number reads what it missed from the table first, while
// what arrives meanwhile waits in its buffer: nothing is lost between the two, nothing is sent twice.
import {ControlPlaneError} from '../errors.js'
import type {Logger} from '../engine/context.js'
import type {Store} from '../store/store.js'
import {type EventFilter, matches, type PresentedEvent, presentEvents} from './present.js'

const PAGE = 500
/** More open streams than this on one replica are refused (503) rather than slowing every stream down. */
export const MAX_SUBSCRIPTIONS = 10_000

/** Where a subscription's events go: a stream's socket, or a long poll's answer. */
export interface EventSink {
  /** Sends one event; false when the receiver is behind and the sender should wait for drain(). */
  send(event: PresentedEvent): boolean
  drain(): Promise<void>
  /** The hub is closing (the control plane stops). */
  end(): void
}

export class Subscription {
  /** events that arrived while it caught up from the table; null once live */
  private buffer: PresentedEvent[] | null = []

  constructor(
    readonly filter: EventFilter,
    /** the last sequence number handed on or passed over */
    public position: number,
    readonly sink: EventSink,
  ) {}

  /** A new event from the hub's reader. */
  offer(event: PresentedEvent): void {
    if (this.buffer) {
      this.buffer.push(event)
      return
    }
    this.pass(event)
  }

  /** Done catching up: what waited in the buffer goes out, and new events go straight through. */
  goLive(): void {
    const waiting = this.buffer ?? []
    this.buffer = null
    for (const event of waiting) this.pass(event)
  }

  private pass(event: PresentedEvent) {
    if (event.stored.seq <= this.position) return
    this.position = event.stored.seq
    if (matches(this.filter, event.stored)) this.sink.send(event)
  }
}

export class EventHub {
  private lastSeq = 0
  private readonly subscriptions = new Set<Subscription>()
  private reading: Promise<void> | null = null
  private readAgain = false
  /** events may have been appended since the last read, while nobody subscribed */
  private behind = false
  private poll: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    /** the safety net under the wakeups: a lost NOTIFY costs at most this long */
    private readonly pollMs: number,
  ) {}

  /** Starts from the newest event: a stream that does not resume begins now. */
  async start(): Promise<void> {
    this.lastSeq = await this.store.lastEventSeq()
    await this.store.listen({events: () => this.wake()})
    this.poll = setInterval(() => this.wake(), this.pollMs)
    this.poll.unref()
  }

  /** The sequence number of the last event this replica has read. */
  get head(): number {
    return this.lastSeq
  }

  get size(): number {
    return this.subscriptions.size
  }

  /** Reads the events appended since the last read; a wakeup during a read reads again after it. */
  wake(): void {
    if (this.closed) return
    // Nobody to hand them to: nothing is read until someone subscribes (admit() catches up the head).
    if (this.subscriptions.size === 0 && !this.reading) {
      this.behind = true
      return
    }
    if (this.reading) {
      this.readAgain = true
      return
    }
    this.reading = this.readNew()
      .catch((error) => this.log.error({err: error}, 'could not read new events; the next wakeup tries again'))
      .finally(() => {
        this.reading = null
        if (this.readAgain) {
          this.readAgain = false
          this.wake()
        }
      })
  }

  private async readNew(): Promise<void> {
    for (;;) {
      const rows = await this.store.listEvents(this.lastSeq, PAGE)
      if (rows.length === 0) return
      // Presented only when some subscription will look at them (a log event reads its lines).
      const events = this.subscriptions.size > 0 ? await presentEvents(this.store, rows) : rows.map((stored) => ({stored, json: ''}))
      for (const event of events) {
        this.lastSeq = event.stored.seq
        for (const subscription of this.subscriptions) subscription.offer(event)
      }
      if (rows.length < PAGE) return
    }
  }

  /** Refuses a subscription this replica cannot serve: it is stopping, it is full, or `after` is past the retention (410). */
  async admit(after: number | undefined): Promise<void> {
    if (this.closed) throw new ControlPlaneError('unavailable', 'the control plane is stopping', {hint: 'reconnect to another replica, or once it is back'})
    if (this.subscriptions.size >= MAX_SUBSCRIPTIONS) {
      throw new ControlPlaneError('unavailable', `this replica already serves ${MAX_SUBSCRIPTIONS} event streams`, {hint: 'connect to another replica, or close streams you no longer read'})
    }
    // While nobody subscribed the head was not followed: "now" is the table's last event.
    if (this.behind && this.subscriptions.size === 0 && !this.reading) {
      this.behind = false
      this.lastSeq = Math.max(this.lastSeq, await this.store.lastEventSeq())
    }
    if (after !== undefined && after < (await this.store.eventHorizon())) {
      throw new ControlPlaneError('gone', `the events after ${after} are no longer kept (they are deleted after the event retention); start over from now`, {
        hint: 'reconnect without Last-Event-ID or ?after, and read the current state once',
      })
    }
  }

  /**
   * A new subscription (admitted first, so that the head is current): from now when `after` is undefined, else from just after that
   * sequence number, catching up from the table. It is in place when this returns its promise: every
   * event from then on reaches it.
   */
  subscribe(filter: EventFilter, after: number | undefined, sink: EventSink): Promise<Subscription> {
    const subscription = new Subscription(filter, after ?? this.lastSeq, sink)
    // From here on every new event reaches its buffer; the table has everything up to the head.
    this.subscriptions.add(subscription)
    const until = this.lastSeq
    if (this.behind) {
      // Appended while nobody subscribed, after admit() looked: read now, not at the next wakeup.
      this.behind = false
      this.wake()
    }
    const caughtUp = after !== undefined && after < until ? this.catchUp(subscription, after, until) : Promise.resolve()
    return caughtUp.then(
      () => {
        subscription.position = Math.max(subscription.position, until)
        subscription.goLive()
        return subscription
      },
      (error) => {
        this.subscriptions.delete(subscription)
        throw error
      },
    )
  }

  unsubscribe(subscription: Subscription): void {
    this.subscriptions.delete(subscription)
  }

  private async catchUp(subscription: Subscription, after: number, until: number): Promise<void> {
    const {filter, sink} = subscription
    let position = after
    while (position < until) {
      const rows = await this.store.listEvents(position, PAGE, filter.releaseId === undefined ? {} : {releaseId: filter.releaseId})
      const inRange = rows.filter((row) => row.seq <= until)
      for (const event of await presentEvents(this.store, inRange.filter((row) => matches(filter, row)))) {
        if (!sink.send(event)) await sink.drain()
      }
      if (rows.length < PAGE || inRange.length < rows.length) break
      position = rows[rows.length - 1].seq
    }
  }

  /** Ends every subscription: the control plane stops. */
  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.poll)
    await this.reading
    for (const subscription of this.subscriptions) subscription.sink.end()
    this.subscriptions.clear()
  }
}
