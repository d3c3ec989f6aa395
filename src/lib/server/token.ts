// The admin token given to server start: --token (RELCTL_SERVER_TOKEN) or the first line of
// --token-file; or, from a data dir an older version used, its token file, which becomes the admin
// token once and is then removed (tokens are kept only as hashes, in the database).
import {readFileSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {StartupError} from './errors.js'

export type GivenAdminToken = {secret: string; source: 'given' | 'file'} | {dataDirSecret: string} | null

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

/** Where an older version kept the shared token: the data dir's `token` file. */
export function legacyTokenFile(dataDir: string): string {
  return join(dataDir, 'token')
}

export function givenAdminToken(dataDir: string, given: {token?: string; file?: string}, warn: (message: string) => void): GivenAdminToken {
  if (given.token && given.file) throw new StartupError('both --token (or RELCTL_SERVER_TOKEN) and --token-file give the token', 'keep one of them')
  if (given.token) return {secret: given.token, source: 'given'}
  if (given.file) return {secret: readTokenFile(given.file, warn), source: 'file'}
  try {
    const stored = readFileSync(legacyTokenFile(dataDir), 'utf8').trim()
    return stored ? {dataDirSecret: stored} : null
  } catch {
    return null
  }
}

/** Once the database holds the data dir's token as a hash, the plaintext goes. */
export function removeLegacyTokenFile(dataDir: string): void {
  rmSync(legacyTokenFile(dataDir), {force: true})
}
