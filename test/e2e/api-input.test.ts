// The CLI against a real control plane: a body over the limit, a blueprint apply that would drop
// deployed state, and a schedule that could never release.
import {beforeAll, describe, expect, it} from 'vitest'

import {copyFixture, must, relctl, startServer} from './harness.js'

beforeAll(async () => {
  await startServer()
})

describe('a request over the body limit', () => {
  it('exits 2 with "the request is too large" and the limit, not "unreachable"', async () => {
    const fixture = copyFixture('simulate-app', {project: 'too-large'})
    // A comment line keeps the YAML valid: only the size is wrong.
    fixture.write(`${fixture.read()}# ${'x'.repeat(6 * 1024 * 1024)}\n`)
    const result = await relctl(['project', 'apply', '-f', fixture.file])
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain('the request is too large: the control plane reads at most 5 MiB')
    expect(result.stderr).not.toContain('cannot reach')
    const json = await relctl(['project', 'apply', '-f', fixture.file, '--json'])
    expect(json.code, String(json)).toBe(2)
    expect(json.json().error.code).toBe('too_large')
  })
})

describe('project apply that drops deployed state', () => {
  it('refuses without --allow-destructive, prints the diff with --dry-run and writes nothing, applies with the flag', async () => {
    const fixture = copyFixture('simulate-app', {project: 'drop-env'})
    await must(['project', 'apply', '-f', fixture.file])
    await must(['release', 'trigger', '--type', 'launch', '-p', 'drop-env', '-e', 'prod', '--wait', '--interval', '200ms', '--timeout', '30s'])
    // Drop prod (deployed) and worker (deployed in prod only) in one edit.
    fixture.edit(/ {2}worker:\n(?: {4}.*\n)+/, '')
    fixture.edit('  prod: {}\n', '')
    const deployed = ['prod/api (deployed version 1.0.0)', 'prod/web (deployed version 1.0.0)', 'prod/worker (deployed version 1.0.0)']

    const dryRun = await must(['project', 'apply', '-f', fixture.file, '--dry-run'])
    expect(dryRun.stdout).toContain(`Dry run: project drop-env would be updated from ${fixture.file} (nothing written)`)
    expect(dryRun.stdout).toMatch(/^ {2}- environment prod: deleted with the state of its deployed apps: api 1\.0\.0, web 1\.0\.0, worker 1\.0\.0$/m)
    expect(dryRun.stdout).toMatch(/^ {2}- resource worker: deployed in prod, deleted with that environment$/m)
    expect(dryRun.stdout).not.toContain('not deployed anywhere')
    expect(dryRun.stdout).toContain('! refused without --allow-destructive')
    for (const line of deployed) expect(dryRun.stdout).toContain(line)
    const dryJson = (await must(['project', 'apply', '-f', fixture.file, '--dry-run', '--json'])).json()
    expect(dryJson).toMatchObject({dryRun: true, changed: true, needsAllowDestructive: true})
    expect(dryJson.dropped).toContainEqual({environment: 'prod', resource: 'api', deployedVersion: '1.0.0'})
    expect(dryJson.changes).toContainEqual(expect.objectContaining({kind: 'environment', name: 'prod', change: 'removed'}))

    const refused = await relctl(['project', 'apply', '-f', fixture.file])
    expect(refused.code, String(refused)).toBe(2)
    for (const line of deployed) expect(refused.stderr).toContain(line)
    expect(refused.stderr).toContain('--allow-destructive')
    const refusedJson = await relctl(['project', 'apply', '-f', fixture.file, '--json'])
    expect(refusedJson.code).toBe(2)
    expect(refusedJson.json().error.details).toContainEqual({path: 'prod/worker', message: 'deployed version 1.0.0'})

    // Nothing was written by the dry runs nor the refusals.
    const prodApps = (await must(['app', 'list', '-p', 'drop-env', '-e', 'prod', '--json'])).json()
    expect(prodApps.map((app: {name: string; deployedVersion: string}) => `${app.name} ${app.deployedVersion}`)).toEqual(['api 1.0.0', 'web 1.0.0', 'worker 1.0.0'])
    expect((await must(['project', 'show', 'drop-env', '--json'])).json().resources.map((r: {name: string}) => r.name)).toContain('worker')

    const applied = await must(['project', 'apply', '-f', fixture.file, '--allow-destructive'])
    expect(applied.stdout).toContain('Project drop-env updated')
    expect(applied.stdout).toMatch(/^ {2}- environment prod: deleted with the state/m)
    expect((await relctl(['app', 'list', '-p', 'drop-env', '-e', 'prod'])).code).toBe(9)
    // Applied again, the same blueprint drops nothing more: no flag needed.
    await must(['project', 'apply', '-f', fixture.file])
  }, 180_000) // fifteen CLI runs: on a loaded 2-core machine each can take seconds
})

describe('a schedule that could never release', () => {
  it('refuses --type custom on a blueprint without a workflow, with the reason, and sets nothing', async () => {
    const fixture = copyFixture('simulate-app', {project: 'never-runs'})
    await must(['project', 'apply', '-f', fixture.file])
    const refused = await relctl(['schedule', 'set', '-p', 'never-runs', '-e', 'staging', '--every', '1h', '--type', 'custom'])
    expect(refused.code, String(refused)).toBe(2)
    expect(refused.stderr).toContain('a scheduled custom release could never run')
    expect(refused.stderr).toContain('no workflow')
    const shown = await relctl(['schedule', 'show', '-p', 'never-runs', '-e', 'staging'])
    expect(shown.code, String(shown)).toBe(9)
  })
})
