// Migrations 0008 onwards: tokens and the audit log, freezes, retries and deadlines, the release
// revision, pipelines, the rules of a release's row. Append new ones here; never edit a shipped one.
import {type Migration, sql} from 'kysely'

import {type Db, type Dialect, serialKeyFor} from './migrations-shared.js'

export function migrationsFrom0008(dialect: Dialect): Record<string, Migration> {
  const serialKey = serialKeyFor(dialect)

  return {
    '0008_tokens_and_audit': {
      async up(db: Db) {
        // Identities: named tokens with grants, kept as hashes; the audit log of every mutating
        // request; who approved a release (one row per distinct approver); how many approvers it needs.
        await db.schema
          .createTable('tokens')
          .addColumn('name', 'text', (col) => col.primaryKey())
          .addColumn('hash', 'text', (col) => col.notNull().unique())
          .addColumn('grants', 'text', (col) => col.notNull())
          .addColumn('created_at', 'text', (col) => col.notNull())
          .addColumn('created_by', 'text', (col) => col.notNull())
          .addColumn('expires_at', 'text')
          .addColumn('lifetime_ms', 'bigint')
          .addColumn('last_used_at', 'text')
          .addColumn('rotated_at', 'text')
          .addColumn('configured', 'integer', (col) => col.notNull().defaultTo(0))
          .execute()
        await serialKey(db.schema.createTable('audit'))
          .addColumn('at', 'text', (col) => col.notNull())
          .addColumn('actor', 'text')
          .addColumn('action', 'text', (col) => col.notNull())
          .addColumn('method', 'text', (col) => col.notNull())
          .addColumn('path', 'text', (col) => col.notNull())
          .addColumn('project', 'text')
          .addColumn('environment', 'text')
          .addColumn('target', 'text')
          .addColumn('status', 'integer', (col) => col.notNull())
          .addColumn('outcome', 'text', (col) => col.notNull())
          .addColumn('address', 'text', (col) => col.notNull())
          .addColumn('detail', 'text')
          .execute()
        await db.schema.createIndex('audit_at').on('audit').column('at').execute()
        await db.schema.createIndex('audit_scope').on('audit').columns(['project', 'environment', 'id']).execute()
        await db.schema.createIndex('audit_actor').on('audit').columns(['actor', 'id']).execute()
        // The log is append-only: the database itself refuses to change a row.
        if (dialect === 'sqlite') {
          await sql`create trigger audit_append_only before update on audit begin select raise(abort, 'the audit log is append-only'); end`.execute(db)
        } else {
          await sql`create or replace function relctl_audit_append_only() returns trigger language plpgsql as $$ begin raise exception 'the audit log is append-only'; end $$`.execute(db)
          await sql`create trigger audit_append_only before update on audit for each row execute function relctl_audit_append_only()`.execute(db)
        }
        await db.schema
          .createTable('approvals')
          .addColumn('release_id', 'integer', (col) => col.notNull().references('releases.id').onDelete('cascade'))
          .addColumn('approver', 'text', (col) => col.notNull())
          .addColumn('at', 'text', (col) => col.notNull())
          .addColumn('comment', 'text')
          .addPrimaryKeyConstraint('approvals_pk', ['release_id', 'approver'])
          .execute()
        await db.schema.alterTable('settings').addColumn('approvals_required', 'integer').execute()
      },
      async down(db: Db) {
        await db.schema.alterTable('settings').dropColumn('approvals_required').execute()
        for (const table of ['approvals', 'audit', 'tokens']) await sql`drop table if exists ${sql.table(table)}`.execute(db)
        if (dialect === 'postgres') await sql`drop function if exists relctl_audit_append_only()`.execute(db)
      },
    },
    '0009_freezes_retries_deadlines': {
      async up(db: Db) {
        // Freezes (one-off or recurring windows at the control plane, a project or an environment), versions
        // blocked per project, each environment's queue mode, a release's deadline, expiry, freeze override
        // and why the engine ended it, and task attempts (retries) with the attempt each log line belongs to.
        await serialKey(db.schema.createTable('freezes'))
          .addColumn('project', 'text', (col) => col.notNull())
          .addColumn('environment', 'text', (col) => col.notNull())
          .addColumn('starts_at', 'text')
          .addColumn('ends_at', 'text')
          .addColumn('cron', 'text')
          .addColumn('duration_ms', 'bigint')
          .addColumn('timezone', 'text', (col) => col.notNull())
          .addColumn('reason', 'text', (col) => col.notNull())
          .addColumn('created_by', 'text', (col) => col.notNull())
          .addColumn('created_at', 'text', (col) => col.notNull())
          .execute()
        await db.schema.createIndex('freezes_scope').on('freezes').columns(['project', 'environment']).execute()
        await db.schema
          .createTable('blocked_versions')
          .addColumn('project', 'text', (col) => col.notNull())
          .addColumn('app', 'text', (col) => col.notNull())
          .addColumn('version', 'text', (col) => col.notNull())
          .addColumn('reason', 'text', (col) => col.notNull())
          .addColumn('blocked_by', 'text', (col) => col.notNull())
          .addColumn('blocked_at', 'text', (col) => col.notNull())
          .addPrimaryKeyConstraint('blocked_versions_pk', ['project', 'app', 'version'])
          .execute()
        await db.schema.alterTable('settings').addColumn('queue_mode', 'text').execute()
        for (const column of ['end_reason', 'freeze_override', 'deadline_at', 'expires_at']) {
          await db.schema.alterTable('releases').addColumn(column, 'text').execute()
        }
        // deadline_ms repeats options.deadlineMs, so that a claim knows it from the queue it read.
        await db.schema.alterTable('releases').addColumn('deadline_ms', 'bigint').execute()
        await db.schema.createIndex('releases_expires_at').on('releases').columns(['expires_at']).execute()
        await db.schema.alterTable('tasks').addColumn('attempt', 'integer', (col) => col.notNull().defaultTo(1)).execute()
        await db.schema.alterTable('tasks').addColumn('max_attempts', 'integer', (col) => col.notNull().defaultTo(1)).execute()
        await db.schema.alterTable('task_logs').addColumn('attempt', 'integer').execute()
      },
      async down(db: Db) {
        await db.schema.alterTable('task_logs').dropColumn('attempt').execute()
        await db.schema.alterTable('tasks').dropColumn('max_attempts').execute()
        await db.schema.alterTable('tasks').dropColumn('attempt').execute()
        await db.schema.dropIndex('releases_expires_at').execute()
        await db.schema.alterTable('releases').dropColumn('deadline_ms').execute()
        for (const column of ['expires_at', 'deadline_at', 'freeze_override', 'end_reason']) await db.schema.alterTable('releases').dropColumn(column).execute()
        await db.schema.alterTable('settings').dropColumn('queue_mode').execute()
        for (const table of ['blocked_versions', 'freezes']) await sql`drop table if exists ${sql.table(table)}`.execute(db)
      },
    },
    '0010_release_revision': {
      async up(db: Db) {
        // Counted up by every change to a release's row: a listing reads the revision of each release it
        // lists, and the whole row only of those that changed since it last read them.
        await db.schema.alterTable('releases').addColumn('revision', 'integer', (col) => col.notNull().defaultTo(0)).execute()
        // The queue index with the revision in it: that read needs no row of the table.
        await db.schema.dropIndex('releases_env_status').execute()
        await db.schema.createIndex('releases_env_status_revision').on('releases').columns(['project', 'environment', 'status', 'id', 'revision']).execute()
      },
      async down(db: Db) {
        await db.schema.dropIndex('releases_env_status_revision').execute()
        await db.schema.createIndex('releases_env_status').on('releases').columns(['project', 'environment', 'status', 'id']).execute()
        await db.schema.alterTable('releases').dropColumn('revision').execute()
      },
    },
    '0011_pipelines': {
      async up(db: Db) {
        // Pipeline runs (a plan fixed at creation, the step they are at, gates) and the releases each made.
        await serialKey(db.schema.createTable('pipeline_runs'))
          .addColumn('project', 'text', (col) => col.notNull())
          .addColumn('pipeline', 'text', (col) => col.notNull())
          .addColumn('status', 'text', (col) => col.notNull())
          .addColumn('plan', 'text', (col) => col.notNull())
          .addColumn('step', 'integer', (col) => col.notNull().defaultTo(0))
          .addColumn('approvals', 'text', (col) => col.notNull().defaultTo('[]'))
          .addColumn('decision', 'text')
          .addColumn('waiting', 'text')
          .addColumn('superseded_by', 'integer')
          .addColumn('error', 'text')
          .addColumn('rolling_back', 'integer', (col) => col.notNull().defaultTo(0))
          .addColumn('created_by', 'text', (col) => col.notNull())
          .addColumn('source', 'text', (col) => col.notNull())
          .addColumn('comment', 'text')
          .addColumn('idempotency_key', 'text', (col) => col.unique())
          .addColumn('created_at', 'text', (col) => col.notNull())
          .addColumn('started_at', 'text')
          .addColumn('finished_at', 'text')
          .execute()
        await db.schema.createIndex('pipeline_runs_status').on('pipeline_runs').columns(['status', 'id']).execute()
        await db.schema.createIndex('pipeline_runs_pipeline').on('pipeline_runs').columns(['project', 'pipeline', 'id']).execute()
        await db.schema
          .createTable('pipeline_run_releases')
          .addColumn('run_id', 'integer', (col) => col.notNull().references('pipeline_runs.id').onDelete('cascade'))
          .addColumn('step', 'integer', (col) => col.notNull())
          .addColumn('environment', 'text', (col) => col.notNull())
          .addColumn('kind', 'text', (col) => col.notNull())
          .addColumn('release_id', 'integer', (col) => col.references('releases.id'))
          .addColumn('note', 'text')
          .addColumn('created_at', 'text', (col) => col.notNull())
          .addPrimaryKeyConstraint('pipeline_run_releases_pk', ['run_id', 'step', 'environment', 'kind'])
          .execute()
        await db.schema.createIndex('pipeline_run_releases_release').on('pipeline_run_releases').column('release_id').execute()
      },
      async down(db: Db) {
        for (const table of ['pipeline_run_releases', 'pipeline_runs']) await sql`drop table if exists ${sql.table(table)}`.execute(db)
      },
    },
    '0012_release_row_rules': {
      // What the kept queue on SQLite stands on (store/kysely/active-sets.ts), enforced by the database:
      // every change of a release's row counts up its revision, and an ended release stays ended.
      // PostgreSQL keeps no queue, and needs neither.
      async up(db: Db) {
        if (dialect !== 'sqlite') return
        await sql`create trigger releases_revision_moves before update on releases when new.revision <= old.revision begin select raise(abort, 'a release''s row changed without counting up its revision'); end`.execute(db)
        await sql`create trigger releases_stay_ended before update of status on releases when old.status not in ('pending_approval', 'queued', 'running') and new.status in ('pending_approval', 'queued', 'running') begin select raise(abort, 'an ended release cannot become active again'); end`.execute(db)
      },
      async down(db: Db) {
        if (dialect !== 'sqlite') return
        await sql`drop trigger if exists releases_revision_moves`.execute(db)
        await sql`drop trigger if exists releases_stay_ended`.execute(db)
      },
    },
  }
}
