// The approval workflow (issues 3 and 12), through the real CLI: it excludes parallel releases both
// ways, a release waits as pending_approval until approved (it then queues and runs) or rejected (it
// never runs and `release wait` on its apps exits 3); only a pending release can be decided. Who decides
// is a token: its author cannot approve it, and --required N needs N distinct approvers.
import {beforeAll, describe, expect, it} from 'vitest'

import {api, copyFixture, createToken, must, relctl, relctlLive, startServer, waitForRelease} from './harness.js'

const PROD = ['-p', 'sim-app', '-e', 'prod']
const STAGING = ['-p', 'sim-app', '-e', 'staging']
const FAST = ['--interval', '200ms']
const FINAL = ['succeeded', 'failed', 'cancelled', 'rejected']

/** Tokens by name: the people of these tests. */
const as: Record<string, {token: string}> = {}

beforeAll(async () => {
  await startServer()
  await must(['project', 'apply', '-f', copyFixture('simulate-app').file])
  for (const [name, grants] of Object.entries({
    carol: ['operator:sim-app/prod'],
    dana: ['approver:sim-app/prod'],
    erin: ['approver:sim-app'],
    frank: ['operator:sim-app'],
    ci: ['deployer:sim-app/prod'],
    lead: ['approver:sim-app/prod', 'deployer:sim-app/prod'],
  })) {
    as[name] = {token: await createToken(name, grants)}
  }
})

async function trigger(resources: string, scope = PROD): Promise<number> {
  return Number((await must(['release', 'trigger', '--resources', resources, ...scope])).stdout.trim())
}

describe('approval and parallel releases exclude each other', () => {
  it('set-approval is refused where parallel is on, and set-parallel where approval is on; each says what to turn off first', async () => {
    await must(['settings', 'set-parallel', '--enabled', ...PROD])
    const refused = await relctl(['settings', 'set-approval', '--enabled', ...PROD])
    expect(refused.code, String(refused)).toBe(2)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toContain('the approval workflow cannot be turned on: parallel releases are on for sim-app/prod')
    expect(refused.stderr).toContain('Hint: turn parallel releases off first: relctl settings set-parallel --disabled -p sim-app -e prod')
    const refusedJson = await relctl(['settings', 'set-approval', '--enabled', ...PROD, '--json'])
    expect(refusedJson.code, String(refusedJson)).toBe(2)
    expect(refusedJson.json()).toMatchObject({exitCode: 2, error: {code: 'invalid_input', hint: expect.stringContaining('set-parallel --disabled -p sim-app -e prod')}})
    expect((await must(['settings', 'show', ...PROD, '--json'])).json()).toMatchObject({parallel: {value: true}, approval: {value: false, source: 'default'}})

    // The other way round.
    await must(['settings', 'set-parallel', '--disabled', ...PROD])
    const approval = await relctl(['settings', 'set-approval', '--enabled', ...PROD], as.carol)
    expect(approval.code, String(approval)).toBe(0)
    expect(approval.stdout).toMatch(/^ {2}approval workflow: {2}on {2}\(environment override\)$/m)
    const parallel = await relctl(['settings', 'set-parallel', '--enabled', ...PROD])
    expect(parallel.code, String(parallel)).toBe(2)
    expect(parallel.stderr).toContain('parallel releases cannot be turned on: the approval workflow is on for sim-app/prod')
    expect(parallel.stderr).toContain('Hint: turn the approval workflow off first: relctl settings set-approval --disabled -p sim-app -e prod')

    // A control-plane default is checked against every environment: approval on everywhere while
    // staging has parallel on is refused, naming staging.
    await must(['settings', 'set-parallel', '--enabled', ...STAGING])
    const everywhere = await relctl(['settings', 'set-approval', '--enabled'])
    expect(everywhere.code, String(everywhere)).toBe(2)
    expect(everywhere.stderr).toContain('parallel releases are on for sim-app/staging')
    expect(everywhere.stderr).toContain('relctl settings set-parallel --disabled -p sim-app -e staging')

    const settings = (await must(['settings', 'show', ...PROD, '--json'])).json()
    expect(settings).toMatchObject({parallel: {value: false, source: 'environment'}, approval: {value: true, source: 'environment'}})
    expect(settings.history[0]).toMatchObject({setting: 'approval', oldValue: null, newValue: 'true', changedBy: 'carol'})
  })
})

describe('approve and reject', () => {
  it('a trigger is pending_approval and says it waits for approval; approve queues and runs it, with who and the comment', async () => {
    const triggered = await relctl(['release', 'trigger', '--resources', 'api', ...PROD])
    expect(triggered.code, String(triggered)).toBe(0)
    const id = Number(triggered.stdout.trim())
    expect(triggered.stderr).toContain(`Release ${id} (selective: api:create) is pending_approval (position 1): waits for approval: relctl release approve ${id}`)

    const shown = await must(['release', 'show', String(id)])
    expect(shown.stdout).toMatch(new RegExp(`^ {2}status: {5}pending_approval \\(position 1\\): waits for approval: relctl release approve ${id}$`, 'm'))
    expect((await must(['release', 'show', String(id), '--json'])).json()).toMatchObject({
      status: 'pending_approval',
      queuePosition: 1,
      waitingFor: {reason: 'approval'},
      decision: null,
      startedAt: null,
    })
    // It stays there: nothing runs without a decision.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect((await api(`/v1/releases/${id}`)).status).toBe('pending_approval')

    const approve = await relctl(['release', 'approve', String(id), '--comment', 'ship it'], as.dana)
    expect(approve.code, String(approve)).toBe(0)
    expect(approve.stdout).toMatch(new RegExp(`^Release ${id} \\(selective: api:create\\) is (queued|running|succeeded)`))
    const done = await waitForRelease(id, FINAL)
    expect(done.status).toBe('succeeded')

    const json = (await must(['release', 'show', String(id), '--json'])).json()
    expect(json).toMatchObject({status: 'succeeded', decision: {decision: 'approved', by: 'dana', comment: 'ship it', at: expect.any(String)}})
    expect(Date.parse(json.startedAt)).toBeGreaterThanOrEqual(Date.parse(json.decision.at))
    expect(json.tasks).toMatchObject([{resource: 'api', status: 'succeeded'}])
    const text = await must(['release', 'show', String(id)])
    expect(text.stdout).toMatch(/^ {2}decision: {3}approved by dana at \S+ \(ship it\)$/m)

    // Approving it again: it is not pending any more (exit 2).
    const again = await relctl(['release', 'approve', String(id)])
    expect(again.code, String(again)).toBe(2)
    expect(again.stderr).toContain(`release ${id} is succeeded; only a release pending approval can be approved`)
    expect(again.stderr).toContain(`it was approved by dana at ${json.decision.at}`)
    const rejectDone = await relctl(['release', 'reject', String(id), '--json'])
    expect(rejectDone.code, String(rejectDone)).toBe(2)
    expect(rejectDone.json()).toMatchObject({exitCode: 2, error: {code: 'invalid_input'}})

    const missing = await relctl(['release', 'approve', '99999'])
    expect(missing.code, String(missing)).toBe(9)
  })

  it('reject: status rejected with who and the comment; a release wait watching its apps exits 3; it cannot be approved', async () => {
    const id = await trigger('web')
    const waiting = relctlLive(['release', 'wait', 'web', ...PROD, ...FAST, '--timeout', '20s'])
    await waiting.printed(/web: \S+\/\S+/, 'the wait to look at web (its release is pending then)')

    const reject = await relctl(['release', 'reject', String(id), '--comment', 'not now'], as.erin)
    expect(reject.code, String(reject)).toBe(0)
    expect(reject.stdout.trim()).toBe(`Release ${id} (selective: web:create) is rejected`)
    const json = (await must(['release', 'show', String(id), '--json'])).json()
    expect(json).toMatchObject({status: 'rejected', startedAt: null, tasks: [], error: 'rejected by erin: not now', decision: {decision: 'rejected', by: 'erin', comment: 'not now'}})
    const text = await must(['release', 'show', String(id)])
    expect(text.stdout).toMatch(/^ {2}status: {5}rejected$/m)
    expect(text.stdout).toMatch(/^ {2}decision: {3}rejected by erin at \S+ \(not now\)$/m)

    const waited = await waiting.done
    expect(waited.code, String(waited)).toBe(3)
    expect(waited.stderr).toContain(`Release ${id} rejected: rejected by erin: not now`)

    const approve = await relctl(['release', 'approve', String(id)])
    expect(approve.code, String(approve)).toBe(2)
    expect(approve.stderr).toContain(`release ${id} is rejected; only a release pending approval can be approved`)
    expect(approve.stderr).toContain(`it was rejected by erin at ${json.decision.at}`)
    const app = (await api('/v1/projects/sim-app/environments/prod/apps')).find((candidate: {name: string}) => candidate.name === 'web')
    expect(app).toMatchObject({deployedVersion: null, activeReleases: []})
  })

  it('release wait on the apps of a rejected release, started after the rejection, exits 3', async () => {
    const id = await trigger('worker')
    await must(['release', 'reject', String(id), '--comment', 'not now'])
    const waited = await relctl(['release', 'wait', 'worker', ...PROD, ...FAST, '--timeout', '5s'])
    expect(waited.code, String(waited)).toBe(3)
    expect(waited.stderr).toContain(`Release ${id} rejected`)
  })

  it('turning the approval workflow off sends pending releases to the queue, approved by who turned it off', async () => {
    const id = await trigger('api')
    expect((await api(`/v1/releases/${id}`)).status).toBe('pending_approval')
    await must(['settings', 'set-approval', '--disabled', ...PROD], as.frank)
    const done = await waitForRelease(id, FINAL)
    expect(done).toMatchObject({status: 'succeeded', decision: {decision: 'approved', by: 'frank', comment: 'the approval workflow was turned off'}})
    // Without approval a trigger queues at once.
    const next = await relctl(['release', 'trigger', '--resources', 'api', ...PROD, '--wait', ...FAST, '--timeout', '20s'])
    expect(next.code, String(next)).toBe(0)
    expect(next.stderr).not.toContain('pending_approval')
  })
})

describe('approvers are tokens (issue 12)', () => {
  it('a deployer may not approve (exit 7, saying who could); the author may not approve their own release; --required 2 needs two distinct approvers; release show lists them', async () => {
    const set = await must(['settings', 'set-approval', '--enabled', '--required', '2', ...PROD], as.carol)
    expect(set.stdout).toMatch(/^ {2}approvers needed: {3}2 {2}\(environment override\)$/m)

    const id = Number((await must(['release', 'trigger', '--resources', 'worker', ...PROD], as.lead)).stdout.trim())
    expect((await api(`/v1/releases/${id}`)).triggeredBy).toBe('lead')

    const deployer = await relctl(['release', 'approve', String(id), '--json'], as.ci)
    expect(deployer.code, String(deployer)).toBe(7)
    expect(deployer.json()).toMatchObject({
      exitCode: 7,
      error: {code: 'forbidden', message: 'token ci (deployer on sim-app/prod) may not approve releases; an approver of sim-app/prod can'},
    })
    expect(deployer.stderr).toContain('Error: token ci (deployer on sim-app/prod) may not approve releases; an approver of sim-app/prod can')

    const self = await relctl(['release', 'approve', String(id)], as.lead)
    expect(self.code, String(self)).toBe(7)
    expect(self.stderr).toContain(`Error: token lead triggered release ${id}; the author of a release cannot approve it`)

    const first = await must(['release', 'approve', String(id), '--comment', 'looks right'], as.dana)
    expect(first.stdout).toContain(`is pending_approval (position 1): waits for 1 more approval (1 of 2: dana; its author lead cannot approve)`)
    const twice = await relctl(['release', 'approve', String(id)], as.dana)
    expect(twice.code, String(twice)).toBe(2)
    expect(twice.stderr).toContain(`dana has approved release ${id} already; it needs 2 distinct approvers and has 1 (dana)`)

    await must(['release', 'approve', String(id)], as.erin)
    expect((await waitForRelease(id, FINAL)).status).toBe('succeeded')
    const shown = await must(['release', 'show', String(id)])
    expect(shown.stdout).toMatch(/^ {2}approved: {3}by dana at \S+ \(looks right\), erin at \S+$/m)
    expect(shown.stdout).toMatch(/^ {2}decision: {3}approved by erin at \S+$/m)
    expect((await must(['release', 'show', String(id), '--json'])).json().approvals).toEqual([
      {by: 'dana', at: expect.any(String), comment: 'looks right'},
      {by: 'erin', at: expect.any(String), comment: null},
    ])
  })

  it('one rejection rejects a release that has an approval', async () => {
    const id = Number((await must(['release', 'trigger', '--resources', 'worker', ...PROD], as.lead)).stdout.trim())
    await must(['release', 'approve', String(id)], as.dana)
    const rejected = await must(['release', 'reject', String(id), '--comment', 'wrong build'], as.erin)
    expect(rejected.stdout.trim()).toBe(`Release ${id} (selective: worker) is rejected`)
    expect(await api(`/v1/releases/${id}`)).toMatchObject({status: 'rejected', error: 'rejected by erin: wrong build', approvals: [{by: 'dana'}]})
    await must(['settings', 'set-approval', '--disabled', ...PROD], as.carol)
  })
})
