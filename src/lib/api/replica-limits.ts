// Replica leases, shared by `server start` (its flags and help) and the control plane, stated once.

/** How long a replica's runs stay its own without a heartbeat (server start --lease). */
export const DEFAULT_LEASE = '15s'
export const DEFAULT_LEASE_MS = 15_000
/** A replica renews every third of its lease: shorter leases would renew too often to be worth it. */
export const MIN_LEASE_MS = 1000
