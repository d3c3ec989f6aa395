import {describe, expect, it} from 'vitest'

import {toHelpSection} from '../../../src/lib/cli/exit-codes.js'
import {closest, suggestCommand, usageMessage} from '../../../src/lib/cli/suggest.js'

const COMMANDS = ['release:sync', 'release:show', 'release:list', 'app:set', 'app:list', 'whoami', 'help', 'version']

describe('suggestCommand', () => {
  it('finds the command a typo meant, ignoring the arguments after it', () => {
    expect(suggestCommand('release:snyc:api', COMMANDS)).toBe('release:sync')
    expect(suggestCommand('whoamii', COMMANDS)).toBe('whoami')
  })

  it('suggests nothing for words far from every command', () => {
    expect(suggestCommand('deploy:everything', COMMANDS)).toBeUndefined()
  })
})

describe('usageMessage', () => {
  it('names a missing flag as a flag, without oclif\'s own help line', () => {
    expect(usageMessage('The following error occurred:\n  Missing required flag version\nSee more help with --help', [])).toBe('missing required flag --version')
  })

  it('suggests the flag a typo meant', () => {
    expect(usageMessage('Nonexistent flag: --forse\nSee more help with --help', ['force', 'wait'])).toBe('unknown flag --forse; did you mean --force?')
    expect(closest('xyz', ['force'])).toBeUndefined()
  })
})

describe('toHelpSection', () => {
  it('lists the codes in order, each with its meaning for the command or the table\'s', () => {
    expect(toHelpSection({notFound: 'release not found', ok: 'done', unreachable: true})).toBe('EXIT CODES\n  0  done\n  8  the control plane is unreachable\n  9  release not found')
  })
})
