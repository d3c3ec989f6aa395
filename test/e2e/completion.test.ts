// relctl autocomplete bash: the generated script, run in a real bash, completes commands and flags,
// and project and environment names that come from a real control plane.
import {spawnSync} from 'node:child_process'
import {chmodSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {BIN, FIXTURES, must, relctl, type Server, startServer, tempDir} from './harness.js'

let server: Server
let shimDir: string

beforeAll(async () => {
  server = await startServer()
  await must(['project', 'apply', '--file', join(FIXTURES, 'simulate-app', 'relctl.yaml')])
  // The script calls `relctl` for names, as it would on a user's PATH.
  shimDir = tempDir()
  writeFileSync(join(shimDir, 'relctl'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(join(shimDir, 'relctl'), 0o755)
}, 60_000)

/** What the completion function offers for the words typed so far (the last one being completed). */
function complete(script: string, words: string[]): string[] {
  const program = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _relctl_complete; printf '%s\\n' "\${COMPREPLY[@]}"`
  const file = join(tempDir(), 'relctl.bash')
  writeFileSync(file, script)
  const env = {PATH: `${shimDir}:${process.env.PATH}`, HOME: tempDir(), RELCTL_CONFIG_DIR: server.configDir}
  const result = spawnSync('bash', ['-c', program, 'bash', file, 'relctl', ...words], {env, encoding: 'utf8', timeout: 60_000})
  expect(result.status, result.stderr).toBe(0)
  return result.stdout.split('\n').filter(Boolean)
}

describe('relctl autocomplete bash', () => {
  let script: string

  beforeAll(async () => {
    const result = await relctl(['autocomplete', 'bash'])
    expect(result.code, String(result)).toBe(0)
    script = result.stdout
  })

  it('completes a command', () => {
    expect(complete(script, ['release', 'sy'])).toEqual(['sync'])
    expect(complete(script, ['rel'])).toEqual(['release'])
  })

  it('completes a flag of the command typed', () => {
    expect(complete(script, ['release', 'sync', 'api', '--for'])).toEqual(['--force'])
  })

  it('completes project and environment names from the control plane', () => {
    expect(complete(script, ['app', 'list', '--project', 'sim'])).toEqual(['sim-app'])
    expect(complete(script, ['app', 'list', '-p', 'sim-app', '-e', '']).sort()).toEqual(['prod', 'staging'])
  })

  it('names the shells when none is given, exit 2', async () => {
    const result = await relctl(['autocomplete'])
    expect(result.code, String(result)).toBe(2)
    expect(result.stderr).toContain('bash, zsh, fish')
  })
})
