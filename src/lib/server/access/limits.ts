// The numbers of authentication, stated once: the server applies them, docs/security.md explains them.

/** A replica reads a token again at most this long after its last read: a revocation elsewhere is seen within it. */
export const TOKEN_CACHE_MS = 500
/** A token's last use is written at most this often (it is shown to the minute). */
export const LAST_USED_RESOLUTION_MS = 60_000
/** Failed authentications an address may make at once... */
export const FAILED_AUTH_BURST = 10
/** ...and then one more per this long (10 a minute). */
export const FAILED_AUTH_INTERVAL_MS = 6000
