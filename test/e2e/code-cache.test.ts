// The bundle's V8 code cache (src/lib/cli/bundle.ts): the first run writes it, the next runs use it,
// a stale or refused one is replaced, and it never changes what a command does: the same output with
// it, without it, and where it cannot be written. Code from the cache reaches ES modules (chalk for an
// error, oclif's command_not_found hook) through the loader. No control plane needed.
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {relctl, ROOT, tempDir} from './harness.js'

const configDir = tempDir()
const bundleId = /^\/\/ relctl-bundle ([0-9a-f]+)\n/.exec(readFileSync(join(ROOT, 'dist', 'cli.cjs'), 'utf8'))![1]

// `version` runs through oclif; `whoami` fails to connect and prints its error with chalk; `app lst` is
// answered by the command_not_found hook. Each loads an ES module from the bundle.
const COMMANDS = [['version'], ['whoami'], ['app', 'lst']]

async function run(args: string[], cacheDir: string) {
  // NODE_ENV as a user has it: vitest sets it to "test", where oclif warns with the process id.
  const result = await relctl(args, {env: {RELCTL_URL: 'http://127.0.0.1:1', RELCTL_CONFIG_DIR: configDir, RELCTL_CACHE_DIR: cacheDir, NODE_ENV: undefined}})
  return {code: result.code, stdout: result.stdout, stderr: result.stderr}
}

/** The cache files under cacheDir. */
function cacheFiles(cacheDir: string): string[] {
  const dir = join(cacheDir, 'code-cache')
  return readdirSync(dir).map((name) => join(dir, name))
}

/** A cache dir that cannot be made: its parent is a file. */
function unusableCacheDir(): string {
  const file = join(tempDir(), 'not-a-dir')
  writeFileSync(file, '')
  return join(file, 'cache')
}

describe('the code cache of the bundle', () => {
  it('is written by the first run and used by the next ones, which print what a run without it prints', async () => {
    const withoutCache = await Promise.all(COMMANDS.map((args) => run(args, unusableCacheDir())))
    expect(withoutCache.map((result) => result.code)).toEqual([0, 8, 2])
    expect(withoutCache[1].stderr).toContain('Error: cannot reach the control plane')
    expect(withoutCache[2].stderr).toContain('Did you mean "relctl app list"?')

    const cacheDir = tempDir()
    expect(await run(['version'], cacheDir)).toEqual(withoutCache[0])
    const [file] = cacheFiles(cacheDir)
    expect(cacheFiles(cacheDir)).toHaveLength(1)
    expect(statSync(join(cacheDir, 'code-cache')).mode & 0o777).toBe(0o700)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const written = readFileSync(file)
    expect(written.subarray(0, bundleId.length + 1).toString()).toBe(`${bundleId}\n`)

    for (const [index, args] of COMMANDS.entries()) expect(await run(args, cacheDir), args.join(' ')).toEqual(withoutCache[index])
    // V8 accepted it: a refused cache is removed, and none was written again
    expect(cacheFiles(cacheDir)).toEqual([file])
    expect(readFileSync(file).equals(written)).toBe(true)
  })

  it('is replaced when it belongs to another bundle, and removed when V8 refuses it', async () => {
    const cacheDir = tempDir()
    await run(['version'], cacheDir)
    const [file] = cacheFiles(cacheDir)
    const good = readFileSync(file)
    /** The file is this bundle's cache, and V8 accepts it: a run leaves it as it is. */
    const expectUsable = async () => {
      const before = readFileSync(file)
      expect(before.subarray(0, bundleId.length + 1).toString()).toBe(`${bundleId}\n`)
      expect((await run(['whoami'], cacheDir)).code).toBe(8)
      expect(readFileSync(file).equals(before)).toBe(true)
    }

    const otherBundle = Buffer.concat([Buffer.from(`${'0'.repeat(bundleId.length)}\n`), good.subarray(bundleId.length + 1)])
    writeFileSync(file, otherBundle)
    expect((await run(['whoami'], cacheDir)).code).toBe(8)
    expect(readFileSync(file).equals(otherBundle)).toBe(false)
    await expectUsable()

    writeFileSync(file, Buffer.concat([Buffer.from(`${bundleId}\n`), Buffer.alloc(good.length - bundleId.length - 1, 7)]))
    expect((await run(['whoami'], cacheDir)).code).toBe(8)
    expect(cacheFiles(cacheDir)).toEqual([])
    expect((await run(['app', 'lst'], cacheDir)).code).toBe(2)
    await expectUsable()
  })
})
