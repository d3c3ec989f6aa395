// release list / show / logs (-f) / cancel, with exec scripts that block, print over time or start
// background children.
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {api, copyFixture, isAlive, killGroupAfterAll, must, relctl, relctlLive, startServer, tempDir, waitFor, waitForRelease} from './harness.js'

const FAST = ['--interval', '200ms', '--timeout', '60s']
const SCOPE = ['-p', 'slow-app', '-e', 'staging']
let state: string

beforeAll(async () => {
  state = tempDir('relctl-e2e-state-')
  await startServer({env: {RELCTL_TEST_STATE: state}})
  await must(['project', 'apply', '-f', copyFixture('slow').file])
})

async function trigger(resources: string, scope = SCOPE): Promise<number> {
  const result = await must(['release', 'trigger', '--resources', resources, ...scope])
  return Number(result.stdout.trim())
}

function openGate(id: number) {
  writeFileSync(join(state, `open-${id}`), '')
}

async function gateStarted(id: number): Promise<number> {
  const file = join(state, `gate-${id}.pid`)
  await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').trim() !== '', {what: `gate script of release ${id} to start`})
  const pid = Number(readFileSync(file, 'utf8'))
  killGroupAfterAll(pid)
  return pid
}

describe('release logs -f', () => {
  it('follows a running release until it ends and prints its last line', async () => {
    const id = await trigger('gate')
    const following = relctlLive(['release', 'logs', String(id), '-f'])
    await gateStarted(id)
    // The follower printed a line of the running release and is still there: it follows, it did not just
    // read what was there. The release cannot end before the gate opens.
    await following.printed(`gate ${id} waiting`)
    expect(following.settled()).toBe(false)
    openGate(id)
    const follow = await following.done
    expect(follow.code, String(follow)).toBe(0)
    const lines = follow.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d release \| \[system\] release \d+ \(selective\) started with 1 task\(s\)$/)
    expect(follow.stdout).toContain(`gate | gate ${id} waiting`)
    expect(follow.stdout).toContain(`gate | gate ${id} opened`)
    expect(lines.at(-1)).toMatch(/^\d\d:\d\d:\d\d gate \| \[system\] deployed gate 1\.0\.0: Healthy$/)
    expect((await api(`/v1/releases/${id}`)).status).toBe('succeeded')

    // Without -f, the same lines once; with --json, the line objects.
    const plain = await must(['release', 'logs', String(id)])
    expect(plain.stdout).toBe(follow.stdout)
    const json = (await must(['release', 'logs', String(id), '--json'])).json()
    expect(json).toHaveLength(lines.length)
    expect(json.at(-1)).toMatchObject({resource: 'gate', stream: 'system', line: 'deployed gate 1.0.0: Healthy'})
  })

  it('-f on a release that already ended prints its lines and exits', async () => {
    const id = await trigger('steps')
    await waitForRelease(id, ['succeeded'])
    const result = await relctl(['release', 'logs', String(id), '--follow', '--task', 'steps'])
    expect(result.code, String(result)).toBe(0)
    for (let step = 1; step <= 5; step++) expect(result.stdout).toContain(`| step ${step} of steps`)
    expect(result.stdout).toContain('| steps finished: steps 1.0.0')
    expect(result.stdout).not.toContain(' steps | ') // --task: no resource column
  })

  it('unknown release: exit 9', async () => {
    const result = await relctl(['release', 'logs', '99999'])
    expect(result.code, String(result)).toBe(9)
    expect(result.stderr).toContain('release 99999 not found')
  })
})

describe('release cancel', () => {
  it('a queued release is cancelled, never runs, and the next one runs', async () => {
    const a = await trigger('gate')
    const b = await trigger('quick')
    // A wait on the app of B: B's cancellation is a bad ending for it (exit 3).
    const waitingOnB = relctlLive(['release', 'wait', 'quick', ...SCOPE, '--interval', '200ms', '--timeout', '30s'])
    const c = await trigger('steps')
    await gateStarted(a)

    const shown = await api(`/v1/releases/${c}`)
    expect(shown).toMatchObject({status: 'queued', queuePosition: 2, waitingFor: {reason: 'serial', releases: [a]}})

    await waitingOnB.printed(/quick: \S+\/\S+/, 'the wait to look at quick (B is queued then)')
    const cancel = await relctl(['release', 'cancel', String(b)])
    expect(cancel.code, String(cancel)).toBe(0)
    expect(cancel.stdout).toMatch(new RegExp(`^Release ${b} is cancelled \\(cancelled by .+ before it started\\)$`, 'm'))
    const waited = await waitingOnB.done
    expect(waited.code, String(waited)).toBe(3)
    expect(waited.stderr).toMatch(new RegExp(`Release ${b} cancelled: cancelled by .+ before it started`))
    const afterCancel = await api(`/v1/releases/${c}`)
    expect(afterCancel).toMatchObject({status: 'queued', queuePosition: 1})

    openGate(a)
    await waitForRelease(c, ['succeeded', 'failed', 'cancelled'])
    const [ra, rb, rc] = await Promise.all([a, b, c].map((id) => api(`/v1/releases/${id}`)))
    expect(ra.status).toBe('succeeded')
    expect(rb).toMatchObject({status: 'cancelled', startedAt: null, tasks: []})
    expect(rc.status).toBe('succeeded')
    expect(Date.parse(rc.startedAt)).toBeGreaterThanOrEqual(Date.parse(ra.finishedAt))

    // A finished release cannot be cancelled.
    const again = await relctl(['release', 'cancel', String(b)])
    expect(again.code, String(again)).toBe(2)
    expect(again.stderr).toContain(`release ${b} is already cancelled; there is nothing to cancel`)
  })

  it('a running exec release is cancelled and its whole process group is killed', async () => {
    const id = await trigger('bg', ['-p', 'slow-app', '-e', 'prod'])
    const pidFile = join(state, `bg-${id}.pid`)
    await waitFor(() => existsSync(pidFile), {what: 'the background child to start'})
    const child = Number(readFileSync(pidFile, 'utf8'))
    killGroupAfterAll(child)
    expect(isAlive(child)).toBe(true)

    const cancel = await relctl(['release', 'cancel', String(id), '--json'])
    expect(cancel.code, String(cancel)).toBe(0)
    expect(cancel.json()).toMatchObject({id, status: 'cancelled', error: 'cancelled by request'})
    expect(cancel.json().tasks).toMatchObject([{resource: 'bg', status: 'cancelled'}])
    // The background `sleep 60` was in the script's process group: it is gone too.
    await waitFor(() => !isAlive(child), {timeoutMs: 3000, what: `background child ${child} to be killed`})

    const logs = await must(['release', 'logs', String(id), '--task', 'bg'])
    expect(logs.stdout).toContain(`started background child ${child}`)
    expect(logs.stdout).toMatch(/cancelled by request: stopping process group \d+/)
    const app = (await api('/v1/projects/slow-app/environments/prod/apps')).find((candidate: {name: string}) => candidate.name === 'bg')
    expect(app.deployedVersion).toBeNull()
  })
})

describe('release list and show', () => {
  it('release list: newest first, with filters; text and --json', async () => {
    const all = (await must(['release', 'list', ...SCOPE, '--json'])).json()
    expect(all.length).toBeGreaterThanOrEqual(4)
    const ids = all.map((release: {id: number}) => release.id)
    expect(ids).toEqual([...ids].sort((a: number, b: number) => b - a))
    for (const release of all) expect(release).toMatchObject({project: 'slow-app', environment: 'staging', type: 'selective', source: 'cli'})

    const cancelled = (await must(['release', 'list', ...SCOPE, '--status', 'cancelled', '--json'])).json()
    expect(cancelled.length).toBeGreaterThanOrEqual(1)
    expect(cancelled.every((release: {status: string}) => release.status === 'cancelled')).toBe(true)
    const limited = (await must(['release', 'list', '--limit', '2', '--json'])).json()
    expect(limited).toHaveLength(2)

    const text = await must(['release', 'list', ...SCOPE])
    const [header, first] = text.stdout.split('\n')
    expect(header).toMatch(/^ID\s+ENV\s+TYPE\s+STATUS\s+RESOURCES\s+FLAGS\s+BY\s+CREATED\s+COMMENT$/)
    expect(first).toMatch(new RegExp(`^${all[0].id}\\s+slow-app/staging\\s+selective\\s+${all[0].status}\\s`))

    const active = await must(['release', 'list', ...SCOPE, '--active'])
    expect(active.stdout.trim()).toBe('Nothing is queued or running.')
    const badStatus = await relctl(['release', 'list', '--status', 'exploded'])
    expect(badStatus.code, String(badStatus)).toBe(2)
    expect(badStatus.stderr).toContain('unknown status exploded')
  })

  it('release show: metadata and the plan; unknown id is exit 9', async () => {
    const [latest] = (await must(['release', 'list', ...SCOPE, '--status', 'succeeded', '--limit', '1', '--json'])).json()
    const text = await must(['release', 'show', String(latest.id)])
    expect(text.stdout).toContain(`Release ${latest.id}: selective of slow-app/staging`)
    expect(text.stdout).toMatch(/^ {2}status: {5}succeeded$/m)
    // The plan tree: task, change, level, status and duration.
    expect(text.stdout).toMatch(/^\S+ {2}(create|update) \S+ -> \S+ {2}\[level 0\] {2}succeeded \d/m)
    const json = (await must(['release', 'show', String(latest.id), '--json'])).json()
    expect(json).toMatchObject({id: latest.id, status: 'succeeded', tasks: [{status: 'succeeded', exitCode: 0}]})
    expect(json.tasks[0].startedAt).toEqual(expect.any(String))

    const missing = await relctl(['release', 'show', '424242', '--json'])
    expect(missing.code, String(missing)).toBe(9)
    expect(missing.json()).toMatchObject({exitCode: 9, error: {code: 'not_found', message: 'release 424242 not found'}})
  })
})
