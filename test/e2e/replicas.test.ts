// Several control-plane replicas on one PostgreSQL (issue 10), each a real `relctl server start
// --database-url` process with its own data dir and the same token: any replica accepts any request,
// admission is decided in the database, a replica that dies has its runs failed by another, and a
// cancel reaches the owner wherever it is sent.
import {readFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {freshDatabase} from '../helpers/postgres.js'
import {scaled} from '../helpers/timeouts.js'
import {
  api,
  copyFixture,
  createToken,
  gateStarted,
  isAlive,
  maxOverlap,
  must,
  openGate,
  pool,
  relctl,
  relctlLive,
  sleep,
  type Server,
  startServer,
  tempDir,
  triggerRelease,
  waitFor,
  waitForRelease,
} from './harness.js'

const TOKEN = 'replica-test-token-0123456789abcdef'
const PROD = ['-p', 'rep-app', '-e', 'prod']
const RESOURCES = Array.from({length: 12}, (_, index) => `r${String(index + 1).padStart(2, '0')}`)

interface Replicas {
  servers: Server[]
  /** the servers by replica id */
  byId: Map<string, Server>
  state: string
}

/** Starts the replicas at once on a new database (their migrations race on purpose) and applies rep-app. */
async function startReplicas(ids: string[], extraArgs: string[] = []): Promise<Replicas> {
  const database = await freshDatabase()
  const state = tempDir('relctl-e2e-state-')
  const servers = await Promise.all(
    ids.map((id) =>
      startServer({token: TOKEN, env: {RELCTL_TEST_STATE: state}, args: ['--database-url', database, '--replica-id', id, ...extraArgs]}),
    ),
  )
  const fixture = copyFixture('replicas')
  await must(['project', 'apply', '-f', fixture.file], {server: servers[0]})
  return {servers, byId: new Map(ids.map((id, index) => [id, servers[index]])), state}
}

interface Deploy {
  releaseId: number
  resource: string
  start: number
  end: number
}

/** The deploys as the exec scripts recorded them: one entry per start, with its end. */
function recordedDeploys(state: string): Deploy[] {
  const open = new Map<string, Deploy>()
  const deploys: Deploy[] = []
  for (const line of readFileSync(join(state, 'exec.log'), 'utf8').trim().split('\n')) {
    const [what, id, resource, ns] = line.split(' ')
    const key = `${id} ${resource}`
    const ms = Number(BigInt(ns) / 1_000_000n)
    if (what === 'start') {
      const deploy = {releaseId: Number(id), resource, start: ms, end: Number.POSITIVE_INFINITY}
      open.set(key, deploy)
      deploys.push(deploy)
    } else {
      const deploy = open.get(key)
      if (deploy) deploy.end = ms
    }
  }
  return deploys
}

describe('two replicas on one PostgreSQL', () => {
  it('200 triggers sent alternately to both, overlapping resources, parallel on: no conflicting releases overlapped, each ran once, max parallel held', async () => {
    const {servers, state} = await startReplicas(['alpha', 'beta'])
    const [alpha, beta] = servers
    await must(['settings', 'set-parallel', '--enabled', '--max', '4', ...PROD], {server: beta})

    // Release i touches two of twelve resources: many pairs conflict, many do not.
    const wanted = Array.from({length: 200}, (_, index) => [...new Set([RESOURCES[index % 12], RESOURCES[(index * 5 + 3) % 12]])])
    const ids = await pool(wanted.map((names, index) => ({names, index})), 8, ({names, index}) =>
      triggerRelease('rep-app', 'prod', {type: 'selective', resources: names.map((name) => ({name}))}, {server: servers[index % 2]}),
    )
    expect(new Set(ids).size).toBe(200)

    const releases = await waitFor(
      async () => {
        const list = await api<{id: number; status: string; replica: string | null; resources: {name: string}[]}[]>('/v1/releases?project=rep-app&environment=prod&limit=1000', {server: alpha})
        const ours = list.filter((release) => ids.includes(release.id))
        return ours.every((release) => ['succeeded', 'failed', 'cancelled'].includes(release.status)) ? ours : null
      },
      {timeoutMs: 240_000, intervalMs: 500, what: 'all 200 releases to end'},
    )
    expect(releases.filter((release) => release.status !== 'succeeded')).toEqual([])
    // Both replicas took a share of the runs.
    const owners = new Set(releases.map((release) => release.replica))
    expect([...owners].sort()).toEqual(['alpha', 'beta'])

    const deploys = recordedDeploys(state)
    // Each release deployed each of its resources exactly once.
    for (const release of releases) {
      const own = deploys.filter((deploy) => deploy.releaseId === release.id).map((deploy) => deploy.resource).sort()
      expect(own, `release ${release.id}`).toEqual(release.resources.map((resource) => resource.name).sort())
    }
    // From the deploys' own clocks: a release spans its first start to its last end.
    const spans = new Map<number, {start: number; end: number; resources: Set<string>}>()
    for (const deploy of deploys) {
      const span = spans.get(deploy.releaseId) ?? {start: deploy.start, end: deploy.end, resources: new Set<string>()}
      span.start = Math.min(span.start, deploy.start)
      span.end = Math.max(span.end, deploy.end)
      span.resources.add(deploy.resource)
      spans.set(deploy.releaseId, span)
    }
    const list = [...spans.entries()]
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const [idA, a] = list[i]
        const [idB, b] = list[j]
        const conflict = [...a.resources].some((name) => b.resources.has(name))
        if (conflict) expect(a.end <= b.start || b.end <= a.start, `releases ${idA} and ${idB} share a resource and overlapped`).toBe(true)
      }
    }
    const intervals = list.map(([, span]) => ({startedAt: new Date(span.start).toISOString(), finishedAt: new Date(span.end).toISOString()}))
    expect(maxOverlap(intervals)).toBeLessThanOrEqual(4)
  })

  it('server status lists both replicas from either; release show names the replica that runs it; a cancel sent to the other replica stops the run within a second', async () => {
    const {servers, byId, state} = await startReplicas(['east', 'west'])
    const [east, west] = servers

    const status = await relctl(['server', 'status', '--json'], {server: west})
    expect(status.code).toBe(0)
    const replicas = JSON.parse(status.stdout) as {id: string; self: boolean; runs: unknown[]; stopping: boolean}[]
    expect(replicas.map((replica) => replica.id).sort()).toEqual(['east', 'west'])
    expect(replicas.find((replica) => replica.self)?.id).toBe('west')
    const table = await must(['server', 'status'], {server: east})
    expect(table.stdout).toMatch(/^east \*/m)
    expect(table.stdout).toMatch(/^west\s/m)

    const id = await triggerRelease('rep-app', 'prod', {type: 'selective', resources: [{name: 'gate'}]}, {server: east})
    const pid = await gateStarted(state, id)
    const running = await waitForRelease(id, ['running'], {server: west})
    expect(['east', 'west']).toContain(running.replica)
    const shown = JSON.parse((await must(['release', 'show', String(id), '--json'], {server: west})).stdout)
    expect(shown.replica).toBe(running.replica)
    const other = byId.get(running.replica === 'east' ? 'west' : 'east') as Server
    const withRun = await api<{id: string; runs: {releaseId: number}[]}[]>('/v1/replicas', {server: other})
    expect(withRun.find((replica) => replica.id === running.replica)?.runs.map((run) => run.releaseId)).toEqual([id])

    // The cancel goes to the replica that does not run it: the owner sees the request and stops the run.
    const sent = Date.now()
    const cancel = await relctl(['release', 'cancel', String(id), '--json'], {server: other})
    expect(cancel.code, cancel.stderr).toBe(0)
    const cancelled = await waitForRelease(id, ['cancelled'], {server: other})
    expect(Date.now() - sent).toBeLessThan(scaled(5_000))
    expect(cancelled.error).toMatch(/cancel/)
    await waitFor(() => !isAlive(pid), {what: 'the gate script to be stopped'})
  })
})

describe('events and notifications across replicas', () => {
  it("a watch on one replica sees every release the other runs; a webhook gets each event once, in order, whichever replica sends it", async () => {
    const {servers} = await startReplicas(['north', 'south'])
    const [north, south] = servers
    const received: {seq: number; kind: string}[] = []
    const hook = createServer((request, response) => {
      let body = ''
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
      request.on('end', () => {
        const {event} = JSON.parse(body) as {event: {seq: number; kind: string}}
        received.push({seq: event.seq, kind: event.kind})
        response.writeHead(200).end()
      })
    })
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve))
    try {
      const address = hook.address()
      const hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`
      await must(['notify', 'add', '--url', hookUrl, '--events', 'release.*', ...PROD], {server: north})
      const watching = relctlLive(['watch', ...PROD, '--kinds', 'release.*', '--json'], {server: south, timeoutMs: 120_000})
      await watching.printed('watching the events after', 'the watch on south to open its stream')
      const ids: number[] = []
      for (const [index, resource] of ['quick', 'r01', 'r02', 'r03', 'r04', 'r05'].entries()) {
        ids.push(await triggerRelease('rep-app', 'prod', {type: 'selective', resources: [{name: resource}]}, {server: servers[index % 2]}))
      }
      await Promise.all(ids.map((id) => waitForRelease(id, ['succeeded'], {server: south})))
      const last = ids[ids.length - 1]
      await watching.printed(new RegExp(`"kind":"release.succeeded"[^\\n]*"id":${last},`), 'the watch to print the last release')
      watching.signal('SIGINT')
      const printed = (await watching.done).stdout
        .split('\n')
        .filter((line) => line.startsWith('{"seq"'))
        .map((line) => JSON.parse(line) as {seq: number; kind: string; releaseId: number})
      const recorded = (await api<{events: {seq: number; releaseId: number}[]}>(`/v1/events?after=0&project=rep-app&kinds=release.*`, {server: north})).events.filter((event) => ids.includes(event.releaseId))
      expect(printed.filter((event) => ids.includes(event.releaseId)).map((event) => event.seq)).toEqual(recorded.map((event) => event.seq))
      await waitFor(() => received.filter((event) => event.kind === 'release.succeeded').length >= ids.length, {what: 'the webhook to get every release.succeeded'})
      const mine = received.filter((event) => recorded.some((candidate) => candidate.seq === event.seq))
      expect(mine.map((event) => event.seq)).toEqual(recorded.map((event) => event.seq))
    } finally {
      await new Promise((resolve) => hook.close(resolve))
    }
  })
})

describe('a replica that goes away', () => {
  it('kill -9 of the replica running a release: within the lease plus 5 s the other has failed it, naming the replica, and runs what was queued behind it', async () => {
    const {servers, byId, state} = await startReplicas(['one', 'two'], ['--lease', '3s'])
    const id = await triggerRelease('rep-app', 'prod', {type: 'selective', resources: [{name: 'gate'}]}, {server: servers[0]})
    await gateStarted(state, id)
    const running = await waitForRelease(id, ['running'], {server: servers[1]})
    const owner = byId.get(running.replica) as Server
    const survivorId = running.replica === 'one' ? 'two' : 'one'
    const survivor = byId.get(survivorId) as Server
    // Parallel releases are off: the next release waits for the whole environment.
    const queued = await triggerRelease('rep-app', 'prod', {type: 'selective', resources: [{name: 'quick'}]}, {server: survivor})
    expect((await api(`/v1/releases/${queued}`, {server: survivor})).status).toBe('queued')

    const killed = Date.now()
    await owner.stop('SIGKILL')
    const failed = await waitForRelease(id, ['failed'], {server: survivor, timeoutMs: 3_000 + 5_000})
    expect(Date.now() - killed).toBeLessThan(scaled(3_000 + 5_000))
    expect(failed.error).toContain(`replica ${running.replica} stopped answering`)
    const tasks = (await api(`/v1/releases/${id}`, {server: survivor})).tasks as {status: string}[]
    expect(tasks.map((task) => task.status)).toEqual(['interrupted'])
    const next = await waitForRelease(queued, ['succeeded'], {server: survivor})
    expect(next.replica).toBe(survivorId)
    // The loss is an event of its own, with the release it failed.
    const lost = await api<{events: {kind: string; data: unknown}[]}>('/v1/events?after=0&kinds=replica.lost', {server: survivor})
    expect(lost.events).toMatchObject([{kind: 'replica.lost', data: {replica: running.replica, releases: [id], detectedBy: survivorId}}])
  })

  it('a replica restarted with its id after kill -9 ends its own old run at once, without waiting for the lease', async () => {
    const {servers, state} = await startReplicas(['solo'], ['--lease', '60s'])
    const [solo] = servers
    const id = await triggerRelease('rep-app', 'prod', {type: 'selective', resources: [{name: 'gate'}]}, {server: solo})
    await gateStarted(state, id)
    await solo.stop('SIGKILL')
    const database = solo.process.spawnargs[solo.process.spawnargs.indexOf('--database-url') + 1]
    const again = await startServer({token: TOKEN, dataDir: solo.dataDir, env: {RELCTL_TEST_STATE: state}, args: ['--database-url', database, '--replica-id', 'solo', '--lease', '60s']})
    const failed = await waitForRelease(id, ['failed'], {server: again, timeoutMs: 10_000})
    expect(failed.error).toContain('interrupted: the control plane stopped')
    expect(failed.replica).toBe('solo')
  })

  it('SIGTERM of one replica: its run finishes within the grace period while the other keeps serving', async () => {
    const {servers, byId, state} = await startReplicas(['left', 'right'], ['--shutdown-grace', '60s'])
    await must(['settings', 'set-parallel', '--enabled', '--max', '4', ...PROD], {server: servers[0]})
    const id = await triggerRelease('rep-app', 'prod', {type: 'selective', resources: [{name: 'gate'}]}, {server: servers[0]})
    await gateStarted(state, id)
    const running = await waitForRelease(id, ['running'], {server: servers[0]})
    const owner = byId.get(running.replica) as Server
    const other = byId.get(running.replica === 'left' ? 'right' : 'left') as Server

    const stopped = owner.stop('SIGTERM', scaled(60_000))
    await waitFor(
      async () => (await api<{id: string; stopping: boolean}[]>('/v1/replicas', {server: other})).find((replica) => replica.id === running.replica)?.stopping,
      {what: 'the stopping replica to say so'},
    )
    // The other replica serves, and runs new releases itself.
    const quick = await triggerRelease('rep-app', 'prod', {type: 'selective', resources: [{name: 'quick'}]}, {server: other})
    const done = await waitForRelease(quick, ['succeeded'], {server: other})
    expect(done.replica).not.toBe(running.replica)
    expect((await api(`/v1/releases/${id}`, {server: other})).status).toBe('running')

    openGate(state, id)
    expect((await stopped).code).toBe(0)
    expect((await waitForRelease(id, ['succeeded'], {server: other})).replica).toBe(running.replica)
    const alive = await api<{id: string}[]>('/v1/replicas', {server: other})
    expect(alive.map((replica) => replica.id)).not.toContain(running.replica)
  })
})

describe('schedules across replicas', () => {
  it('fire exactly once per slot with two replicas', async () => {
    const {servers} = await startReplicas(['s1', 's2'])
    await must(['schedule', 'set', '-p', 'rep-app', '-e', 'staging', '--every', '1s', '--type', 'selective', '--resources', 'quick'], {server: servers[0]})
    const runs = await waitFor(
      async () => {
        const schedule = await api<{runs: {slotAt: string; outcome: string; releaseId: number | null}[]}>('/v1/projects/rep-app/environments/staging/schedule', {server: servers[1]})
        return schedule.runs.length >= 4 ? schedule.runs : null
      },
      {timeoutMs: 30_000, what: 'four schedule runs'},
    )
    await must(['schedule', 'delete', '-p', 'rep-app', '-e', 'staging'], {server: servers[1]})
    const slots = runs.map((run) => run.slotAt)
    expect(new Set(slots).size).toBe(slots.length)
    const releases = await api<{id: number; source: string; comment: string | null}[]>('/v1/releases?project=rep-app&environment=staging&limit=1000', {server: servers[0]})
    const scheduled = releases.filter((release) => release.source === 'schedule')
    const comments = scheduled.map((release) => release.comment)
    expect(new Set(comments).size).toBe(comments.length)
    for (const run of runs.filter((entry) => entry.outcome === 'released')) expect(scheduled.map((release) => release.id)).toContain(run.releaseId)
  })
})

describe('tokens across replicas', () => {
  it('a token made on one replica works on the other; revoked on one, the other refuses it within a second', async () => {
    const {servers} = await startReplicas(['t1', 't2'])
    const [one, two] = servers
    const secret = await createToken('ci-rep', ['deployer:rep-app/prod'], {server: one})
    const whoamiOnTwo = () => fetch(`${two.url}/v1/whoami`, {headers: {authorization: `Bearer ${secret}`}})
    // The other replica reads it from the shared database, and keeps it in its cache.
    expect((await whoamiOnTwo()).status).toBe(200)
    await must(['token', 'revoke', 'ci-rep'], {server: one})
    const revoked = Date.now()
    // However the machine is loaded, a request sent a second after the revocation was answered is refused.
    await sleep(Math.max(0, revoked + 1000 - Date.now()))
    const after = await whoamiOnTwo()
    expect(after.status).toBe(401)
    expect((await after.json()).error.message).toBe('the token was not accepted')
    const cli = await relctl(['whoami'], {server: two, token: secret})
    expect(cli.code, String(cli)).toBe(7)
    // The audit log is shared too: the revocation made on one is listed by two.
    const audit = (await must(['audit', 'list', '--actor', 'admin', '--json'], {server: two})).json()
    expect(audit[0]).toMatchObject({action: 'token.revoke', target: 'token ci-rep', outcome: 'succeeded'})
  })
})
