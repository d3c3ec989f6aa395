// The control plane keeps its secrets: deploys see a documented environment and never the token, the
// data dir and its files are private, the token can come from a file, and the data-dir lock is one the
// kernel drops when the server dies.
import {chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {must, relctl, startServer, tempDir} from './harness.js'

const SERVER_TOKEN = 'rc_e2e-server-token-never-in-a-deploy'
const SCOPE = ['-p', 'secrets', '-e', 'staging']

/** A blueprint whose exec resources print their whole environment, one with its own passEnv. */
function envBlueprint(): string {
  const dir = tempDir('relctl-e2e-blueprint-')
  const file = join(dir, 'relctl.yaml')
  writeFileSync(
    file,
    `project: secrets
resources:
  plain:
    driver: exec
    exec:
      deploy: env
  named:
    driver: exec
    exec:
      deploy: env
      passEnv: [BLUEPRINT_ONLY]
environments:
  staging: {}
`,
  )
  return file
}

/** The environment each resource's deploy printed, read from the release's log. */
async function printedEnvironments(id: number): Promise<Record<string, Record<string, string>>> {
  const lines: {resource: string; stream: string; line: string}[] = (await must(['release', 'logs', String(id), '--json'])).json()
  const byResource: Record<string, Record<string, string>> = {}
  for (const {resource, stream, line} of lines) {
    if (stream !== 'stdout' || !line.includes('=')) continue
    byResource[resource] ??= {}
    byResource[resource][line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
  }
  return byResource
}

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8)
}

/** `relctl server start` that is expected to refuse: its exit code and its JSON error. */
async function refusedStart(args: string[], env: Record<string, string | undefined> = {}) {
  const result = await relctl(['server', 'start', '--port', '0', '--data-dir', join(tempDir('relctl-e2e-data-'), 'data'), '--json', ...args], {
    env: {RELCTL_CONFIG_DIR: tempDir(), ...env},
    timeoutMs: 20_000,
  })
  return {code: result.code, error: result.code === 0 ? null : result.json().error, output: String(result)}
}

describe('the deploy environment', () => {
  it("has PATH and the task variables, not the server's token or its other variables, plus what --pass-env and exec.passEnv name", async () => {
    const server = await startServer({
      env: {RELCTL_SERVER_TOKEN: SERVER_TOKEN, FOO: 'foo-not-passed', BAR: 'bar-passed', BLUEPRINT_ONLY: 'named-by-the-blueprint'},
      args: ['--pass-env', 'BAR'],
    })
    expect(server.token).toBe(SERVER_TOKEN)
    await must(['project', 'apply', '-f', envBlueprint()])
    const release = (await must(['release', 'trigger', '--type', 'launch', ...SCOPE, '--wait', '--timeout', '60s', '--json'])).json()
    expect(release.status).toBe('succeeded')
    const id: number = release.id
    const {plain, named} = await printedEnvironments(id)

    expect(plain.PATH).toBeTruthy()
    expect(plain).toMatchObject({RELCTL_PROJECT: 'secrets', RELCTL_ENVIRONMENT: 'staging', RELCTL_RESOURCE: 'plain', RELCTL_ACTION: 'create', RELCTL_RELEASE_ID: String(id)})
    expect(plain.BAR).toBe('bar-passed')
    for (const hidden of ['RELCTL_SERVER_TOKEN', 'FOO', 'BLUEPRINT_ONLY', 'RELCTL_CONFIG_DIR']) expect(plain, hidden).not.toHaveProperty(hidden)

    expect(named).toMatchObject({RELCTL_RESOURCE: 'named', BLUEPRINT_ONLY: 'named-by-the-blueprint', BAR: 'bar-passed'})
    expect(named).not.toHaveProperty('FOO')
    const log = (await must(['release', 'logs', String(id)])).stdout
    expect(log).not.toContain(SERVER_TOKEN)
  })

  it('refuses to start when --pass-env or RELCTL_PASS_ENV names the token, or a variable that holds it', async () => {
    const named = await refusedStart(['--pass-env', 'RELCTL_SERVER_TOKEN'], {RELCTL_SERVER_TOKEN: SERVER_TOKEN})
    expect(named.code, named.output).toBe(2)
    expect(named.error.message).toBe("--pass-env RELCTL_SERVER_TOKEN holds the control plane's token; it is never passed to deploys")

    const fromEnv = await refusedStart([], {RELCTL_PASS_ENV: 'PATH,RELCTL_TOKEN'})
    expect(fromEnv.code, fromEnv.output).toBe(2)
    expect(fromEnv.error.message).toContain('RELCTL_TOKEN holds the control plane\'s token')

    const copy = await refusedStart(['--pass-env', 'TOKEN_COPY'], {RELCTL_SERVER_TOKEN: SERVER_TOKEN, TOKEN_COPY: SERVER_TOKEN})
    expect(copy.code, copy.output).toBe(2)
    expect(copy.error.message).toContain('--pass-env TOKEN_COPY: it holds the control plane\'s token')

    const invalid = await refusedStart(['--pass-env', 'NOT-A-NAME'])
    expect(invalid.code, invalid.output).toBe(2)
    expect(invalid.error.message).toContain('"NOT-A-NAME" is not a variable name')
  })
})

describe('files and permissions', () => {
  it('makes a pre-existing 0755 data dir 0700, and the database, -wal, -shm, lock and pid files 0600; an older version\'s token file becomes the admin token and goes', async () => {
    const dataDir = join(tempDir('relctl-e2e-data-'), 'data')
    mkdirSync(dataDir, {mode: 0o755})
    chmodSync(dataDir, 0o755)
    const old = 'rc_kept-from-an-older-start'
    writeFileSync(join(dataDir, 'token'), `${old}\n`, {mode: 0o644})
    chmodSync(join(dataDir, 'token'), 0o644)
    const server = await startServer({dataDir})
    expect(server.info).toMatchObject({tokenSource: 'data-dir', token: null})
    expect(server.stderr()).toContain("the data dir's token file became the admin token (kept as a hash in the database) and was removed")
    expect(existsSync(join(dataDir, 'token'))).toBe(false)
    const as = {token: old}
    expect((await must(['whoami', '--json'], as)).json()).toMatchObject({name: 'admin', grants: [{role: 'admin', project: null, environment: null}]})
    await must(['project', 'apply', '-f', envBlueprint()], as)
    await must(['release', 'trigger', '--type', 'launch', ...SCOPE, '--wait', '--timeout', '60s'], as)

    expect(mode(dataDir)).toBe('700')
    for (const file of ['relctl.db', 'relctl.db-wal', 'relctl.db-shm', 'relctl.lock', 'server.pid']) expect(mode(join(dataDir, file)), file).toBe('600')
    await server.stop()
    // The database keeps only its hash.
    expect(readFileSync(join(dataDir, 'relctl.db')).includes(old)).toBe(false)
  })
})

describe('the server token', () => {
  it('--token-file: the server takes the first line of the file, and the token is not in its command line', async () => {
    const file = join(tempDir('relctl-e2e-token-'), 'token')
    const token = 'rc_e2e-from-a-file'
    writeFileSync(file, `${token}\nsecond line is ignored\n`)
    chmodSync(file, 0o640)
    const server = await startServer({args: ['--token-file', file]})
    expect(server.info).toMatchObject({token: null, tokenSource: 'file'})
    expect(server.stderr()).toContain(`Warning: the token file ${file} can be read by other users; chmod 600 it`)

    const cmdline = readFileSync(`/proc/${server.process.pid}/cmdline`, 'utf8')
    expect(cmdline).toContain('--token-file')
    expect(cmdline).not.toContain(token)
    const accepted = await fetch(`${server.url}/v1/projects`, {headers: {authorization: `Bearer ${token}`}})
    expect(accepted.status).toBe(200)
    const refused = await fetch(`${server.url}/v1/projects`, {headers: {authorization: 'Bearer rc_wrong'}})
    expect(refused.status).toBe(401)
    await server.stop()
  })

  it('--token-file: an empty or missing file, or both --token and --token-file, is refused with exit 2', async () => {
    const dir = tempDir('relctl-e2e-token-')
    writeFileSync(join(dir, 'empty'), '\n')
    const empty = await refusedStart(['--token-file', join(dir, 'empty')])
    expect(empty.code, empty.output).toBe(2)
    expect(empty.error).toMatchObject({message: `the token file ${join(dir, 'empty')} is empty`, hint: 'write the token on its first line'})

    const missing = await refusedStart(['--token-file', join(dir, 'missing')])
    expect(missing.code, missing.output).toBe(2)
    expect(missing.error.message).toBe(`cannot read the token file ${join(dir, 'missing')}: ENOENT`)

    writeFileSync(join(dir, 'token'), 'rc_file\n', {mode: 0o600})
    const both = await refusedStart(['--token-file', join(dir, 'token')], {RELCTL_SERVER_TOKEN: SERVER_TOKEN})
    expect(both.code, both.output).toBe(2)
    expect(both.error.message).toBe('both --token (or RELCTL_SERVER_TOKEN) and --token-file give the token')
    expect(both.output).not.toContain(SERVER_TOKEN)
  })

  it('--help says that --token shows in the process list', async () => {
    const help = await must(['server', 'start', '--help'])
    expect(help.stdout).toContain('--token-file')
    // Help wraps at the terminal's width: compare the words.
    expect(help.stdout.replaceAll(/\s+/g, ' ')).toContain('Shows in the process list: prefer RELCTL_SERVER_TOKEN or --token-file')
  })
})

describe('one control plane per data dir', () => {
  it('starts again at once after kill -9, even when the old pid file names a live process; a second server is refused', async () => {
    const dataDir = tempDir('relctl-e2e-data-')
    const first = await startServer({dataDir})
    const killed = await first.stop('SIGKILL')
    expect(killed.signal).toBe('SIGKILL')
    // The pid was reused: the stale pid file now names a live, unrelated process (this test runner).
    writeFileSync(join(dataDir, 'server.pid'), `${process.pid}\n`)

    const second = await startServer({dataDir})
    expect(second.info).toMatchObject({tokenSource: 'stored', token: null})
    await must(['project', 'list'], {server: second})

    const concurrent = await relctl(['server', 'start', '--port', '0', '--data-dir', dataDir, '--json'], {env: {RELCTL_CONFIG_DIR: tempDir()}, timeoutMs: 20_000})
    expect(concurrent.code, String(concurrent)).toBe(2)
    expect(concurrent.json().error).toMatchObject({
      message: `another control plane (pid ${second.process.pid}) is using ${dataDir}`,
      hint: 'stop it or pass another --data-dir',
    })
    await second.stop()
  })
})
