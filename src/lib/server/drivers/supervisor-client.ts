// The control plane's side of the deploy supervisor (supervisor.ts): forks it, hands it commands and
// hears their output and exit. If the supervisor dies, the commands it ran fail with a clear error (and
// their process groups are killed from here), and the next command starts a new supervisor.
import {type ChildProcess, fork} from 'node:child_process'
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import type {OutputLine} from './output-limits.js'
import type {FromSupervisor, ToSupervisor} from './supervisor-protocol.js'

export interface CommandSpec {
  command: string
  cwd: string
  /** the command's whole environment, as the caller computed it */
  env: Record<string, string | undefined>
}

export type CommandExit = {code: number | null; signal: string | null; error?: string}

export interface RunningCommand {
  /** the process group, once the supervisor reported it */
  pid(): number | undefined
  /** SIGTERM to the process group, SIGKILL after the supervisor's grace */
  stop(): void
  exited: Promise<CommandExit>
}

interface Pending {
  pid?: number
  onLine: (line: OutputLine) => void
  resolve: (exit: CommandExit) => void
}

const PREVIOUS_SUPERVISOR_WAIT_MS = 30_000
const POLL_MS = 50

/** The compiled supervisor script. Tests run this module from src/ (TypeScript), so they use dist's copy. */
function supervisorScript(): string {
  const beside = fileURLToPath(new URL('./supervisor.js', import.meta.url))
  if (existsSync(beside) || !import.meta.url.endsWith('.ts')) return beside
  return beside.replace(/\/src\/lib\/server\/drivers\/supervisor\.js$/, '/dist/lib/server/drivers/supervisor.js')
}

export class DeploySupervisor {
  private child: ChildProcess | null = null
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private pidFile: string | null = null
  private closing = false

  /**
   * Starts the supervisor for a control plane whose data dir keeps its pid. A supervisor left by a
   * previous control plane on that data dir is still stopping the deploys it held: wait until it has
   * exited, so that no new deploy of a resource overlaps an old one.
   */
  async start(options: {pidFile: string; log: {warn(object: object, message?: string): void}}): Promise<void> {
    this.pidFile = options.pidFile
    await waitForPreviousSupervisor(options.pidFile, (pid) => options.log.warn({pid}, 'waiting for the deploy supervisor of the previous control plane to stop its deploys'))
    this.ensureChild()
  }

  run(spec: CommandSpec, onLine: (line: OutputLine) => void): RunningCommand {
    let child: ChildProcess
    try {
      child = this.ensureChild()
    } catch (error) {
      return {pid: () => undefined, stop() {}, exited: Promise.resolve({code: null, signal: null, error: (error as Error).message})}
    }
    const id = this.nextId++
    let pending!: Pending
    const exited = new Promise<CommandExit>((resolve) => {
      pending = {onLine, resolve}
    })
    this.pending.set(id, pending)
    this.holdOpen(true)
    this.send(child, {type: 'spawn', id, ...spec})
    return {
      pid: () => pending.pid,
      stop: () => {
        if (this.pending.has(id) && this.child === child) this.send(child, {type: 'stop', id})
      },
      exited,
    }
  }

  /** Closes the channel: the supervisor stops whatever still runs and exits; resolves when it has. */
  async close(): Promise<void> {
    const child = this.child
    if (!child) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.ref() // an idle supervisor is unref'd; this wait must keep the process alive
    this.closing = true
    if (child.connected) child.disconnect()
    await exited
    this.closing = false
  }

  private ensureChild(): ChildProcess {
    if (this.child) return this.child
    const script = supervisorScript()
    if (!existsSync(script)) throw new Error(`the deploy supervisor's script ${script} is missing; build relctl (npm run build)`)
    // Its own process group: a Ctrl+C meant for the control plane must not kill the deploys' keeper.
    // No stdout: that is the control plane's (server start --json); its stderr is for a crash report.
    // V8 without its helper threads: fewer threads of it on other cores for each fork to reach. In nine
    // alternating pairs of 1,000 spawns it used less CPU per spawn in seven (median 1.26 against 1.39 ms).
    const child = fork(script, [], {detached: true, execArgv: ['--single-threaded'], stdio: ['ignore', 'ignore', 'inherit', 'ipc']})
    this.child = child
    if (this.pidFile && child.pid !== undefined) writeFileSync(this.pidFile, String(child.pid))
    child.on('message', (message: FromSupervisor) => this.receive(message))
    child.once('exit', (code, signal) => this.lost(child, code, signal))
    child.on('error', () => {
      // 'exit' follows and fails what it ran
    })
    this.holdOpen(this.pending.size > 0)
    return child
  }

  private send(child: ChildProcess, message: ToSupervisor) {
    if (child.connected) child.send(message)
  }

  private receive(message: FromSupervisor) {
    const pending = this.pending.get(message.id)
    if (!pending) return
    if (message.type === 'started') pending.pid = message.pid
    else if (message.type === 'output') for (const line of message.lines) pending.onLine(line)
    else {
      this.pending.delete(message.id)
      this.holdOpen(this.pending.size > 0)
      pending.resolve(message.error === undefined ? {code: message.code, signal: message.signal} : message)
    }
  }

  /** The supervisor exited: fail what it ran, stop those groups from here, and start afresh next time. */
  private lost(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null) {
    if (this.child !== child) return
    this.child = null
    if (this.pidFile) rmSync(this.pidFile, {force: true})
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`
    const error = this.closing
      ? 'the control plane is shutting down: the deploy supervisor stopped this command\'s processes'
      : `the deploy supervisor (pid ${child.pid}) ${how}; relctl stopped this command's processes`
    for (const [id, pending] of this.pending) {
      this.pending.delete(id)
      if (pending.pid !== undefined) killGroup(pending.pid)
      pending.resolve({code: null, signal: null, error})
    }
  }

  /** While commands run, the supervisor keeps this process alive; idle, it does not hold it open. */
  private holdOpen(hold: boolean) {
    const child = this.child
    if (!child) return
    const channel = child.channel as {ref(): void; unref(): void} | undefined
    if (hold) {
      child.ref()
      channel?.ref()
    } else {
      child.unref()
      channel?.unref()
    }
  }
}

function killGroup(pid: number) {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

function isSupervisor(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('supervisor.js')
  } catch {
    return false
  }
}

async function waitForPreviousSupervisor(pidFile: string, onWait: (pid: number) => void): Promise<void> {
  let pid: number
  try {
    pid = Number(readFileSync(pidFile, 'utf8'))
  } catch {
    return
  }
  const deadline = Date.now() + PREVIOUS_SUPERVISOR_WAIT_MS
  if (pid > 0 && isSupervisor(pid)) onWait(pid)
  while (pid > 0 && isSupervisor(pid)) {
    if (Date.now() > deadline) {
      throw new Error(`the deploy supervisor of a previous control plane (pid ${pid}) is still stopping its deploys; wait for it to exit or kill its process groups, then start again`)
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  rmSync(pidFile, {force: true})
}

/** The one supervisor of this control plane process. */
export const deploySupervisor = new DeploySupervisor()
