// Loads dist/cli.cjs, the bundle of oclif, undici and the commands (scripts/bundle-cli.mjs), through a V8
// code cache. Compiling the bundle's functions was the largest part of an API command's start, and
// Node 20 caches compiled code only for scripts (vm.Script), not for ES modules: hence a CommonJS bundle.
//
// One cache file per installed bundle and Node version, in the CLI's cache dir. Its first line holds the
// bundle's id (the hash on the bundle's first line), so a rebuilt or upgraded bundle replaces it, and a
// CRC-32 of the code: V8 runs what a cache holds without checking its bytes, so a damaged file is
// replaced too. The run that writes it compiles every function of the bundle at once (--no-lazy), so
// that it serves every command, not only the one that wrote it. V8 itself refuses a cache made by
// another V8 or under other flags: that cache is removed, and the next run writes a new one. Failing to
// read or write the cache costs only speed.
import {accessSync, constants as fs, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {Module, createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {setFlagsFromString} from 'node:v8'
import {pathToFileURL} from 'node:url'
import {Script} from 'node:vm'
import {crc32} from 'node:zlib'

const ID_LINE = /^\/\/ relctl-bundle ([0-9a-f]+)\n/

/** Evaluates the bundle as the CommonJS module at its path and returns its exports. */
export function loadBundle(path: string, cacheDir: string | undefined): Record<string, unknown> {
  const file = realpathSync(path)
  const source = readFileSync(file, 'utf8')
  const id = ID_LINE.exec(source)?.[1]
  const cache = id && cacheDir ? {id, file: join(cacheDir, 'code-cache', `${installKey(file)}-node${process.versions.node}-${process.arch}.bin`)} : undefined
  const cachedData = cache && readCache(cache.file, cache.id)
  // Node's wrapper for CommonJS files, and relctlImport: the bundle's import() calls, which code from a
  // code cache cannot make itself on Node 20 (scripts/bundle-cli.mjs), made here.
  const compile = () => new Script(`(function (exports, require, module, __filename, __dirname, relctlImport) {${source}\n})`, {filename: file, cachedData})
  const relctlImport = (specifier: string, options?: ImportCallOptions) => import(specifier.startsWith('.') ? new URL(specifier, pathToFileURL(file)).href : specifier, options)

  let script: Script
  if (cachedData) {
    script = compile()
    if (script.cachedDataRejected) removeQuietly(cache.file)
  } else if (cache && canWrite(dirname(cache.file))) {
    setFlagsFromString('--no-lazy')
    try {
      script = compile()
    } finally {
      setFlagsFromString('--lazy')
    }
    writeCache(cache.file, cache.id, script.createCachedData())
  } else {
    script = compile()
  }

  const module = new Module(file)
  module.filename = file
  const require = createRequire(file)
  ;(script.runInThisContext() as (...args: unknown[]) => void)(module.exports, require, module, file, dirname(file), relctlImport)
  module.loaded = true
  // oclif requires the bundle by its path to take COMMANDS (its explicit strategy): let it find this one.
  require.cache[file] = module
  return module.exports as Record<string, unknown>
}

/** The cache's code when its first line names this bundle and its CRC-32 matches, else undefined. */
function readCache(cacheFile: string, id: string): Buffer | undefined {
  let file: Buffer
  try {
    file = readFileSync(cacheFile)
  } catch {
    return undefined
  }
  const newline = file.indexOf(10)
  const data = file.subarray(newline + 1)
  return newline > 0 && file.toString('latin1', 0, newline) === header(id, data) ? data : undefined
}

function header(id: string, data: Buffer): string {
  return `${id} ${crc32(data).toString(16)}`
}

/** Replaces the cache file in one rename, so that a process reading it never sees half of one. */
function writeCache(cacheFile: string, id: string, data: Buffer) {
  const temporary = `${cacheFile}.${process.pid}`
  try {
    writeFileSync(temporary, Buffer.concat([Buffer.from(`${header(id, data)}\n`), data]), {mode: 0o600})
    renameSync(temporary, cacheFile)
  } catch {
    removeQuietly(temporary)
  }
}

/** Whether the cache dir exists or could be made, and can be written. */
function canWrite(dir: string): boolean {
  try {
    mkdirSync(dir, {recursive: true, mode: 0o700})
    accessSync(dir, fs.W_OK)
    return true
  } catch {
    return false
  }
}

function removeQuietly(file: string) {
  try {
    rmSync(file, {force: true})
  } catch {
    // the next run tries again
  }
}

/** A short stable name for the bundle's install path (FNV-1a), so that each installed copy has one cache file. */
function installKey(file: string): string {
  let hash = 0x81_1c_9d_c5
  for (let index = 0; index < file.length; index++) hash = Math.imul(hash ^ file.charCodeAt(index), 0x01_00_01_93)
  return (hash >>> 0).toString(16).padStart(8, '0')
}
