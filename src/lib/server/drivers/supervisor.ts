// The deploy supervisor: a small long-lived child of the control plane that runs every driver command.
// Each command runs as `/bin/sh -c` leading its own process group (most in a shell started ahead of
// need: shell-pool.ts); its output goes back to the control plane cut to the log limits
// (output-limits.ts), and its pipes are always drained so a deploy never blocks on a full pipe. When the channel to the control plane closes — the control plane exited or
// was killed, even by SIGKILL — the supervisor stops every process group it holds (SIGTERM, a short
// grace, SIGKILL) and exits only once they are gone, so a deploy never outlives its control plane.
import {type ChildProcess, spawn} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'

import {TaskOutput} from './output-limits.js'
import {ShellPool} from './shell-pool.js'
import type {FromSupervisor, ToSupervisor} from './supervisor-protocol.js'

/** a cancel or a timeout: SIGTERM, then SIGKILL after this long */
const STOP_GRACE_MS = 5000
/** the control plane is gone: SIGTERM, then SIGKILL after this long */
const ORPHAN_GRACE_MS = 2000
const GONE_POLL_MS = 50
/** how long to wait for killed groups to disappear before exiting anyway */
const GONE_WAIT_MS = 10_000

interface Task {
  child: ChildProcess
  pid: number | undefined
  killTimer?: NodeJS.Timeout
}

const tasks = new Map<number, Task>()

function send(message: FromSupervisor) {
  if (process.connected) process.send?.(message)
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals) {
  if (pid === undefined) return
  try {
    process.kill(-pid, signal)
  } catch {
    // the group has already exited
  }
}

/** True while some process of the group is alive (a zombie waiting for its parent counts as gone). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
  } catch {
    return false
  }
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      let stat: string
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      } catch {
        continue
      }
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true
    }
    return false
  } catch {
    return true // no /proc: trust kill(0)
  }
}

const shells = new ShellPool()

function spawnTask(message: Extract<ToSupervisor, {type: 'spawn'}>) {
  const child =
    shells.start(message.command, message.cwd, message.env) ??
    spawn('/bin/sh', ['-c', message.command], {cwd: message.cwd, env: message.env, detached: true, stdio: ['ignore', 'pipe', 'pipe']})
  const task: Task = {child, pid: child.pid}
  tasks.set(message.id, task)
  if (child.pid !== undefined) send({type: 'started', id: message.id, pid: child.pid})
  const output = new TaskOutput()
  const forward = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const lines = output.push(stream, chunk)
    if (lines.length > 0) send({type: 'output', id: message.id, lines})
  }
  child.stdout?.on('data', forward('stdout'))
  child.stderr?.on('data', forward('stderr'))
  let ended = false
  const end = (report: Omit<Extract<FromSupervisor, {type: 'exit'}>, 'type' | 'id'>) => {
    if (ended) return
    ended = true
    // The shell is gone; nothing it left behind in its group may outlive the task.
    signalGroup(task.pid, 'SIGKILL')
    clearTimeout(task.killTimer)
    tasks.delete(message.id)
    const lines = output.end()
    if (lines.length > 0) send({type: 'output', id: message.id, lines})
    send({type: 'exit', id: message.id, ...report})
  }
  child.on('error', (error) => end({code: null, signal: null, error: `could not start /bin/sh: ${error.message}`}))
  child.on('close', (code, signal) => end({code, signal}))
}

function stopTask(id: number) {
  const task = tasks.get(id)
  if (!task || task.killTimer) return
  signalGroup(task.pid, 'SIGTERM')
  task.killTimer = setTimeout(() => signalGroup(task.pid, 'SIGKILL'), STOP_GRACE_MS)
}

async function waitUntilGone(groups: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms
  let alive = groups.filter(groupAlive)
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, GONE_POLL_MS))
    alive = alive.filter(groupAlive)
  }
  return alive
}

let stopping = false

/** The control plane is gone (or asked us to stop): stop every group, wait until they are gone, exit. */
async function stopEverything() {
  if (stopping) return
  stopping = true
  shells.close()
  const groups = [...tasks.values()].map((task) => task.pid).filter((pid): pid is number => pid !== undefined)
  for (const pid of groups) signalGroup(pid, 'SIGTERM')
  const stubborn = await waitUntilGone(groups, ORPHAN_GRACE_MS)
  for (const pid of stubborn) signalGroup(pid, 'SIGKILL')
  await waitUntilGone(stubborn, GONE_WAIT_MS)
  process.exit(0)
}

process.on('message', (message: ToSupervisor) => {
  if (stopping) return
  if (message.type === 'spawn') spawnTask(message)
  else if (message.type === 'stop') stopTask(message.id)
})
process.on('disconnect', () => void stopEverything())
process.on('SIGTERM', () => void stopEverything())
if (!process.connected) void stopEverything()
