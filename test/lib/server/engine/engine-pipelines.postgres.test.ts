// Two control planes on one PostgreSQL database advance the same pipeline run at once, again and again
// (issue 13): each step's release in each environment is made exactly once (the run's row held while one
// of them decides, an idempotency key per run, step and environment), and the run ends as one.
import {rmSync} from 'node:fs'

import {afterAll, describe, expect, it} from 'vitest'

import {Engine} from '../../../../src/lib/server/engine/engine.js'
import {openPostgresStore} from '../../../../src/lib/server/store/postgres.js'
import type {Store} from '../../../../src/lib/server/store/store.js'
import {quietLog, tempDir, waitFor} from '../../../helpers/engine.js'
import {freshDatabase} from '../../../helpers/postgres.js'

const BLUEPRINT = `project: shop
resources:
  api: { driver: simulate, version: "1.0.0", simulate: { duration: 30ms } }
  web: { driver: simulate, version: "1.0.0", simulate: { duration: 30ms } }
environments:
  a: {}
  b: {}
  c: {}
  d: {}
  e: {}
  f: {}
pipelines:
  wide:
    services: sequential
    stages:
      - environments: [a, b]
        order: parallel
      - environments: [c]
      - environments: [d, e, f]
        order: parallel
`

const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

describe('pipeline runs on two replicas', () => {
  it('advanced by both at once, again and again, make each release exactly once', async () => {
    const url = await freshDatabase()
    const dir = tempDir()
    cleanups.push(async () => rmSync(dir, {recursive: true, force: true}))
    const stores: Store[] = [await openPostgresStore(url), await openPostgresStore(url)]
    const engines = stores.map((store, index) => new Engine({store, log: quietLog, replica: {id: `replica-${index}`, host: 'test', pid: 1000 + index}}))
    cleanups.push(async () => {
      for (const engine of engines) await engine.shutdown(0)
      for (const store of stores) await store.close()
    })
    await engines[0].applyProject(BLUEPRINT, 'relctl.yaml', dir)
    await Promise.all(engines.map((engine) => engine.start()))

    const request = {versions: [{name: 'api', version: '2.0.0'}, {name: 'web', version: '3.0.0'}]}
    const started = (await engines[0].runPipeline('shop', 'wide', request, {subject: 'ci', idempotencyKey: 'ci-run-1'})) as {run: {id: number}; created: boolean}
    expect(started.created).toBe(true)
    // the same key on the other replica: the same run
    expect(await engines[1].runPipeline('shop', 'wide', request, {subject: 'ci', idempotencyKey: 'ci-run-1'})).toMatchObject({created: false, run: {id: started.run.id}})

    let done = false
    const hammer = (async () => {
      while (!done) await Promise.all(engines.flatMap((engine) => [engine.advancePipelines(), engine.advancePipelines()]))
    })()
    const run = await waitFor(async () => {
      const current = await engines[1].getPipelineRun(started.run.id)
      return current.status === 'running' || current.status === 'queued' ? undefined : current
    }, 'the run to end', 60_000)
    done = true
    await hammer

    expect(run.status).toBe('succeeded')
    const releases = await engines[0].listReleases({project: 'shop', limit: 100})
    const keys = releases.map((release) => release.idempotencyKey).sort()
    // services: sequential: api through a+b, c, d+e+f (steps 1-3), then web (steps 4-6)
    expect(keys).toEqual(
      [
        ['1', 'a'],
        ['1', 'b'],
        ['2', 'c'],
        ['3', 'd'],
        ['3', 'e'],
        ['3', 'f'],
        ['4', 'a'],
        ['4', 'b'],
        ['5', 'c'],
        ['6', 'd'],
        ['6', 'e'],
        ['6', 'f'],
      ]
        .map(([step, environment]) => `pipeline:${run.id}:${step}:${environment}`)
        .sort(),
    )
    expect(releases.every((release) => release.status === 'succeeded' && release.source === 'pipeline')).toBe(true)
    const events = (await stores[0].listEvents(0, 10_000)).filter((event) => event.kind.startsWith('pipeline.'))
    expect(events.map((event) => event.kind)).toEqual(['pipeline.created', 'pipeline.started', 'pipeline.stage', 'pipeline.stage', 'pipeline.stage', 'pipeline.stage', 'pipeline.stage', 'pipeline.stage', 'pipeline.succeeded'])
  })
})
