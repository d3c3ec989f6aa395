// KyselyStore: the Store on Kysely, one set of queries for SQLite and PostgreSQL, by concern in this
// folder (catalog, releases, logs, settings, schedules, replicas). What the databases do differently
// beyond the SQL Kysely writes for both (locks, notifications) comes in as DialectQuirks (quirks.ts).
// Here: transactions and savepoints, the policy cache, events and wakeups, and the concerns they touch;
// the concerns that go straight to their query module are inherited from KyselyStoreBase (store-base.ts).
import {type Kysely, sql, type Transaction} from 'kysely'

import type {Database} from '../schema/tables.js'
import type {WakeupHandlers} from '../store.js'
import type {
  AppPatch,
  AppRecord,
  DeliveryAttempt,
  DeliveryStatus,
  NewDelivery,
  NewNotification,
  EnvironmentRecord,
  FreezeRecord,
  NewFreeze,
  NewEvent,
  ProjectRecord,
  ReleaseFilter,
  ReplicaRecord,
  SettingsRecord,
  Store,
} from '../store.js'
import type {BlockedVersion, PauseState, SettingsChange} from '../../../api/schemas.js'
import {isQueueListing} from '../../../api/domain.js'
import * as catalog from './catalog.js'
import {ActiveSets} from './active-sets.js'
import {CommitListeners} from './commit-listeners.js'
import {type Db, inTransaction} from './db.js'
import * as eventQueries from './events.js'
import * as freezes from './freezes.js'
import * as notifications from './notifications.js'
import {policyKey, PolicyReads} from './policy-reads.js'
import type {DialectQuirks} from './quirks.js'
import * as releases from './releases.js'
import type {ActiveRow} from './releases.js'
import * as replicas from './replicas.js'
import {admitPayload, WAKEUP_CHANNELS} from './replicas.js'
import {KyselyStoreBase} from './store-base.js'
import * as settings from './settings.js'

export class KyselyStore extends KyselyStoreBase implements Store {
  /** savepoints taken in this transaction: each gets its own name */
  private savepoints = 0

  constructor(
    db: Db,
    private readonly quirks: DialectQuirks,
    private readonly commitListeners = new CommitListeners(),
    /** shared by the stores of this database's transactions */
    listedReleases = new releases.ListedReleases(),
    /** in a transaction: its events, written just before its commit (null outside one) */
    private readonly pendingEvents: NewEvent[] | null = null,
    /** in a transaction: what it has read of the policy tables (null outside one); see PolicyReads */
    private readonly policyReads: PolicyReads | null = null,
    /** environments' active releases as committed transactions read them: SQLite only (see ActiveSets) */
    private readonly activeSets: ActiveSets | null = quirks.dialect === 'sqlite' ? new ActiveSets() : null,
    /** in a transaction: what to do once it has committed (null outside one) */
    private readonly afterCommit: (() => void)[] | null = null,
  ) {
    super(db, quirks.dialect, listedReleases)
  }

  async transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this)
    let appended = false
    const afterCommit: (() => void)[] = []
    const result = await (this.db as Kysely<Database>).transaction().execute(async (kyselyTrx) => {
      const trx = await this.quirks.inFlightTogether(kyselyTrx)
      const events: NewEvent[] = []
      const value = await fn(new KyselyStore(trx, this.quirks, this.commitListeners, this.listedReleases, events, new PolicyReads(), this.activeSets, afterCommit))
      if (events.length > 0) {
        await this.writeEvents(trx, events)
        appended = true
      }
      return value
    })
    for (const committed of afterCommit) committed()
    if (appended) this.commitListeners.eventsCommitted()
    return result
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.db.isTransaction) throw new Error('savepoint must run inside store.transaction()')
    const name = sql.id(`sp_${++this.savepoints}`)
    const eventsBefore = this.pendingEvents?.length ?? 0
    const afterCommitBefore = this.afterCommit?.length ?? 0
    await sql`savepoint ${name}`.execute(this.db)
    try {
      const result = await fn()
      await sql`release savepoint ${name}`.execute(this.db)
      return result
    } catch (error) {
      await sql`rollback to savepoint ${name}`.execute(this.db)
      await sql`release savepoint ${name}`.execute(this.db)
      // A policy change it made is undone too.
      this.policyReads?.clear()
      // What was undone recorded no events either, and what it read is not kept.
      if (this.pendingEvents) this.pendingEvents.length = eventsBefore
      if (this.afterCommit) this.afterCommit.length = afterCommitBefore
      throw error
    }
  }

  /** A read of a policy table: in a transaction, made once until it writes one (see PolicyReads); outside one, made every time. */
  private remembered<T>(key: string, read: () => Promise<T>): Promise<T> {
    return this.policyReads ? this.policyReads.remembered(key, read) : read()
  }

  /** A write to a policy table: what this transaction remembers of them is read again. */
  private policyChanged<T>(write: Promise<T>): Promise<T> {
    this.policyReads?.clear()
    return write
  }

  async close(): Promise<void> {
    await this.quirks.close()
    await (this.db as Kysely<Database>).destroy()
  }

  async activeLocks(project: string, environment: string) {
    if (!this.activeSets) return super.activeLocks(project, environment)
    return (await this.activeRows(this.activeSets, project, environment)).map(({lock}) => lock)
  }

  /** Inside a transaction, the environment's active releases from what is kept (see ActiveSets); outside one, in one of their own. */
  private async activeRows(activeSets: ActiveSets, project: string, environment: string): Promise<readonly ActiveRow[]> {
    if (!this.afterCommit) return this.transaction((tx) => (tx as KyselyStore).activeRows(activeSets, project, environment))
    const {rows, keep} = await activeSets.read(this.db, project, environment)
    this.afterCommit.push(keep)
    return rows
  }

  async listReleases(filter: ReleaseFilter) {
    // A listing of an environment's queue, oldest first, is the kept queue's head.
    if (!this.activeSets || this.afterCommit || !isQueueListing(filter)) return super.listReleases(filter)
    const rows = await this.activeRows(this.activeSets, filter.project as string, filter.environment as string)
    const listed = filter.limit ? rows.slice(0, filter.limit) : rows
    return releases.releasesAt(this.db, this.listedReleases, listed.map(({lock, revision}) => ({id: lock.id, revision})), () => super.listReleases(filter))
  }

  getProject(name: string) {
    return this.remembered(policyKey('project', name), () => catalog.getProject(this.db, name))
  }

  listProjects() {
    return catalog.listProjects(this.db)
  }

  upsertProject(project: ProjectRecord) {
    return this.policyChanged(catalog.upsertProject(this.db, project))
  }

  listEnvironments(project: string) {
    return catalog.listEnvironments(this.db, project)
  }

  getEnvironment(project: string, name: string) {
    return this.remembered(policyKey('environment', project, name), () => catalog.getEnvironment(this.db, project, name))
  }

  insertEnvironment(environment: EnvironmentRecord) {
    return this.policyChanged(catalog.insertEnvironment(this.db, environment))
  }

  deleteEnvironment(project: string, name: string) {
    return this.policyChanged(catalog.deleteEnvironment(this.db, project, name))
  }

  listApps(project: string, environment: string, names?: string[]) {
    return catalog.listApps(this.db, project, environment, names)
  }

  upsertApp(app: AppRecord) {
    return catalog.upsertApp(this.db, app)
  }

  updateApp(project: string, environment: string, name: string, patch: AppPatch, at: string) {
    return catalog.updateApp(this.db, project, environment, name, patch, at)
  }

  updateApps(project: string, environment: string, names: string[], patch: AppPatch, at: string) {
    return catalog.updateApps(this.db, project, environment, names, patch, at)
  }

  updateAppsEach(project: string, environment: string, changes: {name: string; patch: AppPatch; at: string}[]) {
    return catalog.updateAppsEach(this.db, project, environment, changes)
  }

  deleteApp(project: string, environment: string, name: string) {
    return catalog.deleteApp(this.db, project, environment, name)
  }

  getSettings(project: string | null, environment: string | null) {
    return this.remembered(policyKey('settings', project, environment), () => settings.getSettings(this.db, project, environment))
  }

  settingsFor(project: string, environment: string) {
    return this.remembered(policyKey('settingsFor', project, environment), () => settings.settingsFor(this.db, project, environment))
  }

  listSettings() {
    return settings.listSettings(this.db)
  }

  saveSettings(record: SettingsRecord, changes: SettingsChange[]) {
    return this.policyChanged(settings.saveSettings(this.db, record, changes))
  }

  listSettingsChanges(project: string | null, environment: string | null, limit: number) {
    return settings.listSettingsChanges(this.db, project, environment, limit)
  }

  listPauses(project: string | null, environment: string | null) {
    return this.remembered(policyKey('pauses', project, environment), () => settings.listPauses(this.db, project, environment))
  }

  addPause(pause: PauseState) {
    return this.policyChanged(settings.addPause(this.db, pause))
  }

  removePause(project: string | null, environment: string | null) {
    return this.policyChanged(settings.removePause(this.db, project, environment))
  }

  // ---- freezes and blocked versions ----

  insertFreeze(freeze: NewFreeze) {
    return this.policyChanged(freezes.insertFreeze(this.db, freeze))
  }

  getFreeze(id: number) {
    return freezes.getFreeze(this.db, id)
  }

  deleteFreeze(id: number) {
    return this.policyChanged(freezes.deleteFreeze(this.db, id))
  }

  async freezesFor(project: string, environment: string, now: string) {
    // The freezes not ended at the first read's time: a later time only ends some of them; an earlier one reads again.
    const key = policyKey('freezes', project, environment)
    const first = (await this.policyReads?.get(key)) as {now: string; freezes: FreezeRecord[]} | undefined
    if (first && first.now <= now) return first.freezes.filter((freeze) => freeze.to === null || freeze.to > now)
    this.policyReads?.delete(key)
    return (await this.remembered(key, async () => ({now, freezes: await freezes.freezesFor(this.db, project, environment, now)}))).freezes
  }

  listFreezes(now: string, scope?: {project: string; environment?: string}) {
    return freezes.listFreezes(this.db, now, scope)
  }

  blockVersion(block: BlockedVersion) {
    return this.policyChanged(freezes.blockVersion(this.db, block))
  }

  unblockVersion(project: string, app: string, version: string) {
    return this.policyChanged(freezes.unblockVersion(this.db, project, app, version))
  }

  listBlockedVersions(project: string, app?: string) {
    return this.remembered(policyKey('blocked', project, app), () => freezes.listBlockedVersions(this.db, project, app))
  }

  // ---- replicas: the admission turn, claims and leases, cancels, wakeups ----

  async lockEnvironment(project: string, environment: string): Promise<void> {
    if (!this.db.isTransaction) throw new Error('lockEnvironment must run inside store.transaction(): the turn lasts until its commit')
    await this.quirks.lockEnvironment(this.db as Transaction<Database>, project, environment)
  }

  notifyAdmit(project: string, environment: string): Promise<void> {
    return this.quirks.notify(this.db, WAKEUP_CHANNELS.admit, admitPayload(project, environment))
  }

  notifyCancel(releaseId: number): Promise<void> {
    return this.quirks.notify(this.db, WAKEUP_CHANNELS.cancel, String(releaseId))
  }

  listen(handlers: WakeupHandlers): Promise<void> {
    if (handlers.events) this.commitListeners.add(handlers.events)
    return this.quirks.listen(handlers)
  }

  upsertReplica(replica: ReplicaRecord) {
    return replicas.upsertReplica(this.db, replica)
  }

  getReplica(id: string) {
    return replicas.getReplica(this.db, id)
  }

  listReplicas(heartbeatSince: string) {
    return replicas.listReplicas(this.db, heartbeatSince)
  }

  heartbeat(replica: string, at: string, leaseExpiresAt: string) {
    return replicas.heartbeat(this.db, this.quirks.dialect, replica, at, leaseExpiresAt)
  }

  setReplicaStopping(replica: string) {
    return replicas.setReplicaStopping(this.db, replica)
  }

  deleteReplica(replica: string) {
    return replicas.deleteReplica(this.db, replica)
  }

  expiredRuns(before: string) {
    return replicas.expiredRuns(this.db, before)
  }

  runsOf(replica: string) {
    return replicas.runsOf(this.db, replica)
  }

  requestCancel(releaseId: number, by: string, at: string) {
    return replicas.requestCancel(this.db, releaseId, by, at)
  }

  cancelRequests(replica: string) {
    return replicas.cancelRequests(this.db, replica)
  }

  environmentsWithQueued() {
    return replicas.environmentsWithQueued(this.db)
  }

  // ---- events ----

  /**
   * Events are written at the end of their transaction, just before its commit: the event-order lock
   * (PostgreSQL) is the last lock a transaction takes, so it is held for the least time and two
   * transactions that write rows and append events never wait on each other.
   */
  appendEvents(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve()
    if (this.pendingEvents) {
      this.pendingEvents.push(...events)
      return Promise.resolve()
    }
    return this.transaction((tx) => tx.appendEvents(events))
  }

  private async writeEvents(trx: Transaction<Database>, events: NewEvent[]): Promise<void> {
    await this.quirks.lockEventOrder(trx)
    await eventQueries.insertEvents(trx, events)
  }

  listEvents(afterSeq: number, limit: number, filter: {releaseId?: number} = {}) {
    return eventQueries.listEvents(this.db, afterSeq, limit, filter)
  }

  lastEventSeq() {
    return eventQueries.lastEventSeq(this.db)
  }

  eventHorizon() {
    return eventQueries.eventHorizon(this.db)
  }

  pruneEvents(cutoff: string, keepAfter: number, limit: number) {
    return inTransaction(this.db, (trx) => eventQueries.pruneEvents(trx, cutoff, keepAfter, limit))
  }

  // ---- notifications ----

  insertNotification(notification: NewNotification) {
    // Under the outbox's lock: no fill is between reading the subscriptions and moving past an event.
    return this.transaction(async (tx) => {
      await tx.lockOutbox()
      return notifications.insertNotification((tx as KyselyStore).db, notification)
    })
  }

  listNotifications() {
    return notifications.listNotifications(this.db)
  }

  getNotification(id: number) {
    return notifications.getNotification(this.db, id)
  }

  deleteNotification(id: number) {
    return inTransaction(this.db, (trx) => notifications.deleteNotification(trx, id))
  }

  pendingDeliveryCounts() {
    return notifications.pendingDeliveryCounts(this.db)
  }

  async lockOutbox(): Promise<number> {
    if (!this.db.isTransaction) throw new Error('lockOutbox must run inside store.transaction(): the lock lasts until its commit')
    return notifications.lockOutbox(this.db, this.dialect === 'postgres')
  }

  advanceOutbox(seq: number) {
    return notifications.advanceOutbox(this.db, seq)
  }

  insertDeliveries(deliveries: NewDelivery[]) {
    return notifications.insertDeliveries(this.db, deliveries)
  }

  claimDeliveries(replica: string, now: string, until: string, limit: number) {
    return notifications.claimDeliveries(this.db, replica, now, until, limit)
  }

  insertClaimedDelivery(delivery: NewDelivery, replica: string, until: string) {
    return notifications.insertClaimedDelivery(this.db, delivery, replica, until)
  }

  recordAttempt(attempt: DeliveryAttempt, next: {status: DeliveryStatus; nextAttemptAt: string}, outcome: string) {
    return inTransaction(this.db, (trx) => notifications.recordAttempt(trx, attempt, next, outcome))
  }

  listDeliveries(notificationId: number, limit: number) {
    return notifications.listDeliveries(this.db, notificationId, limit)
  }

  pruneDeliveries(cutoff: string, limit: number) {
    return inTransaction(this.db, (trx) => notifications.pruneDeliveries(trx, cutoff, limit))
  }
}
