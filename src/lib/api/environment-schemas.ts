// An environment as the API shows it, and the controls on when and how releases run, each set for an
// environment, a project or the whole control plane: pauses, schedules, freezes and settings (parallel
// releases, approvals, queue mode). Served in the OpenAPI document; the CLI imports only the types.
import {type Static, Type} from '@sinclair/typebox'

import {MAX_APPROVALS_REQUIRED, QUEUE_MODES, RELEASE_TYPES, SCOPE_LEVELS, SETTING_SOURCES} from './domain.js'
import {literals, Name, nullable, NullableInteger, NullableString, ReleaseRef, Text} from './schemas.js'

/** A short setting such as an interval, a cron expression or a time zone: one printable line. */
const Setting = Type.String({minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]*$'})

export const PauseState = Type.Object({
  level: literals(SCOPE_LEVELS),
  project: nullable(Type.String(), {description: 'null: the whole control plane (relctl pause --all)'}),
  environment: NullableString,
  by: Type.String(),
  at: Type.String(),
  reason: NullableString,
})

export const PauseRequest = Type.Object({reason: Type.Optional(Text)}, {additionalProperties: false})

export const PauseResponse = Type.Object({pause: PauseState, alreadyPaused: Type.Boolean()})

export const ResumeResponse = Type.Object({
  resumed: Type.Boolean({description: 'a pause at this level was lifted'}),
  stillPaused: Type.Array(PauseState, {description: 'pauses that still hold (another level)'}),
})

export const ScheduleRule = Type.Object({
  every: Type.Optional(Type.String({description: 'an interval such as 30m, 6h, 1d, 2w (seconds are accepted too)'})),
  cron: Type.Optional(Type.String({description: 'a five-field cron expression'})),
  timezone: Type.Optional(Type.String({description: 'IANA time zone of a cron rule; default UTC'})),
})

export const ScheduleRun = Type.Object({
  slotAt: Type.String({description: 'the time the run was due'}),
  recordedAt: Type.String(),
  outcome: literals(['released', 'skipped', 'missed'] as const),
  releaseId: NullableInteger,
  reason: NullableString,
})

export const Schedule = Type.Object({
  project: Type.String(),
  environment: Type.String(),
  rule: ScheduleRule,
  type: literals(RELEASE_TYPES),
  resources: Type.Array(Type.String()),
  paused: Type.Boolean(),
  nextRunAt: Type.String({description: 'UTC'}),
  createdBy: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  runs: Type.Array(ScheduleRun, {description: 'the last 20 runs, newest first'}),
})

export const SetScheduleRequest = Type.Object(
  {
    every: Type.Optional(Setting),
    cron: Type.Optional(Setting),
    timezone: Type.Optional(Setting),
    type: literals(RELEASE_TYPES),
    resources: Type.Optional(Type.Array(Name)),
  },
  {additionalProperties: false},
)

export const FreezeWindow = Type.Object({
  freeze: Type.Integer({description: 'the freeze id'}),
  level: literals(SCOPE_LEVELS),
  project: NullableString,
  environment: NullableString,
  reason: Type.String(),
  startsAt: Type.String({description: 'UTC'}),
  endsAt: Type.String({description: 'UTC'}),
  inForce: Type.Boolean(),
})

const WindowTimes = Type.Object({startsAt: Type.String(), endsAt: Type.String()})

export const Freeze = Type.Object({
  id: Type.Integer(),
  level: literals(SCOPE_LEVELS),
  project: nullable(Type.String(), {description: 'null: the whole control plane'}),
  environment: nullable(Type.String(), {description: 'null: every environment of the project (or the control plane)'}),
  from: nullable(Type.String(), {description: 'a one-off window: its start (UTC)'}),
  to: nullable(Type.String(), {description: 'a one-off window: its end (UTC)'}),
  cron: nullable(Type.String(), {description: 'a recurring window: when each starts, in the time zone'}),
  durationMs: nullable(Type.Integer(), {description: 'a recurring window: how long each lasts, on the time zone\'s wall clock'}),
  timezone: Type.String(),
  reason: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.String(),
  current: nullable(WindowTimes, {description: 'the window in force now'}),
  next: nullable(WindowTimes, {description: 'the next window that is not in force yet'}),
})

export const AddFreezeRequest = Type.Object(
  {
    project: Type.Optional(Name),
    environment: Type.Optional(Name),
    from: Type.Optional(Setting),
    to: Type.Optional(Setting),
    cron: Type.Optional(Setting),
    duration: Type.Optional(Setting),
    timezone: Type.Optional(Setting),
    reason: Type.String({minLength: 1, maxLength: 2000, pattern: '^[^\\u0000]*$'}),
  },
  {additionalProperties: false},
)

export const Environment = Type.Object({
  project: Type.String(),
  name: Type.String(),
  settings: Type.Object({parallel: Type.Boolean(), maxParallel: Type.Integer(), approval: Type.Boolean(), approvalsRequired: Type.Integer()}),
  targets: Type.Array(Type.String()),
  rollout: Type.Object({services: literals(['parallel', 'sequential'] as const), targets: literals(['parallel', 'sequential'] as const)}),
  paused: Type.Boolean(),
  pauses: Type.Array(PauseState),
  frozen: Type.Boolean({description: 'a freeze window is in force'}),
  freezes: Type.Array(FreezeWindow, {description: 'the freeze windows in force, and the next window of each freeze that applies'}),
  schedule: nullable(Schedule),
  apps: Type.Object({total: Type.Integer(), synced: Type.Integer(), healthy: Type.Integer()}),
  activeReleases: Type.Array(ReleaseRef),
  createdAt: Type.String(),
})

const settingSource = literals(SETTING_SOURCES)

export const SettingsChange = Type.Object({
  project: NullableString,
  environment: NullableString,
  setting: Type.String(),
  oldValue: NullableString,
  newValue: NullableString,
  changedBy: Type.String(),
  changedAt: Type.String(),
})

export const SettingsView = Type.Object({
  scope: Type.Object({project: NullableString, environment: NullableString}),
  parallel: Type.Object({value: Type.Boolean(), source: settingSource}),
  maxParallel: Type.Object({value: Type.Integer(), source: settingSource}),
  approval: Type.Object({value: Type.Boolean(), source: settingSource}),
  approvalsRequired: Type.Object({value: Type.Integer({description: 'distinct approvers a release needs, none of them its author'}), source: settingSource}),
  queueMode: Type.Object({value: literals(QUEUE_MODES, {description: 'fifo: every queued release runs in turn; supersede: a newer release cancels the queued ones it covers'}), source: settingSource}),
  history: Type.Array(SettingsChange, {description: 'the latest changes at this scope, newest first'}),
})

const SettingsScope = {
  project: Type.Optional(Name),
  environment: Type.Optional(Name),
}

export const SetParallelRequest = Type.Object(
  {...SettingsScope, enabled: Type.Optional(Type.Boolean()), max: Type.Optional(Type.Integer({minimum: 1, maximum: 1000}))},
  {additionalProperties: false},
)

export const SetApprovalRequest = Type.Object(
  {
    ...SettingsScope,
    enabled: Type.Optional(Type.Boolean()),
    required: Type.Optional(Type.Integer({minimum: 1, maximum: MAX_APPROVALS_REQUIRED, description: 'how many distinct approvers a release needs'})),
  },
  {additionalProperties: false},
)

export const QUEUE_MODE_VALUES = literals(QUEUE_MODES)

export const SetQueueRequest = Type.Object({...SettingsScope, mode: QUEUE_MODE_VALUES}, {additionalProperties: false})

export type Environment = Static<typeof Environment>
export type PauseState = Static<typeof PauseState>
export type PauseResponse = Static<typeof PauseResponse>
export type ResumeResponse = Static<typeof ResumeResponse>
export type ScheduleRule = Static<typeof ScheduleRule>
export type ScheduleRun = Static<typeof ScheduleRun>
export type Schedule = Static<typeof Schedule>
export type SetScheduleRequest = Static<typeof SetScheduleRequest>
export type SettingsChange = Static<typeof SettingsChange>
export type SettingsView = Static<typeof SettingsView>
export type SetParallelRequest = Static<typeof SetParallelRequest>
export type SetApprovalRequest = Static<typeof SetApprovalRequest>
export type FreezeWindow = Static<typeof FreezeWindow>
export type Freeze = Static<typeof Freeze>
export type AddFreezeRequest = Static<typeof AddFreezeRequest>
export type SetQueueRequest = Static<typeof SetQueueRequest>
