// The CLI in every terminal: control characters from the server shown escaped (raw under --raw and
// --json), plain progress on a 0x0 pseudo-terminal, SIGINT/SIGTERM ending a wait (130/143) while the
// release goes on, stderr that still tells the failure under --json, a wait nothing can finish, and
// relctl login asking for the token without echo.
import {type ChildProcess, spawn} from 'node:child_process'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {api, BIN, copyFixture, must, relctl, ROOT, type Server, startServer, tempDir, waitFor, waitForRelease} from './harness.js'

const SCOPE = ['-p', 'term-app', '-e', 'staging']
const FAST = ['--interval', '200ms', '--timeout', '60s']
const ESC = '\u001B'
const LOG_LINE = `colour\tcheck ${ESC}[2J${ESC}[31mred${ESC}[0m`
const LOG_LINE_ESCAPED = 'colour\tcheck \\x1b[2J\\x1b[31mred\\x1b[0m'
/** More than any plain progress of these short waits; the spinner bug wrote megabytes. */
const OUTPUT_BOUND = 100 * 1024

let server: Server
let state: string

beforeAll(async () => {
  state = tempDir('relctl-e2e-state-')
  server = await startServer({env: {RELCTL_TEST_STATE: state}})
  await must(['project', 'apply', '-f', copyFixture('terminal').file])
})

/** Every CLI this file starts by hand, killed after the file should a test fail before it ends. */
const started: Running[] = []
afterAll(() => {
  for (const running of started) if (running.child.exitCode === null && running.child.signalCode === null) running.kill()
})

/** A CLI run whose output is read while it runs, to signal it at the right moment. */
interface Running {
  child: ChildProcess
  /** SIGKILL for a CLI that hangs */
  kill(): void
  output(): string
  exited: Promise<number | null>
}

function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('RELCTL_') && key !== 'CI' && key !== 'DEBUG') env[key] = value
  return {...env, NO_COLOR: '1', RELCTL_URL: server.url, RELCTL_TOKEN: server.token, RELCTL_CONFIG_DIR: server.configDir}
}

/** Collects a child's stdout and stderr as they come. */
function watchOutput(child: ChildProcess) {
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  return {child, kill: () => child.kill('SIGKILL'), output: () => stdout + stderr, stdout: () => stdout, stderr: () => stderr, exited}
}

/** Starts `node bin/run.js ARGS` with CI unset, stdout and stderr piped. */
function startCli(args: string[]) {
  const running = watchOutput(spawn(process.execPath, [BIN, ...args], {cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe']}))
  started.push(running)
  return running
}

/**
 * Runs the CLI under a pseudo-terminal (util-linux `script`) of the given size, by default 0 rows and 0
 * columns as some CI runners make, with CI unset; the shell writes its pid to a file and execs the CLI.
 */
function startInPty(args: string[], size = {rows: 0, cols: 0}, options: {env?: NodeJS.ProcessEnv; typed?: boolean} = {}) {
  const pidFile = join(tempDir('relctl-e2e-pty-'), 'cli.pid')
  const quoted = [process.execPath, BIN, ...args].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ')
  const command = `stty rows ${size.rows} cols ${size.cols}; echo $$ > '${pidFile}'; exec ${quoted}`
  // typed: what the test writes to script's stdin reaches the CLI as typed on its terminal
  const child = spawn('script', ['-qfec', command, '/dev/null'], {cwd: ROOT, env: options.env ?? cliEnv(), stdio: [options.typed ? 'pipe' : 'ignore', 'pipe', 'pipe']})
  const cliPid = () => Number(readFileSync(pidFile, 'utf8'))
  const kill = () => {
    // script does not pass SIGKILL on: end the CLI under it first.
    try {
      process.kill(cliPid(), 'SIGKILL')
    } catch {
      // not started or already gone
    }
    child.kill('SIGKILL')
  }
  const running = {...watchOutput(child), kill, cliPid}
  started.push(running)
  return running
}

/** Resolves with the exit code, or kills the process and fails when it does not exit within the bound. */
async function exitWithin(running: Running, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), ms)))
  const result = await Promise.race([running.exited, bound])
  clearTimeout(timer)
  if (result === 'hung') {
    running.kill()
    throw new Error(`the CLI did not exit within ${ms}ms; output so far (${running.output().length} chars):\n${running.output().slice(-2000)}`)
  }
  return result
}

async function slowRelease(version: string): Promise<number> {
  await must(['app', 'set', 'app', '--version', version, ...SCOPE])
  return Number((await must(['release', 'sync', 'app', ...SCOPE])).stdout.trim())
}

async function finish(id: number) {
  writeFileSync(join(state, `open-${id}`), '')
  await waitForRelease(id, ['succeeded'], {timeoutMs: 30_000})
}

describe('control characters from the server', () => {
  // A version cannot hold control characters (the API refuses them); comments and log lines can.
  const version = '1.1.0'
  const comment = `ship it${ESC}]0;owned${ESC}\\ now\u009B31m`
  let id: number

  beforeAll(async () => {
    await must(['app', 'set', 'app', '--version', version, ...SCOPE])
    const sync = await must(['release', 'sync', 'app', ...SCOPE, '--comment', comment, '--wait', ...FAST])
    expect(sync.stderr).not.toContain(ESC)
    ;[{id}] = await api('/v1/releases?project=term-app&environment=staging&limit=1')
  }, 120_000)

  it('a version holding an ESC sequence is refused (exit 2), and the refusal prints no raw ESC', async () => {
    const refused = await relctl(['app', 'set', 'app', '--version', `1.2.0${ESC}[2J`, ...SCOPE])
    expect(refused.code, String(refused)).toBe(2)
    expect(refused.stderr).toContain('not a valid version')
    expect(refused.stdout + refused.stderr).not.toContain(ESC)
    const list = await must(['app', 'list', ...SCOPE, '--json'])
    expect(list.json().find((app: {name: string}) => app.name === 'app')).toMatchObject({desiredVersion: version, deployedVersion: version})
  })

  it('release show shows the comment escaped, C1 controls included; --json keeps it', async () => {
    const show = await must(['release', 'show', String(id)])
    expect(show.stdout).toContain('comment:    ship it\\x1b]0;owned\\x1b\\ now\\u009b31m')
    expect(show.stdout).not.toMatch(/[\u001B\u009B]/)
    expect((await must(['release', 'show', String(id), '--json'])).json().comment).toBe(comment)
  })

  it('release logs keeps tabs and escapes the rest; --raw and --json keep the line as written', async () => {
    const logs = await must(['release', 'logs', String(id)])
    expect(logs.stdout).toContain(LOG_LINE_ESCAPED)
    expect(logs.stdout).not.toContain(ESC)
    expect(logs.stderr).not.toContain(ESC)
    const raw = await must(['release', 'logs', String(id), '--raw'])
    expect(raw.stdout).toContain(LOG_LINE)
    const logsJson = await must(['release', 'logs', String(id), '--json'])
    expect(logsJson.json().map((line: {line: string}) => line.line)).toContain(LOG_LINE)
  })
})

describe('--json failures', () => {
  it('stdout is one JSON value with exitCode 3; stderr has the error, the failed task and its last log line', async () => {
    await must(['app', 'set', 'app', '--version', '2.0.0-bad', ...SCOPE])
    const result = await relctl(['release', 'sync', 'app', ...SCOPE, '--wait', ...FAST, '--json'])
    expect(result.code, String(result)).toBe(3)
    expect(result.json()).toMatchObject({exitCode: 3, error: {code: 'release_failed'}})
    expect(result.stderr).toMatch(/Error: Release \d+ failed/)
    expect(result.stderr).toMatch(/Task app \(update 2\.0\.0-bad\) failed/)
    expect(result.stderr).toContain('| last words of 2.0.0-bad')
    await must(['app', 'set', 'app', '--version', '2.0.1', ...SCOPE])
    await must(['release', 'sync', 'app', ...SCOPE, '--wait', ...FAST])
  })
})

describe('a 0x0 pseudo-terminal', () => {
  it('release sync --wait prints plain progress lines, bounded, and exits 0 when the release succeeds', async () => {
    await must(['app', 'set', 'app', '--version', '3.0.0', ...SCOPE])
    const running = startInPty(['release', 'sync', 'app', ...SCOPE, '--wait', ...FAST])
    const code = await exitWithin(running, 60_000)
    const output = running.output()
    expect(code, output).toBe(0)
    expect(output.length).toBeLessThan(OUTPUT_BOUND)
    expect(output).not.toContain(`${ESC}[?25l`) // no spinner
    expect(output).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] app: /m)
    expect(output).toMatch(/app\s+application\s+3\.0\.0\s+3\.0\.0\s+Synced\s+Healthy/)
  })

  it('SIGTERM while waiting on a long release exits 143 at once; the release goes on', async () => {
    await must(['app', 'set', 'app', '--version', '4.0.0-slow', ...SCOPE])
    const running = startInPty(['release', 'sync', 'app', ...SCOPE, '--wait', ...FAST])
    await waitFor(() => /release \d+ running/.test(running.output()) || /app: .*release \d+ running/.test(running.output()), {timeoutMs: 30_000, what: 'the wait to see the release run'})
    const [release] = await api('/v1/releases?project=term-app&environment=staging&limit=1')
    expect(release.status).toBe('running')
    process.kill(running.cliPid(), 'SIGTERM')
    const code = await exitWithin(running, 15_000)
    const output = running.output()
    expect(code, output).toBe(143)
    expect(output).toContain('terminated (SIGTERM): stopped waiting; the release goes on on the control plane')
    expect(output).toContain('wait again with: relctl release wait app -p term-app -e staging')
    expect(output.length).toBeLessThan(OUTPUT_BOUND)
    expect((await api(`/v1/releases/${release.id}`)).status).toBe('running')
    await finish(release.id)
  })
})

describe('interrupting a wait', () => {
  it('SIGINT on an 80x24 terminal stops the spinner and exits 130; the release goes on', async () => {
    await must(['app', 'set', 'app', '--version', '4.1.0-slow', ...SCOPE])
    const running = startInPty(['release', 'sync', 'app', ...SCOPE, '--wait', ...FAST], {rows: 24, cols: 80})
    await waitFor(() => /app: .*release \d+ running/.test(running.output()), {timeoutMs: 30_000, what: 'the wait to see the release run'})
    const [release] = await api('/v1/releases?project=term-app&environment=staging&limit=1')
    process.kill(running.cliPid(), 'SIGINT')
    const code = await exitWithin(running, 15_000)
    const output = running.output()
    expect(code, output).toBe(130)
    expect(output).toContain(`${ESC}[?25l`) // the spinner ran: it hides the cursor
    expect(output).toContain('interrupted (SIGINT): stopped waiting; the release goes on on the control plane')
    expect(output).toContain('wait again with: relctl release wait app -p term-app -e staging')
    expect((await api(`/v1/releases/${release.id}`)).status).toBe('running')
    await finish(release.id)
  })

  it('SIGINT during release trigger --wait --json: exit 130, an error object on stdout, the way back on stderr', async () => {
    await must(['app', 'set', 'app', '--version', '5.0.0-slow', ...SCOPE])
    const running = startCli(['release', 'trigger', '--resources', 'app', ...SCOPE, '--wait', ...FAST, '--json'])
    await waitFor(() => /release (\d+) running/.exec(running.stderr()), {timeoutMs: 30_000, what: 'the release to run'})
    const id = Number(/release (\d+) running/.exec(running.stderr())?.[1])
    running.child.kill('SIGINT')
    const code = await exitWithin(running, 15_000)
    expect(code, running.output()).toBe(130)
    expect(JSON.parse(running.stdout())).toMatchObject({exitCode: 130, error: {code: 'interrupted', hint: `wait again with: relctl release logs ${id} --follow`}})
    expect(running.stderr()).toContain('interrupted (SIGINT): stopped waiting; the release goes on')
    expect((await api(`/v1/releases/${id}`)).status).toBe('running')
    await finish(id)
  })

  it('SIGTERM during release logs --follow exits 143 and says how to follow again', async () => {
    const id = await slowRelease('6.0.0-slow')
    const running = startCli(['release', 'logs', String(id), '--follow'])
    await waitFor(() => running.stdout().includes('colour'), {timeoutMs: 30_000, what: 'the first log line'})
    running.child.kill('SIGTERM')
    const code = await exitWithin(running, 15_000)
    expect(code, running.output()).toBe(143)
    expect(running.stderr()).toContain(`wait again with: relctl release logs ${id} --follow`)
    await finish(id)
  })
})

describe('a wait that cannot finish', () => {
  const stuck = 'nothing is queued or running for never'
  const remedy = 'relctl release wait never -p term-app -e staging --sync, or relctl release sync never -p term-app -e staging'

  it('says at once that nothing is queued or running, and keeps waiting', async () => {
    const running = startCli(['release', 'wait', 'never', ...SCOPE, ...FAST])
    await waitFor(() => running.stderr().includes(stuck), {timeoutMs: 20_000, what: 'the note that nothing releases never'})
    expect(running.stderr()).toContain(remedy)
    expect(running.child.exitCode).toBeNull()
    running.child.kill('SIGTERM')
    expect(await exitWithin(running, 15_000)).toBe(143)
    expect(running.stderr().split(stuck)).toHaveLength(2) // said once
  })

  it('the timeout message repeats the reason and the remedy', async () => {
    const result = await relctl(['release', 'wait', 'never', ...SCOPE, '--interval', '200ms', '--timeout', '1s'])
    expect(result.code, String(result)).toBe(4)
    expect(result.stderr).toMatch(new RegExp(`Error: timed out after 1(\\.0)?s \\(${stuck}\\); current state:`))
    expect(result.stderr).toContain(`Hint: To release it now: ${remedy}`)
  })
})

describe('relctl login on a terminal', () => {
  it('asks for the token without echoing it, checks it, and saves the profile with mode 0600', async () => {
    const configDir = tempDir('relctl-e2e-login-')
    const env = {...cliEnv(), RELCTL_CONFIG_DIR: configDir}
    delete env.RELCTL_URL
    delete env.RELCTL_TOKEN
    const running = startInPty(['login', '--url', server.url, '--profile', 'typed'], {rows: 24, cols: 80}, {env, typed: true})
    await waitFor(() => running.output().includes(`Token for ${server.url}: `), {what: 'the token prompt'})
    running.child.stdin?.write(`${server.token}\r`)
    expect(await exitWithin(running, 30_000)).toBe(0)
    expect(running.output()).toContain(`Logged in to ${server.url}`)
    expect(running.output()).toContain('as token admin, profile "typed"')
    expect(running.output()).not.toContain(server.token)
    const file = join(configDir, 'profiles.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(file, 'utf8')).profiles.typed).toEqual({url: server.url, token: server.token})
  })

  it('without a terminal, reads the token from stdin; with nothing there, says what to do (exit 2)', async () => {
    const configDir = tempDir('relctl-e2e-login-')
    const piped = spawn(process.execPath, [BIN, 'login', '--url', server.url], {cwd: ROOT, env: {...cliEnv(), RELCTL_CONFIG_DIR: configDir}, stdio: ['pipe', 'pipe', 'pipe']})
    const output = watchOutput(piped)
    piped.stdin.end(`${server.token}\n`)
    expect(await output.exited, output.output()).toBe(0)
    expect(JSON.parse(readFileSync(join(configDir, 'profiles.json'), 'utf8')).profiles.default.token).toBe(server.token)
    const nothing = await relctl(['login', '--url', server.url], {env: {RELCTL_CONFIG_DIR: tempDir('relctl-e2e-login-')}})
    expect(nothing.code, String(nothing)).toBe(2)
    expect(nothing.stderr).toContain('Error: no token given')
    expect(nothing.stderr).toContain('Hint: type it at the prompt, pipe it in, or pass --token')
  })
})
