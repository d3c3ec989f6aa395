// Pipeline runs and the releases each made: insert once per idempotency key, the run's row held while
// one writer decides for it, patches, and the links to releases (one per step, environment and kind).
import type {NewPipelineRun, PipelineLinkRecord, PipelineRunFilter, PipelineRunPatch, PipelineRunRecord} from '../store.js'
import * as codec from './codecs.js'
import type {Db} from './db.js'

export async function findPipelineRunByKey(db: Db, key: string): Promise<PipelineRunRecord | null> {
  const row = await db.selectFrom('pipeline_runs').selectAll().where('idempotency_key', '=', key).executeTakeFirst()
  return row ? codec.toPipelineRun(row) : null
}

export async function insertPipelineRun(db: Db, run: NewPipelineRun): Promise<{run: PipelineRunRecord; created: boolean}> {
  if (run.idempotencyKey) {
    const existing = await findPipelineRunByKey(db, run.idempotencyKey)
    if (existing) return {run: existing, created: false}
  }
  // As for releases: a racing insert with the same key inserts nothing and answers with the winner's run.
  const row = await db
    .insertInto('pipeline_runs')
    .values(codec.pipelineRunRow(run))
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returningAll()
    .executeTakeFirst()
  if (row) return {run: codec.toPipelineRun(row), created: true}
  const winner = await findPipelineRunByKey(db, run.idempotencyKey as string)
  if (!winner) throw new Error(`pipeline run with idempotency key ${run.idempotencyKey} was neither inserted nor found`)
  return {run: winner, created: false}
}

export async function getPipelineRun(db: Db, id: number): Promise<PipelineRunRecord | null> {
  const row = await db.selectFrom('pipeline_runs').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? codec.toPipelineRun(row) : null
}

export async function lockPipelineRun(db: Db, dialect: 'sqlite' | 'postgres', id: number): Promise<PipelineRunRecord | null> {
  if (!db.isTransaction) throw new Error('lockPipelineRun must run inside store.transaction()')
  // SQLite: the transaction holds the one connection of the one process already.
  const query = db.selectFrom('pipeline_runs').selectAll().where('id', '=', id)
  const row = await (dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst()
  return row ? codec.toPipelineRun(row) : null
}

export async function listPipelineRuns(db: Db, filter: PipelineRunFilter): Promise<PipelineRunRecord[]> {
  let query = db.selectFrom('pipeline_runs').selectAll()
  if (filter.project) query = query.where('project', '=', filter.project)
  if (filter.pipeline) query = query.where('pipeline', '=', filter.pipeline)
  if (filter.statuses?.length) query = query.where('status', 'in', filter.statuses)
  query = query.orderBy('id', filter.order ?? 'desc')
  if (filter.limit) query = query.limit(filter.limit)
  return (await query.execute()).map(codec.toPipelineRun)
}

export async function updatePipelineRun(db: Db, id: number, patch: PipelineRunPatch): Promise<PipelineRunRecord | null> {
  const values = codec.pipelineRunPatch(patch)
  if (Object.keys(values).length === 0) return getPipelineRun(db, id)
  const row = await db.updateTable('pipeline_runs').set(values).where('id', '=', id).returningAll().executeTakeFirst()
  return row ? codec.toPipelineRun(row) : null
}

export async function insertPipelineLink(db: Db, link: PipelineLinkRecord): Promise<boolean> {
  const row = await db
    .insertInto('pipeline_run_releases')
    .values(codec.pipelineLinkRow(link))
    .onConflict((oc) => oc.columns(['run_id', 'step', 'environment', 'kind']).doNothing())
    .returning('run_id')
    .executeTakeFirst()
  return row !== undefined
}

export async function listPipelineLinks(db: Db, runId: number): Promise<PipelineLinkRecord[]> {
  const rows = await db.selectFrom('pipeline_run_releases').selectAll().where('run_id', '=', runId).orderBy('step').orderBy('created_at').execute()
  return rows.map(codec.toPipelineLink)
}
