// The data dir holds the database and the token: it is private to its user (0700, its files 0600), and
// one control plane holds it at a time, with a lock the kernel drops when that process dies.
import {chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import BetterSqlite3 from 'better-sqlite3'

import {StartupError} from './errors.js'

const PRIVATE_DIR = 0o700
const PRIVATE_FILE = 0o600
/** While files are created: owner only. */
const PRIVATE_UMASK = 0o077

/** Creates the data dir, or makes an existing one private; warns when another user owns it. */
export function preparePrivateDir(dir: string, warn: (message: string) => void): void {
  mkdirSync(dir, {recursive: true, mode: PRIVATE_DIR})
  const {uid, mode} = statSync(dir)
  const owner = process.getuid?.()
  if (owner !== undefined && uid !== owner) warn(`the data dir ${dir} belongs to another user (uid ${uid}); they can read the database and the token`)
  if ((mode & 0o777) === PRIVATE_DIR) return
  try {
    chmodSync(dir, PRIVATE_DIR)
  } catch (error) {
    warn(`could not make the data dir ${dir} private (chmod 700): ${(error as Error).message}`)
  }
}

/** Makes each of these files that exists readable by its owner only. */
export function makePrivate(files: string[]): void {
  for (const file of files) {
    try {
      chmodSync(file, PRIVATE_FILE)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
}

/** Runs fn with a umask that makes every file it creates owner-only (SQLite creates -wal/-shm like its database). */
export async function withPrivateFiles<T>(fn: () => Promise<T>): Promise<T> {
  const previous = process.umask(PRIVATE_UMASK)
  try {
    return await fn()
  } finally {
    process.umask(previous)
  }
}

/**
 * Holds the data dir for this process: an exclusive SQLite lock (fcntl) on a lock file, which the kernel
 * releases when the process ends however it ends, so a crash never leaves the data dir claimed. The pid
 * file beside it only names the holder in the refusal; it decides nothing.
 */
export function lockDataDir(dir: string): {release(): void} {
  const lockFile = join(dir, 'relctl.lock')
  const pidFile = join(dir, 'server.pid')
  const previousUmask = process.umask(PRIVATE_UMASK)
  const lock = new BetterSqlite3(lockFile, {timeout: 0})
  try {
    // Nothing is ever written to the lock file, so it needs no journal beside it.
    lock.pragma('journal_mode = MEMORY')
    lock.pragma('locking_mode = EXCLUSIVE')
    lock.exec('BEGIN EXCLUSIVE')
  } catch (error) {
    lock.close()
    if ((error as {code?: string}).code !== 'SQLITE_BUSY') throw error
    const pid = holderPid(pidFile)
    throw new StartupError(`another control plane${pid ? ` (pid ${pid})` : ''} is using ${dir}`, 'stop it or pass another --data-dir')
  } finally {
    process.umask(previousUmask)
  }
  makePrivate([lockFile])
  writeFileSync(pidFile, `${process.pid}\n`, {mode: PRIVATE_FILE})
  makePrivate([pidFile])
  return {
    release() {
      rmSync(pidFile, {force: true})
      lock.close()
    },
  }
}

function holderPid(pidFile: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}
