// Pauses (issue 4), through the real CLI: project and environment level, what `env show` says, the
// exit-6 refusal of every trigger, queued releases held until the resume, a resume that leaves the
// other level's pause in place, and `release wait` on a paused environment.
import {beforeAll, describe, expect, it} from 'vitest'

import {api, copyFixture, createToken, gateStarted, must, openGate, relctl, startServer, tempDir, triggerRelease, waitFor, waitForRelease} from './harness.js'

const PROJECT = ['-p', 'timed-app']
const STAGING = ['-p', 'timed-app', '-e', 'staging']
const PROD = ['-p', 'timed-app', '-e', 'prod']
/** Operators of the project: who pauses is the token's name. */
const CAROL = {token: ''}
const DAVE = {token: ''}
const FINAL = ['succeeded', 'failed', 'cancelled', 'rejected']
const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z'
let state: string

beforeAll(async () => {
  state = tempDir('relctl-e2e-state-')
  await startServer({env: {RELCTL_TEST_STATE: state}})
  await must(['project', 'apply', '-f', copyFixture('timed').file])
  CAROL.token = await createToken('carol', ['operator:timed-app'])
  DAVE.token = await createToken('dave', ['operator:timed-app'])
})

/** Setup through the API: the triggers under test here are the refused ones. */
function trigger(resource: string, environment: string): Promise<number> {
  return triggerRelease('timed-app', environment, {type: 'selective', resources: [{name: resource}]})
}

/** Waits until the queued release says it is held by this pause (the queue was looked at after it). */
function heldByPause(id: number, message: string) {
  return waitFor(
    async () => {
      const release = await api(`/v1/releases/${id}`)
      return release.waitingFor?.message === message ? release : null
    },
    {what: `release ${id} to wait: ${message}`},
  )
}

async function envJson(scope: string[]) {
  return (await must(['env', 'show', ...scope, '--json'])).json()
}

describe('pause and resume', () => {
  it('a project pause holds every environment; env show says by whom, since when, why and the level; triggers exit 6', async () => {
    const before = Date.now()
    const pause = await relctl(['pause', ...PROJECT, '--reason', 'quarter-end freeze'], CAROL)
    expect(pause.code, String(pause)).toBe(0)
    expect(pause.stdout.trim()).toBe('Paused releases of project timed-app (every environment): quarter-end freeze. Resume with: relctl resume -p timed-app')

    const [staging, prodEnv, text] = await Promise.all([envJson(STAGING), envJson(PROD), must(['env', 'show', ...PROD])])
    for (const env of [staging, prodEnv]) {
      expect(env).toMatchObject({paused: true, pauses: [{level: 'project', project: 'timed-app', environment: null, by: 'carol', reason: 'quarter-end freeze'}]})
      expect(Date.parse(env.pauses[0].at)).toBeGreaterThanOrEqual(before - 1000)
    }
    const [projectPause] = prodEnv.pauses
    expect(text.stdout).toContain(`  paused:       yes, at the project level, by carol since ${projectPause.at}: quarter-end freeze`)

    // Every release type, and sync, is refused with exit 6; the message names the level, who, since when, why and the resume command.
    const attempts = await Promise.all([
      relctl(['release', 'trigger', '--type', 'full', ...PROD]),
      relctl(['release', 'trigger', '--type', 'launch', ...STAGING]),
      relctl(['release', 'trigger', '--resources', 'quick', ...STAGING]),
      relctl(['release', 'trigger', '--type', 'destroy', '--allow-destructive', ...PROD]),
      relctl(['release', 'sync', 'quick', ...PROD]),
    ])
    for (const attempt of attempts) {
      expect(attempt.code, String(attempt)).toBe(6)
      expect(attempt.stdout).toBe('')
      expect(attempt.stderr).toContain(`Error: releases are paused for project timed-app (every environment) by carol since ${projectPause.at}: quarter-end freeze; nothing was queued`)
      expect(attempt.stderr).toContain('Hint: when it is time, resume with: relctl resume -p timed-app')
    }
    const json = await relctl(['release', 'trigger', '--type', 'full', ...STAGING, '--json'])
    expect(json.code, String(json)).toBe(6)
    expect(json.json()).toMatchObject({
      exitCode: 6,
      error: {code: 'paused', message: expect.stringContaining('project timed-app (every environment) by carol'), hint: 'when it is time, resume with: relctl resume -p timed-app'},
    })
    expect((await must(['release', 'list', ...PROJECT, '--json'])).json()).toEqual([])

    // A second pause keeps the first one.
    const again = await relctl(['pause', ...PROJECT, '--reason', 'something else'], DAVE)
    expect(again.code, String(again)).toBe(0)
    expect(again.stdout.trim()).toBe(`project timed-app (every environment) was already paused by carol since ${projectPause.at}: quarter-end freeze; nothing changed`)

    // The environment level too: prod shows both, staging only the project's.
    const envPause = await relctl(['pause', ...PROD, '--reason', 'incident 4411'], DAVE)
    expect(envPause.code, String(envPause)).toBe(0)
    expect(envPause.stdout.trim()).toBe('Paused releases of timed-app/prod: incident 4411. Resume with: relctl resume -p timed-app -e prod')
    const [prod, prodText, stagingNow, both] = await Promise.all([
      envJson(PROD),
      must(['env', 'show', ...PROD]),
      envJson(STAGING),
      relctl(['release', 'trigger', '--resources', 'quick', ...PROD]),
    ])
    expect(prod.pauses).toHaveLength(2)
    const prodPause = prod.pauses.find((candidate: {level: string}) => candidate.level === 'environment')
    expect(prodPause).toMatchObject({level: 'environment', environment: 'prod', by: 'dave', reason: 'incident 4411'})
    expect(prodText.stdout).toContain(`  paused:       yes, at the project level, by carol since ${projectPause.at}: quarter-end freeze`)
    expect(prodText.stdout).toContain(`  paused:       yes, at the environment level, by dave since ${prodPause.at}: incident 4411`)
    expect(stagingNow.pauses).toHaveLength(1)
    // Both levels hold in prod: the refusal names both and both resume commands.
    expect(both.code, String(both)).toBe(6)
    expect(both.stderr).toContain(`releases are paused for project timed-app (every environment) by carol since ${projectPause.at}: quarter-end freeze; the environment is paused too (by dave: incident 4411); nothing was queued`)
    expect(both.stderr).toContain('relctl resume -p timed-app -e prod')

    // Resuming the project lifts only the project level, and says that prod is still paused.
    const resume = await relctl(['resume', ...PROJECT])
    expect(resume.code, String(resume)).toBe(0)
    expect(resume.stdout.trim()).toBe('Resumed releases of project timed-app.')
    expect(resume.stderr).toContain(`Warning: timed-app/prod (environment level) is still paused by dave since ${prodPause.at}: incident 4411; its releases stay held until: relctl resume -p timed-app -e prod`)
    const [stagingAfter, refused] = await Promise.all([envJson(STAGING), relctl(['release', 'trigger', '--resources', 'quick', ...PROD])])
    expect(stagingAfter).toMatchObject({paused: false, pauses: []})
    expect(refused.code, String(refused)).toBe(6)
    expect(refused.stderr).toContain(`releases are paused for timed-app/prod by dave since ${prodPause.at}: incident 4411; nothing was queued`)
    expect(refused.stderr).toContain('resume with: relctl resume -p timed-app -e prod')
    const allowed = await relctl(['release', 'trigger', '--resources', 'quick', ...STAGING, '--wait', '--interval', '200ms', '--timeout', '20s'])
    expect(allowed.code, String(allowed)).toBe(0)

    const resumeProd = await relctl(['resume', ...PROD])
    expect(resumeProd.code, String(resumeProd)).toBe(0)
    expect(resumeProd.stdout.trim()).toBe('Resumed releases of timed-app/prod.')
    expect(resumeProd.stderr).toBe('')
    const [notPaused, shown] = await Promise.all([relctl(['resume', ...PROD]), must(['env', 'show', ...PROD])])
    expect(notPaused.stdout.trim()).toBe('timed-app/prod was not paused at this level; nothing changed.')
    expect(shown.stdout).toContain('  paused:       no')
  })

  it('a queued release is held during a pause (the running one finishes) and starts after resume; release wait says it is paused', async () => {
    const a = await trigger('gate1', 'staging')
    await gateStarted(state, a)
    const b = await trigger('quick', 'staging')
    const pause = await relctl(['pause', ...STAGING, '--reason', 'hold the line'], CAROL)
    expect(pause.code, String(pause)).toBe(0)

    openGate(state, a)
    expect((await waitForRelease(a, FINAL)).status).toBe('succeeded') // a running release finishes
    const held = await heldByPause(b, 'environment staging is paused by carol: hold the line')
    expect(held).toMatchObject({status: 'queued', startedAt: null, queuePosition: 1, waitingFor: {reason: 'paused', message: 'environment staging is paused by carol: hold the line'}})
    const text = await must(['release', 'show', String(b)])
    expect(text.stdout).toMatch(/^ {2}status: {5}queued \(position 1\): environment staging is paused by carol: hold the line$/m)
    const active = await must(['release', 'list', ...STAGING, '--active'])
    expect(active.stdout).toMatch(new RegExp(`^${b}\\s+1\\s+.*environment staging is paused by carol: hold the line\\s+-$`, 'm'))

    // release wait on an app of the paused environment: says so, and times out (exit 4).
    const waited = await relctl(['release', 'wait', 'quick', ...STAGING, '--interval', '200ms', '--timeout', '1500ms'])
    expect(waited.code, String(waited)).toBe(4)
    expect(waited.stderr).toMatch(new RegExp(`timed-app/staging is paused by carol since ${ISO}: hold the line; nothing starts until it is resumed`))
    expect(waited.stderr).toContain('timed out after 1.5s (timed-app/staging is paused by carol since ')
    const waitedJson = await relctl(['release', 'wait', 'quick', ...STAGING, '--interval', '200ms', '--timeout', '1s', '--json'])
    expect(waitedJson.code, String(waitedJson)).toBe(4)
    expect(waitedJson.json()).toMatchObject({exitCode: 4, error: {code: 'timeout'}})
    expect((await api(`/v1/releases/${b}`)).status).toBe('queued')

    const resumedAt = Date.now()
    const resume = await relctl(['resume', ...STAGING])
    expect(resume.code, String(resume)).toBe(0)
    const done = await waitForRelease(b, FINAL)
    expect(done.status).toBe('succeeded')
    expect(Date.parse(done.startedAt)).toBeGreaterThanOrEqual(resumedAt - 50)
  })

  it('resuming the environment while the project is paused warns that the project pause holds; the queued release waits for both', async () => {
    const a = await trigger('gate1', 'prod')
    await gateStarted(state, a)
    const b = await trigger('quick', 'prod')
    await must(['pause', ...PROJECT, '--reason', 'freeze'], CAROL)
    await must(['pause', ...PROD, '--reason', 'incident 4412'], DAVE)
    openGate(state, a)
    expect((await waitForRelease(a, FINAL)).status).toBe('succeeded')

    const resume = await relctl(['resume', ...PROD])
    expect(resume.code, String(resume)).toBe(0)
    expect(resume.stdout.trim()).toBe('Resumed releases of timed-app/prod.')
    expect(resume.stderr).toMatch(new RegExp(`^Warning: project timed-app \\(project level\\) is still paused by carol since ${ISO}: freeze; its releases stay held until: relctl resume -p timed-app$`, 'm'))
    const resumeJson = await relctl(['resume', ...PROD, '--json'])
    expect(resumeJson.json()).toMatchObject({resumed: false, stillPaused: [{level: 'project', by: 'carol', reason: 'freeze'}]})

    expect(await heldByPause(b, 'the project is paused by carol: freeze')).toMatchObject({
      status: 'queued',
      startedAt: null,
      waitingFor: {reason: 'paused', message: 'the project is paused by carol: freeze'},
    })
    const env = await envJson(PROD)
    expect(env).toMatchObject({paused: true, pauses: [{level: 'project', by: 'carol'}]})

    await must(['resume', ...PROJECT])
    expect((await waitForRelease(b, FINAL)).status).toBe('succeeded')
    expect(await envJson(PROD)).toMatchObject({paused: false, pauses: [], activeReleases: []})
  })

  it('unknown project or environment: exit 9', async () => {
    const project = await relctl(['pause', '-p', 'nope', '--reason', 'x'])
    expect(project.code, String(project)).toBe(9)
    const environment = await relctl(['pause', '-p', 'timed-app', '-e', 'nope'])
    expect(environment.code, String(environment)).toBe(9)
  })
})
