// The bundle's V8 code cache (src/lib/cli/bundle.ts): the first run writes it, the next runs use it,
// a stale, damaged or refused one is replaced, and it never changes what a command does: the same
// output with it, without it, and where it cannot be written. Code from the cache reaches ES modules (chalk for an
// error, oclif's command_not_found hook) through the loader. No control plane needed.
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {crc32} from 'node:zlib'

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

/** A cache file as bundle.ts writes it: the bundle's id and the CRC-32 of the code on the first line. */
function cacheFile(id: string, code: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${id} ${crc32(code).toString(16)}\n`), code])
}

/** The code of a cache file, after its first line. */
const codeOf = (file: Buffer) => file.subarray(file.indexOf(10) + 1)

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
    expect(written.equals(cacheFile(bundleId, codeOf(written)))).toBe(true)

    for (const [index, args] of COMMANDS.entries()) expect(await run(args, cacheDir), args.join(' ')).toEqual(withoutCache[index])
    // V8 accepted it: a refused cache is removed, and none was written again
    expect(cacheFiles(cacheDir)).toEqual([file])
    expect(readFileSync(file).equals(written)).toBe(true)
  })

  it('is replaced when it belongs to another bundle or is damaged, and removed when V8 refuses it', async () => {
    const cacheDir = tempDir()
    await run(['version'], cacheDir)
    const [file] = cacheFiles(cacheDir)
    const code = codeOf(readFileSync(file))
    /** After `replace`, the next run writes a cache of this bundle, and V8 accepts that one: a run leaves it as it is. */
    const expectReplaced = async (replace: Buffer) => {
      writeFileSync(file, replace)
      expect((await run(['whoami'], cacheDir)).code).toBe(8)
      const written = readFileSync(file)
      expect(written.equals(replace)).toBe(false)
      expect(written.equals(cacheFile(bundleId, codeOf(written)))).toBe(true)
      expect((await run(['whoami'], cacheDir)).code).toBe(8)
      expect(readFileSync(file).equals(written)).toBe(true)
    }

    await expectReplaced(cacheFile('0'.repeat(bundleId.length), code))
    const damaged = Buffer.from(cacheFile(bundleId, code))
    damaged[damaged.length >> 1] ^= 0xff
    await expectReplaced(damaged)

    // right id and checksum, but not code V8 made: V8 refuses it, the run goes on, the file goes
    writeFileSync(file, cacheFile(bundleId, Buffer.alloc(code.length, 7)))
    expect((await run(['whoami'], cacheDir)).code).toBe(8)
    expect(cacheFiles(cacheDir)).toEqual([])
    expect((await run(['app', 'lst'], cacheDir)).code).toBe(2)
    expect(cacheFiles(cacheDir)).toEqual([file])
  })
})
