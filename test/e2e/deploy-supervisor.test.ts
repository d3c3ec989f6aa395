// Deploys never outlive the control plane: after `kill -9` of a real `relctl server start`, the
// deploy's process group is stopped by the supervisor, the next start records what happened in the
// task's log, and a new release of the same resource runs. And the log retention, end to end.
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {api, copyFixture, isAlive, killGroupAfterAll, must, relctl, startServer, tempDir, waitFor, waitForRelease} from './harness.js'

const SCOPE = ['-p', 'slow-app', '-e', 'staging']

/** Waits until background-child.sh of release `id` has recorded the pid of its `sleep 60`. */
async function backgroundSleep(state: string, id: number): Promise<number> {
  const file = join(state, `bg-${id}.pid`)
  await waitFor(() => existsSync(file), {what: `the deploy of release ${id} to start its sleep`})
  const pid = Number(readFileSync(file, 'utf8'))
  killGroupAfterAll(pid)
  return pid
}

/** A control plane on a data dir of its own, running a release of bg whose deploy is a long sleep. */
async function serverRunningADeploy() {
  const state = tempDir('relctl-e2e-state-')
  const dataDir = tempDir('relctl-e2e-data-')
  const first = await startServer({dataDir, env: {RELCTL_TEST_STATE: state}})
  await must(['project', 'apply', '-f', copyFixture('slow').file])
  const old = Number((await must(['release', 'trigger', '--resources', 'bg', ...SCOPE])).stdout.trim())
  const sleepPid = await backgroundSleep(state, old)
  return {state, dataDir, first, old, sleepPid}
}

describe('deploy processes and the control plane', () => {
  it('kill -9 of the server: the deploy is stopped, the next start logs why, and a new release of the resource runs', async () => {
    const {state, dataDir, first, old, sleepPid} = await serverRunningADeploy()
    const supervisorFile = join(dataDir, 'supervisor.pid')
    const supervisorPid = existsSync(supervisorFile) ? Number(readFileSync(supervisorFile, 'utf8')) : null

    const killed = await first.stop('SIGKILL')
    expect(killed.signal).toBe('SIGKILL')
    await waitFor(() => !isAlive(sleepPid), {timeoutMs: 15_000, what: "the deploy's sleep to be stopped after the control plane died"})
    expect(supervisorPid).not.toBeNull()
    await waitFor(() => !isAlive(supervisorPid as number), {timeoutMs: 15_000, what: 'the supervisor to exit'})

    const second = await startServer({dataDir, env: {RELCTL_TEST_STATE: state}})
    const oldRelease = await api(`/v1/releases/${old}`)
    expect(oldRelease).toMatchObject({status: 'failed', tasks: [{resource: 'bg', status: 'interrupted'}]})
    const logs = await must(['release', 'logs', String(old), '--task', 'bg', '--json'])
    expect(logs.json()).toContainEqual(
      expect.objectContaining({stream: 'system', line: 'the control plane stopped while this task ran; its processes were stopped by the supervisor'}),
    )

    const next = Number((await must(['release', 'trigger', '--resources', 'bg', ...SCOPE, '--on-conflict', 'fail'])).stdout.trim())
    const nextSleep = await backgroundSleep(state, next)
    expect(isAlive(nextSleep)).toBe(true)
    await must(['release', 'cancel', String(next)])
    await waitForRelease(next, ['cancelled'])
    await waitFor(() => !isAlive(nextSleep), {what: 'the cancelled deploy to be stopped'})
    await second.stop()
  })

  it('the next start waits until the old supervisor has stopped the old deploy', async () => {
    const {state, dataDir, first, old, sleepPid} = await serverRunningADeploy()
    // A supervisor held stopped (SIGSTOP) cannot stop its deploys yet: the old deploy goes on.
    const supervisorPid = Number(readFileSync(join(dataDir, 'supervisor.pid'), 'utf8'))
    killGroupAfterAll(supervisorPid)
    process.kill(supervisorPid, 'SIGSTOP')
    await first.stop('SIGKILL')

    let stderr = ''
    const starting = startServer({dataDir, env: {RELCTL_TEST_STATE: state}, onStderr: (chunk) => (stderr += chunk)})
    await waitFor(() => stderr.includes('waiting for the deploy supervisor of the previous control plane'), {what: 'the new control plane to wait for the old supervisor'})
    expect(isAlive(sleepPid)).toBe(true)
    process.kill(supervisorPid, 'SIGCONT')
    const second = await starting
    // Listening means recovery ran, and that happens only once the old deploy is gone.
    expect(isAlive(sleepPid)).toBe(false)
    expect(isAlive(supervisorPid)).toBe(false)
    expect((await api(`/v1/releases/${old}`)).status).toBe('failed')
    await second.stop()
  })

  it('log retention: the lines of a release past --log-retention are deleted, and release logs says so', async () => {
    await startServer({args: ['--log-retention', '1s']})
    await must(['project', 'apply', '-f', copyFixture('slow').file])
    const release = (await must(['release', 'trigger', '--resources', 'quick', ...SCOPE, '--wait', '--json'])).json()
    expect(release.status).toBe('succeeded')

    const deleted = await waitFor(
      async () => {
        const logs = await relctl(['release', 'logs', String(release.id), '--json'])
        return logs.code === 0 && logs.stderr.includes('were deleted on') ? logs : null
      },
      {timeoutMs: 20_000, what: 'the retention cleanup to delete the lines'},
    )
    expect(deleted.json()).toEqual([])
    expect(deleted.stderr).toMatch(new RegExp(`the log lines of release ${release.id} were deleted on \\S+: it ended longer ago than the control plane's log retention`))
    // The release record stays.
    expect((await must(['release', 'show', String(release.id), '--json'])).json()).toMatchObject({id: release.id, status: 'succeeded'})
  })
})
