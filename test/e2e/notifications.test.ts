// Notifications end to end: real receivers on this machine (a webhook over HTTP, a "Slack" over HTTPS
// with a certificate the control plane is told to trust), the real CLI and control plane. Deliveries are
// signed as documented, arrive in order, wait for a receiver that is down and reach it later; Slack gets
// a readable message with the command to act; internal targets are refused.
import {createHmac} from 'node:crypto'
import {execFileSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {api, closedPort, copyFixture, must, relctl, type Server, startServer, tempDir, triggerRelease, waitFor, waitForRelease} from './harness.js'

const SCOPE = ['-p', 'sim-app', '-e', 'staging']
const SECRET = 'a-webhook-secret-of-some-length'

interface Received {
  headers: IncomingMessage['headers']
  body: string
}

// Retries come quickly here.
const SERVER_ARGS = ['--notify-retry-min', '200ms']

const receivers: HttpServer[] = []
let server: Server
let certs: {cert: string; key: string; file: string}

/** A receiver on 127.0.0.1 that records what it gets and answers 200. */
async function receiver(options: {port?: number; tls?: boolean} = {}): Promise<{url: string; port: number; received: Received[]}> {
  const received: Received[] = []
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    let body = ''
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
    request.on('end', () => {
      received.push({headers: request.headers, body})
      response.writeHead(200).end('ok')
    })
  }
  const server = options.tls ? createHttpsServer({cert: certs.cert, key: certs.key}, handler) : createHttpServer(handler)
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  receivers.push(server)
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}/hook`, port, received}
}

function verify(secret: string, received: Received): boolean {
  const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(received.headers['x-relctl-signature'])) ?? []
  return v1 === createHmac('sha256', secret).update(`${t}.${received.body}`).digest('hex')
}

async function releaseOf(app: string, version: string): Promise<number> {
  await must(['app', 'set', app, '--version', version, ...SCOPE])
  return triggerRelease('sim-app', 'staging', {type: 'selective', resources: [{name: app}]})
}

beforeAll(async () => {
  const dir = tempDir('relctl-e2e-certs-')
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')]
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {stdio: 'ignore'})
  certs = {cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8'), file: cert}
  // The control plane trusts the test's certificate for the HTTPS receiver.
  server = await startServer({args: SERVER_ARGS, env: {NODE_EXTRA_CA_CERTS: cert}})
  await must(['project', 'apply', '-f', copyFixture('simulate-app').file])
  await must(['release', 'trigger', '--type', 'launch', ...SCOPE, '--wait', '--timeout', '60s'])
})

afterAll(async () => {
  await Promise.all(receivers.map((server) => new Promise((resolve) => server.close(resolve))))
})

describe('webhooks', () => {
  it('deliver every matching event, signed over timestamp and body, in order, with links', async () => {
    const hook = await receiver()
    const secretFile = join(tempDir(), 'secret.txt')
    writeFileSync(secretFile, `${SECRET}\n`)
    const added = await must(['notify', 'add', '--url', hook.url, '--events', 'release.*', ...SCOPE, '--secret-file', secretFile, '--json'])
    const {notification, secret} = added.json()
    expect(secret).toBeNull()
    expect(notification).toMatchObject({kind: 'webhook', target: hook.url, events: ['release.*'], signed: true, status: 'ok'})

    const id = await releaseOf('api', '1.1.0')
    await waitForRelease(id, ['succeeded'])
    await waitFor(() => hook.received.some((delivery) => delivery.headers['x-relctl-event'] === 'release.succeeded'), {what: 'the release.succeeded delivery'})
    const kinds = hook.received.map((delivery) => delivery.headers['x-relctl-event'])
    expect(kinds).toEqual(['release.created', 'release.queued', 'release.started', 'release.succeeded'])
    const seqs = hook.received.map((delivery) => Number(delivery.headers['x-relctl-event-id']))
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    for (const delivery of hook.received) {
      expect(verify(SECRET, delivery)).toBe(true)
      expect(verify('another-secret-entirely', delivery)).toBe(false)
      const body = JSON.parse(delivery.body)
      expect(body.event).toMatchObject({kind: delivery.headers['x-relctl-event'], seq: Number(delivery.headers['x-relctl-event-id']), releaseId: id, data: {id}})
      expect(body.links.release).toMatch(new RegExp(`/v1/releases/${id}$`))
    }
    // A tampered body no longer matches its signature.
    expect(verify(SECRET, {...hook.received[0], body: hook.received[0].body.replace('"release.created"', '"release.failed"')})).toBe(false)

    const deliveries = (await must(['notify', 'deliveries', String(notification.id), '--json'])).json()
    expect(deliveries.map((delivery: {eventKind: string}) => delivery.eventKind)).toEqual(['release.succeeded', 'release.started', 'release.queued', 'release.created'])
    expect(deliveries[0]).toMatchObject({status: 'delivered', attempts: 1, attemptLog: [{attempt: 1, statusCode: 200}]})
    await must(['notify', 'remove', String(notification.id)])
  })

  it('a receiver that is down gets the deliveries later, in order, after a restart of the control plane too; notify list says it is failing meanwhile', async () => {
    const port = await closedPort()
    const added = await must(['notify', 'add', '--url', `http://127.0.0.1:${port}/hook`, '--events', 'release.started,release.succeeded', ...SCOPE, '--json'])
    const {notification, secret} = added.json()
    // No secret given: the control plane made one and shows it this once.
    expect(secret).toMatch(/^[A-Za-z0-9_-]{40,}$/)
    const first = await releaseOf('web', '1.1.0')
    await waitForRelease(first, ['succeeded'])
    const second = await releaseOf('web', '1.2.0')
    await waitForRelease(second, ['succeeded'])
    const failing = await waitFor(
      async () => {
        const listed = (await must(['notify', 'list', '--json'])).json().find((candidate: {id: number}) => candidate.id === notification.id)
        return listed.status === 'failing' && listed.pending === 4 && listed.lastOutcome?.includes('ECONNREFUSED') ? listed : null
      },
      {what: 'the subscription to be failing with 4 deliveries pending'},
    )
    expect(failing.failingSince).toEqual(expect.any(String))
    const text = await must(['notify', 'list'])
    expect(text.stdout).toMatch(new RegExp(`^${notification.id}\\s+webhook\\s+http://127\\.0\\.0\\.1:${port}/hook\\s+sim-app/staging\\s+release\\.started,release\\.succeeded\\s+FAILING since`, 'm'))
    const test = await relctl(['notify', 'test', String(notification.id)])
    expect(test.code, String(test)).toBe(3)
    expect(test.stderr).toMatch(/test delivery \d+ to notification \d+ failed: ECONNREFUSED/)

    // The outbox is in the database: a restart of the control plane loses none of what waits.
    await server.stop('SIGTERM')
    server = await startServer({dataDir: server.dataDir, configDir: server.configDir, args: SERVER_ARGS, env: {NODE_EXTRA_CA_CERTS: certs.file}})
    const hook = await receiver({port})
    await waitFor(() => hook.received.length >= 4, {what: 'the four deliveries to arrive'})
    expect(hook.received.map((delivery) => `${JSON.parse(delivery.body).event.releaseId} ${delivery.headers['x-relctl-event']}`)).toEqual([
      `${first} release.started`,
      `${first} release.succeeded`,
      `${second} release.started`,
      `${second} release.succeeded`,
    ])
    for (const delivery of hook.received) expect(verify(secret, delivery)).toBe(true)
    await waitFor(async () => (await api('/v1/notifications')).find((candidate: {id: number}) => candidate.id === notification.id).status === 'ok', {what: 'the subscription to be ok again'})
    const deliveries = (await must(['notify', 'deliveries', String(notification.id), '--json'])).json()
    const retried = deliveries.find((delivery: {eventSeq: number | null; attempts: number}) => delivery.eventSeq !== null && delivery.attempts > 1)
    expect(retried.attemptLog[0]).toMatchObject({statusCode: null, error: expect.stringContaining('ECONNREFUSED')})
    expect(retried.attemptLog.at(-1)).toMatchObject({statusCode: 200})
    const tested = await must(['notify', 'test', String(notification.id)])
    expect(tested.stdout).toMatch(/^Delivered: HTTP 200 in \d+ ms/)
    expect(JSON.parse(hook.received.at(-1)?.body ?? '{}')).toMatchObject({test: true, notification: notification.id})
    expect(hook.received.at(-1)?.headers['x-relctl-event']).toBe('test')
  })

  it('refuses targets on internal networks, bad URLs and unknown kinds with exit 2', async () => {
    const internal = await relctl(['notify', 'add', '--url', 'http://10.1.2.3/hook', '--events', 'release.failed'])
    expect(internal.code, String(internal)).toBe(2)
    expect(internal.stderr).toContain('it resolves to 10.1.2.3, an internal address')
    expect(internal.stderr).toContain('--notify-allow-network')
    const scheme = await relctl(['notify', 'add', '--url', 'file:///etc/passwd', '--events', 'release.failed'])
    expect(scheme.code, String(scheme)).toBe(2)
    expect(scheme.stderr).toContain('must be http:// or https://')
    const kind = await relctl(['notify', 'add', '--url', 'http://127.0.0.1:9/hook', '--events', 'release.faild'])
    expect(kind.code, String(kind)).toBe(2)
    expect(kind.stderr).toContain('"release.faild" matches no event kind')
    const missing = await relctl(['notify', 'test', '999'])
    expect(missing.code, String(missing)).toBe(9)
  })
})

describe('Slack', () => {
  it('gets a readable message: where, which release, who, the outcome, and the command to look at the logs', async () => {
    const slack = await receiver({tls: true})
    await must(['notify', 'add', '--slack', slack.url, '--events', 'release.failed', '-p', 'sim-app'])
    const id = await releaseOf('api', '9.9.9-bad')
    await waitForRelease(id, ['failed'])
    await waitFor(() => slack.received.length === 1, {what: 'the Slack message'})
    const message = JSON.parse(slack.received[0].body)
    expect(message.text).toBe(`relctl: release ${id} failed: task failed: api in sim-app/staging`)
    const text = JSON.stringify(message.blocks)
    expect(message.blocks[0]).toMatchObject({type: 'section', text: {type: 'mrkdwn', text: expect.stringContaining(`:x: *release ${id} failed: task failed: api* in \`sim-app/staging\``)}})
    for (const field of ['*Project*\\nsim-app', '*Environment*\\nstaging', '*Resources*\\napi', '*Outcome*\\nfailed: task failed: api']) expect(text).toContain(field)
    expect(text).toMatch(/\*Triggered by\*\\n\S+ \(api\)/)
    expect(message.blocks.at(-1)).toEqual({type: 'context', elements: [{type: 'mrkdwn', text: `\`relctl release logs ${id}\``}]})
    expect(slack.received[0].headers['x-relctl-signature']).toBeUndefined()
  })
})
