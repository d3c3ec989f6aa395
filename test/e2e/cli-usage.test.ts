// Typos and shell conveniences: did-you-mean for commands and flags, relctl help COMMAND, relctl
// version, one hint per usage error, never oclif's colon form. None of these needs a control plane.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {relctl, tempDir} from './harness.js'

const noServer = {env: {RELCTL_URL: 'http://127.0.0.1:1', RELCTL_CONFIG_DIR: tempDir()}}

describe('typos and usage errors', () => {
  it.concurrent('a mistyped command suggests the one meant, in words, and exits 2', async ({expect}) => {
    const result = await relctl(['release', 'snyc', 'api'], noServer)
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain('Did you mean "relctl release sync"?')
    expect(result.stderr).not.toMatch(/\w:\w/)
    expect(result.stderr.match(/^Hint:/gm)).toHaveLength(1)
  })

  it.concurrent('a mistyped flag suggests the flag meant and exits 2', async ({expect}) => {
    const result = await relctl(['release', 'sync', 'api', '--forse', '--project', 'shop', '--environment', 'prod'], noServer)
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain('unknown flag --forse; did you mean --force?')
  })

  it.concurrent('a missing required flag is named as a flag, with one hint', async ({expect}) => {
    const result = await relctl(['app', 'set', 'api', '--project', 'shop', '--environment', 'prod'], noServer)
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain('Error: missing required flag --version')
    expect(result.stderr).not.toContain('The following error occurred')
    expect(result.stderr).not.toContain('See more help with --help')
    expect(result.stderr.match(/^Hint:/gm)).toHaveLength(1)
  })

  it.concurrent('relctl help COMMAND shows that command\'s help', async ({expect}) => {
    const result = await relctl(['help', 'release', 'sync'], noServer)
    expect(result.code, String(result)).toBe(0)
    expect(result.stdout).toContain('$ relctl release sync APPS')
    expect(result.stdout).toMatch(/^\s*EXIT CODES$/m)
  })

  it.concurrent('relctl version prints what --version prints', async ({expect}) => {
    const [version, flag] = await Promise.all([relctl(['version'], noServer), relctl(['--version'], noServer)])
    expect(version.code, String(version)).toBe(0)
    expect(version.stdout).toMatch(/^relctl\/\d+\.\d+\.\d+ /)
    expect(version.stdout).toBe(flag.stdout)
  })

  it.concurrent('a profile file that is not JSON is named, with what to do, exit 2', async ({expect}) => {
    const configDir = tempDir()
    writeFileSync(join(configDir, 'profiles.json'), '{"profiles": {')
    const result = await relctl(['whoami'], {env: {RELCTL_URL: undefined, RELCTL_CONFIG_DIR: configDir}})
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain(`the profile file ${join(configDir, 'profiles.json')} is not valid JSON`)
    expect(result.stderr).not.toMatch(/^\s+at /m)
  })
})
