// Authentication, /healthz, and profiles: login / whoami / logout with a temporary RELCTL_CONFIG_DIR;
// environment variables win over the profile, flags win over both.
import {existsSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {closedPort, relctl, type Server, startServer, tempDir} from './harness.js'

const TOKEN = 'e2e-s3cret-token'
let server: Server

beforeAll(async () => {
  server = await startServer({token: TOKEN})
})

describe('authentication', () => {
  it('the server started with the given token and wrote the default profile of its own config dir', () => {
    expect(server.token).toBe(TOKEN)
    expect(server.info).toMatchObject({tokenSource: 'given', profileWritten: true, dataDir: server.dataDir})
    const profile = JSON.parse(readFileSync(join(server.configDir, 'profiles.json'), 'utf8'))
    expect(profile.profiles.default).toEqual({url: server.url, token: TOKEN})
  })

  it('a wrong or missing token is exit 7 with a hint', async () => {
    const [wrongFlag, wrongEnv, missing] = await Promise.all([
      relctl(['whoami', '--token', 'wrong']),
      relctl(['project', 'list', '--json'], {token: 'wrong'}),
      relctl(['project', 'list'], {env: {RELCTL_TOKEN: undefined, RELCTL_CONFIG_DIR: tempDir()}}),
    ])
    expect(wrongFlag.code, String(wrongFlag)).toBe(7)
    expect(wrongFlag.stderr).toContain('the token was not accepted')
    expect(wrongFlag.stderr).toContain('Hint: it is unknown, or was revoked or rotated: log in with a current one (relctl login)')
    expect(wrongEnv.code, String(wrongEnv)).toBe(7)
    expect(wrongEnv.json()).toMatchObject({exitCode: 7, error: {code: 'unauthorized'}})
    expect(missing.code, String(missing)).toBe(7)
    expect(missing.stderr).toContain('this control plane needs a bearer token')
    expect(missing.stderr).toContain('Hint: log in with: relctl login --url <url> (the first token is printed by relctl server start)')
  })

  it('/healthz answers without a token; the API does not', async () => {
    const health = await fetch(`${server.url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({status: 'ok', version: expect.any(String)})
    const projects = await fetch(`${server.url}/v1/projects`)
    expect(projects.status).toBe(401)
    expect(await projects.json()).toMatchObject({error: {code: 'unauthorized'}})
    const wrong = await fetch(`${server.url}/v1/projects`, {headers: {authorization: 'Bearer nope'}})
    expect(wrong.status).toBe(401)
    const right = await fetch(`${server.url}/v1/projects`, {headers: {authorization: `Bearer ${TOKEN}`}})
    expect(right.status).toBe(200)
  })
})

describe('login, whoami, logout', () => {
  let configDir: string
  /** The CLI with only this config dir: no RELCTL_URL / RELCTL_TOKEN from the harness. */
  const cli = (args: string[], env: Record<string, string | undefined> = {}) =>
    relctl(args, {env: {RELCTL_CONFIG_DIR: configDir, RELCTL_URL: undefined, RELCTL_TOKEN: undefined, ...env}})

  beforeAll(() => {
    configDir = tempDir('relctl-e2e-profile-')
  })

  it('login checks the token before saving anything', async () => {
    const result = await cli(['login', '--url', server.url, '--token', 'wrong'])
    expect(result.code, String(result)).toBe(7)
    expect(existsSync(join(configDir, 'profiles.json')) && JSON.parse(readFileSync(join(configDir, 'profiles.json'), 'utf8')).profiles.default).toBeFalsy()
  })

  it('login saves the profile in a file of mode 0600; whoami uses it', async () => {
    const login = await cli(['login', '--url', server.url, '--token', TOKEN])
    expect(login.code, String(login)).toBe(0)
    const file = join(configDir, 'profiles.json')
    expect(login.stdout).toContain(`Logged in to ${server.url}`)
    expect(login.stdout).toContain(`as token admin, profile "default"; saved in ${file}`)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({profiles: {default: {url: server.url, token: TOKEN}}})

    const whoami = await cli(['whoami'])
    expect(whoami.code, String(whoami)).toBe(0)
    expect(whoami.stdout).toMatch(new RegExp(`^url: +${server.url.replaceAll('.', '\\.')}$`, 'm'))
    expect(whoami.stdout).toMatch(/^profile: +default$/m)
    expect(whoami.stdout).toMatch(/^database: +sqlite$/m)
    // Who is asking is the token, whatever RELCTL_ACTOR (which older versions sent) says.
    const json = (await cli(['whoami', '--json'], {RELCTL_ACTOR: 'e2e-actor'})).json()
    expect(json).toEqual({
      url: server.url,
      profile: 'default',
      name: 'admin',
      grants: [{role: 'admin', project: null, environment: null}],
      createdAt: expect.any(String),
      expiresAt: null,
      lastUsedAt: expect.any(String),
      serverVersion: expect.any(String),
      database: 'sqlite',
    })
    expect(whoami.stdout).toMatch(/^token: +admin$/m)
    expect(whoami.stdout).toMatch(/^grants: +admin on the control plane$/m)
    expect(whoami.stdout).toMatch(/^expires: +never$/m)

    const named = await cli(['login', '--url', server.url, '--token', TOKEN, '--profile', 'other', '--json'])
    expect(named.code, String(named)).toBe(0)
    expect(named.json()).toMatchObject({profile: 'other', url: server.url, configFile: file})
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const viaEnv = (await cli(['whoami', '--json'], {RELCTL_PROFILE: 'other'})).json()
    expect(viaEnv.profile).toBe('other')
  })

  it('environment variables win over the profile, flags win over both', async () => {
    const closed = `http://127.0.0.1:${await closedPort()}`
    // Token: env over profile...
    const envToken = await cli(['whoami'], {RELCTL_TOKEN: 'wrong'})
    expect(envToken.code, String(envToken)).toBe(7)
    // ...and the flag over env.
    const flagToken = await cli(['whoami', '--token', TOKEN], {RELCTL_TOKEN: 'wrong'})
    expect(flagToken.code, String(flagToken)).toBe(0)
    // URL: env over profile...
    const envUrl = await cli(['whoami'], {RELCTL_URL: closed})
    expect(envUrl.code, String(envUrl)).toBe(8)
    expect(envUrl.stderr).toContain(`cannot reach the control plane at ${closed}`)
    // ...and the flag over env.
    const flagUrl = await cli(['whoami', '--url', server.url, '--json'], {RELCTL_URL: closed})
    expect(flagUrl.code, String(flagUrl)).toBe(0)
    expect(flagUrl.json().url).toBe(server.url)
    // The profile's URL with a token from the environment.
    const envOnlyToken = await cli(['whoami', '--json'], {RELCTL_TOKEN: TOKEN})
    expect(envOnlyToken.code, String(envOnlyToken)).toBe(0)
    // An unknown profile without --url is a usage error that says how to create it.
    const unknown = await cli(['whoami', '--profile', 'nope'])
    expect(unknown.code, String(unknown)).toBe(2)
    expect(unknown.stderr).toContain('profile "nope" does not exist')
    expect(unknown.stderr).toContain('relctl login')
  })

  it('logout forgets the profile', async () => {
    const logout = await cli(['logout'])
    expect(logout.code, String(logout)).toBe(0)
    expect(logout.stdout).toContain('Profile "default" removed.')
    const file = join(configDir, 'profiles.json')
    expect(JSON.parse(readFileSync(file, 'utf8')).profiles).toEqual({other: {url: server.url, token: TOKEN}})
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const again = await cli(['logout'])
    expect(again.code, String(again)).toBe(0)
    expect(again.stdout).toContain('There was no profile "default"; nothing to do.')
    // Without the profile, the URL alone is not enough: no token.
    const whoami = await cli(['whoami'], {RELCTL_URL: server.url})
    expect(whoami.code, String(whoami)).toBe(7)
  })
})
