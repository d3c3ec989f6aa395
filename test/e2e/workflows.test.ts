// Release workflows across targets (issue 5), with the real CLI and the exec scripts of
// test/fixtures/rollout: the four rollout orders from real task start and end times, target hooks,
// --serial / --parallel overrides, a failing target, the plan tree of `release show` and logs by task
// and target. Workflow steps, custom releases, rollback, refresh and dry runs: workflows-plan.test.ts.
import {beforeAll, describe, expect, it} from 'vitest'

import {copyFixture, gateStarted, isAlive, maxOverlap, must, relctl, startServer, tempDir, waitFor} from './harness.js'
import {byKey, DURATION, ms, releaseIdOf, setVersions, showJson, type TaskView} from './workflows-helpers.js'

const FAST = ['--interval', '200ms', '--timeout', '60s']
const scope = (environment: string) => ['-p', 'rollout', '-e', environment]

/** The first release of each environment: a full release of s1 and s2 (create 1.0.0) on i1 and i2. */
const first = new Map<string, number>()
let state: string

beforeAll(async () => {
  state = tempDir('relctl-e2e-state-')
  await startServer({env: {RELCTL_TEST_STATE: state, RELCTL_TEST_SLEEP: '0.3'}})
  const fixture = copyFixture('rollout')
  await must(['project', 'apply', '-f', fixture.file])
  // The four orders run at the same time, one environment each (environments do not block each other).
  await Promise.all(
    ['seqseq', 'parseq', 'seqpar', 'parpar'].map(async (environment) => {
      const result = await must(['release', 'trigger', '--type', 'full', ...scope(environment), '--wait', ...FAST])
      first.set(environment, releaseIdOf(result))
    }),
  )
})

/** Start of b is not before the end of a (the clock is the control plane's, in ms). */
function startsAfter(b: TaskView, a: TaskView) {
  expect(ms(b.startedAt), `${b.key} starts after ${a.key} ends`).toBeGreaterThanOrEqual(ms(a.finishedAt))
}

describe('rollout orders, from real task start and end times', () => {
  it('sequential services x sequential targets: one task at a time, s1@i1, s2@i1, s1@i2, s2@i2, hooks around each target', async () => {
    const release = await showJson(first.get('seqseq') as number)
    expect(release.status).toBe('succeeded')
    const started = [...release.tasks].sort((a, b) => ms(a.startedAt) - ms(b.startedAt))
    expect(started.map((task) => task.key)).toEqual(['beforeTarget@i1', 's1@i1', 's2@i1', 'afterTarget@i1', 'beforeTarget@i2', 's1@i2', 's2@i2', 'afterTarget@i2'])
    expect(started.filter((task) => task.kind === 'deploy').map((task) => task.key)).toEqual(['s1@i1', 's2@i1', 's1@i2', 's2@i2'])
    for (let index = 1; index < started.length; index++) startsAfter(started[index], started[index - 1])
    expect(maxOverlap(release.tasks)).toBe(1)
    expect(release.tasks.every((task) => task.status === 'succeeded')).toBe(true)
  })

  it('parallel services x sequential targets: s1 and s2 together on i1, then together on i2', async () => {
    const release = await showJson(first.get('parseq') as number)
    expect(release.status).toBe('succeeded')
    const task = byKey(release)
    expect(maxOverlap([task('s1@i1'), task('s2@i1')])).toBe(2)
    expect(maxOverlap([task('s1@i2'), task('s2@i2')])).toBe(2)
    for (const onI2 of ['s1@i2', 's2@i2']) for (const onI1 of ['s1@i1', 's2@i1']) startsAfter(task(onI2), task(onI1))
    // Hooks: beforeTarget, the deploys, afterTarget, target by target.
    for (const deploy of ['s1', 's2']) {
      for (const target of ['i1', 'i2']) {
        startsAfter(task(`${deploy}@${target}`), task(`beforeTarget@${target}`))
        startsAfter(task(`afterTarget@${target}`), task(`${deploy}@${target}`))
      }
    }
    startsAfter(task('beforeTarget@i2'), task('afterTarget@i1'))
    expect(maxOverlap(release.tasks)).toBe(2)
  })

  it('sequential services x parallel targets: s1 on i1 and i2 together, then s2 on both; no hooks', async () => {
    const release = await showJson(first.get('seqpar') as number)
    expect(release.status).toBe('succeeded')
    const task = byKey(release)
    expect(release.tasks.map((t) => t.key).sort()).toEqual(['s1@i1', 's1@i2', 's2@i1', 's2@i2'])
    expect(maxOverlap([task('s1@i1'), task('s1@i2')])).toBe(2)
    expect(maxOverlap([task('s2@i1'), task('s2@i2')])).toBe(2)
    for (const s2 of ['s2@i1', 's2@i2']) for (const s1 of ['s1@i1', 's1@i2']) startsAfter(task(s2), task(s1))
    expect(maxOverlap(release.tasks)).toBe(2)
  })

  it('parallel services x parallel targets: all four deploys at once; no hooks', async () => {
    const release = await showJson(first.get('parpar') as number)
    expect(release.status).toBe('succeeded')
    expect(release.tasks.map((t) => t.key).sort()).toEqual(['s1@i1', 's1@i2', 's2@i1', 's2@i2'])
    expect(maxOverlap(release.tasks)).toBe(4)
  })

  it('each deploy ran with RELCTL_RESOURCE, RELCTL_TARGET and RELCTL_ACTION', async () => {
    const id = first.get('parpar') as number
    const logs = await must(['release', 'logs', String(id)])
    for (const resource of ['s1', 's2']) {
      for (const target of ['i1', 'i2']) {
        expect(logs.stdout).toContain(`${resource}@${target} | deploy resource=${resource} target=${target} action=create version=1.0.0 from=none`)
      }
    }
  })
})

describe('target hooks', () => {
  it('run around each target of a sequential rollout: release logs --task HOOK --target T', async () => {
    const id = String(first.get('seqseq'))
    const before = await must(['release', 'logs', id, '--task', 'beforeTarget', '--target', 'i1'])
    const lines = before.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d \| \[system\] running beforeTarget on i1$/)
    expect(lines[1]).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d \\| lb-remove target=i1 hook=beforeTarget release=${id}$`))

    const after = await must(['release', 'logs', id, '--task', 'afterTarget', '--target', 'i2'])
    expect(after.stdout).toContain(`| lb-add target=i2 hook=afterTarget release=${id}`)
    expect(after.stdout).not.toContain('i1')
    expect(after.stdout).not.toContain('lb-remove')

    // One hook on every target: the target column comes back.
    const everywhere = await must(['release', 'logs', id, '--task', 'beforeTarget'])
    expect(everywhere.stdout).toContain(' @i1 | lb-remove target=i1')
    expect(everywhere.stdout).toContain(' @i2 | lb-remove target=i2')
    expect(everywhere.stdout).not.toContain('lb-add')
    expect(everywhere.stdout).not.toContain('deploy resource=')
  })

  it('do not run in a parallel rollout, and --dry-run says so', async () => {
    const id = String(first.get('parpar'))
    const hooks = await must(['release', 'logs', id, '--task', 'beforeTarget'])
    expect(hooks.stdout).toBe('')
    const all = await must(['release', 'logs', id])
    expect(all.stdout).not.toMatch(/lb-(add|remove)/)

    const dryRun = await must(['release', 'trigger', '--force', '--dry-run', ...scope('parpar')])
    expect(dryRun.stdout).toContain('  targets:  i1, i2 (services parallel, targets parallel)\n')
    expect(dryRun.stdout).toContain('  hooks:    not run (targets roll out in parallel)\n')
    expect(dryRun.stdout).toContain(
      '  note:     target hooks do not run: targets roll out in parallel, and taking every target out of the load balancer at once would leave none serving\n',
    )
    expect(dryRun.stdout).toContain('  order:    s1@i1, s2@i1, s1@i2, s2@i2\n')
    expect(dryRun.stdout).not.toContain('target hooks\n')
  })

  it('--serial overrides a parallel environment once: hooks run, i2 after i1', async () => {
    const result = await must(['release', 'trigger', '--force', '--serial', ...scope('parpar'), '--wait', ...FAST])
    const id = releaseIdOf(result)
    const release = await showJson(id)
    expect(release.status).toBe('succeeded')
    expect(release.options).toEqual({targetOrder: 'sequential'})
    const task = byKey(release)
    expect(release.tasks.map((t) => t.key).sort()).toEqual(['afterTarget@i1', 'afterTarget@i2', 'beforeTarget@i1', 'beforeTarget@i2', 's1@i1', 's1@i2', 's2@i1', 's2@i2'])
    expect(maxOverlap([task('s1@i1'), task('s2@i1')])).toBe(2) // services stay parallel
    startsAfter(task('beforeTarget@i2'), task('afterTarget@i1'))
    for (const name of ['s1', 's2']) startsAfter(task(`${name}@i2`), task(`${name}@i1`))
    const hooks = await must(['release', 'logs', String(id), '--task', 'afterTarget', '--target', 'i1'])
    expect(hooks.stdout).toContain(`| lb-add target=i1 hook=afterTarget release=${id}`)
    const shown = await must(['release', 'show', String(id)])
    expect(shown.stdout).toContain('  targets:    sequential (one-off)\n')

    // Once: the environment still rolls out in parallel.
    const next = (await must(['release', 'trigger', '--force', '--dry-run', '--json', ...scope('parpar')])).json()
    expect(next.plan.rollout).toEqual({services: 'parallel', targets: 'parallel'})
    expect(next.plan.hooks.run).toBe(false)
    expect(next.plan.tasks.filter((t: TaskView) => t.kind === 'hook')).toEqual([])
  })

  it('--parallel overrides a sequential environment once: no hooks, each service on both targets at once', async () => {
    const result = await must(['release', 'trigger', '--force', '--parallel', ...scope('seqseq'), '--wait', ...FAST])
    const release = await showJson(releaseIdOf(result))
    expect(release.status).toBe('succeeded')
    expect(release.options).toEqual({targetOrder: 'parallel'})
    const task = byKey(release)
    expect(release.tasks.map((t) => t.key).sort()).toEqual(['s1@i1', 's1@i2', 's2@i1', 's2@i2'])
    expect(maxOverlap([task('s1@i1'), task('s1@i2')])).toBe(2)
    for (const s2 of ['s2@i1', 's2@i2']) for (const s1 of ['s1@i1', 's1@i2']) startsAfter(task(s2), task(s1))

    const next = await must(['release', 'trigger', '--force', '--dry-run', ...scope('seqseq')])
    expect(next.stdout).toContain('  targets:  i1, i2 (services sequential, targets sequential)\n')
    expect(next.stdout).toContain('  hooks:    run around each target (beforeTarget: ./scripts/lb-remove.sh, afterTarget: ./scripts/lb-add.sh)\n')
  })

  it('--serial and --parallel together: exit 2', async () => {
    const result = await relctl(['release', 'trigger', '--force', '--serial', '--parallel', '--dry-run', ...scope('parpar')])
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toMatch(/--parallel|--serial/)
  })
})

describe('a failing target', () => {
  let id: number
  let stderr: string

  beforeAll(async () => {
    await must(['app', 'set', 's1', '--version', '2.0.0-broken', ...scope('parseq')])
    await must(['app', 'set', 's2', '--version', '2.0.0', ...scope('parseq')])
    const result = await relctl(['release', 'trigger', '--type', 'full', ...scope('parseq'), '--wait', ...FAST])
    expect(result.code, String(result)).toBe(3)
    id = releaseIdOf(result)
    stderr = result.stderr
  })

  it('stops that resource\'s sequential rollout (skipped on i2); the other resource goes on; exit 3 with --wait', async () => {
    expect(stderr).toContain(`Release ${id} failed: task failed: s1@i1`)
    expect(stderr).toContain('Task s1@i1 (update 2.0.0-broken) failed: exited with code 1')
    expect(stderr).toContain('| error: s1 2.0.0-broken does not start on i1')
    const release = await showJson(id)
    expect(release.status).toBe('failed')
    expect(release.error).toBe('task failed: s1@i1')
    const task = byKey(release)
    expect(task('s1@i1')).toMatchObject({status: 'failed', error: 'exited with code 1'})
    expect(task('s1@i2')).toMatchObject({status: 'skipped', error: 'skipped: s1@i1 did not succeed', startedAt: null})
    for (const key of ['s2@i1', 's2@i2', 'beforeTarget@i1', 'beforeTarget@i2', 'afterTarget@i2']) expect(task(key).status, key).toBe('succeeded')
    const skipped = await must(['release', 'logs', String(id), '--task', 's1', '--target', 'i2'])
    expect(skipped.stdout.trimEnd().split('\n')).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d \| \[system\] skipped: it needs s1@i1, which did not succeed$/)])

    const apps = (await must(['app', 'list', ...scope('parseq'), '--json'])).json()
    expect(apps.find((app: {name: string}) => app.name === 's1')).toMatchObject({deployedVersion: '1.0.0', desiredVersion: '2.0.0-broken', sync: 'OutOfSync', health: 'Degraded'})
    expect(apps.find((app: {name: string}) => app.name === 's2')).toMatchObject({deployedVersion: '2.0.0', sync: 'Synced', health: 'Healthy'})
  })

  it('afterTarget still runs for the target that failed', async () => {
    const release = await showJson(id)
    const task = byKey(release)
    expect(task('afterTarget@i1').status).toBe('succeeded')
    startsAfter(task('afterTarget@i1'), task('s1@i1'))
    const logs = await must(['release', 'logs', String(id), '--task', 'afterTarget', '--target', 'i1'])
    expect(logs.stdout).toContain(`| lb-add target=i1 hook=afterTarget release=${id}`)
  })

  it('release show prints the tree with failed and skipped nodes and their reasons', async () => {
    const shown = await must(['release', 'show', String(id)])
    expect(shown.stdout).toContain('  error:      task failed: s1@i1\n')
    expect(shown.stdout).toMatch(new RegExp(`\\ns1  update 1\\.0\\.0 -> 2\\.0\\.0-broken\\n  @i1  \\[level 1\\]  failed ${DURATION}  \\(exited with code 1\\)\\n  @i2  \\[level 4\\]  skipped  \\(skipped: s1@i1 did not succeed\\)\\n`))
    expect(shown.stdout).toMatch(new RegExp(`\\ns2  update 1\\.0\\.0 -> 2\\.0\\.0\\n  @i1  \\[level 1\\]  succeeded ${DURATION}\\n  @i2  \\[level 4\\]  succeeded ${DURATION}\\n`))
  })
})

describe('release show and release logs', () => {
  it('release show prints the plan tree: task -> target with levels, statuses and durations, then the target hooks', async () => {
    const id = first.get('seqseq') as number
    const shown = await must(['release', 'show', String(id)])
    const tree = shown.stdout.slice(shown.stdout.indexOf('\n\n') + 2).trimEnd()
    const pattern = [
      's1  create \\(none\\) -> 1\\.0\\.0',
      `  @i1  \\[level 1\\]  succeeded ${DURATION}`,
      `  @i2  \\[level 5\\]  succeeded ${DURATION}`,
      's2  create \\(none\\) -> 1\\.0\\.0',
      `  @i1  \\[level 2\\]  succeeded ${DURATION}`,
      `  @i2  \\[level 6\\]  succeeded ${DURATION}`,
      'target hooks',
      '  beforeTarget hook  hook',
      `    @i1  \\[level 0\\]  succeeded ${DURATION}`,
      `    @i2  \\[level 4\\]  succeeded ${DURATION}`,
      '  afterTarget hook  hook',
      `    @i1  \\[level 3\\]  succeeded ${DURATION}`,
      `    @i2  \\[level 7\\]  succeeded ${DURATION}`,
    ].join('\n')
    expect(tree).toMatch(new RegExp(`^${pattern}$`))
    expect(shown.stdout).toMatch(new RegExp(`^Release ${id}: full of rollout/seqseq\\n  status:     succeeded\\n`))
    // The durations are the real ones: a deploy sleeps 0.3s, a hook 0.05s.
    const durations = [...tree.matchAll(/\[level (\d)\] {2}succeeded (\d+ms|\d+\.\ds)/g)].map(([, level, text]) => [Number(level), text.endsWith('ms') ? Number(text.slice(0, -2)) : Number(text.slice(0, -1)) * 1000])
    expect(durations).toHaveLength(8)
    for (const [level, took] of durations) expect(took, `level ${level}`).toBeGreaterThanOrEqual([1, 2, 5, 6].includes(level) ? 300 : 50)
  })

  it('release logs --task X --target Y: only that task on that target, without the resource column', async () => {
    const id = String(first.get('seqseq'))
    const one = await must(['release', 'logs', id, '--task', 's2', '--target', 'i1'])
    const lines = one.stdout.trimEnd().split('\n')
    expect(lines).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d \| deploy resource=s2 target=i1 action=create version=1\.0\.0 from=none$/),
      expect.stringMatching(/^\d\d:\d\d:\d\d \| deployed s2 1\.0\.0 on i1$/),
      expect.stringMatching(/^\d\d:\d\d:\d\d \| \[system\] deployed s2@i1 1\.0\.0: Healthy$/),
    ])

    // A task key names the task and the target.
    const key = await must(['release', 'logs', id, '--task', 's2@i1'])
    expect(key.stdout).toBe(one.stdout)

    // --target alone: every task on i2, with the task column.
    const target = await must(['release', 'logs', id, '--target', 'i2'])
    for (const who of ['beforeTarget', 's1', 's2', 'afterTarget']) expect(target.stdout).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${who} \\| `, 'm'))
    expect(target.stdout).toContain(' s1 | deploy resource=s1 target=i2 ')
    expect(target.stdout).not.toContain('i1')
    expect(target.stdout).not.toContain('release | ')

    // --task alone: that task on every target, with the target column.
    const task = await must(['release', 'logs', id, '--task', 's1'])
    expect(task.stdout).toContain(' @i1 | deploy resource=s1 target=i1 ')
    expect(task.stdout).toContain(' @i2 | deploy resource=s1 target=i2 ')
    expect(task.stdout).not.toContain('s2')

    // --json: the line objects, filtered the same way.
    const json = (await must(['release', 'logs', id, '--task', 's1', '--json'])).json()
    expect(json.length).toBe(6)
    expect(new Set(json.map((line: {resource: string; target: string}) => `${line.resource}@${line.target}`))).toEqual(new Set(['s1@i1', 's1@i2']))

    // Filters that match nothing print nothing.
    const none = await must(['release', 'logs', id, '--task', 's1', '--target', 'i3'])
    expect(none.stdout).toBe('')
  })
})

describe('cancel', () => {
  it('stops the running task (its process group) and marks every task not started cancelled; afterTarget does not start', async () => {
    await setVersions('rollout', 'seqseq', {s1: '1.5.0-gate', s2: '1.5.0'})
    const id = Number((await must(['release', 'trigger', '--type', 'full', ...scope('seqseq')])).stdout.trim())
    const pid = await gateStarted(state, id)
    const cancel = await must(['release', 'cancel', String(id)])
    expect(cancel.stdout).toBe(`Release ${id} is cancelled (cancelled by request)\n`)
    await waitFor(() => !isAlive(pid), {what: `gate script ${pid} to be stopped`})
    const release = await showJson(id)
    expect(release.status).toBe('cancelled')
    const task = byKey(release)
    expect(task('beforeTarget@i1').status).toBe('succeeded')
    expect(task('s1@i1')).toMatchObject({status: 'cancelled', error: 'cancelled by request'})
    for (const key of ['s2@i1', 'afterTarget@i1', 'beforeTarget@i2', 's1@i2', 's2@i2', 'afterTarget@i2']) {
      expect(task(key), key).toMatchObject({status: 'cancelled', startedAt: null, error: 'not started: the release was stopped'})
    }
    const logs = await must(['release', 'logs', String(id), '--target', 'i2'])
    expect(logs.stdout).toBe('')
    const apps = (await must(['app', 'list', ...scope('seqseq'), '--json'])).json()
    expect(apps.find((app: {name: string}) => app.name === 's2')).toMatchObject({deployedVersion: '1.0.0', desiredVersion: '1.5.0'})
  })
})
