// Retries in the blueprint: on a resource and on an environment's target hooks, each problem with its
// place in the file; and the backoff between attempts (exponential, capped).
import {describe, expect, it} from 'vitest'

import {parseBlueprint} from '../../../../src/lib/server/blueprint/blueprint.js'
import {backoffBefore, DEFAULT_BACKOFF_MS, DEFAULT_MAX_BACKOFF_MS} from '../../../../src/lib/server/blueprint/retries.js'
import {BLUEPRINT_FILE, problemsOf} from '../../../helpers/blueprint.js'

const doc = (retries: string, hooks = '') => `project: shop
resources:
  api:
    driver: simulate
${retries}
  web:
    driver: simulate
environments:
  prod:
    targets: [eu-1]
${hooks}
`

describe('parseBlueprint: retries', () => {
  it('reads attempts, backoff and maxBackoff, with defaults; none without retries; hooks retried only when they say so', () => {
    const blueprint = parseBlueprint(doc('    retries: { attempts: 3, backoff: 2s, maxBackoff: 30s }', '    hooks: { beforeTarget: ./out.sh, retries: { attempts: 2 } }'), BLUEPRINT_FILE)
    const [api, web] = blueprint.resources
    expect(api.retries).toEqual({attempts: 3, backoffMs: 2000, maxBackoffMs: 30_000})
    expect(web.retries).toBeNull()
    expect(blueprint.environments[0].hookRetries).toEqual({attempts: 2, backoffMs: DEFAULT_BACKOFF_MS, maxBackoffMs: DEFAULT_MAX_BACKOFF_MS})
    const plain = parseBlueprint(doc('    retries: { attempts: 4, backoff: 10m }', '    hooks: { beforeTarget: ./out.sh }'), BLUEPRINT_FILE)
    expect(plain.resources[0].retries).toEqual({attempts: 4, backoffMs: 600_000, maxBackoffMs: 600_000})
    expect(plain.environments[0].hookRetries).toBeNull()
  })

  it('reports each mistake with its line, column and path, like every other field', () => {
    const problems = problemsOf(doc('    retries: { attempts: 0, backof: 2s }'))
    expect(problems.map((problem) => `${problem.line}:${problem.column} ${problem.path}: ${problem.message}`)).toEqual([
      '5:29 resources.api.retries.backof: unknown key "backof"; did you mean "backoff"? (allowed here: attempts, backoff, maxBackoff)',
      '5:26 resources.api.retries.attempts: must be a whole number from 1 to 10 (the first attempt included)',
    ])
    const [missing] = problemsOf(doc('    retries: { backoff: 2s }'))
    expect(missing).toMatchObject({line: 5, path: 'resources.api.retries.attempts', message: 'missing: how many attempts in all (the first included), 1 to 10, e.g. "attempts: 3"'})
    const [notMap] = problemsOf(doc('    retries: 3'))
    expect(notMap).toMatchObject({line: 5, column: 14, path: 'resources.api.retries', message: 'retries is a mapping such as "{ attempts: 3, backoff: 10s }"'})
    const [badDuration] = problemsOf(doc('    retries: { attempts: 2, backoff: soon }'))
    expect(badDuration).toMatchObject({line: 5, path: 'resources.api.retries.backoff'})
    expect(badDuration.message).toContain('"soon" is not a duration')
    const [shortCap] = problemsOf(doc('    retries: { attempts: 2, backoff: 1m, maxBackoff: 10s }'))
    expect(shortCap).toMatchObject({path: 'resources.api.retries.maxBackoff', message: 'must be at least as long as backoff'})
    const [hook] = problemsOf(doc('', '    hooks: { beforeTarget: ./out.sh, retries: { attempts: 11 } }'))
    expect(hook).toMatchObject({line: 11, path: 'environments.prod.hooks.retries.attempts'})
  })
})

describe('backoffBefore: exponential, capped', () => {
  it('waits the backoff before the second attempt and doubles it for each one after, up to maxBackoff', () => {
    const policy = {attempts: 6, backoffMs: 10_000, maxBackoffMs: 60_000}
    expect([2, 3, 4, 5, 6].map((attempt) => backoffBefore(policy, attempt))).toEqual([10_000, 20_000, 40_000, 60_000, 60_000])
  })
})
