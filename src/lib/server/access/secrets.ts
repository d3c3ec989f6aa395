// Token secrets: made high-entropy with a recognisable prefix, and kept only as a digest.
import {createHash, randomBytes} from 'node:crypto'

import {TOKEN_PREFIX} from '../../api/domain.js'

/** A new secret: the prefix and 256 random bits in hex, e.g. relctl_3f9c… (71 characters). */
export function newSecret(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('hex')}`
}

/**
 * What is stored and looked up instead of the secret: its SHA-256. A secret is 256 random bits (or one
 * given to server start), so a fast digest is enough; and a lookup by digest tells a guesser nothing by
 * its timing or the secret's length: the digest of a near miss shares nothing with the right one.
 */
export function digestOf(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}
