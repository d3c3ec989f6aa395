// GET /v1/events: the event stream. Server-Sent Events when the client accepts text/event-stream (`id:` is
// the sequence number, so a reconnect resumes with Last-Event-ID), else a JSON long poll
// (?after=SEQ&wait=30s) for clients that cannot hold a stream. Both serve the same events (docs/events.md).
import type {FastifyInstance, FastifyReply, FastifyRequest} from 'fastify'
import {Type} from '@sinclair/typebox'

import {EventsPage, EventsQuery} from '../../api/event-schemas.js'
import {kindMatcher, kindPatternProblem, LONG_POLL_MAX_MS, STREAM_HEARTBEAT_MS} from '../../api/events.js'
import {DurationError, parseDuration} from '../../api/duration.js'
import {NAME_PATTERN, NAME_RULE, splitList} from '../../api/domain.js'
import type {Access} from '../access/access.js'
import {invalid} from '../errors.js'
import type {Engine} from '../engine/engine.js'
import type {EventHub, EventSink} from '../events/hub.js'
import type {EventFilter, PresentedEvent} from '../events/present.js'
import type {StoredEvent} from '../store/store.js'
import {canRead, reachesInto} from './auth.js'
import {errorResponses} from './common.js'

/** A stream whose receiver has this much unread is dropped: it resumes from its last id when it reconnects. */
const MAX_UNSENT_BYTES = 4 << 20
/** A long poll answers with at most this many events; `next` says where to go on. */
const LONG_POLL_MAX_EVENTS = 1000
/** How often an open stream checks that its token is still accepted. */
const TOKEN_CHECK_MS = 1000
/** How soon a browser's EventSource reconnects after a drop. */
const RECONNECT_MS = 1000

interface EventsQueryText {
  after?: number
  project?: string
  environment?: string
  release?: number
  app?: string
  kinds?: string
  wait?: string
}

/**
 * Only what the token's grants reach: an environment's events where it may read that environment; a
 * project's or the control plane's (a pause, a setting, a lost replica) where it may read something in it.
 */
function visibleTo(request: FastifyRequest): (event: StoredEvent) => boolean {
  return (event) =>
    event.environment === null ? reachesInto(request, {project: event.project, environment: null}) : canRead(request, {project: event.project, environment: event.environment})
}

async function filterOf(engine: Engine, request: FastifyRequest, query: EventsQueryText): Promise<EventFilter> {
  const kinds = splitList(query.kinds ?? '')
  for (const pattern of kinds) {
    const problem = kindPatternProblem(pattern)
    if (problem) throw invalid(`kinds: ${problem}`, 'e.g. kinds=release.*,task.ended')
  }
  const apps = query.app === undefined ? undefined : splitList(query.app)
  const badApp = apps?.find((app) => !NAME_PATTERN.test(app))
  if (badApp !== undefined) throw invalid(`app: "${badApp.slice(0, 80)}" is not a valid name: ${NAME_RULE}`, 'e.g. app=api,web')
  if ((query.environment || apps) && !query.project) throw invalid('an environment or app filter needs its project', 'add project=NAME')
  if (query.project) await engine.requireScope(query.project, query.environment)
  return {
    ...(query.project && {project: query.project}),
    ...(query.environment && {environment: query.environment}),
    ...(query.release !== undefined && {releaseId: query.release}),
    ...(apps && {apps}),
    kinds: kindMatcher(kinds),
    visible: visibleTo(request),
  }
}

/** Where to resume: Last-Event-ID (what a reconnecting EventSource sends) wins over ?after. */
function resumeAfter(request: FastifyRequest, query: EventsQueryText): number | undefined {
  const header = request.headers['last-event-id']
  const text = Array.isArray(header) ? header[0] : header
  if (text === undefined || text === '') return query.after
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text) || !Number.isSafeInteger(Number(text))) throw invalid(`Last-Event-ID "${text.slice(0, 40)}" is not an event's sequence number`, 'send the id of the last event received')
  return Number(text)
}

function waitOf(text: string | undefined): number {
  if (text === undefined) return 0
  try {
    return Math.min(LONG_POLL_MAX_MS, parseDuration(text))
  } catch (error) {
    if (error instanceof DurationError) throw invalid(`wait: ${error.message}`, `at most ${LONG_POLL_MAX_MS / 1000}s`)
    throw error
  }
}

function sseFrame(event: PresentedEvent): string {
  return `id: ${event.stored.seq}\ndata: ${event.json}\n\n`
}

/**
 * Streams outlive their requests: every second each token that holds streams open is checked once (not
 * once per stream), and the streams of one revoked, rotated or expired since are ended, as its next
 * request would be refused.
 */
class StreamTokens {
  private readonly streams = new Map<string, Set<() => void>>()
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly access: Access) {}

  /** Ends `close` when `secret` stops being accepted; returns how to forget it. */
  hold(secret: string, close: () => void): () => void {
    const held = this.streams.get(secret) ?? new Set()
    held.add(close)
    this.streams.set(secret, held)
    this.timer ??= setInterval(() => void this.check(), TOKEN_CHECK_MS).unref()
    return () => {
      held.delete(close)
      if (held.size === 0) this.streams.delete(secret)
      if (this.streams.size === 0) {
        clearInterval(this.timer)
        this.timer = undefined
      }
    }
  }

  private async check(): Promise<void> {
    for (const [secret, held] of this.streams) {
      const result = await this.access.tokens.authenticate(secret).catch(() => null)
      if (result && 'refused' in result) for (const close of [...held]) close()
    }
  }
}

async function stream(hub: EventHub, tokens: StreamTokens, request: FastifyRequest, reply: FastifyReply, filter: EventFilter, after: number | undefined): Promise<void> {
  const socket = reply.raw
  let heartbeat: NodeJS.Timeout | undefined
  let forgetToken: () => void = () => undefined
  let subscription: Awaited<ReturnType<EventHub['subscribe']>> | undefined
  let closed = false
  const close = () => {
    if (closed) return
    closed = true
    clearInterval(heartbeat)
    forgetToken()
    if (subscription) hub.unsubscribe(subscription)
    socket.end()
  }
  const sink: EventSink = {
    send(event) {
      if (closed) return true
      const ready = socket.write(sseFrame(event))
      // A receiver this far behind while live is dropped; catching up waits for drain instead.
      if (socket.writableLength > MAX_UNSENT_BYTES) close()
      return ready
    },
    drain: () => new Promise((resolve) => (closed ? resolve() : socket.once('drain', resolve).once('close', resolve))),
    end: close,
  }
  // The response's close: the client went away, or the stream ended.
  socket.on('close', close)
  reply.hijack()
  socket.writeHead(200, {'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no', connection: 'keep-alive'})
  const subscribing = hub.subscribe(filter, after, sink)
  // The subscription is in place: these first bytes tell the client so, and a state it reads after them
  // misses nothing the stream will not bring.
  socket.write(`retry: ${RECONNECT_MS}\n: stream open at ${hub.head}\n\n`)
  try {
    subscription = await subscribing
  } catch (error) {
    request.log.error({err: error}, 'event stream could not catch up')
    close()
    return
  }
  if (closed) {
    hub.unsubscribe(subscription)
    return
  }
  heartbeat = setInterval(() => socket.write(': heartbeat\n\n'), STREAM_HEARTBEAT_MS)
  heartbeat.unref()
  forgetToken = tokens.hold((request.headers.authorization ?? '').replace(/^Bearer /, ''), close)
}

async function longPoll(hub: EventHub, filter: EventFilter, after: number | undefined, waitMs: number): Promise<string> {
  const collected: PresentedEvent[] = []
  let arrived: () => void = () => undefined
  const first = new Promise<void>((resolve) => (arrived = resolve))
  const sink: EventSink = {
    send(event) {
      if (collected.length < LONG_POLL_MAX_EVENTS) collected.push(event)
      arrived()
      return true
    },
    drain: () => Promise.resolve(),
    end: arrived,
  }
  const subscription = await hub.subscribe(filter, after, sink)
  try {
    if (collected.length === 0 && waitMs > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([first, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))])
      clearTimeout(timer)
    }
  } finally {
    hub.unsubscribe(subscription)
  }
  // Past the last event sent when the answer is full; else past everything looked at.
  const next = collected.length === LONG_POLL_MAX_EVENTS ? collected[collected.length - 1].stored.seq : subscription.position
  return `{"events":[${collected.map((event) => event.json).join(',')}],"next":${next}}`
}

export function registerEventRoutes(app: FastifyInstance, engine: Engine, hub: EventHub, access: Access) {
  const tokens = new StreamTokens(access)
  app.get<{Querystring: EventsQueryText}>(
    '/v1/events',
    {
      schema: {
        tags: ['events'],
        summary: 'The event stream: Server-Sent Events (Accept: text/event-stream), or a JSON long poll',
        description:
          'Every change the control plane records, in commit order, each with the state after it. As Server-Sent Events each event is one message: `id:` its sequence number, `data:` the event as JSON (kind inside); a comment opens the stream and another comes every 15 s. Resume with Last-Event-ID or ?after=SEQ; 410 when that position is older than the event retention. Without Accept: text/event-stream the answer is one JSON page, waiting up to ?wait= for the first event.',
        querystring: EventsQuery,
        response: {
          200: {
            description: 'a page of events (JSON); with Accept: text/event-stream, a stream of them',
            content: {'application/json': {schema: EventsPage}, 'text/event-stream': {schema: Type.String({description: 'id: SEQ, data: one Event as JSON'})}},
          },
          410: errorResponses[404],
          503: errorResponses[404],
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const query = request.query
      const filter = await filterOf(engine, request, query)
      const after = resumeAfter(request, query)
      await hub.admit(after)
      if ((request.headers.accept ?? '').includes('text/event-stream')) return stream(hub, tokens, request, reply, filter, after)
      const page = await longPoll(hub, filter, after, waitOf(query.wait))
      return reply.type('application/json; charset=utf-8').send(page)
    },
  )
  // Open streams would hold the server open: they end first (their clients resume on another replica).
  app.addHook('preClose', async () => hub.close())
}
