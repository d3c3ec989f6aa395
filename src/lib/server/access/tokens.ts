// Tokens: who a request comes from. Created, listed, rotated and revoked by admins; looked up by the
// digest of the secret on every request, through a cache short enough that a revocation made on any
// replica is seen on every replica within a second.
import {ADMIN_TOKEN_NAME} from '../../api/domain.js'
import {DurationError, parseDuration} from '../../api/duration.js'
import type {CreateTokenRequest, Grant, NewToken, TokenInfo} from '../../api/access.js'
import {grantText} from '../../api/grants.js'
import {forbidden, invalid, notFound} from '../errors.js'
import {requireEnvironment, requireProject} from '../engine/lookups.js'
import type {Store, TokenRecord} from '../store/store.js'
import {LAST_USED_RESOLUTION_MS, TOKEN_CACHE_MS} from './limits.js'
import {digestOf, newSecret} from './secrets.js'

/** What scheduled releases record as their author: no token may take the name. */
const RESERVED_NAMES = new Set(['schedule'])
const CACHE_ENTRIES = 10_000

export type Authentication = {token: TokenRecord} | {refused: 'unknown'} | {refused: 'expired'; name: string; expiresAt: string}

/** Where the admin token of this start came from. */
export type AdminTokenSource = 'given' | 'file' | 'data-dir' | 'generated' | 'stored'

export function tokenInfo(token: TokenRecord): TokenInfo {
  const {hash: _hash, lifetimeMs: _lifetimeMs, ...info} = token
  return info
}

interface CacheEntry {
  token: TokenRecord
  readAt: number
}

export class Tokens {
  /** by digest: the token as last read, and when */
  private readonly cache = new Map<string, CacheEntry>()
  /** by digest: the read under way, which the requests that arrive meanwhile share (a burst of 100 made 100 reads) */
  private readonly reading = new Map<string, Promise<CacheEntry | null>>()

  constructor(
    private readonly store: Store,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The token a secret belongs to, if it is known and not expired; notes its use (to the minute). */
  async authenticate(secret: string): Promise<Authentication> {
    const digest = digestOf(secret)
    const now = this.clock().getTime()
    let entry: CacheEntry | null | undefined = this.cache.get(digest)
    if (!entry || now - entry.readAt >= TOKEN_CACHE_MS) {
      entry = await (this.reading.get(digest) ?? this.read(digest, now))
      if (!entry) return {refused: 'unknown'}
    }
    const {token} = entry
    if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now) return {refused: 'expired', name: token.name, expiresAt: token.expiresAt}
    if (token.lastUsedAt === null || now - Date.parse(token.lastUsedAt) >= LAST_USED_RESOLUTION_MS) {
      const at = new Date(now).toISOString()
      entry.token = {...token, lastUsedAt: at}
      await this.store.touchToken(token.name, at)
    }
    return {token: entry.token}
  }

  /** Reads the token into the cache; the requests that need it meanwhile wait for this read and share its entry. */
  private read(digest: string, now: number): Promise<CacheEntry | null> {
    const read = this.store
      .tokenByHash(digest)
      .then((token) => {
        this.cache.delete(digest)
        if (!token) return null
        const entry = {token, readAt: now}
        if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string)
        this.cache.set(digest, entry)
        return entry
      })
      .finally(() => this.reading.delete(digest))
    this.reading.set(digest, read)
    return read
  }

  async create(request: CreateTokenRequest, by: string): Promise<NewToken> {
    if (RESERVED_NAMES.has(request.name)) throw invalid(`"${request.name}" is reserved: scheduled releases are recorded as triggered by it`, 'choose another name')
    const grants = await this.checkGrants(request.grants)
    const lifetimeMs = request.expiresIn === undefined ? null : lifetimeOf(request.expiresIn)
    const secret = newSecret()
    const now = this.clock()
    const token: TokenRecord = {
      name: request.name,
      hash: digestOf(secret),
      grants,
      createdAt: now.toISOString(),
      createdBy: by,
      expiresAt: lifetimeMs === null ? null : new Date(now.getTime() + lifetimeMs).toISOString(),
      lifetimeMs,
      lastUsedAt: null,
      rotatedAt: null,
      configured: false,
    }
    if (!(await this.store.insertToken(token))) {
      throw invalid(`a token named ${request.name} exists already`, `choose another name, or renew its secret with: relctl token rotate ${request.name}`)
    }
    return {...tokenInfo(token), token: secret}
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.store.listTokens()).map(tokenInfo)
  }

  async get(name: string): Promise<TokenRecord> {
    const token = await this.store.getToken(name)
    if (!token) throw notFound('token', name, (await this.store.listTokens()).map((known) => known.name))
    return token
  }

  /** A new secret for the token; the old one stops working at once. It lives as long as it did from creation, unless expiresIn says otherwise. */
  async rotate(name: string, expiresIn: string | undefined): Promise<NewToken> {
    const current = await this.get(name)
    refuseConfigured(current, 'rotate')
    const lifetimeMs = expiresIn === undefined ? current.lifetimeMs : lifetimeOf(expiresIn)
    const secret = newSecret()
    const now = this.clock()
    const rotated = await this.store.rotateToken(name, digestOf(secret), lifetimeMs === null ? null : new Date(now.getTime() + lifetimeMs).toISOString(), now.toISOString())
    if (!rotated) throw notFound('token', name, [])
    this.forget(name)
    return {...tokenInfo(rotated), token: secret}
  }

  /** Deletes the token: its secret stops working at once here, and within a second on every replica. */
  async revoke(name: string): Promise<TokenInfo> {
    const token = await this.get(name)
    refuseConfigured(token, 'revoke')
    if (!(await this.store.deleteToken(name))) throw notFound('token', name, [])
    this.forget(name)
    return tokenInfo(token)
  }

  /**
   * The admin token of this start. A token given to server start becomes the admin token (again, at
   * every start); a start without one leaves that token an ordinary one, which the API may then rotate
   * or revoke. Else the data dir's token file of an older version becomes the admin token; else the
   * first start makes one. The secret is returned when this process knows it.
   */
  async establishAdmin(given: {secret: string; source: 'given' | 'file'} | {dataDirSecret: string} | null): Promise<{secret: string | null; source: AdminTokenSource}> {
    const now = this.clock().toISOString()
    const admin = (secret: string, configured: boolean): TokenRecord => ({
      name: ADMIN_TOKEN_NAME,
      hash: digestOf(secret),
      grants: [{role: 'admin', project: null, environment: null}],
      createdAt: now,
      createdBy: 'server start',
      expiresAt: null,
      lifetimeMs: null,
      lastUsedAt: null,
      rotatedAt: null,
      configured,
    })
    if (given && 'secret' in given) {
      await this.store.putToken(admin(given.secret, true))
      return {secret: given.secret, source: given.source}
    }
    const stored = await this.store.getToken(ADMIN_TOKEN_NAME)
    if (stored?.configured) await this.store.putToken({...stored, configured: false})
    if (given) {
      const taken = !(await this.store.insertToken(admin(given.dataDirSecret, false)))
      return {secret: taken ? null : given.dataDirSecret, source: taken ? 'stored' : 'data-dir'}
    }
    if ((await this.store.listTokens()).length > 0) return {secret: null, source: 'stored'}
    const secret = newSecret()
    // Replicas starting together on a new database: one insert wins, and only its secret works.
    return (await this.store.insertToken(admin(secret, false))) ? {secret, source: 'generated'} : {secret: null, source: 'stored'}
  }

  private forget(name: string): void {
    for (const [digest, entry] of this.cache) if (entry.token.name === name) this.cache.delete(digest)
  }

  /** Grants of projects and environments that exist, each once. */
  private async checkGrants(grants: Grant[]): Promise<Grant[]> {
    const unique = new Map<string, Grant>()
    for (const grant of grants) {
      if (grant.project === null && grant.environment !== null) throw invalid(`grant ${grant.role} on environment ${grant.environment} names no project`, 'pass --project too')
      if (grant.project !== null) {
        const project = await requireProject(this.store, grant.project)
        if (grant.environment !== null) await requireEnvironment(this.store, project, grant.environment)
      }
      unique.set(grantText(grant), grant)
    }
    return [...unique.values()]
  }
}

function lifetimeOf(expiresIn: string): number {
  try {
    return parseDuration(expiresIn)
  } catch (error) {
    if (error instanceof DurationError) throw invalid(`expiresIn: ${error.message}`, 'e.g. --expires 90d')
    throw error
  }
}

function refuseConfigured(token: TokenRecord, verb: 'rotate' | 'revoke'): void {
  if (token.configured) {
    throw forbidden(
      `token ${token.name} is given to server start (--token, --token-file or RELCTL_SERVER_TOKEN), which sets it again at every start; the API cannot ${verb} it`,
      verb === 'rotate' ? 'put a new token in the file (or variable) server start reads, and restart the control plane' : 'stop passing it to server start and restart the control plane; then revoke it',
    )
  }
}
