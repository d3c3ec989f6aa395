// A driver's status (what a refresh reads) and runHook (target hooks), for exec and simulate. Exec runs
// real commands through the deploy supervisor (run `npm run build` first: it forks dist's script).
import {rmSync} from 'node:fs'

import {afterAll, describe, expect, it} from 'vitest'

import type {ResourceSpec} from '../../../../src/lib/server/blueprint/blueprint.js'
import type {StatusContext, TaskContext} from '../../../../src/lib/server/drivers/driver.js'
import {execDriver} from '../../../../src/lib/server/drivers/exec.js'
import {simulateDriver} from '../../../../src/lib/server/drivers/simulate.js'
import {deploySupervisor} from '../../../../src/lib/server/drivers/supervisor-client.js'
import {simulateResource} from '../../../helpers/blueprint.js'
import {tempDir} from '../../../helpers/engine.js'

const baseDir = tempDir()

afterAll(async () => {
  await deploySupervisor.close()
  rmSync(baseDir, {recursive: true, force: true})
})

function execResource(status: string | null): ResourceSpec {
  return {
    name: 'api',
    kind: 'application',
    dependsOn: [],
    version: '1.0.0',
    driver: 'exec',
    exec: {deploy: 'true', health: null, destroy: null, status, passEnv: []},
    simulate: null,
    timeoutMs: 60_000,
    retries: null,
  }
}

function statusContext(resource: ResourceSpec, recordedVersion: string | null = '1.0.0'): StatusContext {
  return {project: 'shop', environment: 'prod', resource, target: 'eu', recordedVersion, baseDir, passEnv: []}
}

function hookContext(resource: ResourceSpec, lines: string[]): TaskContext {
  return {
    project: 'shop',
    environment: 'prod',
    releaseId: 7,
    resource,
    action: 'update',
    version: '2.0.0',
    previousVersion: '1.0.0',
    target: 'eu',
    hook: 'beforeTarget',
    baseDir,
    passEnv: [],
    signal: new AbortController().signal,
    log: (stream, line) => lines.push(`${stream}: ${line}`),
  }
}

describe('exec driver', () => {
  it('status: the last line the status command prints, with the task variables of the recorded version', async () => {
    const command = 'echo "checking $RELCTL_RESOURCE on $RELCTL_TARGET"; echo "$RELCTL_VERSION-$RELCTL_ACTION-$RELCTL_RELEASE_ID-$RELCTL_PROJECT/$RELCTL_ENVIRONMENT"'
    expect(await execDriver.status(statusContext(execResource(command)))).toBe('1.0.0-update-0-shop/prod')
  })

  it('status: null without a status command, when it fails, or when it prints nothing', async () => {
    expect(await execDriver.status(statusContext(execResource(null)))).toBeNull()
    expect(await execDriver.status(statusContext(execResource('echo 9.9.9; exit 3')))).toBeNull()
    expect(await execDriver.status(statusContext(execResource('true')))).toBeNull()
  })

  it('runHook: runs the command with the hook named and the resource left empty; its exit decides', async () => {
    const lines: string[] = []
    const ok = await execDriver.runHook(hookContext(execResource(null), lines), 'echo "hook=$RELCTL_HOOK resource=[$RELCTL_RESOURCE] target=$RELCTL_TARGET"')
    expect(ok).toEqual({ok: true, exitCode: 0, error: null})
    expect(lines).toContain('stdout: hook=beforeTarget resource=[] target=eu')
    const failed = await execDriver.runHook(hookContext(execResource(null), []), 'exit 4')
    expect(failed).toEqual({ok: false, exitCode: 4, error: 'exited with code 4'})
  })
})

describe('simulate driver', () => {
  it('status: the recorded version (a simulated resource never drifts)', async () => {
    expect(await simulateDriver.status(statusContext(simulateResource('web'), '3.1.0'))).toBe('3.1.0')
    expect(await simulateDriver.status(statusContext(simulateResource('web'), null))).toBeNull()
  })

  it('runHook: succeeds and logs one line naming the hook and target', async () => {
    const lines: string[] = []
    expect(await simulateDriver.runHook(hookContext(simulateResource('web'), lines), './never-run.sh')).toEqual({ok: true, exitCode: 0, error: null})
    expect(lines).toEqual(['stdout: running beforeTarget on eu (simulated)'])
  })
})
