// The deploy supervisor as a real child process (run `npm run build` first: it forks dist's script).
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import type {OutputLine} from '../../../../src/lib/server/drivers/output-limits.js'
import {DeploySupervisor} from '../../../../src/lib/server/drivers/supervisor-client.js'
import {waitFor} from '../../../helpers/engine.js'

const dirs: string[] = []
const supervisors: DeploySupervisor[] = []

afterEach(async () => {
  for (const supervisor of supervisors.splice(0)) await supervisor.close()
  for (const dir of dirs.splice(0)) rmSync(dir, {recursive: true, force: true})
})

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))
}

async function started() {
  const dir = mkdtempSync(join(tmpdir(), 'relctl-supervisor-'))
  dirs.push(dir)
  const supervisor = new DeploySupervisor()
  supervisors.push(supervisor)
  const pidFile = join(dir, 'supervisor.pid')
  await supervisor.start({pidFile, log: {warn() {}}})
  return {dir, supervisor, supervisorPid: () => Number(readFileSync(pidFile, 'utf8'))}
}

/** Runs a command that starts `sleep 60` in the background, prints its pid and waits for it. */
async function sleeper(supervisor: DeploySupervisor, dir: string) {
  const lines: OutputLine[] = []
  const running = supervisor.run({command: 'sleep 60 & echo "$!"; wait', cwd: dir, env: {PATH: process.env.PATH}}, (line) => lines.push(line))
  const pid = Number(await waitFor(() => lines.find((line) => line.stream === 'stdout')?.line, 'the sleeper to print its pid'))
  return {running, pid}
}

describe('deploy supervisor', () => {
  it('runs a command in its own process group and reports its output and exit code', async () => {
    const {dir, supervisor} = await started()
    const lines: OutputLine[] = []
    const running = supervisor.run({command: 'echo "$GREETING"; echo oops >&2; exit 3', cwd: dir, env: {GREETING: 'hello'}}, (line) => lines.push(line))
    expect(await running.exited).toEqual({code: 3, signal: null})
    expect(lines).toEqual(expect.arrayContaining([{stream: 'stdout', line: 'hello'}, {stream: 'stderr', line: 'oops'}]))
  })

  it('stops the process group on request', async () => {
    const {dir, supervisor} = await started()
    const {running, pid} = await sleeper(supervisor, dir)
    running.stop()
    expect(await running.exited).toEqual({code: null, signal: 'SIGTERM'})
    await waitFor(() => !isAlive(pid), 'the background sleep to be stopped')
  })

  it('when its channel closes, stops every process group and exits only once they are gone', async () => {
    const {dir, supervisor, supervisorPid} = await started()
    const {running, pid} = await sleeper(supervisor, dir)
    const sup = supervisorPid()
    await supervisor.close()
    // close() resolves on the supervisor's exit, and it exits only after the groups are gone.
    expect(isAlive(pid)).toBe(false)
    expect(isAlive(sup)).toBe(false)
    expect((await running.exited).error).toBe("the control plane is shutting down: the deploy supervisor stopped this command's processes")
  })

  it('if the supervisor dies, the commands it ran fail clearly, their groups are stopped, and the next command gets a new one', async () => {
    const {dir, supervisor, supervisorPid} = await started()
    const {running, pid} = await sleeper(supervisor, dir)
    const first = supervisorPid()
    process.kill(first, 'SIGKILL')
    expect((await running.exited).error).toBe(`the deploy supervisor (pid ${first}) was killed by SIGKILL; relctl stopped this command's processes`)
    await waitFor(() => !isAlive(pid), 'the orphaned sleep to be stopped')

    const next = supervisor.run({command: 'echo again', cwd: dir, env: {}}, () => {})
    expect(await next.exited).toEqual({code: 0, signal: null})
    expect(existsSync(join(dir, 'supervisor.pid'))).toBe(true)
    expect(supervisorPid()).not.toBe(first)
  })
})

describe('shells started ahead of need', () => {
  /** A value a careless quoting would mangle or run. */
  const TRICKY = `it's "quoted" $(echo ran) \`echo ran\` \\ back\nsecond line ünï`
  /** Prints the shell's pid and process group, how many clock ticks ago it started, where it runs and its whole environment. */
  const REPORT = 'set -- $(cut -d" " -f5,22 /proc/$$/stat) $(cut -d" " -f22 /proc/self/stat); echo "pgid=$1 self=$$ age=$(($3 - $2))"; pwd; env | LC_ALL=C sort'

  async function burst(supervisor: DeploySupervisor, dir: string, count: number) {
    return Promise.all(
      Array.from({length: count}, async () => {
        const lines: string[] = []
        const running = supervisor.run({command: `${REPORT}; exit 4`, cwd: dir, env: {PATH: process.env.PATH, TRICKY, EMPTY: ''}}, (line) => lines.push(line.line))
        expect(await running.exited).toEqual({code: 4, signal: null})
        const [, pgid, self, age] = /^pgid=(\d+) self=(\d+) age=(\d+)$/.exec(lines[0]) ?? []
        expect(pgid).toBe(self)
        return {age: Number(age), rest: lines.slice(1)}
      }),
    )
  }

  /** The supervisor's shells waiting for a command. */
  function waitingShells(supervisorPid: number): number {
    return readdirSync('/proc').filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === supervisorPid && readFileSync(`/proc/${entry}/cmdline`, 'utf8') === '/bin/sh\0-s\0'
      } catch {
        return false
      }
    }).length
  }

  it('run a burst of commands as a direct spawn does: own process group, directory, exactly their environment, exit code', async () => {
    const {dir, supervisor, supervisorPid} = await started()
    const first = await burst(supervisor, dir, 6)
    // The pool fills once a burst is over, to twice the burst's size; the next burst's commands run in shells started before it.
    await waitFor(() => waitingShells(supervisorPid()) === 12, 'twelve shells waiting')
    await new Promise((resolve) => setTimeout(resolve, 300))
    const second = await burst(supervisor, dir, 6)
    expect(second.map(({age}) => age >= 20)).toEqual(Array(6).fill(true))
    const expected = [dir, 'EMPTY=', `PATH=${process.env.PATH}`, `PWD=${dir}`, ...`TRICKY=${TRICKY}`.split('\n')]
    for (const {rest} of [...first, ...second]) expect(rest).toEqual(expected)
  })

  it('stop and orphan handling reach a pooled shell\'s process group too', async () => {
    const {dir, supervisor, supervisorPid} = await started()
    await burst(supervisor, dir, 2)
    await waitFor(() => waitingShells(supervisorPid()) === 4, 'four shells waiting')
    const stopped = await sleeper(supervisor, dir)
    stopped.running.stop()
    expect(await stopped.running.exited).toEqual({code: null, signal: 'SIGTERM'})
    await waitFor(() => !isAlive(stopped.pid), 'the background sleep to be stopped')
    const orphan = await sleeper(supervisor, dir)
    const sup = supervisorPid()
    await supervisor.close()
    expect(isAlive(orphan.pid)).toBe(false)
    expect(isAlive(sup)).toBe(false)
  })
})
