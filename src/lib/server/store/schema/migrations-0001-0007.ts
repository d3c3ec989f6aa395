// Migrations 0001 to 0007, as they shipped: the core tables, settings and approvals, pauses and
// schedules, plans, log retention, replicas, the event stream and notifications. Never edit one.
import {type Migration, sql} from 'kysely'

import {type Db, type Dialect, serialKeyFor} from './migrations-shared.js'

export function migrationsFrom0001(dialect: Dialect): Record<string, Migration> {
  const serialKey = serialKeyFor(dialect)

  return {
    '0001_core': {
      async up(db: Db) {
        await db.schema
          .createTable('projects')
          .addColumn('name', 'text', (col) => col.primaryKey())
          .addColumn('blueprint', 'text', (col) => col.notNull())
          .addColumn('file', 'text', (col) => col.notNull())
          .addColumn('base_dir', 'text', (col) => col.notNull())
          .addColumn('created_at', 'text', (col) => col.notNull())
          .addColumn('applied_at', 'text', (col) => col.notNull())
          .execute()

        await db.schema
          .createTable('environments')
          .addColumn('project', 'text', (col) => col.notNull().references('projects.name').onDelete('cascade'))
          .addColumn('name', 'text', (col) => col.notNull())
          .addColumn('created_at', 'text', (col) => col.notNull())
          .addPrimaryKeyConstraint('environments_pk', ['project', 'name'])
          .execute()

        await db.schema
          .createTable('apps')
          .addColumn('project', 'text', (col) => col.notNull())
          .addColumn('environment', 'text', (col) => col.notNull())
          .addColumn('name', 'text', (col) => col.notNull())
          .addColumn('kind', 'text', (col) => col.notNull())
          .addColumn('desired_version', 'text')
          .addColumn('deployed_version', 'text')
          .addColumn('health', 'text', (col) => col.notNull())
          .addColumn('removed', 'integer', (col) => col.notNull().defaultTo(0))
          .addColumn('updated_at', 'text', (col) => col.notNull())
          .addPrimaryKeyConstraint('apps_pk', ['project', 'environment', 'name'])
          .addForeignKeyConstraint('apps_environment_fk', ['project', 'environment'], 'environments', ['project', 'name'], (fk) =>
            fk.onDelete('cascade'),
          )
          .execute()

        await serialKey(db.schema.createTable('releases'))
          .addColumn('project', 'text', (col) => col.notNull())
          .addColumn('environment', 'text', (col) => col.notNull())
          .addColumn('type', 'text', (col) => col.notNull())
          .addColumn('status', 'text', (col) => col.notNull())
          .addColumn('resources', 'text', (col) => col.notNull())
          .addColumn('lock_set', 'text', (col) => col.notNull())
          .addColumn('refresh', 'integer', (col) => col.notNull())
          .addColumn('force', 'integer', (col) => col.notNull())
          .addColumn('allow_destructive', 'integer', (col) => col.notNull())
          .addColumn('comment', 'text')
          .addColumn('triggered_by', 'text', (col) => col.notNull())
          .addColumn('source', 'text', (col) => col.notNull())
          .addColumn('idempotency_key', 'text')
          .addColumn('error', 'text')
          .addColumn('created_at', 'text', (col) => col.notNull())
          .addColumn('started_at', 'text')
          .addColumn('finished_at', 'text')
          .execute()
        await db.schema.createIndex('releases_idempotency_key').on('releases').column('idempotency_key').unique().execute()
        await db.schema.createIndex('releases_env_status').on('releases').columns(['project', 'environment', 'status', 'id']).execute()

        await serialKey(db.schema.createTable('tasks'))
          .addColumn('release_id', 'integer', (col) => col.notNull().references('releases.id').onDelete('cascade'))
          .addColumn('resource', 'text', (col) => col.notNull())
          .addColumn('action', 'text', (col) => col.notNull())
          .addColumn('from_version', 'text')
          .addColumn('to_version', 'text')
          .addColumn('depends_on', 'text', (col) => col.notNull())
          .addColumn('level', 'integer', (col) => col.notNull())
          .addColumn('status', 'text', (col) => col.notNull())
          .addColumn('exit_code', 'integer')
          .addColumn('error', 'text')
          .addColumn('started_at', 'text')
          .addColumn('finished_at', 'text')
          .execute()
        await db.schema.createIndex('tasks_release').on('tasks').column('release_id').execute()

        await serialKey(db.schema.createTable('task_logs'))
          .addColumn('release_id', 'integer', (col) => col.notNull().references('releases.id').onDelete('cascade'))
          .addColumn('task_id', 'integer')
          .addColumn('resource', 'text')
          .addColumn('stream', 'text', (col) => col.notNull())
          .addColumn('line', 'text', (col) => col.notNull())
          .addColumn('at', 'text', (col) => col.notNull())
          .execute()
        await db.schema.createIndex('task_logs_release').on('task_logs').columns(['release_id', 'id']).execute()
      },
      async down(db: Db) {
        for (const table of ['task_logs', 'tasks', 'releases', 'apps', 'environments', 'projects']) {
          await sql`drop table if exists ${sql.table(table)}`.execute(db)
        }
      },
    },
    '0002_settings_and_approvals': {
      async up(db: Db) {
        // Control-plane defaults live under project = '' and environment = ''; NULL means "inherit".
        await db.schema
          .createTable('settings')
          .addColumn('project', 'text', (col) => col.notNull())
          .addColumn('environment', 'text', (col) => col.notNull())
          .addColumn('parallel', 'integer')
          .addColumn('max_parallel', 'integer')
          .addColumn('approval', 'integer')
          .addColumn('updated_by', 'text', (col) => col.notNull())
          .addColumn('updated_at', 'text', (col) => col.notNull())
          .addPrimaryKeyConstraint('settings_pk', ['project', 'environment'])
          .execute()
        await serialKey(db.schema.createTable('settings_changes'))
          .addColumn('project', 'text', (col) => col.notNull())
          .addColumn('environment', 'text', (col) => col.notNull())
          .addColumn('setting', 'text', (col) => col.notNull())
          .addColumn('old_value', 'text')
          .addColumn('new_value', 'text')
          .addColumn('changed_by', 'text', (col) => col.notNull())
          .addColumn('changed_at', 'text', (col) => col.notNull())
          .execute()
        await db.schema.alterTable('releases').addColumn('decision', 'text').execute()
        await db.schema.alterTable('releases').addColumn('decided_by', 'text').execute()
        await db.schema.alterTable('releases').addColumn('decided_at', 'text').execute()
        await db.schema.alterTable('releases').addColumn('decision_comment', 'text').execute()
      },
      async down(db: Db) {
        await sql`drop table if exists settings_changes`.execute(db)
        await sql`drop table if exists settings`.execute(db)
        for (const column of ['decision', 'decided_by', 'decided_at', 'decision_comment']) {
          await db.schema.alterTable('releases').dropColumn(column).execute()
        }
      },
    },
    '0003_pauses_and_schedules': {
      async up(db: Db) {
        // A project-level pause has environment = ''.
        await db.schema
          .createTable('pauses')
          .addColumn('project', 'text', (col) => col.notNull())
          .addColumn('environment', 'text', (col) => col.notNull())
          .addColumn('paused_by', 'text', (col) => col.notNull())
          .addColumn('paused_at', 'text', (col) => col.notNull())
          .addColumn('reason', 'text')
          .addPrimaryKeyConstraint('pauses_pk', ['project', 'environment'])
          .execute()
        await db.schema
          .createTable('schedules')
          .addColumn('project', 'text', (col) => col.notNull())
          .addColumn('environment', 'text', (col) => col.notNull())
          .addColumn('rule', 'text', (col) => col.notNull())
          .addColumn('release_type', 'text', (col) => col.notNull())
          .addColumn('resources', 'text', (col) => col.notNull())
          .addColumn('paused', 'integer', (col) => col.notNull())
          .addColumn('next_run_at', 'text', (col) => col.notNull())
          .addColumn('created_by', 'text', (col) => col.notNull())
          .addColumn('created_at', 'text', (col) => col.notNull())
          .addColumn('updated_at', 'text', (col) => col.notNull())
          .addPrimaryKeyConstraint('schedules_pk', ['project', 'environment'])
          .execute()
        await serialKey(db.schema.createTable('schedule_runs'))
          .addColumn('project', 'text', (col) => col.notNull())
          .addColumn('environment', 'text', (col) => col.notNull())
          .addColumn('slot_at', 'text', (col) => col.notNull())
          .addColumn('recorded_at', 'text', (col) => col.notNull())
          .addColumn('outcome', 'text', (col) => col.notNull())
          .addColumn('release_id', 'integer')
          .addColumn('reason', 'text')
          .execute()
        // One record per slot: the guard against firing the same slot twice.
        await db.schema.createIndex('schedule_runs_slot').on('schedule_runs').columns(['project', 'environment', 'slot_at']).unique().execute()
      },
      async down(db: Db) {
        for (const table of ['schedule_runs', 'schedules', 'pauses']) await sql`drop table if exists ${sql.table(table)}`.execute(db)
      },
    },
    '0004_plans': {
      async up(db: Db) {
        // Tasks become plan nodes: a resource on a target, or a target hook, in a workflow step.
        await db.schema.alterTable('tasks').addColumn('key', 'text').execute()
        await db.schema.alterTable('tasks').addColumn('kind', 'text', (col) => col.notNull().defaultTo('deploy')).execute()
        await db.schema.alterTable('tasks').addColumn('hook', 'text').execute()
        await db.schema.alterTable('tasks').addColumn('target', 'text').execute()
        await db.schema.alterTable('tasks').addColumn('step', 'text').execute()
        await db.schema.alterTable('tasks').addColumn('after', 'text', (col) => col.notNull().defaultTo('[]')).execute()
        await sql`update tasks set key = resource where key is null`.execute(db)
        await db.schema.alterTable('task_logs').addColumn('target', 'text').execute()
        await db.schema.alterTable('releases').addColumn('options', 'text', (col) => col.notNull().defaultTo('{}')).execute()
        await db.schema.alterTable('apps').addColumn('drift', 'text').execute()
      },
      async down(db: Db) {
        for (const column of ['key', 'kind', 'hook', 'target', 'step', 'after']) await db.schema.alterTable('tasks').dropColumn(column).execute()
        await db.schema.alterTable('task_logs').dropColumn('target').execute()
        await db.schema.alterTable('releases').dropColumn('options').execute()
        await db.schema.alterTable('apps').dropColumn('drift').execute()
      },
    },
    '0005_log_retention': {
      async up(db: Db) {
        // When the retention cleanup deleted a release's log lines; the release record stays.
        await db.schema.alterTable('releases').addColumn('logs_deleted_at', 'text').execute()
        await db.schema.createIndex('releases_finished').on('releases').column('finished_at').execute()
      },
      async down(db: Db) {
        await db.schema.dropIndex('releases_finished').execute()
        await db.schema.alterTable('releases').dropColumn('logs_deleted_at').execute()
      },
    },
    '0006_replicas': {
      async up(db: Db) {
        // Several control-plane processes on one database: who is alive, who owns which run, and
        // every status change in commit order.
        await db.schema
          .createTable('replicas')
          .addColumn('id', 'text', (col) => col.primaryKey())
          .addColumn('host', 'text', (col) => col.notNull())
          .addColumn('pid', 'integer', (col) => col.notNull())
          .addColumn('url', 'text')
          .addColumn('version', 'text', (col) => col.notNull())
          .addColumn('capacity', 'integer', (col) => col.notNull())
          .addColumn('lease_ms', 'integer', (col) => col.notNull())
          .addColumn('started_at', 'text', (col) => col.notNull())
          .addColumn('heartbeat_at', 'text', (col) => col.notNull())
          .addColumn('stopping', 'integer', (col) => col.notNull().defaultTo(0))
          .execute()
        for (const column of ['replica', 'lease_expires_at', 'cancel_requested_by', 'cancel_requested_at']) {
          await db.schema.alterTable('releases').addColumn(column, 'text').execute()
        }
        // The sweep for runs whose owner stopped renewing.
        await db.schema.createIndex('releases_lease').on('releases').columns(['status', 'lease_expires_at']).execute()
        const events = db.schema.createTable('events')
        await (dialect === 'sqlite' ? events.addColumn('seq', 'integer', (col) => col.primaryKey().autoIncrement()) : events.addColumn('seq', 'bigserial', (col) => col.primaryKey()))
          .addColumn('kind', 'text', (col) => col.notNull())
          .addColumn('project', 'text')
          .addColumn('environment', 'text')
          .addColumn('release_id', 'integer')
          .addColumn('task_id', 'integer')
          .addColumn('data', 'text', (col) => col.notNull())
          .addColumn('at', 'text', (col) => col.notNull())
          .execute()
        await db.schema.createIndex('events_release').on('events').columns(['release_id', 'seq']).execute()
      },
      async down(db: Db) {
        await sql`drop table if exists events`.execute(db)
        await db.schema.dropIndex('releases_lease').execute()
        for (const column of ['replica', 'lease_expires_at', 'cancel_requested_by', 'cancel_requested_at']) {
          await db.schema.alterTable('releases').dropColumn(column).execute()
        }
        await sql`drop table if exists replicas`.execute(db)
      },
    },
    '0007_event_stream_and_notifications': {
      async up(db: Db) {
        // Streams that follow one app read which apps an event is about; the retention cleanup finds
        // old events by time and leaves the horizon it deleted through.
        await db.schema.alterTable('events').addColumn('apps', 'text').execute()
        await db.schema.createIndex('events_at').on('events').column('at').execute()
        await db.schema
          .createTable('event_horizon')
          .addColumn('id', 'integer', (col) => col.primaryKey())
          .addColumn('pruned_through', 'bigint', (col) => col.notNull())
          .execute()

        // Notification subscriptions, and the durable outbox they are delivered from.
        await serialKey(db.schema.createTable('notifications'))
          .addColumn('kind', 'text', (col) => col.notNull())
          .addColumn('url', 'text', (col) => col.notNull())
          .addColumn('secret', 'text')
          .addColumn('project', 'text')
          .addColumn('environment', 'text')
          .addColumn('events', 'text', (col) => col.notNull())
          .addColumn('created_by', 'text', (col) => col.notNull())
          .addColumn('created_at', 'text', (col) => col.notNull())
          .addColumn('after_seq', 'bigint', (col) => col.notNull())
          .addColumn('failing_since', 'text')
          .addColumn('last_attempt_at', 'text')
          .addColumn('last_outcome', 'text')
          .execute()
        await serialKey(db.schema.createTable('notification_deliveries'))
          .addColumn('notification_id', 'integer', (col) => col.notNull().references('notifications.id').onDelete('cascade'))
          // null for a test delivery, which is sent at once rather than in order
          .addColumn('event_seq', 'bigint')
          .addColumn('event_kind', 'text', (col) => col.notNull())
          .addColumn('event', 'text', (col) => col.notNull())
          .addColumn('status', 'text', (col) => col.notNull())
          .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
          .addColumn('next_attempt_at', 'text', (col) => col.notNull())
          .addColumn('created_at', 'text', (col) => col.notNull())
          .addColumn('ended_at', 'text')
          .addColumn('claimed_by', 'text')
          .addColumn('claimed_until', 'text')
          .execute()
        await db.schema.createIndex('notification_deliveries_event').on('notification_deliveries').columns(['notification_id', 'event_seq']).unique().execute()
        await db.schema.createIndex('notification_deliveries_due').on('notification_deliveries').columns(['status', 'next_attempt_at']).execute()
        await serialKey(db.schema.createTable('notification_attempts'))
          .addColumn('delivery_id', 'integer', (col) => col.notNull().references('notification_deliveries.id').onDelete('cascade'))
          .addColumn('attempt', 'integer', (col) => col.notNull())
          .addColumn('at', 'text', (col) => col.notNull())
          .addColumn('status_code', 'integer')
          .addColumn('error', 'text')
          .addColumn('duration_ms', 'integer', (col) => col.notNull())
          .execute()
        await db.schema.createIndex('notification_attempts_delivery').on('notification_attempts').column('delivery_id').execute()
        await db.schema
          .createTable('notification_outbox')
          .addColumn('id', 'integer', (col) => col.primaryKey())
          .addColumn('last_seq', 'bigint', (col) => col.notNull())
          .execute()
      },
      async down(db: Db) {
        for (const table of ['notification_outbox', 'notification_attempts', 'notification_deliveries', 'notifications', 'event_horizon']) {
          await sql`drop table if exists ${sql.table(table)}`.execute(db)
        }
        await db.schema.dropIndex('events_at').execute()
        await db.schema.alterTable('events').dropColumn('apps').execute()
      },
    },
  }
}
