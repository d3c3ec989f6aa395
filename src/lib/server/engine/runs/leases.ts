// Leases: what lets several replicas share one database without trusting each other's memory. Each
// replica has a row in `replicas` and renews, with one heartbeat every third of its lease, its row and
// the lease of every release it runs. Every replica sweeps: it ends the runs whose lease expired (their
// owner stopped answering; its deploy supervisor has killed their deploys), cancels the queued releases
// whose --expire-after passed, looks for cancel requests and deadlines on its own runs, and admits every
// environment with queued releases, so that a lost wakeup costs one sweep at most.
import type {Replica} from '../../../api/schemas.js'
import type {CancelRequest, ReleaseRecord, ReplicaRecord, Store} from '../../store/store.js'
import {StartupError} from '../../errors.js'
import {replicaLost} from '../rules/events.js'

/** The longest a queued release waits for a sweep when every wakeup was lost. */
export const MAX_SWEEP_MS = 5000
/** How often a replica that runs releases checks for cancel requests sent to other replicas, and for deadlines. */
export const CANCEL_CHECK_MS = 1000
/** Only replicas with a heartbeat this recent are read when listing the live ones: older rows are of replicas long gone. */
const LIVE_LOOKBACK_MS = 24 * 3600_000

export type ReplicaIdentity = Omit<ReplicaRecord, 'startedAt' | 'heartbeatAt' | 'stopping'>

export interface LeaseHooks {
  /** A run whose owner's lease expired: end it and admit its environment; true when this call ended it. */
  expired(release: ReleaseRecord): Promise<boolean>
  /** Cancel the queued releases whose expiry passed (any replica may; a compare-and-set decides). */
  expireQueued(): Promise<void>
  /** Stop this replica's runs that are past their deadline. */
  stopPastDeadline(now: Date): void
  /** Admit every environment with queued releases. */
  admitQueued(): Promise<void>
  /** Cancel requests on this replica's own runs. */
  cancelRequested(requests: CancelRequest[]): void
  /** This replica could not renew its leases for a whole lease: others may have failed its runs already. */
  leaseLost(): void
  /** Whether this replica runs anything (the cancel check is skipped when not). */
  running(): boolean
}

interface Logger {
  warn(object: object, message?: string): void
  error(object: object, message?: string): void
}

export class ReplicaLeases {
  private readonly timers = new Set<NodeJS.Timeout>()
  private stopped = true
  private renewedAt = 0
  private startedAt = ''
  private stopping = false
  private sweeping: Promise<void> = Promise.resolve()

  constructor(
    private readonly store: Store,
    readonly identity: ReplicaIdentity,
    private readonly clock: () => Date,
    private readonly log: Logger,
    private readonly hooks: LeaseHooks,
  ) {}

  /** When the lease of a run claimed now expires. */
  leaseFromNow(): string {
    return new Date(this.clock().getTime() + this.identity.leaseMs).toISOString()
  }

  /** Records this replica; refuses an id that a live replica holds. */
  async register(): Promise<void> {
    const now = this.clock()
    const existing = await this.store.getReplica(this.identity.id)
    if (existing && this.store.dialect !== 'sqlite' && heldByAnother(existing, this.identity, now)) {
      throw new StartupError(
        `replica id "${this.identity.id}" is in use by a live replica on ${existing.host} (pid ${existing.pid}, heartbeat at ${existing.heartbeatAt})`,
        'give this replica its own --replica-id (RELCTL_REPLICA_ID), or stop the other one first',
      )
    }
    this.startedAt = now.toISOString()
    this.renewedAt = now.getTime()
    await this.store.upsertReplica({...this.identity, startedAt: this.startedAt, heartbeatAt: this.startedAt, stopping: false})
  }

  start(): void {
    this.stopped = false
    this.every(this.identity.leaseMs / 3, () => this.heartbeat())
    this.every(Math.min(MAX_SWEEP_MS, Math.max(250, this.identity.leaseMs / 3)), () => this.sweep())
    this.every(CANCEL_CHECK_MS, () => this.checkCancels())
  }

  /** Shutting down: others see it, and it keeps renewing the leases of what still runs. */
  async markStopping(): Promise<void> {
    this.stopping = true
    await this.store.setReplicaStopping(this.identity.id).catch((error) => this.log.error({err: error}, 'could not record that this replica is stopping'))
  }

  /** Stops the timers and removes this replica's row: it runs nothing any more. */
  async stop(): Promise<void> {
    this.stopped = true
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    await this.sweeping
    await this.store.deleteReplica(this.identity.id).catch((error) => this.log.error({err: error}, 'could not remove this replica\'s row'))
  }

  /** The replicas alive now. */
  async alive(): Promise<ReplicaRecord[]> {
    const now = this.clock().getTime()
    // A replica is alive while its last heartbeat is younger than its own lease.
    const candidates = await this.store.listReplicas(new Date(now - LIVE_LOOKBACK_MS).toISOString())
    return candidates.filter((replica) => Date.parse(replica.heartbeatAt) + replica.leaseMs > now)
  }

  /** The replicas alive now, with what each runs. */
  async replicas(): Promise<Replica[]> {
    return Promise.all(
      (await this.alive()).map(async (replica) => ({
        ...replica,
        leaseExpiresAt: new Date(Date.parse(replica.heartbeatAt) + replica.leaseMs).toISOString(),
        self: replica.id === this.identity.id,
        runs: (await this.store.runsOf(replica.id)).map((release) => ({
          releaseId: release.id,
          project: release.project,
          environment: release.environment,
          type: release.type,
          startedAt: release.startedAt,
          leaseExpiresAt: release.leaseExpiresAt,
        })),
      })),
    )
  }

  /** Renews this replica's row and the leases of its runs; a replica that could not for a whole lease gives its runs up. */
  async heartbeat(): Promise<void> {
    const now = this.clock()
    try {
      await this.store.heartbeat(this.identity.id, now.toISOString(), new Date(now.getTime() + this.identity.leaseMs).toISOString())
      this.renewedAt = now.getTime()
    } catch (error) {
      this.log.error({err: error}, 'could not renew this replica\'s leases')
      if (now.getTime() - this.renewedAt >= this.identity.leaseMs) this.hooks.leaseLost()
    }
  }

  /** One sweep at a time: expired leases first (they may free environments), then the queues. */
  sweep(): Promise<void> {
    this.sweeping = this.sweeping.then(() => this.sweepOnce())
    return this.sweeping
  }

  private async sweepOnce(): Promise<void> {
    if (this.stopped) return
    const now = this.clock()
    try {
      const lost = new Map<string, number[]>()
      for (const release of await this.store.expiredRuns(now.toISOString())) {
        const ended = await this.hooks.expired(release).catch((error) => {
          this.log.error({releaseId: release.id, err: error}, 'could not end a run whose lease expired')
          return false
        })
        if (ended) lost.set(release.replica ?? 'unknown', [...(lost.get(release.replica ?? 'unknown') ?? []), release.id])
      }
      if (lost.size > 0) await this.store.appendEvents([...lost].map(([replica, releases]) => replicaLost(replica, releases, this.identity.id, now.toISOString())))
      await this.hooks.expireQueued()
      if (!this.stopping) await this.hooks.admitQueued()
    } catch (error) {
      this.log.error({err: error}, 'lease sweep failed')
    }
  }

  /** Stops this replica's runs that someone asked to cancel (on a notification, and every second), or whose deadline passed. */
  async checkCancels(): Promise<void> {
    if (!this.hooks.running()) return
    this.hooks.stopPastDeadline(this.clock())
    try {
      const requests = await this.store.cancelRequests(this.identity.id)
      if (requests.length > 0) this.hooks.cancelRequested(requests)
    } catch (error) {
      this.log.error({err: error}, 'could not read cancel requests')
    }
  }

  /** Runs fn every intervalMs, one call at a time, until stopped. */
  private every(intervalMs: number, fn: () => Promise<void>): void {
    const schedule = () => {
      if (this.stopped) return
      const timer = setTimeout(() => {
        this.timers.delete(timer)
        void fn().finally(schedule)
      }, intervalMs)
      timer.unref()
      this.timers.add(timer)
    }
    schedule()
  }
}

/**
 * Whether a live replica other than this process holds the id. On SQLite the data dir's lock already
 * makes this process the only one; a row left by a process of this host that is gone is this replica's
 * own, restarted.
 */
function heldByAnother(existing: ReplicaRecord, identity: ReplicaIdentity, now: Date): boolean {
  if (existing.stopping || Date.parse(existing.heartbeatAt) + existing.leaseMs <= now.getTime()) return false
  if (existing.host !== identity.host) return true
  return existing.pid !== identity.pid && processExists(existing.pid)
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, owned by someone else
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The default replica id: the host and the port, or the host and the process id when the port is chosen by the system. */
export function defaultReplicaId(host: string, port: number, pid: number): string {
  return port > 0 ? `${host}:${port}` : `${host}-${pid}`
}
