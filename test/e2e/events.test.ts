// The event stream end to end, with the real CLI: relctl watch (--json read line by line; --release
// ending with the release's exit code, also for a release that ended before the watch began; resuming
// across a control plane restart with nothing lost and nothing printed twice), logs -f that ends with
// the release's exit code, the waits' fallback to polling where the stream is not served, and
// GET /v1/events read as Server-Sent Events resuming with Last-Event-ID, and as a JSON long poll that
// waits for the next event.
import {createServer, request as httpRequest, type Server as HttpServer} from 'node:http'

import {createParser} from 'eventsource-parser'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {scaled} from '../helpers/timeouts.js'
import {api, closedPort, copyFixture, createToken, must, relctl, relctlLive, type Server, startServer, triggerRelease, waitFor, waitForRelease} from './harness.js'

const SCOPE = ['-p', 'sim-app', '-e', 'staging']
const FAST = ['--interval', '200ms', '--timeout', '60s']

let server: Server
let port: number
let fixture: ReturnType<typeof copyFixture>

interface EventLine {
  seq: number
  kind: string
  releaseId: number | null
  data: {status?: string; id?: number}
}

function eventLines(stdout: string): EventLine[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as EventLine)
}

/** The sequence number of the last event so far (a JSON page from now has no events and says where now is). */
async function head(): Promise<number> {
  return (await api<{next: number}>('/v1/events')).next
}

/** Every event of the project after a position, read through the JSON long poll page by page. */
async function eventsAfter(after: number): Promise<EventLine[]> {
  const all: EventLine[] = []
  for (let next = after; ; ) {
    const page = await api<{events: EventLine[]; next: number}>(`/v1/events?project=sim-app&after=${next}`)
    all.push(...page.events)
    if (page.events.length === 0) return all
    next = page.next
  }
}

interface SseMessage {
  /** the message's id: line */
  id: string | undefined
  event: EventLine
}

/**
 * Reads GET /v1/events as Server-Sent Events, with these request headers, until `enough` says so of the
 * messages so far; answers with the messages and the comments (`stream open at N`, heartbeats). `onOpen`
 * is called with N once the stream says it is open.
 */
async function readSse(
  query: string,
  headers: Record<string, string>,
  enough: (messages: SseMessage[]) => boolean,
  onOpen: (head: number) => void = () => undefined,
): Promise<{messages: SseMessage[]; comments: string[]}> {
  const controller = new AbortController()
  const deadline = scaled(15_000)
  const timer = setTimeout(() => controller.abort(new Error(`the stream did not bring what was expected within ${deadline} ms`)), deadline)
  const messages: SseMessage[] = []
  const comments: string[] = []
  try {
    const response = await fetch(`${server.url}/v1/events?${query}`, {headers: {authorization: `Bearer ${server.token}`, accept: 'text/event-stream', ...headers}, signal: controller.signal})
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const parser = createParser({
      onEvent: (message) => messages.push({id: message.id, event: JSON.parse(message.data) as EventLine}),
      onComment: (comment) => {
        comments.push(comment.trim())
        const open = /^stream open at (\d+)$/.exec(comment.trim())
        if (open) onOpen(Number(open[1]))
      },
    })
    const decoder = new TextDecoder()
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      parser.feed(decoder.decode(chunk, {stream: true}))
      if (enough(messages)) break
    }
    if (!enough(messages)) throw new Error(`the stream ended early after ${messages.length} events`)
    return {messages, comments}
  } catch (error) {
    if (controller.signal.aborted) throw new Error(`${String(controller.signal.reason)}; got ${JSON.stringify(messages.map((message) => message.event.seq))}`)
    throw error
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
}

async function sync(app: string, version: string): Promise<number> {
  await must(['app', 'set', app, '--version', version, ...SCOPE])
  return triggerRelease('sim-app', 'staging', {type: 'selective', resources: [{name: app}]})
}

beforeAll(async () => {
  port = await closedPort()
  server = await startServer({port})
  fixture = copyFixture('simulate-app')
  await must(['project', 'apply', '-f', fixture.file])
  await must(['release', 'trigger', '--type', 'launch', ...SCOPE, '--wait', ...FAST])
})

describe('relctl watch', () => {
  it('--json prints one event object a line, in order, and --release ends with the release: exit 0', async () => {
    const from = await head()
    const id = await sync('api', '1.1.0')
    const watched = await relctl(['watch', '--release', String(id), '--after', String(from), '--json'])
    expect(watched.code, String(watched)).toBe(0)
    const events = eventLines(watched.stdout)
    expect(events.every((event) => event.releaseId === id)).toBe(true)
    expect(events.map((event) => event.seq)).toEqual([...events.map((event) => event.seq)].sort((a, b) => a - b))
    const kinds = events.map((event) => event.kind)
    expect(kinds.slice(0, 3)).toEqual(['release.created', 'release.queued', 'release.started'])
    expect(kinds).toContain('task.started')
    expect(kinds).toContain('task.ended')
    expect(kinds).toContain('log')
    expect(kinds.at(-1)).toBe('release.succeeded')
    expect(events.at(-1)?.data).toMatchObject({id, status: 'succeeded'})
  })

  it('--release of a failing release ends with exit 3; of a release that already ended, at once with its exit code', async () => {
    const from = await head()
    const id = await sync('api', '9.9.9-bad')
    const watched = await relctl(['watch', '--release', String(id), '--after', String(from)])
    expect(watched.code, String(watched)).toBe(3)
    expect(watched.stdout).toMatch(new RegExp(`sim-app/staging release ${id} created \\(selective: api\\)`))
    expect(watched.stdout).toMatch(new RegExp(`sim-app/staging release ${id} failed: task failed: api`))
    expect(watched.stderr).toContain(`release ${id} failed`)
    // Long after the end: no event will come, and none is needed.
    const late = await relctl(['watch', '--release', String(id)], {timeoutMs: 20_000})
    expect(late.code, String(late)).toBe(3)
    expect(late.timedOut).toBe(false)
    await sync('api', '1.2.0')
  })

  it('resumes across a control plane restart: every event once, in order', async () => {
    const watching = relctlLive(['watch', '-p', 'sim-app', '--json'], {timeoutMs: 120_000})
    // From the moment it says it watches, nothing it is due can be missed.
    await watching.printed('watching the events after', 'the watch to open its stream')
    const first = await sync('web', '1.1.0')
    await waitForRelease(first, ['succeeded'])
    await watching.printed(new RegExp(`"kind":"release.succeeded"[^\\n]*"id":${first},`), 'the watch to print the first release')
    await server.stop('SIGTERM')
    server = await startServer({port, dataDir: server.dataDir, configDir: server.configDir})
    const second = await sync('web', '1.2.0')
    await waitForRelease(second, ['succeeded'])
    await watching.printed(new RegExp(`"kind":"release.succeeded"[^\\n]*"id":${second},`), 'the watch to print the second release after the restart')
    watching.signal('SIGINT')
    const result = await watching.done
    expect(result.code, String(result)).toBe(130)
    expect(result.stderr).toContain('event stream interrupted')
    expect(result.stderr).toContain('event stream resumed')
    expect(result.stderr).toMatch(/Hint: watch again with: relctl watch -p sim-app --after \d+ --json/)
    const lines = eventLines(result.stdout)
    // The last line is the interrupt, as an error object on one line.
    expect(lines.at(-1)).toMatchObject({exitCode: 130, error: {code: 'interrupted'}})
    const printed = lines.slice(0, -1)
    const recorded = await eventsAfter(printed[0].seq - 1)
    expect(printed.map((event) => event.seq)).toEqual(recorded.slice(0, printed.length).map((event) => event.seq))
    expect(new Set(printed.map((event) => event.seq)).size).toBe(printed.length)
    expect(printed.some((event) => event.releaseId === second && event.kind === 'release.created')).toBe(true)
  })
})

describe('GET /v1/events as Server-Sent Events', () => {
  it('Last-Event-ID: N resumes with exactly the events after N, history then live, none repeated, none lost; it wins over ?after', async () => {
    // A release that ended: its events are history to resume into.
    const from = await head()
    const first = await sync('web', '1.3.0')
    await waitForRelease(first, ['succeeded'])
    const history = await eventsAfter(from)
    const started = history.find((event) => event.kind === 'release.started' && event.releaseId === first)
    if (!started) throw new Error(`no release.started for release ${first} in ${JSON.stringify(history.map((event) => event.kind))}`)
    const n = started.seq
    // Once the stream is open (it has caught up to `head`, or is catching up), another release runs: its
    // events come live, after the history, on the same stream.
    await must(['app', 'set', 'web', '--version', '1.4.0', ...SCOPE])
    let opened = -1
    let triggered: Promise<number> | undefined
    const isLiveEnd = (event: EventLine) => event.kind === 'release.succeeded' && event.releaseId !== first && event.seq > opened
    const {messages, comments} = await readSse(
      'project=sim-app',
      {'last-event-id': String(n)},
      (so) => so.some((message) => isLiveEnd(message.event)),
      (head) => {
        opened = head
        triggered = triggerRelease('sim-app', 'staging', {type: 'selective', resources: [{name: 'web'}]})
      },
    )
    const second = await triggered
    const received = messages.map((message) => message.event)
    const recorded = (await eventsAfter(n)).filter((event) => event.seq <= (received.at(-1) as EventLine).seq)
    expect(received.map((event) => event.seq)).toEqual(recorded.map((event) => event.seq))
    expect(new Set(received.map((event) => event.seq)).size).toBe(received.length)
    // History (after N, up to where the stream opened) and live events (the second release, all of it).
    expect(opened).toBeGreaterThan(n)
    expect(received.some((event) => event.releaseId === first && event.kind === 'release.succeeded' && event.seq <= opened)).toBe(true)
    expect(received.filter((event) => event.releaseId === second).map((event) => event.kind)).toEqual(expect.arrayContaining(['release.created', 'release.queued', 'release.started', 'release.succeeded']))
    expect(received.filter((event) => event.releaseId === second).every((event) => event.seq > opened)).toBe(true)
    // Each message's id is its sequence number: what a client sends back as Last-Event-ID.
    expect(messages.every((message) => message.id === String(message.event.seq))).toBe(true)
    expect(comments[0]).toBe(`stream open at ${opened}`)

    // The header wins over ?after=0 (which alone would start from the oldest event kept).
    const both = await readSse('project=sim-app&after=0', {'last-event-id': String(n)}, (so) => so.length >= 3)
    expect(both.messages.slice(0, 3).map((message) => message.event.seq)).toEqual(recorded.slice(0, 3).map((event) => event.seq))
  })

  it('as JSON, ?after=now&wait= holds the answer until the next event instead of answering an empty page', async () => {
    const now = await head()
    // Without a wait the page from now is empty at once.
    expect((await api<{events: EventLine[]}>(`/v1/events?project=sim-app&after=${now}`)).events).toEqual([])
    const page = api<{events: EventLine[]; next: number}>(`/v1/events?project=sim-app&after=${now}&wait=${Math.round(scaled(45_000) / 1000)}s`)
    // Triggered only after the request was sent: an answer that did not wait would be the empty page.
    await new Promise((resolve) => setImmediate(resolve))
    const id = await triggerRelease('sim-app', 'staging', {type: 'selective', resources: [{name: 'web'}]})
    const {events, next} = await page
    expect(events.length).toBeGreaterThan(0)
    expect(events[0].seq).toBeGreaterThan(now)
    expect(events.some((event) => event.releaseId === id && event.kind === 'release.created')).toBe(true)
    expect(next).toBeGreaterThanOrEqual(events.at(-1)!.seq)
    await waitForRelease(id, ['succeeded'])
  })
})

describe('what a token may see', () => {
  it("a viewer of one environment gets only the events its grants reach; a revoked token's watch ends (exit 7)", async () => {
    const token = await createToken('prod-viewer', ['viewer:sim-app/prod'])
    // Staging has events from the start of this file; prod gets one release now.
    const prod = await triggerRelease('sim-app', 'prod', {type: 'selective', resources: [{name: 'worker'}]})
    await waitForRelease(prod, ['succeeded', 'failed'])
    const seen = await relctl(['watch', '--after', '0', '--release', String(prod), '--json'], {token})
    expect(seen.code, String(seen)).toBe(0)
    expect(eventLines(seen.stdout).every((event) => event.releaseId === prod)).toBe(true)
    // The whole project's release events, as the viewer reads them (a long poll with its token): prod's only.
    const asViewer = (await (await fetch(`${server.url}/v1/events?project=sim-app&after=0&kinds=release.*`, {headers: {authorization: `Bearer ${token}`}})).json()) as {events: {environment: string}[]}
    expect(asViewer.events.length).toBeGreaterThan(0)
    expect(asViewer.events.every((event) => event.environment === 'prod')).toBe(true)
    // Staging's releases are there for a token that may read them.
    const all = await api<{events: {environment: string}[]}>('/v1/events?project=sim-app&after=0&kinds=release.*')
    expect(all.events.some((event) => event.environment === 'staging')).toBe(true)

    const watching = relctlLive(['watch', '-p', 'sim-app', '-e', 'prod'], {token})
    await watching.printed('watching the events after', 'the watch to open its stream')
    await must(['token', 'revoke', 'prod-viewer'])
    const ended = await watching.done
    expect(ended.code, String(ended)).toBe(7)
    expect(ended.stderr).toContain('the token was not accepted')
  })
})

describe('logs -f', () => {
  it('prints the lines as written and ends with the release: exit 3 for a failed one', async () => {
    const id = await sync('api', '9.9.9-bad')
    const result = await relctl(['release', 'logs', String(id), '-f'])
    expect(result.code, String(result)).toBe(3)
    expect(result.stdout).toContain('simulated failure: version 9.9.9-bad is listed in simulate.failVersions')
    expect(result.stderr).toContain(`Error: release ${id} failed: task failed: api`)
    await sync('api', '1.3.0')
    await waitFor(async () => (await api(`/v1/projects/sim-app/environments/staging/apps`)).every((app: {stable: boolean}) => app.stable), {what: 'the apps to be stable again'})
  })
})

describe('where the control plane serves no event stream', () => {
  let proxy: HttpServer
  let proxyUrl: string

  beforeAll(async () => {
    // An older control plane, as a proxy that answers 404 for /v1/events and passes everything else on.
    proxy = createServer((request, response) => {
      if ((request.url ?? '').startsWith('/v1/events')) {
        response.writeHead(404, {'content-type': 'application/json'}).end(JSON.stringify({error: {code: 'not_found', message: `no route GET ${request.url}`}}))
        return
      }
      const target = new URL(request.url ?? '/', server.url)
      const forward = httpRequest(target, {method: request.method, headers: request.headers}, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
      })
      request.pipe(forward)
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const address = proxy.address()
    proxyUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  })

  afterAll(async () => {
    await new Promise((resolve) => proxy?.close(resolve))
  })

  it('sync --wait and logs -f poll instead, and say so once', async () => {
    await must(['app', 'set', 'worker', '--version', '1.1.0', ...SCOPE])
    const synced = await relctl(['release', 'sync', 'worker', ...SCOPE, '--wait', ...FAST], {url: proxyUrl})
    expect(synced.code, String(synced)).toBe(0)
    expect(synced.stderr.match(/serves no event stream/g)).toHaveLength(1)
    expect(synced.stderr).toContain('looking every 200ms instead')
    expect(synced.stdout).toMatch(/^worker\s+job\s+1\.1\.0\s+1\.1\.0\s+Synced\s+Healthy/m)
    const id = Number((await api('/v1/releases?project=sim-app&environment=staging&limit=1'))[0].id)
    const logs = await relctl(['release', 'logs', String(id), '-f'], {url: proxyUrl})
    expect(logs.code, String(logs)).toBe(0)
    expect(logs.stderr).toContain('serves no event stream')
    expect(logs.stdout).toContain('deployed worker 1.1.0')
  })
})
