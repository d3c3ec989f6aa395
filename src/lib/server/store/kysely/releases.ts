// Releases and their tasks: insert once per idempotency key, compare-and-set transitions, queue reads.
import {FINAL_RELEASE_STATUSES, type ReleaseStatus} from '../../../api/domain.js'
import type {Release} from '../../../api/schemas.js'
import type {ActiveLock, AppHistoryRow, NewRelease, ReleaseFilter, ReleaseRecord, ReleaseTasks, ReleaseTransitionFields, TaskPatch, TaskRecord} from '../store.js'
import {eachRowSets, eventLoopSlices, rowBatches, valueBatches} from './batches.js'
import * as codec from './codecs.js'
import {type Db, precompiled} from './db.js'
import {lastEvent} from './events.js'

const ACTIVE_STATUSES = ['pending_approval', 'queued', 'running'] as const
const LAST_RELEASES_SCANNED = 500

export async function insertRelease(db: Db, release: NewRelease): Promise<{release: ReleaseRecord; created: boolean}> {
  if (release.idempotencyKey) {
    const existing = await findByIdempotencyKey(db, release.idempotencyKey)
    if (existing) return {release: existing, created: false}
  }
  // Two requests with one key that raced past the lookup: the loser inserts nothing (on PostgreSQL
  // after the winner commits) and answers with the winner's release. No unique violation is raised,
  // which on PostgreSQL would abort the surrounding transaction.
  const row = await db
    .insertInto('releases')
    .values(codec.releaseRow(release))
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returningAll()
    .executeTakeFirst()
  if (row) return {release: codec.toRelease(row), created: true}
  const winner = await findByIdempotencyKey(db, release.idempotencyKey as string)
  if (!winner) throw new Error(`release with idempotency key ${release.idempotencyKey} was neither inserted nor found`)
  return {release: winner, created: false}
}

const releaseByKey = precompiled((db: Db, key: string) => db.selectFrom('releases').selectAll().where('idempotency_key', '=', key))
const releaseById = precompiled((db: Db, id: number) => db.selectFrom('releases').selectAll().where('id', '=', id))

export async function findByIdempotencyKey(db: Db, key: string): Promise<ReleaseRecord | null> {
  const [row] = await releaseByKey(db, key)
  return row ? codec.toRelease(row) : null
}

export async function getRelease(db: Db, id: number): Promise<ReleaseRecord | null> {
  const [row] = await releaseById(db, id)
  return row ? codec.toRelease(row) : null
}

/**
 * Releases as listings last read them, by id, with the revision of the row they were read at. Every
 * update of a release's row counts up its revision, so a listing reads the id and revision of each
 * release it lists, and the whole row only of those that changed since. Filled from committed rows only
 * (outside a transaction): on SQLite an id that a rolled-back insert used is given to the next release.
 * Shared by every listing, so frozen.
 */
export class ListedReleases {
  private static readonly KEPT = 10_000
  private readonly byId = new Map<number, {revision: number; release: ReleaseRecord}>()

  get(id: number, revision: number): ReleaseRecord | undefined {
    const kept = this.byId.get(id)
    return kept?.revision === revision ? kept.release : undefined
  }

  keep(revision: number, release: ReleaseRecord): void {
    this.byId.delete(release.id)
    // The oldest first: a queue moves on, and history is listed newest first.
    if (this.byId.size >= ListedReleases.KEPT) this.byId.delete(this.byId.keys().next().value as number)
    this.byId.set(release.id, {revision, release: codec.deepFreeze(release)})
  }
}

/** The releases a filter names, in its order: a query to select their columns from. */
function filteredReleases(db: Db, filter: ReleaseFilter) {
  return db
    .selectFrom('releases')
    .$if(Boolean(filter.project), (query) => query.where('project', '=', filter.project as string))
    .$if(Boolean(filter.environment), (query) => query.where('environment', '=', filter.environment as string))
    .$if(Boolean(filter.statuses?.length), (query) => query.where('status', 'in', filter.statuses as ReleaseStatus[]))
    .orderBy('id', filter.order ?? 'desc')
    .$if(Boolean(filter.limit), (query) => query.limit(filter.limit as number))
}

export async function listReleases(db: Db, listed: ListedReleases, filter: ReleaseFilter): Promise<ReleaseRecord[]> {
  const wholeRows = async () => (await filteredReleases(db, filter).selectAll().execute()).map(codec.toRelease)
  if (db.isTransaction) return wholeRows()
  const revisions = (await filteredReleases(db, filter).select(['id', 'revision']).execute()).map((row) => ({id: Number(row.id), revision: row.revision}))
  return releasesAt(db, listed, revisions, wholeRows)
}

/**
 * Outside a transaction: the releases with these ids, each as it was at its revision, from what listings
 * kept and else read; `reread` when one changed again since its revision was read.
 */
export async function releasesAt(db: Db, listed: ListedReleases, revisions: {id: number; revision: number}[], reread: () => Promise<ReleaseRecord[]>): Promise<ReleaseRecord[]> {
  const releases = revisions.map(({id, revision}) => listed.get(id, revision))
  const changed = new Map(revisions.flatMap(({id, revision}, index) => (releases[index] ? [] : [[id, revision] as const])))
  const read = new Map<number, ReleaseRecord>()
  for (const batch of valueBatches([...changed.keys()], 0)) {
    for (const row of await db.selectFrom('releases').selectAll().where('id', 'in', batch).execute()) {
      // A release that changed again since the first read: the two reads are not of one state (it may
      // have left the filter, which a limit would not see), so the listing is read again in one query.
      if (row.revision !== changed.get(Number(row.id))) return reread()
      const release = codec.toRelease(row)
      read.set(release.id, release)
      listed.keep(row.revision, release)
    }
  }
  return revisions.map(({id}, index) => releases[index] ?? (read.get(id) as ReleaseRecord))
}

const activeLockRows = precompiled((db: Db, project: string, environment: string, afterId: number) =>
  db
    .selectFrom('releases')
    .select(['id', 'status', 'lock_set', 'freeze_override', 'deadline_ms', 'revision'])
    .where('project', '=', project)
    .where('environment', '=', environment)
    .where('status', 'in', ACTIVE_STATUSES)
    .where('id', '>', afterId)
    .orderBy('id'),
)

/** An active release as the queue shows it, with its row's revision. */
export interface ActiveRow {
  lock: ActiveLock
  revision: number
}

/** An environment's active releases with an id above `afterId` (all of them by default), in id order. */
export async function activeLockRevisions(db: Db, project: string, environment: string, afterId = 0): Promise<ActiveRow[]> {
  const rows = await activeLockRows(db, project, environment, afterId)
  return rows.map((row) => ({
    lock: {
      id: Number(row.id),
      status: row.status as (typeof ACTIVE_STATUSES)[number],
      lockSet: codec.parseLockSet(row.lock_set),
      overridesFreeze: row.freeze_override !== null,
      deadlineMs: row.deadline_ms === null ? null : Number(row.deadline_ms),
    },
    revision: Number(row.revision),
  }))
}

export async function activeLocks(db: Db, project: string, environment: string): Promise<ActiveLock[]> {
  return (await activeLockRevisions(db, project, environment)).map(({lock}) => lock)
}

/** An environment's active releases in one aggregate over the queue index: their count, revision sum and last id. */
const activeAggregate = precompiled((db: Db, project: string, environment: string) =>
  db
    .selectFrom('releases')
    .select((eb) => [eb.fn.countAll().as('count'), eb.fn.sum('revision').as('revisions'), eb.fn.max('id').as('last')])
    .where('project', '=', project)
    .where('environment', '=', environment)
    .where('status', 'in', ACTIVE_STATUSES),
)

/** How many active releases an environment has and the sum of their revisions. */
export async function activeStamp(db: Db, project: string, environment: string): Promise<{count: number; revisions: number}> {
  const [row] = await activeAggregate(db, project, environment)
  return {count: Number(row?.count ?? 0), revisions: Number(row?.revisions ?? 0)}
}

export async function expiredQueued(db: Db, before: string): Promise<ReleaseRecord[]> {
  const rows = await db
    .selectFrom('releases')
    .selectAll()
    .where('expires_at', 'is not', null)
    .where('expires_at', '<=', before)
    .where('status', 'in', ['pending_approval', 'queued'])
    .orderBy('id')
    .execute()
  return rows.map(codec.toRelease)
}

export async function activeMark(db: Db, project: string, environment: string): Promise<string> {
  // The count and the last id see a release queued by any writer, also one that commits after a later
  // id; the last event sees every status change (events are numbered in commit order).
  const [[{seq}], [{count, last}]] = [await lastEvent(db), await activeAggregate(db, project, environment)]
  return `${seq}:${count}:${last}`
}

export async function transitionRelease(db: Db, id: number, from: ReleaseStatus[], to: ReleaseStatus, fields: ReleaseTransitionFields = {}): Promise<ReleaseRecord | null> {
  const row = await db.updateTable('releases').set(transitionChanges(to, fields)).where('id', '=', id).where('status', 'in', from).returningAll().executeTakeFirst()
  return row ? codec.toRelease(row) : null
}

/** The same compare-and-set on several releases in one statement: those that moved, in the order of `ids`. */
export async function transitionReleases(db: Db, ids: number[], from: ReleaseStatus[], to: ReleaseStatus, fields: ReleaseTransitionFields = {}): Promise<ReleaseRecord[]> {
  if (ids.length === 0) return []
  const rows = await db.updateTable('releases').set(transitionChanges(to, fields)).where('id', 'in', ids).where('status', 'in', from).returningAll().execute()
  const moved = new Map(rows.map((row) => [Number(row.id), codec.toRelease(row)]))
  return ids.flatMap((id) => moved.get(id) ?? [])
}

function transitionChanges(to: ReleaseStatus, fields: ReleaseTransitionFields) {
  const ends = (FINAL_RELEASE_STATUSES as readonly ReleaseStatus[]).includes(to)
  return {
    status: to,
    ...(fields.startedAt !== undefined && {started_at: fields.startedAt}),
    ...(fields.finishedAt !== undefined && {finished_at: fields.finishedAt}),
    ...(fields.error !== undefined && {error: fields.error}),
    ...(fields.decision && {
      decision: fields.decision.decision,
      decided_by: fields.decision.by,
      decided_at: fields.decision.at,
      decision_comment: fields.decision.comment,
    }),
    ...(fields.replica !== undefined && {replica: fields.replica}),
    ...(fields.leaseExpiresAt !== undefined && {lease_expires_at: fields.leaseExpiresAt}),
    ...(fields.deadlineAt !== undefined && {deadline_at: fields.deadlineAt}),
    ...(fields.endReason !== undefined && {end_reason: fields.endReason}),
    // A release that ended holds no claim; its replica stays as the one that ran it.
    ...(ends && {lease_expires_at: null}),
    revision: codec.nextRevision,
  }
}

export async function lastReleasePerApp(db: Db, project: string, environment: string): Promise<Map<string, Pick<ReleaseRecord, 'id' | 'status' | 'type'>>> {
  // From the releases' own resource lists, so that a release rejected or cancelled before it ran
  // counts too; the latest LAST_RELEASES_SCANNED ended releases are enough to know each app's last.
  const rows = await db
    .selectFrom('releases')
    .select(['id', 'status', 'type', 'resources'])
    .where('project', '=', project)
    .where('environment', '=', environment)
    .where('status', 'in', [...FINAL_RELEASE_STATUSES])
    .orderBy('id', 'desc')
    .limit(LAST_RELEASES_SCANNED)
    .execute()
  const last = new Map<string, Pick<ReleaseRecord, 'id' | 'status' | 'type'>>()
  for (const row of rows) {
    for (const resource of JSON.parse(row.resources) as {name: string}[]) {
      if (!last.has(resource.name)) last.set(resource.name, {id: Number(row.id), status: row.status as ReleaseStatus, type: row.type as Release['type']})
    }
  }
  return last
}

export async function insertTasks(db: Db, plans: ReleaseTasks[]): Promise<TaskRecord[][]> {
  const rows = plans.flatMap(({releaseId, tasks}) => tasks.map((task) => codec.taskRow(releaseId, task)))
  const inserted = new Map<number, TaskRecord[]>(plans.map(({releaseId}) => [releaseId, []]))
  // A big plan is thousands of rows: timers and requests run between its statements.
  const betweenStatements = eventLoopSlices()
  for (const batch of rowBatches(rows)) {
    await betweenStatements()
    for (const row of await db.insertInto('tasks').values(batch).returningAll().execute()) {
      const task = codec.toTask(row)
      inserted.get(task.releaseId)?.push(task)
    }
  }
  return plans.map(({releaseId}) => inserted.get(releaseId) ?? [])
}

const tasksOf = precompiled((db: Db, releaseId: number) => db.selectFrom('tasks').selectAll().where('release_id', '=', releaseId).orderBy('level').orderBy('id'))

export async function listTasks(db: Db, releaseId: number): Promise<TaskRecord[]> {
  const rows = await tasksOf(db, releaseId)
  return rows.map(codec.toTask)
}

export async function updateTask(db: Db, id: number, patch: TaskPatch): Promise<void> {
  await db.updateTable('tasks').set(taskChanges(patch)).where('id', '=', id).execute()
}

export async function updateTasks(db: Db, ids: number[], patch: TaskPatch): Promise<void> {
  const changes = taskChanges(patch)
  for (const batch of valueBatches(ids, Object.keys(changes).length)) await db.updateTable('tasks').set(changes).where('id', 'in', batch).execute()
}

/** Several tasks, each with its own change, in one statement per batch (eachRowSets). */
export async function updateTasksEach(db: Db, changes: {id: number; patch: TaskPatch}[]): Promise<void> {
  for (const [ids, set] of eachRowSets('id', changes.map(({id, patch}) => ({key: id, changes: taskChanges(patch)})))) {
    await db.updateTable('tasks').set(set).where('id', 'in', ids).execute()
  }
}

function taskChanges(patch: TaskPatch) {
  return {
    status: patch.status,
    ...(patch.exitCode !== undefined && {exit_code: patch.exitCode}),
    ...(patch.error !== undefined && {error: patch.error}),
    ...(patch.startedAt !== undefined && {started_at: patch.startedAt}),
    ...(patch.finishedAt !== undefined && {finished_at: patch.finishedAt}),
    ...(patch.attempt !== undefined && {attempt: patch.attempt}),
  }
}

export async function appHistory(db: Db, project: string, environment: string, app: string, limit: number): Promise<AppHistoryRow[]> {
  const rows = await db
    .selectFrom('tasks')
    .innerJoin('releases', 'releases.id', 'tasks.release_id')
    .select([
      'releases.id as id',
      'releases.type as type',
      'releases.triggered_by as triggered_by',
      'tasks.action as action',
      'tasks.from_version as from_version',
      'tasks.to_version as to_version',
      'tasks.target as target',
      'tasks.finished_at as finished_at',
    ])
    .where('releases.project', '=', project)
    .where('releases.environment', '=', environment)
    .where('tasks.resource', '=', app)
    .where('tasks.kind', '=', 'deploy')
    .where('tasks.status', '=', 'succeeded')
    .orderBy('tasks.finished_at', 'desc')
    .orderBy('tasks.id', 'desc')
    .limit(limit)
    .execute()
  return rows.map((row) => ({
    releaseId: Number(row.id),
    type: row.type as AppHistoryRow['type'],
    action: row.action as AppHistoryRow['action'],
    fromVersion: row.from_version,
    toVersion: row.to_version,
    target: row.target,
    triggeredBy: row.triggered_by,
    finishedAt: row.finished_at as string,
  }))
}
