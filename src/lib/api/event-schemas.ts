// The event stream's payloads: one schema per kind, each carrying the state after the change, so that a
// client needs no GET to know what happened. Served in the OpenAPI document; the CLI imports the types.
import {type Static, type TSchema, Type} from '@sinclair/typebox'

import {EVENT_KINDS, type EventKind} from './events.js'
import {PipelineRunSummary} from './pipeline-schemas.js'
import {AppState, BlockedVersion, LogLine, Name, nullable, NullableInteger, NullableString, Release, Task} from './schemas.js'
import {Freeze, PauseState, QUEUE_MODE_VALUES, ScheduleRun, SettingsChange} from './environment-schemas.js'

export const ReleaseEventData = Type.Omit(Release, ['tasks', 'queuePosition', 'waitingFor'], {description: 'the release after the change'})

export const TaskEventData = Type.Composite([Type.Object({releaseId: Type.Integer()}), Task], {description: 'the task after the change'})

export const AppEventData = Type.Composite(
  [
    Type.Object({project: Type.String(), environment: Type.String()}),
    Type.Pick(AppState, ['name', 'kind', 'desiredVersion', 'deployedVersion', 'sync', 'health', 'removedFromBlueprint', 'updatedAt']),
    Type.Object({deleted: Type.Boolean({description: 'the app no longer exists in the environment (deleted, or dropped from the blueprint undeployed)'})}),
  ],
  {description: "the app's recorded state after the change; releases under way show in the release events"},
)

export const LogEventData = Type.Object(
  {releaseId: Type.Integer(), lines: Type.Array(LogLine, {description: 'each with its task, resource and target'})},
  {description: "a batch of a release's log lines, as written"},
)

export const PauseEventData = Type.Object({
  project: nullable(Type.String(), {description: 'null: the whole control plane'}),
  environment: NullableString,
  paused: Type.Boolean(),
  pause: nullable(PauseState, {description: 'the pause in force at this level; null once resumed'}),
  by: Type.String(),
  at: Type.String(),
})

export const FreezeEventData = Type.Object({
  freeze: Type.Omit(Freeze, ['current', 'next']),
  deleted: Type.Boolean({description: 'false: it was added; true: it was deleted'}),
  by: Type.String(),
  at: Type.String(),
})

export const BlockEventData = Type.Object({
  block: BlockedVersion,
  blocked: Type.Boolean({description: 'true: the version was blocked; false: the block was lifted'}),
  by: Type.String(),
  at: Type.String(),
})

export const SettingsEventData = Type.Object({
  scope: Type.Object({project: NullableString, environment: NullableString}),
  settings: Type.Object(
    {
      parallel: nullable(Type.Boolean()),
      maxParallel: nullable(Type.Integer()),
      approval: nullable(Type.Boolean()),
      approvalsRequired: nullable(Type.Integer()),
      queueMode: nullable(QUEUE_MODE_VALUES),
    },
    {description: 'what this scope sets after the change; null inherits'},
  ),
  changes: Type.Array(SettingsChange),
})

export const ScheduleEventData = Type.Object({project: Type.String(), environment: Type.String(), run: ScheduleRun})

export const ReplicaLostEventData = Type.Object({
  replica: Type.String({description: 'the replica that stopped answering'}),
  releases: Type.Array(Type.Integer(), {description: 'its runs, now failed'}),
  detectedBy: Type.String(),
})

export const PipelineEventData = Type.Composite([PipelineRunSummary], {description: 'the pipeline run after the change (as pipeline list --json shows it)'})

const DATA_BY_KIND = {
  'release.created': ReleaseEventData,
  'release.pending_approval': ReleaseEventData,
  'release.approved': ReleaseEventData,
  'release.rejected': ReleaseEventData,
  'release.queued': ReleaseEventData,
  'release.started': ReleaseEventData,
  'release.succeeded': ReleaseEventData,
  'release.failed': ReleaseEventData,
  'release.cancelled': ReleaseEventData,
  'task.started': TaskEventData,
  'task.ended': TaskEventData,
  'app.changed': AppEventData,
  log: LogEventData,
  'pause.changed': PauseEventData,
  'freeze.changed': FreezeEventData,
  'block.changed': BlockEventData,
  'settings.changed': SettingsEventData,
  'schedule.fired': ScheduleEventData,
  'schedule.skipped': ScheduleEventData,
  'replica.lost': ReplicaLostEventData,
  'pipeline.created': PipelineEventData,
  'pipeline.started': PipelineEventData,
  'pipeline.stage': PipelineEventData,
  'pipeline.waiting': PipelineEventData,
  'pipeline.approved': PipelineEventData,
  'pipeline.rejected': PipelineEventData,
  'pipeline.succeeded': PipelineEventData,
  'pipeline.failed': PipelineEventData,
  'pipeline.cancelled': PipelineEventData,
  'pipeline.superseded': PipelineEventData,
} satisfies Record<EventKind, TSchema>

const envelope = {
  seq: Type.Integer({description: 'monotonic across the control plane: resume after it (Last-Event-ID, ?after=)'}),
  at: Type.String(),
  project: NullableString,
  environment: NullableString,
  releaseId: NullableInteger,
  taskId: NullableInteger,
}

/** One event: the envelope, its kind, and the state after the change. */
export const EventSchema = Type.Union(
  EVENT_KINDS.map((kind) => Type.Object({...envelope, kind: Type.Literal(kind), data: DATA_BY_KIND[kind]}, {title: kind})),
  {description: 'one event; `data` is the state after the change'},
)

export const EventsQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'resume after this sequence number (0: from the oldest kept); without it, from now'})),
    project: Type.Optional(Name),
    environment: Type.Optional(Name),
    release: Type.Optional(Type.Integer({minimum: 1, maximum: Number.MAX_SAFE_INTEGER})),
    app: Type.Optional(Type.String({maxLength: 2000, description: "comma-separated apps: events about any of them (their own, their tasks' and logs, releases that lock them) and those of their environment as a whole"})),
    kinds: Type.Optional(Type.String({maxLength: 2000, description: 'comma-separated kinds, * for any characters: release.*,task.ended'})),
    wait: Type.Optional(Type.String({maxLength: 20, description: 'JSON long poll: how long to wait for the first event, e.g. 30s (at most 60s)'})),
  },
  {additionalProperties: false},
)

export const EventsPage = Type.Object({
  events: Type.Array(EventSchema),
  next: Type.Integer({description: 'the position to ask after next time: the last event looked at, matching or not'}),
})

/** An event, discriminated by its kind. */
export type Event = {
  [K in EventKind]: {seq: number; at: string; project: string | null; environment: string | null; releaseId: number | null; taskId: number | null; kind: K; data: Static<(typeof DATA_BY_KIND)[K]>}
}[EventKind]
export type EventsPage = Static<typeof EventsPage>
export type ReleaseEventData = Static<typeof ReleaseEventData>
export type TaskEventData = Static<typeof TaskEventData>
export type AppEventData = Static<typeof AppEventData>
export type LogEventData = Static<typeof LogEventData>
export type PauseEventData = Static<typeof PauseEventData>
export type FreezeEventData = Static<typeof FreezeEventData>
export type BlockEventData = Static<typeof BlockEventData>
export type SettingsEventData = Static<typeof SettingsEventData>
export type ScheduleEventData = Static<typeof ScheduleEventData>
export type ReplicaLostEventData = Static<typeof ReplicaLostEventData>
export type PipelineEventData = Static<typeof PipelineEventData>
