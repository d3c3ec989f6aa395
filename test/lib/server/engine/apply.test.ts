// project apply over a real engine and SQLite store: dropping deployed state is refused unless
// allowed, a dry run answers the same diff and writes nothing, and the removal lines tell the truth.
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {caught, createTestEngine, SHOP_BLUEPRINT, type TestEngine} from '../../../helpers/engine.js'

// SHOP_BLUEPRINT without prod and without worker.
const WITHOUT_PROD_AND_WORKER = SHOP_BLUEPRINT.replace(/ {2}worker:\n(?: {4}.*\n)+/, '').replace('  prod: {}\n', '')

let t: TestEngine

beforeEach(async () => {
  t = await createTestEngine(SHOP_BLUEPRINT)
  // As a finished release would leave it: api and worker deployed in prod.
  for (const app of ['api', 'worker']) await t.store.updateApp('shop', 'prod', app, {deployedVersion: '1.0.0', health: 'Healthy'}, new Date().toISOString())
})

afterEach(async () => {
  await t.close()
})

const appsOf = async (environment: string) => (await t.store.listApps('shop', environment)).map((app) => `${app.name}:${app.deployedVersion}:${app.removed}`)

describe('project apply and deployed state', () => {
  it('refuses to drop a deployed environment and resource, listing each, and writes nothing', async () => {
    const error = await caught(t.engine.applyProject(WITHOUT_PROD_AND_WORKER, 'relctl.yaml', t.dir))
    expect(error.code).toBe('invalid_input')
    expect(error.message).toBe('relctl.yaml drops deployed state: prod/api (deployed version 1.0.0), prod/worker (deployed version 1.0.0)')
    expect(error.extra.hint).toContain('--allow-destructive')
    expect(error.extra.details).toEqual([
      {path: 'prod/api', message: 'deployed version 1.0.0'},
      {path: 'prod/worker', message: 'deployed version 1.0.0'},
    ])
    expect((await t.store.listEnvironments('shop')).map((environment) => environment.name).sort()).toEqual(['prod', 'staging'])
    expect((await t.store.getProject('shop'))?.blueprint.resources.map((spec) => spec.name)).toContain('worker')
  })

  it('answers a dry run with the diff and what would be refused, and writes nothing', async () => {
    const before = {staging: await appsOf('staging'), prod: await appsOf('prod'), project: await t.store.getProject('shop')}
    const dryRun = await t.engine.applyProject(WITHOUT_PROD_AND_WORKER, 'relctl.yaml', t.dir, {dryRun: true})
    expect(dryRun).toMatchObject({dryRun: true, created: false, changed: true, needsAllowDestructive: true})
    expect(dryRun.project.environments).toEqual(['staging'])
    expect(dryRun.dropped).toEqual([
      {environment: 'prod', resource: 'api', deployedVersion: '1.0.0'},
      {environment: 'prod', resource: 'worker', deployedVersion: '1.0.0'},
    ])
    expect(dryRun.changes).toContainEqual({kind: 'environment', name: 'prod', change: 'removed', detail: 'deleted with the state of its deployed apps: api 1.0.0, worker 1.0.0'})
    // worker was deployed only in prod, which goes too: "not deployed anywhere" would be false.
    expect(dryRun.changes).toContainEqual({kind: 'resource', name: 'worker', change: 'removed', detail: 'deployed in prod, deleted with that environment'})
    expect({staging: await appsOf('staging'), prod: await appsOf('prod'), project: await t.store.getProject('shop')}).toEqual(before)
  })

  it('applies with allowDestructive, and the same blueprint again needs nothing', async () => {
    const applied = await t.engine.applyProject(WITHOUT_PROD_AND_WORKER, 'relctl.yaml', t.dir, {allowDestructive: true})
    expect(applied).toMatchObject({dryRun: false, needsAllowDestructive: false})
    expect((await t.store.listEnvironments('shop')).map((environment) => environment.name)).toEqual(['staging'])
    const again = await t.engine.applyProject(WITHOUT_PROD_AND_WORKER, 'relctl.yaml', t.dir)
    expect(again).toMatchObject({changed: false, dropped: []})
  })

  it('keeps a removed deployed resource marked removed (once allowed), and says truly where it was never deployed', async () => {
    const withoutWorker = SHOP_BLUEPRINT.replace(/ {2}worker:\n(?: {4}.*\n)+/, '')
    expect((await caught(t.engine.applyProject(withoutWorker, 'relctl.yaml', t.dir))).message).toContain('prod/worker (deployed version 1.0.0)')
    const applied = await t.engine.applyProject(withoutWorker, 'relctl.yaml', t.dir, {allowDestructive: true})
    expect(applied.changes).toContainEqual({kind: 'resource', name: 'worker', change: 'removed', detail: 'still deployed in prod: kept there until a release with --allow-destructive deletes it'})
    expect(await appsOf('prod')).toContain('worker:1.0.0:true')
    expect(await appsOf('staging')).not.toContain(expect.stringMatching(/^worker/))
    // web was never deployed anywhere.
    const withoutWeb = withoutWorker.replace(/ {2}web:\n(?: {4}.*\n)+/, '')
    const dropped = await t.engine.applyProject(withoutWeb, 'relctl.yaml', t.dir)
    expect(dropped.changes).toContainEqual({kind: 'resource', name: 'web', change: 'removed', detail: 'it was not deployed anywhere, so it is gone'})
  })
})
