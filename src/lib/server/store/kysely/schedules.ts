// Schedules: the rule, the next slot (moved by compare-and-set) and one recorded run per slot.
import type {ScheduleRun} from '../../../api/schemas.js'
import type {ScheduleRecord} from '../store.js'
import {rowBatches} from './batches.js'
import * as codec from './codecs.js'
import type {Db} from './db.js'

export async function getSchedule(db: Db, project: string, environment: string): Promise<ScheduleRecord | null> {
  const row = await db.selectFrom('schedules').selectAll().where('project', '=', project).where('environment', '=', environment).executeTakeFirst()
  return row ? codec.toSchedule(row) : null
}

export async function listSchedules(db: Db): Promise<ScheduleRecord[]> {
  return (await db.selectFrom('schedules').selectAll().execute()).map(codec.toSchedule)
}

export async function upsertSchedule(db: Db, schedule: ScheduleRecord): Promise<void> {
  const values = codec.scheduleRow(schedule)
  await db
    .insertInto('schedules')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['project', 'environment']).doUpdateSet({
        rule: values.rule,
        release_type: values.release_type,
        resources: values.resources,
        paused: values.paused,
        next_run_at: values.next_run_at,
        created_by: values.created_by,
        created_at: values.created_at,
        updated_at: values.updated_at,
      }),
    )
    .execute()
}

export async function deleteSchedule(db: Db, project: string, environment: string): Promise<boolean> {
  const result = await db.deleteFrom('schedules').where('project', '=', project).where('environment', '=', environment).executeTakeFirst()
  return Number(result.numDeletedRows) === 1
}

export async function setSchedulePaused(db: Db, project: string, environment: string, paused: boolean, at: string): Promise<boolean> {
  const result = await db
    .updateTable('schedules')
    .set({paused: codec.bit(paused), updated_at: at})
    .where('project', '=', project)
    .where('environment', '=', environment)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

export async function advanceSchedule(db: Db, project: string, environment: string, expectedNextRunAt: string, nextRunAt: string): Promise<boolean> {
  const result = await db
    .updateTable('schedules')
    .set({next_run_at: nextRunAt})
    .where('project', '=', project)
    .where('environment', '=', environment)
    .where('next_run_at', '=', expectedNextRunAt)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

export async function insertScheduleRuns(db: Db, project: string, environment: string, runs: ScheduleRun[]): Promise<void> {
  if (runs.length === 0) return
  const rows = runs.map((run) => codec.scheduleRunRow(project, environment, run))
  for (const batch of rowBatches(rows)) await db.insertInto('schedule_runs').values(batch).execute()
}

export async function listScheduleRuns(db: Db, project: string, environment: string, limit: number): Promise<ScheduleRun[]> {
  const rows = await db
    .selectFrom('schedule_runs')
    .selectAll()
    .where('project', '=', project)
    .where('environment', '=', environment)
    .orderBy('slot_at', 'desc')
    .limit(limit)
    .execute()
  return rows.map(codec.toScheduleRun)
}
