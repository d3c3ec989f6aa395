// project apply (create, unchanged, updated, removed), bad blueprints, app list and app set.
import {basename, join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {api, copyFixture, FIXTURES, must, relctl, startServer} from './harness.js'

beforeAll(async () => {
  await startServer()
})

describe('project apply', () => {
  it('creates a project, says unchanged on re-apply, and shows the detail of an update', async () => {
    const fixture = copyFixture('simulate-app', {project: 'apply-demo'})

    const created = await relctl(['project', 'apply', '-f', fixture.file])
    expect(created.code, String(created)).toBe(0)
    expect(created.stdout).toContain(`Project apply-demo created from ${fixture.file}`)
    expect(created.stdout).toMatch(/^ {2}\+ resource api$/m)
    expect(created.stdout).toMatch(/^ {2}\+ resource worker$/m)
    expect(created.stdout).toMatch(/^ {2}\+ environment staging$/m)
    expect(created.stdout).toMatch(/^ {2}\+ environment prod$/m)

    const again = await relctl(['project', 'apply', '-f', fixture.file])
    expect(again.code, String(again)).toBe(0)
    expect(again.stdout).toContain('Project apply-demo unchanged')
    expect(again.stdout).toContain('nothing changed')

    const againJson = (await must(['project', 'apply', '-f', fixture.file, '--json'])).json()
    expect(againJson).toMatchObject({created: false, changed: false, project: {name: 'apply-demo'}})
    expect(againJson.changes.every((change: {change: string}) => change.change === 'unchanged')).toBe(true)

    fixture.edit(/(api:\n(?:.*\n)*?\s+version: )"1.0.0"/, '$1"1.1.0"')
    const updated = await relctl(['project', 'apply', '-f', fixture.file])
    expect(updated.code, String(updated)).toBe(0)
    expect(updated.stdout).toContain('Project apply-demo updated')
    expect(updated.stdout).toMatch(/^ {2}~ resource api: version 1\.0\.0 -> 1\.1\.0$/m)
    expect(updated.stdout).not.toContain('resource web')

    const shown = (await must(['project', 'show', 'apply-demo', '--json'])).json()
    expect(shown.resources.find((resource: {name: string}) => resource.name === 'api').version).toBe('1.1.0')
    const apps = await api('/v1/projects/apply-demo/environments/staging/apps')
    expect(apps.find((app: {name: string}) => app.name === 'api').desiredVersion).toBe('1.1.0')

    fixture.edit('duration: 300ms, failVersions: ["2.0.0-bad"]', 'duration: 400ms, failVersions: ["2.0.0-bad"]')
    const updatedJson = (await must(['project', 'apply', '-f', fixture.file, '--json'])).json()
    expect(updatedJson).toMatchObject({created: false, changed: true})
    expect(updatedJson.changes).toContainEqual({kind: 'resource', name: 'web', change: 'updated', detail: 'simulate'})
  })

  it('marks a removed resource and deletes it only with a release that allows destructive changes', async () => {
    const fixture = copyFixture('simulate-app', {project: 'removal'})
    await must(['project', 'apply', '-f', fixture.file])
    await must(['release', 'trigger', '--type', 'launch', '-p', 'removal', '-e', 'staging', '--wait', '--interval', '200ms', '--timeout', '30s'])

    // worker is a leaf: removing it keeps the blueprint valid.
    fixture.edit(/ {2}worker:\n(?: {4}.*\n)+/, '')
    // worker is deployed in staging: dropping it from the blueprint needs --allow-destructive.
    const refusedApply = await relctl(['project', 'apply', '-f', fixture.file])
    expect(refusedApply.code, String(refusedApply)).toBe(2)
    expect(refusedApply.stderr).toContain('staging/worker (deployed version 1.0.0)')
    const removed = await relctl(['project', 'apply', '-f', fixture.file, '--allow-destructive'])
    expect(removed.code, String(removed)).toBe(0)
    expect(removed.stdout).toContain('Project removal updated')
    expect(removed.stdout).toMatch(/^ {2}- resource worker: .*until a release with --allow-destructive deletes it$/m)

    const listed = (await must(['app', 'list', '-p', 'removal', '-e', 'staging', '--json'])).json()
    const worker = listed.find((app: {name: string}) => app.name === 'worker')
    expect(worker).toMatchObject({name: 'worker', removedFromBlueprint: true, deployedVersion: '1.0.0', sync: 'OutOfSync'})
    expect(listed.find((app: {name: string}) => app.name === 'api')).toMatchObject({removedFromBlueprint: false, sync: 'Synced'})
    const text = await must(['app', 'list', '-p', 'removal', '-e', 'staging'])
    expect(text.stdout).toMatch(/^worker .*OutOfSync \(removed\)/m)

    // A release without --allow-destructive leaves it alone.
    const full = await must(['release', 'trigger', '--type', 'full', '-p', 'removal', '-e', 'staging', '--wait', '--interval', '200ms', '--timeout', '30s', '--json'])
    expect(full.json().resources.map((resource: {name: string}) => resource.name)).not.toContain('worker')
    const stillThere = await api('/v1/projects/removal/environments/staging/apps')
    expect(stillThere.map((app: {name: string}) => app.name)).toContain('worker')

    // A selective delete without the flag is refused, naming the flag; a sync does not delete either.
    const [refused, sync] = await Promise.all([
      relctl(['release', 'trigger', '--resources', 'worker:delete', '-p', 'removal', '-e', 'staging']),
      relctl(['release', 'sync', 'worker', '-p', 'removal', '-e', 'staging']),
    ])
    expect(refused.code, String(refused)).toBe(2)
    expect(refused.stderr).toContain('--allow-destructive')
    expect(sync.code, String(sync)).toBe(2)
    expect(sync.stderr).toContain('Hint:')
    expect(sync.stderr).toContain('--allow-destructive')

    const destructive = await must(['release', 'trigger', '--type', 'full', '--allow-destructive', '-p', 'removal', '-e', 'staging', '--wait', '--interval', '200ms', '--timeout', '30s', '--json'])
    expect(destructive.json()).toMatchObject({status: 'succeeded', allowDestructive: true})
    expect(destructive.json().resources).toContainEqual({name: 'worker', action: 'delete', fromVersion: '1.0.0', toVersion: null})
    const after = await api('/v1/projects/removal/environments/staging/apps')
    expect(after.map((app: {name: string}) => app.name)).toEqual(['api', 'web'])
    // The other environment was never deployed: the removed app had nothing to delete there.
    const prod = await api('/v1/projects/removal/environments/prod/apps')
    expect(prod.map((app: {name: string}) => app.name)).toEqual(['api', 'web'])
  })
})

describe('bad blueprints', () => {
  const cases = [
    {file: 'unknown-key.yaml', line: 5, path: 'resources.api.versoin', says: ['unknown key "versoin"', 'did you mean "version"']},
    {file: 'unknown-dependency.yaml', line: 5, path: 'resources.api.dependsOn[0]', says: ['unknown resource "db"', 'declared resources: api, web']},
    {file: 'cycle.yaml', line: 5, path: 'resources.a.dependsOn', says: ['dependency cycle: a -> b -> a', 'remove one of these dependsOn entries']},
    {file: 'bad-duration.yaml', line: 5, path: 'resources.api.timeout', says: ['"5 minutes" is not a duration', '30s, 15m']},
    {file: 'duplicate-resource.yaml', line: 7, path: 'resources.api', says: ['"api" is declared twice', 'rename or merge']},
    {file: 'exec-without-deploy.yaml', line: 6, path: 'resources.api.exec.deploy', says: ['missing: the shell command that deploys this resource']},
    {file: 'float-version.yaml', line: 5, path: 'resources.api.version', says: ['YAML reads 1.10 as the number 1.1', 'quote it: version: "1.10"']},
  ]

  let before: unknown
  beforeAll(async () => {
    before = (await must(['project', 'list', '--json'])).json()
  })

  it.concurrent.for(cases)('$file: exit 2 with file, line, path and what to do', async ({file, line, path, says}, {expect}) => {
    const target = join(FIXTURES, 'bad', file)
    const result = await relctl(['project', 'apply', '-f', target])
    expect(result.code, String(result)).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain(`${target}:${line}:`)
    expect(result.stderr).toContain(basename(target))
    for (const text of says) expect(result.stderr).toContain(text)
    expect(result.stderr).toContain('Hint: fix the problems listed and apply again')
    expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/) // no stack trace
    // The path in the document is named in the problem's own line.
    const problemLine = result.stderr.split('\n').find((text) => text.includes(`${target}:${line}:`))
    expect(problemLine, result.stderr).toContain(` ${path}`)
  })

  it('nothing of the bad blueprints was applied', async () => {
    const after = (await must(['project', 'list', '--json'])).json()
    expect(after).toEqual(before)
    expect(after.map((project: {name: string}) => project.name)).not.toContain('broken')
    const show = await relctl(['project', 'show', 'broken'])
    expect(show.code, String(show)).toBe(9)
    expect(show.stderr).toContain('project "broken" not found')
  })

  it('--json: an error object with the problems and exit code 2', async () => {
    const result = await relctl(['project', 'apply', '-f', join(FIXTURES, 'bad', 'cycle.yaml'), '--json'])
    expect(result.code, String(result)).toBe(2)
    const body = result.json()
    expect(body.exitCode).toBe(2)
    expect(body.error.code).toBe('invalid_blueprint')
    expect(body.error.message).toContain('a -> b -> a')
    expect(body.error.details).toEqual([{path: 'resources.a.dependsOn', message: expect.stringContaining('line 5: dependency cycle: a -> b -> a')}])
  })

  it('a bad version of an existing project changes nothing of it', async () => {
    const fixture = copyFixture('simulate-app', {project: 'keep-me'})
    await must(['project', 'apply', '-f', fixture.file])
    const before = await api('/v1/projects/keep-me')
    fixture.edit('version: "1.0.0"', 'version: "5.0.0"\n    replicas: 3')
    const result = await relctl(['project', 'apply', '-f', fixture.file])
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain('resources.api.replicas: unknown key "replicas"')
    expect((await must(['project', 'show', 'keep-me', '--json'])).json()).toEqual(before)
    const apps = await api('/v1/projects/keep-me/environments/staging/apps')
    expect(apps.find((app: {name: string}) => app.name === 'api').desiredVersion).toBe('1.0.0')
  })

  it('a file that does not exist: exit 2 and what to do', async () => {
    const result = await relctl(['project', 'apply', '-f', join(FIXTURES, 'bad', 'no-such-file.yaml')])
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain('cannot read')
    expect(result.stderr).toContain('ENOENT')
    expect(result.stderr).toContain('Hint:')
  })
})

describe('app list and app set', () => {
  beforeAll(async () => {
    const fixture = copyFixture('simulate-app', {project: 'apps'})
    await must(['project', 'apply', '-f', fixture.file])
  })

  it('app list --json has name, desiredVersion, deployedVersion, sync and health', async () => {
    const result = await relctl(['app', 'list', '-p', 'apps', '-e', 'staging', '--json'])
    expect(result.code, String(result)).toBe(0)
    const apps = result.json()
    expect(apps.map((app: {name: string}) => app.name)).toEqual(['api', 'web', 'worker'])
    for (const app of apps) {
      expect(app).toMatchObject({desiredVersion: '1.0.0', deployedVersion: null, sync: 'OutOfSync', health: 'Missing', removedFromBlueprint: false, stable: false, activeReleases: [], lastRelease: null})
    }
    const text = await must(['app', 'list', '-p', 'apps', '-e', 'staging'])
    expect(text.stdout.split('\n')[0]).toMatch(/^APP\s+KIND\s+DESIRED\s+DEPLOYED\s+SYNC\s+HEALTH\s+RELEASE$/)
    expect(text.stdout).toMatch(/^api\s+application\s+1\.0\.0\s+-\s+OutOfSync\s+Missing\s+-$/m)
  })

  it('app set changes the desired version in one environment only and says how to deploy it', async () => {
    const result = await relctl(['app', 'set', 'api', '--version', '2.0.0', '-p', 'apps', '-e', 'staging'])
    expect(result.code, String(result)).toBe(0)
    expect(result.stdout).toContain('api: desired 2.0.0, deployed nothing (OutOfSync); deploy it with: relctl release sync api -p apps -e staging')

    const json = (await must(['app', 'set', 'web', '--version', '1.5.0', '-p', 'apps', '-e', 'staging', '--json'])).json()
    expect(json).toMatchObject({name: 'web', desiredVersion: '1.5.0', deployedVersion: null, sync: 'OutOfSync', health: 'Missing'})

    const staging = (await must(['app', 'list', '-p', 'apps', '-e', 'staging', '--json'])).json()
    expect(Object.fromEntries(staging.map((app: {name: string; desiredVersion: string}) => [app.name, app.desiredVersion]))).toEqual({api: '2.0.0', web: '1.5.0', worker: '1.0.0'})
    const prod = (await must(['app', 'list', '-p', 'apps', '-e', 'prod', '--json'])).json()
    expect(prod.every((app: {desiredVersion: string}) => app.desiredVersion === '1.0.0')).toBe(true)
  })

  it('unknown app, environment or project: exit 9 naming the known ones', async () => {
    const app = await relctl(['app', 'set', 'nope', '--version', '1', '-p', 'apps', '-e', 'staging'])
    expect(app.code, String(app)).toBe(9)
    expect(app.stderr).toContain('app "nope" not found')
    expect(app.stderr).toContain('api, web, worker')

    const env = await relctl(['app', 'list', '-p', 'apps', '-e', 'qa'])
    expect(env.code, String(env)).toBe(9)
    expect(env.stderr).toContain('environment "qa" not found')
    expect(env.stderr).toContain('staging')

    const project = await relctl(['app', 'list', '-p', 'nope', '-e', 'staging', '--json'])
    expect(project.code, String(project)).toBe(9)
    expect(project.json()).toMatchObject({exitCode: 9, error: {code: 'not_found'}})
  })

  it('missing project or environment: exit 2 with a hint', async () => {
    const result = await relctl(['app', 'list', '-p', 'apps'])
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain('no environment given')
    expect(result.stderr).toContain('RELCTL_ENVIRONMENT')
    // ...and the environment variables are honoured.
    const fromEnv = await relctl(['app', 'list', '--json'], {env: {RELCTL_PROJECT: 'apps', RELCTL_ENVIRONMENT: 'prod'}})
    expect(fromEnv.code, String(fromEnv)).toBe(0)
    expect(fromEnv.json()).toHaveLength(3)
  })
})
