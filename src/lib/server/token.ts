// The bearer token the control plane expects: given (--token, RELCTL_SERVER_TOKEN), read from a file
// (--token-file), or kept in the data dir, generated on the first start.
import {randomBytes} from 'node:crypto'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {makePrivate} from './data-dir.js'
import {StartupError} from './errors.js'

export type TokenSource = 'given' | 'file' | 'data-dir' | 'generated'

/** The first line of a token file; refuses an unreadable or empty one, warns when others may read it. */
export function readTokenFile(file: string, warn: (message: string) => void): string {
  let content: string
  try {
    content = readFileSync(file, 'utf8')
  } catch (error) {
    throw new StartupError(`cannot read the token file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'pass a readable file whose first line is the token')
  }
  const token = content.split('\n')[0].trim()
  if (!token) throw new StartupError(`the token file ${file} is empty`, 'write the token on its first line')
  if ((statSync(file).mode & 0o077) !== 0) warn(`the token file ${file} can be read by other users; chmod 600 it`)
  return token
}

export function resolveToken(dataDir: string, given: {token?: string; file?: string}, warn: (message: string) => void): {token: string; source: TokenSource} {
  if (given.token && given.file) throw new StartupError('both --token (or RELCTL_SERVER_TOKEN) and --token-file give the token', 'keep one of them')
  if (given.token) return {token: given.token, source: 'given'}
  if (given.file) return {token: readTokenFile(given.file, warn), source: 'file'}
  const file = join(dataDir, 'token')
  try {
    const stored = readFileSync(file, 'utf8').trim()
    if (stored) {
      makePrivate([file])
      return {token: stored, source: 'data-dir'}
    }
  } catch {
    // no token yet: make one below
  }
  const token = `rc_${randomBytes(24).toString('base64url')}`
  writeFileSync(file, `${token}\n`, {mode: 0o600})
  makePrivate([file])
  return {token, source: 'generated'}
}
