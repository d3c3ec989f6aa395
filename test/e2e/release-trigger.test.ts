// release trigger: launch --wait with the exec driver's environment and parallel levels, the --json
// shape, queued releases, refused destroys, idempotency keys and conflicts.
import {beforeAll, describe, expect, it} from 'vitest'

import {api, copyFixture, type FixtureCopy, must, relctl, startServer, tempDir, waitFor, waitForRelease} from './harness.js'

const FAST = ['--interval', '200ms', '--timeout', '60s']
let execApp: FixtureCopy
let state: string

beforeAll(async () => {
  state = tempDir('relctl-e2e-state-')
  await startServer({env: {RELCTL_TEST_STATE: state}})
  execApp = copyFixture('exec-app')
  await Promise.all([must(['project', 'apply', '-f', execApp.file]), must(['project', 'apply', '-f', copyFixture('slow').file])])
})

interface Task {
  resource: string
  level: number
  status: string
  dependsOn: string[]
  startedAt: string
  finishedAt: string
}

const ms = (iso: string) => Date.parse(iso)

describe('release trigger --type launch --wait', () => {
  let releaseId: number

  it('exits 0 once every task succeeded', async () => {
    const result = await relctl(['release', 'trigger', '--type', 'launch', '-p', 'exec-app', '-e', 'staging', '--wait', ...FAST])
    expect(result.code, String(result)).toBe(0)
    const match = /^Release (\d+) succeeded$/m.exec(result.stdout)
    expect(match, String(result)).not.toBeNull()
    releaseId = Number(match?.[1])
    expect(result.stderr).toMatch(new RegExp(`Release ${releaseId} \\(launch: api:create, cache:create, db:create, web:create\\) is (running|queued)`))
    // Progress in CI: plain timestamped lines, one per change.
    expect(result.stderr).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] {3}db: succeeded$/m)

    const apps = await api('/v1/projects/exec-app/environments/staging/apps')
    for (const app of apps) expect(app, app.name).toMatchObject({sync: 'Synced', health: 'Healthy', stable: true, deployedVersion: app.desiredVersion})
  })

  it('passes the task in RELCTL_* variables, visible in release logs, and runs in the blueprint folder', async () => {
    const result = await relctl(['release', 'logs', String(releaseId)])
    expect(result.code, String(result)).toBe(0)
    const db = result.stdout.split('\n').filter((line) => / db \| /.test(line)).map((line) => line.replace(/^.*? db \| /, ''))
    expect(db).toEqual(
      expect.arrayContaining([
        'deploying db 15.4 (create)',
        'RELCTL_ACTION=create',
        'RELCTL_ENVIRONMENT=staging',
        'RELCTL_PREVIOUS_VERSION=',
        'RELCTL_PROJECT=exec-app',
        `RELCTL_RELEASE_ID=${releaseId}`,
        'RELCTL_RESOURCE=db',
        'RELCTL_VERSION=15.4',
        `cwd=${execApp.dir}`,
        'deployed db 15.4',
      ]),
    )
    expect(result.stdout).toContain('cache | RELCTL_VERSION=7.2')
    expect(result.stdout).toContain('api | RELCTL_VERSION=1.0.0')
    expect(result.stdout).toMatch(/release \| \[system\] release \d+ \(launch\) started with 4 task\(s\)/)

    // --task filters, --json gives the lines as objects.
    const json = (await must(['release', 'logs', String(releaseId), '--task', 'api', '--json'])).json()
    expect(json.length).toBeGreaterThan(5)
    expect(json.every((line: {resource: string}) => line.resource === 'api')).toBe(true)
    expect(json).toContainEqual(expect.objectContaining({stream: 'stdout', line: 'RELCTL_RESOURCE=api'}))
  })

  it('runs the tasks of one level at the same time, and dependents after their dependencies', async () => {
    const release = await api(`/v1/releases/${releaseId}`)
    expect(release).toMatchObject({id: releaseId, status: 'succeeded', type: 'launch'})
    const tasks = new Map<string, Task>(release.tasks.map((task: Task) => [task.resource, task]))
    const {db, cache, api: apiTask, web} = Object.fromEntries(tasks) as Record<string, Task>
    for (const task of tasks.values()) expect(task.status).toBe('succeeded')
    expect([db.level, cache.level, apiTask.level, web.level]).toEqual([0, 0, 1, 2])
    expect(apiTask.dependsOn).toEqual(['cache', 'db'])
    // Overlap: both level-0 tasks had started before either finished.
    expect(Math.max(ms(db.startedAt), ms(cache.startedAt))).toBeLessThan(Math.min(ms(db.finishedAt), ms(cache.finishedAt)))
    // Order: api after db and cache, web after api.
    expect(ms(apiTask.startedAt)).toBeGreaterThanOrEqual(Math.max(ms(db.finishedAt), ms(cache.finishedAt)))
    expect(ms(web.startedAt)).toBeGreaterThanOrEqual(ms(apiTask.finishedAt))
  })

  it('an update passes the previous version and the update action', async () => {
    await must(['app', 'set', 'db', '--version', '15.5', '-p', 'exec-app', '-e', 'staging'])
    const synced = await relctl(['release', 'sync', 'db', '-p', 'exec-app', '-e', 'staging', '--wait', ...FAST, '--json'])
    expect(synced.code, String(synced)).toBe(0)
    const id = synced.json().release.id
    const logs = await must(['release', 'logs', String(id), '--task', 'db'])
    expect(logs.stdout).toContain('| RELCTL_ACTION=update')
    expect(logs.stdout).toContain('| RELCTL_VERSION=15.5')
    expect(logs.stdout).toContain('| RELCTL_PREVIOUS_VERSION=15.4')
    expect(logs.stdout).toContain(`| RELCTL_RELEASE_ID=${id}`)
  })
})

describe('release trigger --json and the queue', () => {
  it('prints the release with id, status, type and resources; a queued one says what it waits for', async () => {
    const first = await relctl(['release', 'trigger', '--resources', 'gate', '-p', 'slow-app', '-e', 'staging', '--json', '--comment', 'hold the line'])
    expect(first.code, String(first)).toBe(0)
    const running = first.json()
    expect(running).toMatchObject({
      project: 'slow-app',
      environment: 'staging',
      type: 'selective',
      resources: [{name: 'gate', action: 'create', fromVersion: null, toVersion: '1.0.0'}],
      comment: 'hold the line',
      source: 'cli',
      force: false,
      allowDestructive: false,
    })
    expect(typeof running.id).toBe('number')
    expect(['queued', 'running']).toContain(running.status)
    expect(running.idempotencyKey).toEqual(expect.any(String))
    expect(first.stderr).toMatch(new RegExp(`Release ${running.id} \\(selective: gate:create\\) is (queued|running)`))

    const second = await relctl(['release', 'trigger', '--type', 'full', '-p', 'slow-app', '-e', 'staging', '--json'])
    expect(second.code, String(second)).toBe(0)
    const queued = second.json()
    expect(queued).toMatchObject({
      type: 'full',
      status: 'queued',
      queuePosition: 1,
      waitingFor: {reason: 'serial', releases: [running.id], message: `waits for release ${running.id} to finish (parallel releases are off in staging)`},
    })
    expect(queued.resources.map((resource: {name: string}) => resource.name).sort()).toEqual(['bg', 'gate', 'quick', 'slow', 'steps'])
    expect(second.stderr).toContain(`is queued (position 1): waits for release ${running.id} to finish`)

    // Without --json: the id alone on stdout, the summary on stderr.
    const third = await relctl(['release', 'trigger', '--resources', 'quick', '-p', 'slow-app', '-e', 'staging'])
    expect(third.code, String(third)).toBe(0)
    expect(third.stdout.trim()).toMatch(/^\d+$/)
    const thirdId = Number(third.stdout.trim())
    expect(third.stderr).toContain(`Release ${thirdId} (selective: quick:create) is queued (position 2)`)

    const active = (await must(['release', 'list', '-p', 'slow-app', '-e', 'staging', '--active', '--json'])).json()
    expect(active.map((release: {id: number; status: string; queuePosition?: number}) => [release.id, release.status, release.queuePosition])).toEqual([
      [running.id, 'running', undefined],
      [queued.id, 'queued', 1],
      [thirdId, 'queued', 2],
    ])
    const activeText = await must(['release', 'list', '-p', 'slow-app', '-e', 'staging', '--active'])
    expect(activeText.stdout).toMatch(new RegExp(`^${queued.id}\\s+1\\s+slow-app/staging\\s+full\\s+queued .*waits for release ${running.id} to finish`, 'm'))

    // --on-conflict fail: refused at once with the holder, nothing queued.
    const refused = await relctl(['release', 'trigger', '--resources', 'quick', '--on-conflict', 'fail', '-p', 'slow-app', '-e', 'staging', '--json'])
    expect(refused.code, String(refused)).toBe(5)
    expect(refused.json()).toMatchObject({exitCode: 5, error: {code: 'state_lock', holder: {releaseId: running.id}}})
    expect(refused.json().error.message).toContain(`state lock held by release ${running.id}`)
    const stillThree = await api('/v1/releases?project=slow-app&environment=staging&active=true')
    expect(stillThree).toHaveLength(3)

    // Clean up through the API (release cancel is tested elsewhere): the queued ones, then the running one.
    for (const id of [thirdId, queued.id, running.id]) await api(`/v1/releases/${id}/cancel`, {method: 'POST'})
    await waitForRelease(running.id, ['cancelled'])
  })

  it('destroy without --allow-destructive: exit 2 and nothing queued', async () => {
    const before = await api('/v1/releases?project=exec-app&environment=prod')
    const result = await relctl(['release', 'trigger', '--type', 'destroy', '-p', 'exec-app', '-e', 'prod'])
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain('a destroy release deletes every resource of the environment and was not allowed')
    expect(result.stderr).toContain('Hint: add --allow-destructive')
    const json = await relctl(['release', 'trigger', '--type', 'destroy', '-p', 'exec-app', '-e', 'prod', '--json'])
    expect(json.code).toBe(2)
    expect(json.json()).toMatchObject({exitCode: 2, error: {code: 'invalid_input'}})
    const after = await api('/v1/releases?project=exec-app&environment=prod')
    expect(after).toEqual(before)
  })

  it('invalid input: unknown type, bad action, unknown resource', async () => {
    const [type, action, resource] = await Promise.all([
      relctl(['release', 'trigger', '--type', 'everything', '-p', 'exec-app', '-e', 'prod']),
      relctl(['release', 'trigger', '--resources', 'api:nuke', '-p', 'exec-app', '-e', 'prod']),
      relctl(['release', 'trigger', '--resources', 'api,nope', '-p', 'exec-app', '-e', 'prod']),
    ])
    expect(type.code, String(type)).toBe(2)
    expect(type.stderr).toContain('everything')
    expect(action.code, String(action)).toBe(2)
    expect(action.stderr).toContain('"api:nuke" is not a resource')
    expect(resource.code, String(resource)).toBe(9)
    expect(resource.stderr).toContain('app "nope" not found')
    expect(resource.stderr).toMatch(/known: .*api/)
    for (const name of ['db', 'cache', 'web']) expect(resource.stderr).toContain(name)
  })
})

describe('idempotency keys', () => {
  it('two triggers with the same key return the same release; the list shows one', async () => {
    const key = `e2e-${Date.now()}`
    const args = ['release', 'trigger', '--resources', 'quick', '-p', 'slow-app', '-e', 'prod', '--idempotency-key', key, '--json']
    const first = await relctl(args)
    expect(first.code, String(first)).toBe(0)
    const second = await relctl(args)
    expect(second.code, String(second)).toBe(0)
    expect(second.json().id).toBe(first.json().id)
    expect(second.json().idempotencyKey).toBe(key)
    expect(second.stderr).toContain(`Release ${first.json().id} already exists for this idempotency key`)

    const list = (await must(['release', 'list', '-p', 'slow-app', '-e', 'prod', '--json'])).json()
    expect(list.filter((release: {idempotencyKey: string}) => release.idempotencyKey === key)).toHaveLength(1)
    expect(list).toHaveLength(1)

    // The same key for another environment is refused.
    const other = await relctl(['release', 'trigger', '--resources', 'quick', '-p', 'slow-app', '-e', 'staging', '--idempotency-key', key])
    expect(other.code, String(other)).toBe(2)
    expect(other.stderr).toContain(`idempotency key "${key}" was already used for release ${first.json().id}`)
    await waitFor(async () => (await api(`/v1/releases/${first.json().id}`)).status === 'succeeded', {what: 'the keyed release to succeed'})
  })
})
