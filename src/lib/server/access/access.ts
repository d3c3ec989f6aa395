// Everything about who is asking, in one object for the HTTP layer: tokens, the throttle of failed
// authentications, the audit log, and the store they read.
import {DEFAULT_AUDIT_RETENTION_MS} from '../../api/log-limits.js'
import type {Logger} from '../engine/context.js'
import type {Store} from '../store/store.js'
import {AuditLog} from './audit.js'
import {AuthThrottle} from './throttle.js'
import {Tokens} from './tokens.js'

export interface AccessOptions {
  store: Store
  log: Logger
  /** audit entries older than this are deleted */
  auditRetentionMs?: number
  now?: () => Date
}

export class Access {
  readonly store: Store
  readonly tokens: Tokens
  readonly throttle: AuthThrottle
  readonly audit: AuditLog

  constructor(options: AccessOptions) {
    const now = options.now ?? (() => new Date())
    this.store = options.store
    this.tokens = new Tokens(options.store, now)
    this.throttle = new AuthThrottle(undefined, undefined, () => now().getTime())
    this.audit = new AuditLog(options.store, options.auditRetentionMs ?? DEFAULT_AUDIT_RETENTION_MS, options.log, now)
  }
}
