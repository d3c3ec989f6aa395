import {describe, expect, it} from 'vitest'

import {printable, printableLines} from '../../../src/lib/cli/terminal-text.js'

describe('printable', () => {
  it('shows C0 controls, DEL and C1 controls as visible escapes', () => {
    expect(printable('1.0\u001B[2J')).toBe('1.0\\x1b[2J')
    expect(printable('a\u0007b\u007Fc\u0000')).toBe('a\\x07b\\x7fc\\x00')
    expect(printable('csi\u009B31m next\u0085')).toBe('csi\\u009b31m next\\u0085')
    expect(printable('one\ttwo\nthree\rfour')).toBe('one\\ttwo\\nthree\\rfour')
  })

  it('leaves printable text alone, non-ASCII letters included', () => {
    expect(printable('Grüße 1.4.2-rc.1 ✓ 日本')).toBe('Grüße 1.4.2-rc.1 ✓ 日本')
  })
})

describe('printableLines', () => {
  it('keeps tabs and newlines and escapes every other control character', () => {
    expect(printableLines('col\tcol\n\u001B[31mred\u001B[0m\r')).toBe('col\tcol\n\\x1b[31mred\\x1b[0m\\r')
  })

  it('is idempotent: escaped text stays as it is', () => {
    const once = printableLines('x\u001B]0;title\u0007')
    expect(printableLines(once)).toBe(once)
  })
})

describe('appTable', () => {
  it('shows a version holding an ESC sequence escaped (a live version read by a status command, or a row stored before versions were checked)', async () => {
    const {appTable} = await import('../../../src/lib/cli/render.js')
    const app = {
      name: 'api',
      kind: 'application',
      desiredVersion: '1.1.0\u001B[2J',
      deployedVersion: '1.0.0\u009B31m',
      sync: 'OutOfSync',
      health: 'Healthy',
      removedFromBlueprint: false,
      drift: null,
      activeReleases: [],
      lastRelease: null,
      stable: false,
      blockedVersions: [],
      updatedAt: '2026-12-01T00:00:00Z',
    } as const
    const text = appTable([app])
    expect(text).toContain('1.1.0\\x1b[2J')
    expect(text).toContain('1.0.0\\u009b31m')
    expect(text).not.toMatch(/[\u001B\u009B]/)
  })
})
