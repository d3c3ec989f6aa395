// The deploy supervisor as a real child process (run `npm run build` first: it forks dist's script).
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
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
