// Every command's --help shows examples; the waiting commands document their exit codes.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {pool, relctl, ROOT} from './harness.js'

// The commands of the design's CLI surface that exist so far; the manifest adds any newer ones.
const REQUIRED = [
  'server start',
  'login',
  'logout',
  'whoami',
  'project apply',
  'project list',
  'project show',
  'env list',
  'env show',
  'app list',
  'app set',
  'release trigger',
  'release sync',
  'release wait',
  'release list',
  'release show',
  'release logs',
  'release cancel',
]

function manifestCommands(): string[] {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
  // `relctl help --help` is the root help, as oclif makes it: it has no EXAMPLES of its own.
  return Object.keys(manifest.commands).filter((id) => id !== 'help').map((id) => id.replaceAll(':', ' '))
}

describe('--help', () => {
  const commands = [...new Set([...REQUIRED, ...manifestCommands()])].sort()

  it('every command shows EXAMPLES', async () => {
    const results = await pool(commands, 4, async (command) => ({command, result: await relctl([...command.split(' '), '--help'], {env: {RELCTL_URL: undefined, RELCTL_TOKEN: undefined}})}))
    const problems: string[] = []
    for (const {command, result} of results) {
      if (result.code !== 0) problems.push(`${command}: exit ${result.code}\n${result}`)
      else if (!/^EXAMPLES$/m.test(result.stdout)) problems.push(`${command}: no EXAMPLES section`)
      else if (!result.stdout.includes(`$ relctl ${command}`)) problems.push(`${command}: examples do not show "$ relctl ${command}"`)
      if (!/^USAGE$/m.test(result.stdout)) problems.push(`${command}: no USAGE section`)
    }
    expect(problems).toEqual([])
  })

  it.concurrent.for(['release wait', 'release sync'])('%s --help shows EXIT CODES', async (command, {expect}) => {
    const result = await relctl([...command.split(' '), '--help'])
    expect(result.code, String(result)).toBe(0)
    const section = result.stdout.slice(result.stdout.indexOf('EXIT CODES'))
    expect(result.stdout).toContain('EXIT CODES')
    expect(section).toMatch(/^\s+0\s+\S/m)
    expect(section).toMatch(/^\s+3\s+.*failed/m)
    expect(section).toMatch(/^\s+4\s+timed out/m)
    expect(section).toMatch(/^\s+8\s+.*unreachable/m)
    expect(section).toMatch(/^\s+9\s+unknown project, environment or app/m)
  })
})
