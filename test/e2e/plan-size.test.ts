// The plan-size cap seen from the CLI: a trigger or dry run over it exits 2 with the numbers, nothing
// is queued, and a release within it goes through; at the API, a 400 with the code plan_too_large.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {api, must, relctl, type Server, startServer, tempDir} from './harness.js'

let server: Server

beforeAll(async () => {
  server = await startServer()
  // 600 resources × 20 targets: 12,000 tasks for a launch, over the cap of 10,000.
  const lines = ['project: huge', 'resources:']
  for (let index = 0; index < 600; index++) lines.push(`  r${index}:`, '    driver: simulate', '    simulate: { duration: 1ms }')
  lines.push('environments:', '  prod:', `    targets: [${Array.from({length: 20}, (_, index) => `t${index}`).join(', ')}]`)
  const dir = tempDir('relctl-e2e-huge-')
  const file = join(dir, 'relctl.yaml')
  writeFileSync(file, `${lines.join('\n')}\n`)
  // A blueprint whose biggest release is over the cap may still be applied: selective releases fit.
  await must(['project', 'apply', '-f', file])
})

describe('a release over the plan-size cap', () => {
  it('release trigger exits 2 with the numbers and what to do; nothing is queued', async () => {
    const result = await relctl(['release', 'trigger', '--type', 'launch', '-p', 'huge', '-e', 'prod'])
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain('this release would plan 12000 tasks (600 resource(s) × 20 targets); a release may plan at most 10000 tasks')
    expect(result.stderr).toContain('--type selective')
    expect(result.stderr).not.toMatch(/\n\s+at /)
    expect(await api('/v1/releases?project=huge')).toEqual([])
  })

  it('--json gives the error code and exit code; a dry run is refused the same way', async () => {
    const result = await relctl(['release', 'trigger', '--type', 'launch', '-p', 'huge', '-e', 'prod', '--dry-run', '--json'])
    expect(result.code, String(result)).toBe(2)
    expect(result.json()).toMatchObject({exitCode: 2, error: {code: 'plan_too_large'}})
  })

  it('the API answers 400 plan_too_large with the counts', async () => {
    const response = await fetch(`${server.url}/v1/projects/huge/environments/prod/releases`, {
      method: 'POST',
      headers: {authorization: `Bearer ${server.token}`, 'content-type': 'application/json'},
      body: JSON.stringify({type: 'launch'}),
    })
    expect(response.status).toBe(400)
    expect((await response.json()).error).toMatchObject({code: 'plan_too_large', planTasks: 12_000, maxPlanTasks: 10_000})
  })

  it('a selective release within the cap goes through', async () => {
    const result = await relctl(['release', 'trigger', '--type', 'selective', '--resources', 'r1,r2', '-p', 'huge', '-e', 'prod', '--wait', '--timeout', '60s'])
    expect(result.code, String(result)).toBe(0)
  })
})
