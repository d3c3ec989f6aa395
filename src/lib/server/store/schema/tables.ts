// Table shapes as the database holds them. Booleans are 0/1 integers and times ISO-8601 text,
// so that SQLite and PostgreSQL share one schema and one set of queries.
import type {Generated} from 'kysely'

export interface ProjectsTable {
  name: string
  blueprint: string
  file: string
  base_dir: string
  created_at: string
  applied_at: string
}

export interface EnvironmentsTable {
  project: string
  name: string
  created_at: string
}

export interface AppsTable {
  project: string
  environment: string
  name: string
  kind: string
  desired_version: string | null
  deployed_version: string | null
  health: string
  removed: number
  drift: string | null
  updated_at: string
}

export interface ReleasesTable {
  id: Generated<number>
  project: string
  environment: string
  type: string
  status: string
  resources: string
  lock_set: string
  refresh: number
  force: number
  allow_destructive: number
  comment: string | null
  triggered_by: string
  source: string
  idempotency_key: string | null
  error: string | null
  created_at: string
  started_at: string | null
  finished_at: string | null
  decision: string | null
  decided_by: string | null
  decided_at: string | null
  decision_comment: string | null
  options: string
  logs_deleted_at: Generated<string | null>
  /** the replica that claimed the run: it runs it, or ran it */
  replica: Generated<string | null>
  /** while running: the owner's claim, renewed by its heartbeat; null once the release ends */
  lease_expires_at: Generated<string | null>
  cancel_requested_by: Generated<string | null>
  cancel_requested_at: Generated<string | null>
  /** counted up by every update of the row (nextRevision): listings read again only what changed */
  revision: Generated<number>
}

export interface TasksTable {
  id: Generated<number>
  release_id: number
  resource: string
  action: string
  from_version: string | null
  to_version: string | null
  depends_on: string
  key: string | null
  kind: string
  hook: string | null
  target: string | null
  step: string | null
  after: string
  level: number
  status: string
  exit_code: number | null
  error: string | null
  started_at: string | null
  finished_at: string | null
}

export interface TaskLogsTable {
  id: Generated<number>
  release_id: number
  task_id: number | null
  resource: string | null
  target: string | null
  stream: string
  line: string
  at: string
}

export interface SettingsTable {
  project: string
  environment: string
  parallel: number | null
  max_parallel: number | null
  approval: number | null
  updated_by: string
  updated_at: string
}

export interface SettingsChangesTable {
  id: Generated<number>
  project: string
  environment: string
  setting: string
  old_value: string | null
  new_value: string | null
  changed_by: string
  changed_at: string
}

export interface PausesTable {
  project: string
  environment: string
  paused_by: string
  paused_at: string
  reason: string | null
}

export interface SchedulesTable {
  project: string
  environment: string
  rule: string
  release_type: string
  resources: string
  paused: number
  next_run_at: string
  created_by: string
  created_at: string
  updated_at: string
}

export interface ScheduleRunsTable {
  id: Generated<number>
  project: string
  environment: string
  slot_at: string
  recorded_at: string
  outcome: string
  release_id: number | null
  reason: string | null
}

export interface ReplicasTable {
  id: string
  host: string
  pid: number
  url: string | null
  version: string
  capacity: number
  lease_ms: number
  started_at: string
  heartbeat_at: string
  stopping: number
}

export interface EventsTable {
  seq: Generated<number>
  kind: string
  project: string | null
  environment: string | null
  release_id: number | null
  task_id: number | null
  /** JSON: the state after the change */
  data: string
  at: string
}

export interface Database {
  replicas: ReplicasTable
  events: EventsTable
  pauses: PausesTable
  schedules: SchedulesTable
  schedule_runs: ScheduleRunsTable
  settings: SettingsTable
  settings_changes: SettingsChangesTable
  projects: ProjectsTable
  environments: EnvironmentsTable
  apps: AppsTable
  releases: ReleasesTable
  tasks: TasksTable
  task_logs: TaskLogsTable
}
