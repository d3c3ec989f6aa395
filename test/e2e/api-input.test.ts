// The CLI against a real control plane: a body over the limit, a blueprint apply that would drop
// deployed state, and a schedule that could never release.
import {beforeAll, describe, expect, it} from 'vitest'

import {copyFixture, relctl, startServer} from './harness.js'

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
