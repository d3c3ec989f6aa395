// Pipelines (issue 13) with the real CLI and server: the seed's cases 5 and 6 from the deploys' own start
// and end times, --dry-run, the run's tree and its releases (release show names the run), approval gates
// with tokens (the creator refused), a soak that holds the next stage, --apps without --set, a wait that
// times out (exit 4), and promote.
import {beforeAll, describe, expect, it} from 'vitest'

import {api, copyFixture, createToken, gateStarted, must, relctl, type Server, startServer, tempDir} from './harness.js'
import {allAfter, deploys, releasesOf, runIdOf, runUntil, showRun, together} from './pipelines-helpers.js'

let state: string
let server: Server
const P = ['-p', 'pipes']

beforeAll(async () => {
  state = tempDir('relctl-e2e-state-')
  server = await startServer({env: {RELCTL_TEST_STATE: state, RELCTL_TEST_SLEEP: '0.8'}})
  await must(['project', 'apply', '-f', copyFixture('pipelines').file])
})

describe("the seed's orders, from the deploys' own start and end times", () => {
  it('case 5: S1 and S2 together on I1, then on I2, then on K82, then on K81', async () => {
    const result = await must(['pipeline', 'run', 'case5', ...P, '--set', 's1=2.0.0,s2=2.0.0', '--wait', '--json'], {timeoutMs: 120_000})
    const run = result.json()
    expect(run).toMatchObject({status: 'succeeded', pipeline: 'case5', versions: [{name: 's1', version: '2.0.0'}, {name: 's2', version: '2.0.0'}]})
    // progress: stage -> environment -> release, one line per change
    expect(result.stderr).toMatch(/stage 1 \(env1\) env1: release \d+ running/)
    expect(result.stderr).toMatch(/stage 2 \(env2\) env2: release \d+ succeeded/)
    const releases = new Set(releasesOf(run).map((release) => release.id))
    const ran = deploys(state).filter((deploy) => releases.has(deploy.release))
    const on = (environment: string, target: string) => ran.filter((deploy) => deploy.environment === environment && deploy.target === target)
    const groups = [on('env1', 'i1'), on('env1', 'i2'), on('env2', 'k82'), on('env2', 'k81')]
    for (const group of groups) {
      expect(group.map((deploy) => deploy.resource).sort()).toEqual(['s1', 's2'])
      together(group)
    }
    for (let index = 1; index < groups.length; index++) allAfter(groups[index], groups[index - 1])
  })

  it('case 6: S1 to I1, I2, K82 and K81 at once, then S2 to all four', async () => {
    const run = (await must(['pipeline', 'run', 'case6', ...P, '--set', 's1=2.0.0,s2=2.0.0', '--wait', '--json'], {timeoutMs: 120_000})).json()
    expect(run.status).toBe('succeeded')
    expect(run.stages[0].steps.map((step: {service: string}) => step.service)).toEqual(['s1', 's2'])
    const releases = new Set(releasesOf(run).map((release) => release.id))
    const ran = deploys(state).filter((deploy) => releases.has(deploy.release))
    const of = (resource: string) => ran.filter((deploy) => deploy.resource === resource)
    expect(of('s1').map((deploy) => `${deploy.environment}@${deploy.target}`).sort()).toEqual(['fleet1@i1', 'fleet1@i2', 'fleet2@k81', 'fleet2@k82'])
    expect(of('s2')).toHaveLength(4)
    together(of('s1'))
    together(of('s2'))
    allAfter(of('s2'), of('s1'))
  })

  it('--dry-run prints the whole order and records nothing', async () => {
    const before = await api('/v1/projects/pipes/pipeline-runs')
    const dry = await must(['pipeline', 'run', 'case5', ...P, '--set', 's1=3.0.0', '--dry-run'])
    expect(dry.stdout).toContain('Dry run: pipeline case5 of pipes (services parallel, queue fifo, on failure stop); nothing was recorded.')
    expect(dry.stdout).toContain('  stage 1 (env1)\n    step 1  env1: s1@i1 | s1@i2\n  stage 2 (env2)\n    step 2  env2: s1@k82 | s1@k81')
    expect(dry.stdout).toContain('  order:    env1/s1@i1 | env1/s1@i2 | env2/s1@k82 | env2/s1@k81')
    expect(dry.stdout).toContain('  now:      would start at once')
    const json = (await must(['pipeline', 'run', 'case6', ...P, '--set', 's1=3.0.0,s2=3.0.0', '--dry-run', '--json'])).json()
    expect(json.order).toBe('fleet1/s1@i1, fleet1/s1@i2, fleet2/s1@k82, fleet2/s1@k81 | fleet1/s2@i1, fleet1/s2@i2, fleet2/s2@k82, fleet2/s2@k81')
    expect(await api('/v1/projects/pipes/pipeline-runs')).toEqual(before)
  })
})

describe('runs and their releases', () => {
  it('each environment\'s work is an ordinary release: source pipeline, by the run\'s creator, and release show names the run and stage', async () => {
    const [run] = await (await must(['pipeline', 'list', ...P, '--pipeline', 'case5', '--json'])).json()
    const tree = await showRun(run.id)
    const release = tree.stages[1].steps[0].environments[0].release
    expect(release).toMatchObject({source: 'pipeline', triggeredBy: 'admin', options: {pipeline: {run: run.id, pipeline: 'case5', stage: 2, step: 2}}})
    const shown = await must(['release', 'show', String(release?.id)])
    expect(shown.stdout).toContain(`  triggered:  by admin from pipeline,`)
    expect(shown.stdout).toContain(`(key pipeline:${run.id}:2:env2)`)
    expect(shown.stdout).toContain(`  pipeline:   run ${run.id} of case5, stage 2 (step 2): relctl pipeline show ${run.id}`)
    const text = (await must(['pipeline', 'show', String(run.id)])).stdout
    expect(text).toMatch(new RegExp(`^Pipeline run ${run.id}: case5 of pipes\\n  status:     succeeded\\n  versions:   s1 2.0.0, s2 2.0.0\\n`))
    expect(text).toMatch(/stage 2 \(env2\)  succeeded\n  env2  release \d+ succeeded  selective: s1:create, s2:create\n      s1@k82  succeeded \S+\n      s2@k82  succeeded/)
    const list = (await must(['pipeline', 'list', ...P])).stdout
    expect(list).toMatch(new RegExp(`^ID +PIPELINE +STATUS +STAGE +VERSIONS +BY +CREATED +WAITING FOR\\n(.*\\n)*${run.id} +case5 +succeeded +2 \\(step 2/2\\) +s1 2.0.0, s2 2.0.0 +admin \\(cli\\)`))
  })

  it('refuses what it cannot run, with the exit code of each refusal', async () => {
    const unknownPipeline = await relctl(['pipeline', 'run', 'nope', ...P, '--set', 's1=1'])
    expect(unknownPipeline.code).toBe(9)
    expect(unknownPipeline.stderr).toContain('pipeline "nope" not found in project pipes; known: case5, case6, main, careful, latest, soaked, watched')
    const unknownApp = await relctl(['pipeline', 'run', 'case5', ...P, '--set', 'api=1'])
    expect(unknownApp.code).toBe(9)
    expect(unknownApp.stderr).toContain('unknown app api in project pipes; apps: s1, s2')
    const badSet = await relctl(['pipeline', 'run', 'case5', ...P, '--set', 's1'])
    expect(badSet.code).toBe(2)
    expect(badSet.stderr).toContain('"s1" is not APP=VERSION')
    const outside = await relctl(['pipeline', 'run', 'case5', ...P, '--set', 's1=1,s2=2', '--apps', 's1'])
    expect(outside.code).toBe(2)
    expect(outside.stderr).toContain('--set names s2, which --apps leaves out')
    expect((await relctl(['pipeline', 'show', '999'])).code).toBe(9)
  })

  it('--apps without --set moves only those apps, at the desired version of the pipeline\'s first environment; the others are not deployed', async () => {
    // fleet1, case6's first environment, wants s1 2.5.0 (not deployed yet); fleet2 runs s1 and s2 2.0.0 from case 6
    await must(['app', 'set', 's1', '--version', '2.5.0', ...P, '-e', 'fleet1'])
    const run = (await must(['pipeline', 'run', 'case6', ...P, '--apps', 's1', '--wait', '--json'], {timeoutMs: 120_000})).json()
    expect(run).toMatchObject({status: 'succeeded', versions: [{name: 's1', version: '2.5.0'}]})
    // one release per environment of the run, each of s1 alone
    type Made = {environment: string; apps: {name: string; version: string}[]; release: {resources: {name: string; toVersion: string}[]}}
    const made = (run.stages as {steps: {environments: Made[]}[]}[]).flatMap((stage) => stage.steps.flatMap((step) => step.environments))
    expect(made.map(({environment, apps, release}) => ({environment, apps, resources: release.resources.map(({name, toVersion}) => ({name, toVersion}))}))).toEqual(
      ['fleet1', 'fleet2'].map((environment) => ({environment, apps: [{name: 's1', version: '2.5.0'}], resources: [{name: 's1', toVersion: '2.5.0'}]})),
    )
    const releases = new Set(releasesOf(run).map((release) => release.id))
    const ran = deploys(state).filter((deploy) => releases.has(deploy.release))
    expect(ran.map((deploy) => `${deploy.environment}/${deploy.resource}@${deploy.target}`).sort()).toEqual(['fleet1/s1@i1', 'fleet1/s1@i2', 'fleet2/s1@k81', 'fleet2/s1@k82'])
    const fleet2 = (await must(['app', 'list', ...P, '-e', 'fleet2', '--json'])).json() as {name: string; desiredVersion: string; deployedVersion: string}[]
    expect(fleet2.map((app) => `${app.name} ${app.desiredVersion} ${app.deployedVersion}`)).toEqual(['s1 2.5.0 2.5.0', 's2 2.0.0 2.0.0'])
  })

  it('a wait that runs out while the run is still releasing exits 4 (pipeline run --wait and pipeline wait), and the run goes on', async () => {
    const started = await relctl(['pipeline', 'run', 'latest', ...P, '--set', 's1=2.0.0-gate', '--wait', '--timeout', '1s', '--json'])
    expect(started.code).toBe(4)
    const id = started.json().run.id as number
    expect(started.json()).toMatchObject({exitCode: 4, error: {code: 'timeout', message: expect.stringMatching(new RegExp(`^timed out after 1\\.0s; pipeline run ${id} is running`))}})
    // the deploy in dev is held open by its gate script: the run is releasing, not paused or frozen
    const gate = releasesOf(await runUntil(id, (run) => releasesOf(run).length === 1, 'releases dev'))[0].id
    await gateStarted(state, gate)
    await runUntil(id, (run) => run.waitingFor?.message === `release ${gate} (dev) running`, 'waits for its running release')
    const waited = await relctl(['pipeline', 'wait', String(id), '--timeout', '1s'])
    expect(waited.code).toBe(4)
    expect(waited.stderr).toContain(`Error: timed out after 1.0s; pipeline run ${id} is running: release ${gate} (dev) running`)
    expect(waited.stderr).toContain(`Hint: keep waiting with: relctl pipeline wait ${id}`)
    expect((await showRun(id)).status).toBe('running')
    await must(['pipeline', 'cancel', String(id)])
  })
})

describe('gates', () => {
  let lead: string
  let boss: string
  let ci: string

  beforeAll(async () => {
    lead = await createToken('lead', ['deployer:pipes', 'approver:pipes'])
    boss = await createToken('boss', ['approver:pipes/prod'])
    ci = await createToken('ci', ['deployer:pipes'])
  })

  it('approval: waits before its stage; the creator may not approve it, a deployer neither; an approver of the stage does', async () => {
    const id = runIdOf((await must(['pipeline', 'run', 'main', ...P, '--set', 's2=3.0.0'], {token: lead})).stdout)
    const waiting = await runUntil(id, (run) => run.waitingFor?.reason === 'approval', 'waits for approval')
    expect(waiting.waitingFor).toMatchObject({stage: 3, message: `waits for approval of stage 3 (prod): relctl pipeline approve ${id} (by someone other than lead, who created the run)`})
    expect(waiting.stages.map((stage) => stage.status)).toEqual(['succeeded', 'succeeded', 'waiting'])

    const own = await relctl(['pipeline', 'approve', String(id)], {token: lead})
    expect(own.code).toBe(7)
    expect(own.stderr).toContain(`token lead created pipeline run ${id}; the creator of a run cannot approve its gates`)
    const deployer = await relctl(['pipeline', 'approve', String(id)], {token: ci})
    expect(deployer.code).toBe(7)
    expect(deployer.stderr).toContain('token ci (deployer on pipes) may not approve pipeline runs; an approver of pipes/prod can')

    // The approver of prod may read the run it is asked to approve.
    expect((await must(['pipeline', 'show', String(id)], {token: boss})).stdout).toContain('waits for approval of stage 3 (prod)')
    const approved = await must(['pipeline', 'approve', String(id), '--comment', 'staging looks fine', '--json'], {token: boss})
    expect(approved.json().approvals).toEqual([expect.objectContaining({stage: 3, by: 'boss', comment: 'staging looks fine'})])
    const done = await must(['pipeline', 'wait', String(id), '--json'], {token: lead})
    expect(done.json().status).toBe('succeeded')
    const prod = (await showRun(id)).stages[2].steps[0].environments[0].release
    expect(prod).toMatchObject({status: 'succeeded', triggeredBy: 'lead', source: 'pipeline'})
    // the audit log has the refusals and the approval
    const audit = (await must(['audit', 'list', ...P, '--json'])).json() as {actor: string; action: string; outcome: string}[]
    expect(audit.filter((entry) => entry.action === 'pipeline.approve').map((entry) => `${entry.actor} ${entry.outcome}`)).toEqual(['boss succeeded', 'ci denied', 'lead denied'])
  })

  it('reject: the run ends rejected and its waiters exit 3', async () => {
    const id = runIdOf((await must(['pipeline', 'run', 'main', ...P, '--set', 's2=3.1.0'], {token: ci})).stdout)
    await runUntil(id, (run) => run.waitingFor?.reason === 'approval', 'waits for approval')
    const rejected = await must(['pipeline', 'reject', String(id), '--comment', 'not this week'], {token: boss})
    expect(rejected.stdout).toContain(`Pipeline run ${id} (main: s2 3.1.0) is rejected`)
    const wait = await relctl(['pipeline', 'wait', String(id), '--json'], {token: ci})
    expect(wait.code).toBe(3)
    expect(wait.json()).toMatchObject({error: {code: 'pipeline_rejected'}, exitCode: 3, run: {status: 'rejected', decision: {decision: 'rejected', by: 'boss', comment: 'not this week'}}})
    expect(wait.stderr).toContain(`Pipeline run ${id} rejected: stage 3 (prod) rejected by boss: not this week`)
    const again = await relctl(['pipeline', 'approve', String(id)], {token: boss})
    expect(again.code).toBe(2)
    expect(again.stderr).toContain(`pipeline run ${id} is not waiting for an approval (it is rejected)`)
  })

  it('soak: the next stage starts only once the stage\'s apps have stayed Synced and Healthy that long', async () => {
    const result = await must(['pipeline', 'run', 'soaked', ...P, '--set', 's1=4.0.0', '--wait', '--json'], {timeoutMs: 90_000})
    const run = result.json()
    expect(run.status).toBe('succeeded')
    expect(result.stderr).toMatch(/run \d+ running: soak of stage 1 \(dev\), 2s: its apps are Synced and Healthy since \S+; the next stage starts at \S+ if they stay so/)
    const [dev, staging] = releasesOf(run)
    expect(Date.parse(staging.createdAt) - Date.parse(dev.finishedAt as string)).toBeGreaterThanOrEqual(2000)
  })
})

describe('promote', () => {
  it('promotes exactly what is deployed and stable in the source, and refuses (exit 2) naming the apps that are not', async () => {
    // staging runs s2 3.1.0 (the rejected run went that far) and s1 4.0.0 (the soaked run)
    await must(['app', 'set', 's1', '--version', '4.1.0', ...P, '-e', 'staging'])
    const refused = await relctl(['promote', ...P, '--from', 'staging', '--to', 'qa2'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('cannot promote from staging: s1 is OutOfSync/Healthy (deployed 4.0.0, desired 4.1.0); promote moves only versions that are deployed and stable')
    expect(refused.stderr).toContain('Hint: wait for it (relctl release wait s1 -p pipes -e staging), or promote the others: --apps s2')

    const promoted = await must(['promote', ...P, '--from', 'staging', '--to', 'qa2', '--apps', 's2', '--wait', '--json'])
    expect(promoted.json()).toMatchObject({from: 'staging', to: 'qa2', versions: [{name: 's2', version: '3.1.0'}], unchanged: [], release: {status: 'succeeded', type: 'selective', options: {promotedFrom: 'staging'}}})
    expect(promoted.stderr).toContain('Promoting s2 3.1.0 from staging to qa2')
    const apps = (await must(['app', 'list', ...P, '-e', 'qa2', '--json'])).json() as {name: string; desiredVersion: string; deployedVersion: string}[]
    expect(apps.find((app) => app.name === 's2')).toMatchObject({desiredVersion: '3.1.0', deployedVersion: '3.1.0'})
    expect((await must(['release', 'show', String(promoted.json().release.id)])).stdout).toContain('  promoted:   from staging')

    const again = await must(['promote', ...P, '--from', 'staging', '--to', 'qa2', '--apps', 's2', '--json'])
    expect(again.json()).toMatchObject({release: null, unchanged: ['s2']})
    expect(again.stderr).toContain('qa2 runs s2 3.1.0 already; nothing to release')
    await must(['app', 'set', 's1', '--version', '4.0.0', ...P, '-e', 'staging'])
  })
})
