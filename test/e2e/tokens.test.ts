// Tokens through the real CLI against a real control plane (issue 12): create (the secret printed once),
// list (never a secret), whoami, revoke and rotate; a refused call answers 403 with what was refused and
// who could do it (exit 7); listings show what a token's grants reach; X-Relctl-Actor names nobody; the
// audit log records every mutating request, refusals included; and no secret ever reaches the server's
// log, a task's log or the audit log.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {copyFixture, createToken, must, relctl, type Server, startServer, tempDir, waitFor, waitForRelease} from './harness.js'

const STAGING = ['-p', 'sim-app', '-e', 'staging']
const PROD = ['-p', 'sim-app', '-e', 'prod']
const TOKEN_SHAPE = /^relctl_[0-9a-f]{64}$/

let server: Server

beforeAll(async () => {
  server = await startServer({logLevel: 'trace'})
  await must(['project', 'apply', '-f', copyFixture('simulate-app').file])
})

describe('token create, list, whoami, revoke, rotate', () => {
  it('create prints the secret alone on stdout, once; list and whoami show name, grants, expiry and last use, never a secret', async () => {
    expect(server.token).toMatch(TOKEN_SHAPE)
    const created = await must(['token', 'create', '--name', 'ci-shop', '--role', 'deployer', ...STAGING, '--expires', '90d'])
    const secret = created.stdout.trim()
    expect(secret).toMatch(TOKEN_SHAPE)
    expect(created.stderr).toMatch(/^Created token ci-shop: deployer on sim-app\/staging; expires \S+Z\.$/m)
    expect(created.stderr).toContain('Store it now: it is not shown again')

    const who = await must(['whoami'], {token: secret})
    expect(who.stdout).toMatch(/^token: +ci-shop$/m)
    expect(who.stdout).toMatch(/^grants: +deployer on sim-app\/staging$/m)
    const whoJson = (await must(['whoami', '--json'], {token: secret})).json()
    expect(whoJson).toMatchObject({name: 'ci-shop', grants: [{role: 'deployer', project: 'sim-app', environment: 'staging'}], lastUsedAt: expect.any(String)})
    const days = (Date.parse(whoJson.expiresAt) - Date.parse(whoJson.createdAt)) / 86_400_000
    expect(days).toBe(90)

    // several grants on one token
    const multi = (await must(['token', 'create', '--name', 'oncall', '--role', 'operator', '-p', 'sim-app', '--grant', 'approver:sim-app/prod', '--grant', 'viewer', '--json'])).json()
    expect(multi).toMatchObject({
      name: 'oncall',
      grants: [
        {role: 'operator', project: 'sim-app', environment: null},
        {role: 'approver', project: 'sim-app', environment: 'prod'},
        {role: 'viewer', project: null, environment: null},
      ],
      expiresAt: null,
      createdBy: 'admin',
      token: expect.stringMatching(TOKEN_SHAPE),
    })

    const list = await must(['token', 'list'])
    expect(list.stdout).toMatch(/^NAME +GRANTS +EXPIRES +LAST USED +CREATED$/m)
    expect(list.stdout).toMatch(/^ci-shop +deployer on sim-app\/staging +\S+Z +\S+Z +\S+ by admin$/m)
    expect(list.stdout).toMatch(/^oncall +operator on sim-app, approver on sim-app\/prod, viewer on the control plane +never +never +\S+ by admin$/m)
    const listed = (await must(['token', 'list', '--json'])).json()
    expect(listed.map((token: {name: string}) => token.name)).toEqual(['admin', 'ci-shop', 'oncall'])
    expect(JSON.stringify(listed)).not.toMatch(/relctl_[0-9a-f]{64}/)
    expect(listed[0]).not.toHaveProperty('token')

    const taken = await relctl(['token', 'create', '--name', 'ci-shop', '--role', 'viewer'])
    expect(taken.code, String(taken)).toBe(2)
    expect(taken.stderr).toContain('a token named ci-shop exists already')
    const unknownProject = await relctl(['token', 'create', '--name', 'typo', '--role', 'viewer', '-p', 'sim-ap'])
    expect(unknownProject.code, String(unknownProject)).toBe(9)
    expect(unknownProject.stderr).toContain('project "sim-ap" not found')
    const noGrant = await relctl(['token', 'create', '--name', 'nothing'])
    expect(noGrant.code, String(noGrant)).toBe(2)
    expect(noGrant.stderr).toContain('the token needs a grant')
    const badGrant = await relctl(['token', 'create', '--name', 'bad', '--grant', 'superuser:sim-app'])
    expect(badGrant.code, String(badGrant)).toBe(2)
    expect(badGrant.stderr).toContain('--grant superuser:sim-app is not ROLE, ROLE:PROJECT or ROLE:PROJECT/ENVIRONMENT')
  })

  it('revoke: the secret stops working at once (exit 7); rotate: a new secret, the old one refused, same grants', async () => {
    const secret = await createToken('short-lived', ['viewer:sim-app'])
    await must(['app', 'list', ...PROD], {token: secret})

    const rotated = await must(['token', 'rotate', 'short-lived'])
    const fresh = rotated.stdout.trim()
    expect(fresh).toMatch(TOKEN_SHAPE)
    expect(fresh).not.toBe(secret)
    expect(rotated.stderr).toContain('Rotated token short-lived: viewer on sim-app; expires never.')
    const old = await relctl(['app', 'list', ...PROD], {token: secret})
    expect(old.code, String(old)).toBe(7)
    expect(old.stderr).toContain('the token was not accepted')
    expect((await must(['whoami', '--json'], {token: fresh})).json()).toMatchObject({name: 'short-lived', grants: [{role: 'viewer', project: 'sim-app', environment: null}]})

    const revoked = await must(['token', 'revoke', 'short-lived'])
    expect(revoked.stdout.trim()).toBe('Revoked token short-lived: its secret no longer works.')
    const after = await relctl(['app', 'list', ...PROD, '--json'], {token: fresh})
    expect(after.code, String(after)).toBe(7)
    expect(after.json()).toMatchObject({exitCode: 7, error: {code: 'unauthorized', message: 'the token was not accepted'}})
    const again = await relctl(['token', 'revoke', 'short-lived'])
    expect(again.code, String(again)).toBe(9)
    expect(again.stderr).toContain('token "short-lived" not found')
  })

  it('an expired token is refused with exit 7 and says so; rotate renews it for its lifetime', async () => {
    const secret = await createToken('brief', ['viewer:sim-app'], {expiresIn: '2s'})
    const expired = await waitFor(
      async () => {
        const result = await relctl(['whoami'], {token: secret})
        return result.code === 7 ? result : null
      },
      {what: 'the token to expire'},
    )
    expect(expired.stderr).toMatch(/Error: the token brief expired at \S+Z/)
    expect(expired.stderr).toContain('Hint: ask an admin for a new secret: relctl token rotate brief')
    const renewed = (await must(['token', 'rotate', 'brief', '--expires', '1h', '--json'])).json()
    expect(Date.parse(renewed.expiresAt) - Date.parse(renewed.rotatedAt)).toBe(3_600_000)
    expect((await must(['whoami', '--json'], {token: renewed.token})).json().name).toBe('brief')
  })

  it('only an admin of the control plane manages tokens; the configured admin token cannot be rotated through the API', async () => {
    const operator = await createToken('ops', ['operator'])
    const refused = await relctl(['token', 'create', '--name', 'sneaky', '--role', 'admin'], {token: operator})
    expect(refused.code, String(refused)).toBe(7)
    expect(refused.stderr).toContain('token ops (operator on the control plane) may not create tokens; an admin of the control plane can')
    const list = await relctl(['token', 'list'], {token: operator})
    expect(list.code, String(list)).toBe(7)
  })
})

describe('permissions from the CLI', () => {
  it('a refusal is exit 7 with what was refused and who could do it; --json has code forbidden', async () => {
    const viewer = await createToken('watcher', ['viewer:sim-app/staging'])
    const trigger = await relctl(['release', 'trigger', '--type', 'full', ...STAGING], {token: viewer})
    expect(trigger.code, String(trigger)).toBe(7)
    expect(trigger.stderr).toContain('Error: token watcher (viewer on sim-app/staging) may not trigger releases; a deployer of sim-app/staging can')
    expect(trigger.stderr).toContain('Hint: use a token with that grant, or ask an admin for one: relctl token create --name NAME --role deployer --project sim-app --environment staging')
    const pause = await relctl(['pause', '-p', 'sim-app', '--json'], {token: viewer})
    expect(pause.code, String(pause)).toBe(7)
    expect(pause.json()).toMatchObject({exitCode: 7, error: {code: 'forbidden', message: 'token watcher (viewer on sim-app/staging) may not pause releases; an operator of sim-app can'}})
    const apply = await relctl(['project', 'apply', '-f', copyFixture('simulate-app').file], {token: viewer})
    expect(apply.code, String(apply)).toBe(7)
    expect(apply.stderr).toContain('may not apply blueprints (their deploy commands run on the control plane); an admin of the control plane can')
    // reading its own environment works
    await must(['app', 'list', ...STAGING], {token: viewer})
    const prod = await relctl(['app', 'list', ...PROD], {token: viewer})
    expect(prod.code, String(prod)).toBe(7)
  })

  it('listings show what the grants reach: the projects and environments a token may read', async () => {
    const viewer = await createToken('staging-eyes', ['viewer:sim-app/staging'])
    expect((await must(['project', 'list', '--json'], {token: viewer})).json().map((project: {name: string}) => project.name)).toEqual(['sim-app'])
    expect((await must(['env', 'list', '-p', 'sim-app', '--json'], {token: viewer})).json().map((environment: {name: string}) => environment.name)).toEqual(['staging'])
    const admin = (await must(['env', 'list', '-p', 'sim-app', '--json'])).json()
    expect(admin.map((environment: {name: string}) => environment.name)).toEqual(['staging', 'prod'])
  })

  it('X-Relctl-Actor names nobody: a release records the token that triggered it', async () => {
    const ci = await createToken('ci-prod', ['deployer:sim-app/prod'])
    const response = await fetch(`${server.url}/v1/projects/sim-app/environments/prod/releases`, {
      method: 'POST',
      headers: {authorization: `Bearer ${ci}`, 'content-type': 'application/json', 'x-relctl-actor': 'somebody-else'},
      body: JSON.stringify({type: 'selective', resources: [{name: 'api'}]}),
    })
    expect(response.status).toBe(201)
    const {release} = await response.json()
    expect(release.triggeredBy).toBe('ci-prod')
    await waitForRelease(release.id, ['succeeded'])
  })
})

describe('the audit log', () => {
  it('audit list shows who did what, where, from which address and how it ended, refusals included; it filters by scope, actor and time', async () => {
    const ci = await createToken('audited', ['deployer:sim-app/staging'])
    await must(['app', 'set', 'api', '--version', '1.2.3', ...STAGING], {token: ci})
    const refused = await relctl(['release', 'trigger', '--type', 'full', ...PROD], {token: ci})
    expect(refused.code).toBe(7)
    const unauthenticated = await relctl(['pause', ...STAGING], {token: 'relctl_wrong'})
    expect(unauthenticated.code).toBe(7)

    const mine = (await must(['audit', 'list', '--actor', 'audited', '--json'])).json()
    expect(mine).toMatchObject([
      {actor: 'audited', action: 'release.trigger', method: 'POST', project: 'sim-app', environment: 'prod', status: 403, outcome: 'denied', address: '127.0.0.1'},
      {actor: 'audited', action: 'app.set', method: 'PUT', project: 'sim-app', environment: 'staging', target: 'app api', status: 200, outcome: 'succeeded', detail: null},
    ])
    expect(mine[0].detail).toBe('forbidden: token audited (deployer on sim-app/staging) may not trigger releases; a deployer of sim-app/prod can')

    const staging = (await must(['audit', 'list', ...STAGING, '--since', '1h', '--json'])).json()
    expect(staging.every((entry: {project: string; environment: string}) => entry.project === 'sim-app' && entry.environment === 'staging')).toBe(true)
    expect(staging.find((entry: {outcome: string}) => entry.outcome === 'unauthenticated')).toMatchObject({actor: null, action: 'pause', status: 401})
    expect((await must(['audit', 'list', '--since', '1h', '--json'])).json().length).toBeGreaterThan(staging.length)

    const table = await must(['audit', 'list', '--actor', 'audited', '--limit', '1'])
    expect(table.stdout).toMatch(/^AT +ACTOR +ACTION +SCOPE +TARGET +OUTCOME +FROM +DETAIL$/m)
    expect(table.stdout).toMatch(/^\S+Z +audited +release\.trigger +sim-app\/prod +- +denied \(403\) +127\.0\.0\.1 +forbidden: token audited/m)
    expect(table.stdout.trim().split('\n')).toHaveLength(2)

    // Reading it takes an admin of the scope.
    const refusedRead = await relctl(['audit', 'list', ...STAGING], {token: ci})
    expect(refusedRead.code, String(refusedRead)).toBe(7)
    expect(refusedRead.stderr).toContain('may not read the audit log; an admin of sim-app/staging can')
  })
})

describe('secrets stay secret', () => {
  it('no token ever appears in the server log, a task log or the audit log', async () => {
    const dir = join(tempDir('relctl-e2e-leak-'), 'leak-check')
    mkdirSync(dir)
    // The deploy prints its whole environment, the way a careless script would.
    writeFileSync(join(dir, 'relctl.yaml'), 'project: leak-check\nresources:\n  app:\n    driver: exec\n    exec:\n      deploy: env\nenvironments:\n  prod: {}\n')
    await must(['project', 'apply', '-f', join(dir, 'relctl.yaml')])
    const deployer = await createToken('leak-deployer', ['deployer:leak-check'])
    const rotated = (await must(['token', 'rotate', 'leak-deployer', '--json'])).json().token as string
    await relctl(['whoami'], {token: deployer}) // refused: rotated away
    const triggered = await must(['release', 'trigger', '--type', 'launch', '-p', 'leak-check', '-e', 'prod', '--wait', '--timeout', '60s', '--json'], {token: rotated})
    const id = triggered.json().id as number
    const logs = (await must(['release', 'logs', String(id), '--json'])).stdout
    expect(logs).toContain('RELCTL_RESOURCE=app')
    const audit = (await must(['audit', 'list', '--limit', '1000', '--json'])).stdout
    // Not these secrets, nor any other this file made: nothing shaped like a token.
    for (const secret of [server.token, deployer, rotated]) {
      expect(server.stderr(), 'server log').not.toContain(secret)
      expect(logs, 'task log').not.toContain(secret)
      expect(audit, 'audit log').not.toContain(secret)
    }
    for (const [what, text] of [['server log', server.stderr()], ['task log', logs], ['audit log', audit]]) expect(text, what).not.toMatch(/relctl_[0-9a-f]{64}/)
    // The server log did log the requests (at trace level), with their headers' owners' names at most.
    expect(server.stderr()).toContain('"msg":"incoming request"')
  })
})
