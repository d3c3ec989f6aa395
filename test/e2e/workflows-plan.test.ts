// Release workflows (issue 5), part two, with the real CLI and test/fixtures/rollout: workflow steps
// (waitForFinish, haltOnError), custom releases, and dry runs of trigger, sync and rollback with what
// would block them. Rollout orders and target hooks: workflows.test.ts; rollback, app history, refresh
// and drift: workflows-rollback.test.ts.
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {copyFixture, type FixtureCopy, gateStarted, maxOverlap, must, openGate, relctl, startServer, tempDir, waitForRelease} from './harness.js'
import {appsOf, byKey, DURATION, ms, releaseIdOf, releaseIds, setVersions, showJson, type TaskView} from './workflows-helpers.js'

const FAST = ['--interval', '200ms', '--timeout', '60s']
const FLOW = ['-p', 'rollout-flow', '-e', 'prod']
const FLEET = ['-p', 'rollout-flow', '-e', 'fleet']
const scope = (environment: string) => ['-p', 'rollout', '-e', environment]

let state: string
/** the launch of rollout/seqseq (a full release: create s1 and s2 1.0.0 on i1 and i2) */
let launch: number
/** the launch of rollout-flow/fleet: the workflow on targets i1, i2 */
let fleetLaunch: number
let fixture: FixtureCopy

beforeAll(async () => {
  state = tempDir('relctl-e2e-state-')
  await startServer({env: {RELCTL_TEST_STATE: state, RELCTL_TEST_SLEEP: '0.2'}})
  fixture = copyFixture('rollout')
  await must(['project', 'apply', '-f', fixture.file])
  await must(['project', 'apply', '-f', join(fixture.dir, 'workflow.yaml')])
  ;[launch, fleetLaunch] = await Promise.all(
    [scope('seqseq'), FLEET].map(async (scopeArgs) => releaseIdOf(await must(['release', 'trigger', '--type', 'full', ...scopeArgs, '--wait', ...FAST]))),
  )
})

function startsAfter(b: TaskView, a: TaskView) {
  expect(ms(b.startedAt), `${b.key} starts after ${a.key} ends`).toBeGreaterThanOrEqual(ms(a.finishedAt))
}

describe('workflow steps', () => {
  let launched: number

  it('steps run one after another; waitForFinish: false lets the next step start first; the release still waits for it', async () => {
    writeFileSync(join(state, 'sleep-web'), '1.2')
    try {
      launched = releaseIdOf(await must(['release', 'trigger', '--type', 'full', ...FLOW, '--wait', ...FAST]))
    } finally {
      rmSync(join(state, 'sleep-web'))
    }
    const release = await showJson(launched)
    expect(release.status).toBe('succeeded')
    const task = byKey(release)
    const [web, migrate, scrub, api, worker, cron] = ['web', 'migrate-db', 'scrub', 'api', 'worker', 'cron'].map(task)
    // frontend does not hold back migrate: migrate-db and scrub start (and end) while web still runs.
    for (const next of [migrate, scrub]) {
      expect(ms(next.startedAt)).toBeLessThan(ms(web.finishedAt))
      expect(ms(next.finishedAt)).toBeLessThan(ms(web.finishedAt))
    }
    expect(maxOverlap([migrate, scrub])).toBe(2) // the tasks of a step run at the same time
    // backend waits for migrate (but not for web), then cron, which is in no step, comes last.
    for (const later of [api, worker]) for (const earlier of [migrate, scrub]) startsAfter(later, earlier)
    expect(ms(api.startedAt)).toBeLessThan(ms(web.finishedAt))
    expect(maxOverlap([api, worker])).toBe(2)
    for (const earlier of [api, worker]) startsAfter(cron, earlier)
    // The release ends after web.
    expect(ms(release.finishedAt)).toBeGreaterThanOrEqual(ms(web.finishedAt))
    expect(release.tasks.map((t) => [t.key, t.step])).toEqual(
      expect.arrayContaining([
        ['web', 'frontend'],
        ['migrate-db', 'migrate'],
        ['scrub', 'migrate'],
        ['api', 'backend'],
        ['worker', 'backend'],
        ['cron', '(after the workflow)'],
      ]),
    )

    // release show: step -> task with status and duration.
    const shown = await must(['release', 'show', String(launched)])
    const pattern = [
      'step frontend',
      `  web  create \\(none\\) -> 1\\.0\\.0  \\[level 0\\]  succeeded 1\\.\\ds`,
      'step migrate',
      `  migrate-db  create \\(none\\) -> 1\\.0\\.0  \\[level 0\\]  succeeded ${DURATION}`,
      `  scrub  create \\(none\\) -> 1\\.0\\.0  \\[level 0\\]  succeeded ${DURATION}`,
      'step backend',
      `  api  create \\(none\\) -> 1\\.0\\.0  \\[level 1\\]  succeeded ${DURATION}`,
      `  worker  create \\(none\\) -> 1\\.0\\.0  \\[level 1\\]  succeeded ${DURATION}`,
      'step \\(after the workflow\\)',
      `  cron  create \\(none\\) -> 1\\.0\\.0  \\[level 2\\]  succeeded ${DURATION}`,
    ].join('\n')
    expect(shown.stdout).toMatch(new RegExp(`\\n\\n${pattern}\\n$`))
  })

  it('--dry-run shows the steps, their flags, and that a resource in no step goes after the last one', async () => {
    const dryRun = await must(['release', 'trigger', '--force', '--dry-run', ...FLOW])
    expect(dryRun.stdout).toContain('  steps:    frontend (waitForFinish: false) -> migrate (haltOnError) -> backend -> (after the workflow)\n')
    expect(dryRun.stdout).toContain('  order:    web, migrate-db, scrub | api, worker | cron\n')
    expect(dryRun.stdout).toContain('  note:     cron is in no workflow step: deployed after the last step\n')
    expect(dryRun.stdout).toContain('\nstep (after the workflow)\n  cron  update 1.0.0 -> 1.0.0  [level 2]')
    expect(dryRun.stdout).not.toContain('targets:')
  })

  it('a failing step with haltOnError halts the release: later steps are cancelled, and the error says what already ran', async () => {
    await setVersions('rollout-flow', 'prod', {web: '2.0.0', 'migrate-db': '2.0.0-broken', scrub: '2.0.0', api: '2.0.0', worker: '2.0.0'})
    const result = await relctl(['release', 'trigger', '--type', 'full', ...FLOW, '--wait', ...FAST])
    expect(result.code, String(result)).toBe(3)
    const id = releaseIdOf(result)
    const expected = 'halted at step "migrate" (haltOnError): migrate-db failed; already ran (not undone): web, scrub; not started: api, worker'
    expect(result.stderr).toContain(`Release ${id} failed: ${expected}`)
    expect(result.stderr).toContain('Task migrate-db (update 2.0.0-broken) failed: exited with code 1')
    const release = await showJson(id)
    expect(release.status).toBe('failed')
    expect(release.error).toBe(expected)
    const task = byKey(release)
    expect(task('migrate-db').status).toBe('failed')
    for (const key of ['web', 'scrub']) expect(task(key).status, key).toBe('succeeded')
    for (const key of ['api', 'worker']) {
      expect(task(key), key).toMatchObject({status: 'cancelled', startedAt: null, error: `not started: halted at step "migrate" (haltOnError): migrate-db failed`})
    }
    // Nothing is undone; what did not start keeps its version.
    const app = await appsOf(FLOW)
    expect(app('web')).toMatchObject({deployedVersion: '2.0.0', sync: 'Synced'})
    expect(app('scrub')).toMatchObject({deployedVersion: '2.0.0', sync: 'Synced'})
    expect(app('api')).toMatchObject({deployedVersion: '1.0.0', desiredVersion: '2.0.0', sync: 'OutOfSync', health: 'Healthy'})
    expect((await must(['release', 'logs', String(id), '--task', 'api'])).stdout).toBe('')
    const shown = await must(['release', 'show', String(id)])
    expect(shown.stdout).toMatch(new RegExp(`\\nstep migrate\\n  migrate-db  update 1\\.0\\.0 -> 2\\.0\\.0-broken  \\[level 0\\]  failed ${DURATION}  \\(exited with code 1\\)\\n`))
    expect(shown.stdout).toContain('\nstep backend\n  api  update 1.0.0 -> 2.0.0  [level 1]  cancelled  (not started: halted at step "migrate" (haltOnError): migrate-db failed)\n')
  })

  it('without haltOnError a failed step is reported and the release goes on, then ends failed', async () => {
    await setVersions('rollout-flow', 'prod', {web: '3.0.0-broken', 'migrate-db': '2.0.0'})
    const result = await relctl(['release', 'trigger', '--type', 'full', ...FLOW, '--wait', ...FAST])
    expect(result.code, String(result)).toBe(3)
    const release = await showJson(releaseIdOf(result))
    expect(release.error).toBe('task failed: web')
    const task = byKey(release)
    expect(task('web').status).toBe('failed')
    for (const key of ['migrate-db', 'api', 'worker']) expect(task(key).status, key).toBe('succeeded')
    const app = await appsOf(FLOW)
    expect(app('api')).toMatchObject({deployedVersion: '2.0.0', sync: 'Synced', health: 'Healthy'})
    expect(app('web')).toMatchObject({deployedVersion: '2.0.0', desiredVersion: '3.0.0-broken', health: 'Degraded'})
  })

  it('a custom release runs only the named steps', async () => {
    const dryRun = await must(['release', 'trigger', '--type', 'custom', '--steps', 'migrate', '--dry-run', ...FLOW])
    expect(dryRun.stdout).toContain('Dry run: custom release of rollout-flow/prod; nothing was queued.\n')
    expect(dryRun.stdout).toContain('  changes:  migrate-db update 2.0.0 -> 2.0.0; scrub update 2.0.0 -> 2.0.0\n')
    expect(dryRun.stdout).toContain('  steps:    migrate (haltOnError)\n')
    expect(dryRun.stdout).toContain('  order:    migrate-db, scrub\n')
    expect(dryRun.stdout).not.toContain('note:')

    const result = await must(['release', 'trigger', '--type', 'custom', '--steps', 'migrate', ...FLOW, '--wait', ...FAST])
    const id = releaseIdOf(result)
    const release = await showJson(id)
    expect(release).toMatchObject({type: 'custom', status: 'succeeded', options: {steps: ['migrate']}})
    expect(release.tasks.map((t) => t.key).sort()).toEqual(['migrate-db', 'scrub'])
    const shown = await must(['release', 'show', String(id)])
    expect(shown.stdout).toContain('  steps:      migrate\n')
    expect(shown.stdout).toContain('\nstep migrate\n  migrate-db  update 2.0.0 -> 2.0.0  [level 0]  succeeded')
    expect(shown.stdout).not.toMatch(/step (frontend|backend)/)
    const logs = await must(['release', 'logs', String(id)])
    expect(logs.stdout).toContain('migrate-db | deploy resource=migrate-db target=none action=update version=2.0.0')
    expect(logs.stdout).not.toMatch(/ (web|api|worker|cron) \| /)
  })

  it('a custom release with an unknown step, or in a blueprint without a workflow: exit 2', async () => {
    const unknown = await relctl(['release', 'trigger', '--type', 'custom', '--steps', 'nope', ...FLOW])
    expect(unknown.code, String(unknown)).toBe(2)
    expect(unknown.stderr).toContain('unknown step nope')
    expect(unknown.stderr).toContain("the workflow's steps are: frontend, migrate, backend")
    const none = await relctl(['release', 'trigger', '--type', 'custom', '--steps', 'migrate', ...scope('ops')])
    expect(none.code, String(none)).toBe(2)
    expect(none.stderr).toContain('a custom release runs workflow steps, and this blueprint has no workflow')
  })
})

describe('workflow validation', () => {
  const cases = [
    {name: 'unknown task', from: 'tasks: [api, worker]', to: 'tasks: [api, wroker]', path: 'workflow[2].tasks[1]', says: 'unknown resource "wroker"; declared resources: web, migrate-db, scrub, api, worker, cron'},
    {name: 'a resource in two steps', from: 'tasks: [api, worker]', to: 'tasks: [api, scrub]', path: 'workflow[2].tasks[1]', says: 'scrub is already in step "migrate"; a resource belongs to one step'},
    {name: 'target hooks without targets', from: 'prod: {}', to: 'prod: { hooks: { beforeTarget: ./scripts/lb-remove.sh } }', path: 'environments.prod.hooks', says: 'target hooks need targets: list them under "targets:"'},
  ]

  it.concurrent.for(cases)('project apply refuses $name: exit 2', async ({name, from, to, path, says}, {expect}) => {
    const file = join(fixture.dir, `bad-${name.replaceAll(' ', '-')}.yaml`)
    const content = readFileSync(join(fixture.dir, 'workflow.yaml'), 'utf8')
    expect(content).toContain(from)
    writeFileSync(file, content.replace(from, to))
    const result = await relctl(['project', 'apply', '-f', file])
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain(says)
    expect(result.stderr.split('\n').find((line) => line.includes(says)), result.stderr).toContain(` ${path}`)
  })
})

describe('workflow steps across targets', () => {
  it('a sequential target rollout runs the steps target by target, inside the hooks', async () => {
    const release = await showJson(fleetLaunch)
    expect(release.status).toBe('succeeded')
    const task = byKey(release)
    for (const target of ['i1', 'i2']) {
      for (const name of ['web', 'migrate-db', 'scrub', 'api', 'worker', 'cron']) {
        startsAfter(task(`${name}@${target}`), task(`beforeTarget@${target}`))
        startsAfter(task(`afterTarget@${target}`), task(`${name}@${target}`))
      }
      for (const later of ['api', 'worker']) for (const earlier of ['migrate-db', 'scrub']) startsAfter(task(`${later}@${target}`), task(`${earlier}@${target}`))
    }
    startsAfter(task('beforeTarget@i2'), task('afterTarget@i1'))
  })

  it('a haltOnError failure on i1 halts the release: afterTarget still runs on i1, nothing starts on i2', async () => {
    await setVersions('rollout-flow', 'fleet', {'migrate-db': '2.0.0-broken', api: '2.0.0'})
    const result = await relctl(['release', 'trigger', '--type', 'full', ...FLEET, '--wait', ...FAST])
    expect(result.code, String(result)).toBe(3)
    const id = releaseIdOf(result)
    const release = await showJson(id)
    const task = byKey(release)
    expect(task('migrate-db@i1').status).toBe('failed')
    expect(task('beforeTarget@i1').status).toBe('succeeded')
    expect(task('afterTarget@i1').status).toBe('succeeded')
    startsAfter(task('afterTarget@i1'), task('migrate-db@i1'))
    const notStarted = ['api@i1', 'beforeTarget@i2', 'migrate-db@i2', 'api@i2', 'afterTarget@i2']
    for (const key of notStarted) expect(task(key), key).toMatchObject({status: 'cancelled', startedAt: null})
    const match = /^halted at step "migrate" \(haltOnError\): migrate-db@i1 failed; already ran \(not undone\): (.*); not started: (.*)$/.exec(release.error ?? '')
    expect(match, String(release.error)).not.toBeNull()
    expect(match?.[1].split(', ').sort()).toEqual(['afterTarget@i1', 'beforeTarget@i1'])
    expect(match?.[2].split(', ').sort()).toEqual([...notStarted].sort())
    const hook = await must(['release', 'logs', String(id), '--task', 'afterTarget@i1'])
    expect(hook.stdout).toContain(`| lb-add target=i1 hook=afterTarget release=${id}`)
    expect((await must(['release', 'logs', String(id), '--target', 'i2'])).stdout).toBe('')
  })

  it('a custom release locks the whole environment', async () => {
    await must(['settings', 'set-parallel', '--enabled', ...FLOW])
    await setVersions('rollout-flow', 'prod', {'migrate-db': '2.1.0-gate'})
    const id = Number((await must(['release', 'trigger', '--type', 'custom', '--steps', 'migrate', ...FLOW])).stdout.trim())
    await gateStarted(state, id)
    try {
      // With parallel releases on, even a release of an app in no step of it waits for the custom one.
      const dryRun = await must(['release', 'trigger', '--type', 'selective', '--resources', 'cron', '--force', '--dry-run', '--json', ...FLOW])
      expect((await showJson(id)).resources.map((resource) => resource.name)).toEqual(['migrate-db', 'scrub'])
      expect(dryRun.json().wouldWaitFor).toMatchObject({reason: 'conflict', releases: [id], resources: ['cron']})
    } finally {
      openGate(state, id)
    }
    expect((await waitForRelease(id, ['succeeded'])).status).toBe('succeeded')
  })
})

describe('dry runs', () => {
  it('trigger and sync --dry-run print the plan and queue nothing; --json gives it as data', async () => {
    await setVersions('rollout', 'seqseq', {s1: '1.1.0'})
    const before = await releaseIds({cli: true})
    const dryRun = await must(['release', 'trigger', '--dry-run', ...scope('seqseq')])
    expect(dryRun.stdout).toBe(
      [
        'Dry run: full release of rollout/seqseq; nothing was queued.',
        '  changes:  s1 update 1.0.0 -> 1.1.0',
        '  targets:  i1, i2 (services sequential, targets sequential)',
        '  hooks:    run around each target (beforeTarget: ./scripts/lb-remove.sh, afterTarget: ./scripts/lb-add.sh)',
        '  order:    beforeTarget@i1 | s1@i1 | afterTarget@i1 | beforeTarget@i2 | s1@i2 | afterTarget@i2',
        '  now:      would start at once',
        '',
        's1  update 1.0.0 -> 1.1.0',
        '  @i1  [level 1]',
        '  @i2  [level 4]',
        'target hooks',
        '  beforeTarget hook  hook',
        '    @i1  [level 0]',
        '    @i2  [level 3]',
        '  afterTarget hook  hook',
        '    @i1  [level 2]',
        '    @i2  [level 5]',
        '',
      ].join('\n'),
    )

    const json = (await must(['release', 'trigger', '--dry-run', '--json', ...scope('seqseq')])).json()
    expect(json).toMatchObject({
      dryRun: true,
      project: 'rollout',
      environment: 'seqseq',
      type: 'full',
      resources: [{name: 's1', action: 'update', fromVersion: '1.0.0', toVersion: '1.1.0'}],
      order: 'beforeTarget@i1 | s1@i1 | afterTarget@i1 | beforeTarget@i2 | s1@i2 | afterTarget@i2',
      wouldWaitFor: null,
      refreshed: [],
      plan: {
        rollout: {services: 'sequential', targets: 'sequential'},
        targets: ['i1', 'i2'],
        steps: [],
        hooks: {beforeTarget: './scripts/lb-remove.sh', afterTarget: './scripts/lb-add.sh', run: true},
      },
    })
    expect(json.plan.tasks.map((task: TaskView) => [task.key, task.level])).toEqual([
      ['beforeTarget@i1', 0],
      ['s1@i1', 1],
      ['afterTarget@i1', 2],
      ['beforeTarget@i2', 3],
      ['s1@i2', 4],
      ['afterTarget@i2', 5],
    ])

    const sync = await must(['release', 'sync', 's1,s2', '--dry-run', ...scope('seqseq')])
    expect(sync.stdout).toContain('Dry run: selective release of rollout/seqseq; nothing was queued.\n')
    expect(sync.stdout).toContain('  changes:  s1 update 1.0.0 -> 1.1.0\n')
    const inSync = await must(['release', 'sync', 's2', '--dry-run', ...scope('seqseq')])
    expect(inSync.stdout).toBe('s2 is in sync or already on the way: a sync would release nothing\n')
    const serial = await must(['release', 'trigger', '--dry-run', '--parallel', ...scope('seqseq')])
    expect(serial.stdout).toContain('  order:    s1@i1, s1@i2\n')

    expect(await releaseIds({cli: true})).toEqual(before)
    expect((await appsOf(scope('seqseq')))('s1')).toMatchObject({deployedVersion: '1.0.0', desiredVersion: '1.1.0', sync: 'OutOfSync'})
  })

  it('says what would block it now: a running release, a pause; and a running release cannot be rolled back (exit 2)', async () => {
    await setVersions('rollout', 'seqseq', {s2: '1.2.0-gate'})
    const gate = releaseIdOf(await must(['release', 'sync', 's2', ...scope('seqseq')]))
    await gateStarted(state, gate)
    try {
      const before = await releaseIds({cli: true})
      const wait = `would wait: waits for release ${gate} to finish (parallel releases are off in seqseq)`
      const [trigger, sync, rollback, json, running] = await Promise.all([
        must(['release', 'trigger', '--dry-run', ...scope('seqseq')]),
        must(['release', 'sync', 's1', '--dry-run', ...scope('seqseq')]),
        must(['release', 'rollback', String(launch), '--allow-destructive', '--dry-run']),
        must(['release', 'trigger', '--dry-run', '--json', ...scope('seqseq')]),
        relctl(['release', 'rollback', String(gate)]),
      ])
      for (const result of [trigger, sync, rollback]) expect(result.stdout).toContain(`  now:      ${wait}\n`)
      expect(rollback.stdout).toContain('  changes:  s1 delete 1.0.0; s2 delete 1.0.0\n')
      expect(json.json().wouldWaitFor).toEqual({reason: 'serial', message: wait.replace('would wait: ', ''), releases: [gate]})
      expect(running.code, String(running)).toBe(2)
      expect(running.stderr).toContain(`release ${gate} is still running; a rollback undoes a release that has ended`)
      expect(running.stderr).toContain(`relctl release cancel ${gate}`)

      await must(['pause', ...scope('seqseq'), '--reason', 'change freeze'])
      try {
        const paused = await must(['release', 'trigger', '--dry-run', ...scope('seqseq')])
        expect(paused.stdout).toMatch(/\n {2}now: {6}would wait: releases are paused for rollout\/seqseq by \S+ since \S+: change freeze\n/)
        expect((await must(['release', 'trigger', '--dry-run', '--json', ...scope('seqseq')])).json().wouldWaitFor).toMatchObject({reason: 'paused'})
      } finally {
        await must(['resume', ...scope('seqseq')])
      }
      expect(await releaseIds({cli: true})).toEqual(before)
    } finally {
      openGate(state, gate)
    }
    expect((await waitForRelease(gate, ['succeeded'])).status).toBe('succeeded')
  })
})
