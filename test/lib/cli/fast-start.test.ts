// Which invocations the fast path answers itself and which it leaves to oclif; the bytes it prints are
// compared with oclif's in test/e2e/fast-start.test.ts.
import {afterEach, describe, expect, it, vi} from 'vitest'

import {answerWithoutOclif} from '../../../src/lib/cli/fast-start.js'

describe('answerWithoutOclif', () => {
  afterEach(() => vi.restoreAllMocks())

  function answered(argv: string[], env: NodeJS.ProcessEnv = {}) {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    return answerWithoutOclif(argv, env).then((result) => ({result, printed: log.mock.calls.map((call) => String(call[0]))}))
  }

  it('answers --version with the user agent oclif prints', async () => {
    const {result, printed} = await answered(['--version'])
    expect(result).toBe(true)
    expect(printed).toEqual([expect.stringMatching(/^relctl\/\d+\.\d+\.\d+ \S+-\S+ node-v\d+/)])
  })

  it('answers the root help for no arguments, --help and help', async () => {
    for (const argv of [[], ['--help'], ['help']]) {
      const {result, printed} = await answered(argv)
      expect(result, argv.join(' ')).toBe(true)
      expect(printed.join('\n')).toMatch(/^USAGE\n {2}\$ relctl \[COMMAND\]$/m)
    }
  })

  it('leaves everything else to oclif, printing nothing', async () => {
    for (const argv of [['version'], ['help', 'app'], ['--help', '--json'], ['app', '--help'], ['app', 'list'], ['-v']]) {
      expect(await answered(argv), argv.join(' ')).toEqual({result: false, printed: []})
    }
  })

  it('leaves debug output to oclif', async () => {
    expect(await answered(['--version'], {DEBUG: '*'})).toEqual({result: false, printed: []})
    expect(await answered(['--help'], {RELCTL_DEBUG: '1'})).toEqual({result: false, printed: []})
  })
})
