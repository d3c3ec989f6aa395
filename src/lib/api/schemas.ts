// The API contract: JSON schemas (served as OpenAPI, enforced by the server) and the types both sides use.
// The CLI imports only the types from here, so TypeBox stays out of its start-up path.
import {type SchemaOptions, type Static, type TSchema, type TUnsafe, Type} from '@sinclair/typebox'

import {
  ACTIONS,
  END_REASONS,
  HEALTH_STATES,
  MAX_ATTEMPTS,
  NAME_PATTERN,
  RELEASE_STATUSES,
  RELEASE_TYPES,
  SOURCES,
  SYNC_STATES,
  TASK_STATUSES,
  VERSION_PATTERN,
  WAIT_REASONS,
} from './domain.js'

/**
 * A value or null, as one schema with a list of types rather than a union: fast-json-stringify writes it
 * after a type check, where for a union (anyOf) it runs ajv on the value to pick the branch, for every
 * field of every row. OpenAPI (3.0) shows it as the type with `nullable: true`.
 */
export function nullable<T extends TSchema>(schema: T, options: SchemaOptions = {}): TUnsafe<Static<T> | null> {
  const {type, enum: values, ...rest} = schema as TSchema & {type?: unknown; enum?: unknown[]}
  if (typeof type !== 'string') throw new Error('nullable() needs a schema with one type')
  return Type.Unsafe<Static<T> | null>({...rest, ...options, type: [type, 'null'], ...(values && {enum: [...values, null]})})
}

export const NullableString = nullable(Type.String())
export const NullableInteger = nullable(Type.Integer())

/** A project, environment, resource, target or step name in a request (the rule is in domain.ts). */
export const Name = Type.String({pattern: NAME_PATTERN.source})
const Version = Type.String({pattern: VERSION_PATTERN.source, maxLength: 200})
/** Free text from a person (comments, reasons): any length up to 2000, but no NUL. */
export const Text = Type.String({maxLength: 2000, pattern: '^[^\\u0000]*$'})

// An enum of strings that keeps its literal union in the static type and reads as `enum` in OpenAPI.
export const literals = <const T extends readonly string[]>(values: T, options: SchemaOptions = {}) => Type.Unsafe<T[number]>({...options, type: 'string', enum: [...values]})

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    hint: Type.Optional(Type.String()),
    details: Type.Optional(Type.Array(Type.Object({path: Type.String(), message: Type.String()}))),
    holder: Type.Optional(Type.Object({releaseId: Type.Integer(), resources: Type.Array(Type.String())})),
    validNames: Type.Optional(Type.Array(Type.String())),
    /** plan_too_large: the tasks the release would plan, and the cap */
    planTasks: Type.Optional(Type.Integer()),
    maxPlanTasks: Type.Optional(Type.Integer()),
  }),
})

/** A version blocked in a project (relctl app block): no release, app set or schedule may take an app to it. */
export const BlockedVersion = Type.Object({
  project: Type.String(),
  app: Type.String(),
  version: Type.String(),
  reason: Type.String(),
  by: Type.String({description: 'the token that blocked it'}),
  at: Type.String(),
})

export const ReleaseRef = Type.Object({id: Type.Integer(), status: literals(RELEASE_STATUSES), type: Type.String()})

export const AppState = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  desiredVersion: NullableString,
  deployedVersion: NullableString,
  sync: literals(SYNC_STATES),
  health: literals(HEALTH_STATES),
  removedFromBlueprint: Type.Boolean(),
  drift: nullable(Type.Object({recordedVersion: NullableString, liveVersion: Type.String(), at: Type.String()}), {
    description: 'set when a refresh read a live version that differed from the recorded one',
  }),
  activeReleases: Type.Array(ReleaseRef, {description: 'queued or running releases whose lock set covers this app'}),
  lastRelease: nullable(ReleaseRef, {description: 'the latest ended release that listed this app (rejected and cancelled ones too)'}),
  stable: Type.Boolean({description: 'Synced and Healthy and no queued or running release touches it'}),
  blockedVersions: Type.Array(BlockedVersion, {description: 'versions of this app blocked in the project (relctl app block), oldest first'}),
  updatedAt: Type.String(),
})

export const ReleaseResource = Type.Object({
  name: Type.String(),
  action: literals(ACTIONS),
  fromVersion: NullableString,
  toVersion: NullableString,
})

export const WaitingFor = Type.Object({
  reason: literals(WAIT_REASONS),
  message: Type.String(),
  releases: Type.Optional(Type.Array(Type.Integer())),
  resources: Type.Optional(Type.Array(Type.String())),
  running: Type.Optional(Type.Integer()),
  max: Type.Optional(Type.Integer()),
  freeze: Type.Optional(Type.Integer({description: 'freeze: the freeze in force (relctl freeze list)'})),
  until: Type.Optional(Type.String({description: 'freeze: when the freeze windows in force end (UTC)'})),
})

const TaskFields = {
  key: Type.String({description: 'unique in the release: api, api@eu-1, beforeTarget@eu-1'}),
  kind: literals(['deploy', 'hook'] as const),
  resource: nullable(Type.String(), {description: 'null for a target hook'}),
  hook: nullable(literals(['beforeTarget', 'afterTarget'] as const)),
  target: NullableString,
  step: NullableString,
  action: literals(ACTIONS),
  fromVersion: NullableString,
  toVersion: NullableString,
  dependsOn: Type.Array(Type.String(), {description: 'task keys that must succeed first'}),
  after: Type.Array(Type.String(), {description: 'task keys that must have ended first, however they ended'}),
  level: Type.Integer(),
}

export const PlannedTask = Type.Object(TaskFields)

export const Plan = Type.Object({
  rollout: Type.Object({services: literals(['parallel', 'sequential'] as const), targets: literals(['parallel', 'sequential'] as const)}),
  targets: Type.Array(Type.String()),
  steps: Type.Array(Type.Object({step: Type.String(), waitForFinish: Type.Boolean(), haltOnError: Type.Boolean(), resources: Type.Array(Type.String())})),
  hooks: Type.Object({beforeTarget: NullableString, afterTarget: NullableString, run: Type.Boolean()}),
  tasks: Type.Array(PlannedTask),
  notes: Type.Array(Type.String()),
})

export const Task = Type.Object({
  id: Type.Integer(),
  ...TaskFields,
  status: literals(TASK_STATUSES),
  attempt: Type.Integer({minimum: 1, description: 'the attempt running or last run (1 until it is retried)'}),
  attempts: Type.Integer({minimum: 1, maximum: MAX_ATTEMPTS, description: 'how many attempts it may take (the blueprint\'s retries.attempts; 1 without retries)'}),
  exitCode: NullableInteger,
  error: NullableString,
  startedAt: NullableString,
  finishedAt: NullableString,
})

export const ReleaseOptions = Type.Object({
  targetOrder: Type.Optional(literals(['parallel', 'sequential'] as const)),
  steps: Type.Optional(Type.Array(Type.String())),
  rollbackOf: Type.Optional(Type.Integer()),
  retryOf: Type.Optional(Type.Integer({description: 'the release whose unfinished tasks this one runs again (relctl release retry)'})),
  deadlineMs: Type.Optional(Type.Integer({description: '--deadline: how long it may run before it is stopped and fails'})),
  expireAfterMs: Type.Optional(Type.Integer({description: '--expire-after: how long it may wait to start before it is cancelled'})),
  pipeline: Type.Optional(
    Type.Object(
      {run: Type.Integer(), pipeline: Type.String(), stage: Type.Integer({description: 'from 1'}), step: Type.Integer({description: 'from 1'})},
      {description: 'the pipeline run (and its stage and step) this release is the work of'},
    ),
  ),
  promotedFrom: Type.Optional(Type.String({description: 'relctl promote: the environment whose deployed versions this release brings'})),
})

export const Decision = Type.Object({
  decision: literals(['approved', 'rejected'] as const),
  by: Type.String(),
  at: Type.String(),
  comment: NullableString,
})

export const FreezeOverride = Type.Object({
  by: Type.String({description: 'the operator whose trigger overrides the freezes'}),
  reason: Type.String(),
  at: Type.String(),
})

export const Approval = Type.Object({by: Type.String({description: 'the approver\'s token name'}), at: Type.String(), comment: NullableString})

export const Release = Type.Object({
  id: Type.Integer(),
  project: Type.String(),
  environment: Type.String(),
  type: literals(RELEASE_TYPES),
  status: literals(RELEASE_STATUSES),
  resources: Type.Array(ReleaseResource),
  refresh: Type.Boolean(),
  force: Type.Boolean(),
  allowDestructive: Type.Boolean(),
  comment: NullableString,
  triggeredBy: Type.String(),
  source: literals(SOURCES),
  idempotencyKey: NullableString,
  error: NullableString,
  createdAt: Type.String(),
  startedAt: NullableString,
  finishedAt: NullableString,
  decision: nullable(Decision, {description: 'the approval decision, where the approval workflow is on'}),
  approvals: Type.Optional(Type.Array(Approval, {description: 'one release (not lists): who approved it, each a distinct token, oldest first'})),
  options: ReleaseOptions,
  replica: nullable(Type.String(), {description: 'the replica that runs or ran it'}),
  endReason: nullable(literals(END_REASONS), {
    description: 'deadline: it ran past --deadline (failed); expired: not started within --expire-after (cancelled); superseded: a newer release replaced it in a supersede queue (cancelled)',
  }),
  freezeOverride: nullable(FreezeOverride, {description: 'it starts even while a freeze holds (--override-freeze)'}),
  deadlineAt: nullable(Type.String(), {description: 'once running with --deadline: when it is stopped'}),
  expiresAt: nullable(Type.String(), {description: 'with --expire-after: when it is cancelled if it has not started'}),
  queuePosition: Type.Optional(Type.Integer({description: '1-based position among the queued releases of the environment'})),
  waitingFor: Type.Optional(WaitingFor),
  tasks: Type.Optional(Type.Array(Task)),
})

/** What a trigger, sync, rollback or retry may add: how it meets a freeze, and its deadlines. */
const ReleaseControls = {
  onFreeze: Type.Optional(literals(['fail', 'queue'] as const, {description: 'while a freeze holds: refuse (fail, the default) or queue until it ends'})),
  overrideFreeze: Type.Optional(
    Type.Object({reason: Type.String({minLength: 1, maxLength: 2000, pattern: '^[^\\u0000]*$'})}, {additionalProperties: false, description: 'start even while a freeze holds; operators only; recorded with the reason'}),
  ),
  deadline: Type.Optional(Type.String({minLength: 1, maxLength: 40, description: 'how long it may run, e.g. 30m: past it, it is stopped and fails (reason deadline)'})),
  expireAfter: Type.Optional(Type.String({minLength: 1, maxLength: 40, description: 'how long it may wait to start, e.g. 2h: past it, it is cancelled (reason expired)'})),
}

export const TriggerRequest = Type.Object(
  {
    type: literals(RELEASE_TYPES),
    resources: Type.Optional(
      Type.Array(
        Type.Object({name: Name, action: Type.Optional(literals(ACTIONS))}, {additionalProperties: false}),
        {description: 'selective releases only'},
      ),
    ),
    refresh: Type.Optional(Type.Boolean()),
    force: Type.Optional(Type.Boolean()),
    allowDestructive: Type.Optional(Type.Boolean()),
    comment: Type.Optional(Text),
    onConflict: Type.Optional(literals(['queue', 'fail'] as const)),
    source: Type.Optional(literals(['cli', 'api'] as const)),
    steps: Type.Optional(Type.Array(Name, {minItems: 1, description: 'custom releases: the workflow steps to run'})),
    targetOrder: Type.Optional(literals(['parallel', 'sequential'] as const)),
    dryRun: Type.Optional(Type.Boolean({description: 'plan only: queue nothing'})),
    ...ReleaseControls,
  },
  {additionalProperties: false},
)

export const DryRun = Type.Object({
  dryRun: Type.Literal(true),
  project: Type.String(),
  environment: Type.String(),
  type: literals(RELEASE_TYPES),
  resources: Type.Array(ReleaseResource),
  plan: Plan,
  order: Type.String({description: 'tasks level by level: "a, b | c"'}),
  wouldWaitFor: nullable(WaitingFor, {description: 'what would hold it back now: queue, conflict, pause, approval'}),
  refreshed: Type.Array(Type.Object({name: Type.String(), recordedVersion: NullableString, liveVersion: Type.String()})),
})

export const TriggerResponse = Type.Object({release: Release, created: Type.Boolean()})

export const SyncRequest = Type.Object(
  {
    apps: Type.Array(Name, {minItems: 1}),
    force: Type.Optional(Type.Boolean()),
    refresh: Type.Optional(Type.Boolean()),
    dryRun: Type.Optional(Type.Boolean()),
    comment: Type.Optional(Text),
    source: Type.Optional(literals(['cli', 'api'] as const)),
    ...ReleaseControls,
  },
  {additionalProperties: false},
)

export const SyncResponse = Type.Object({release: nullable(Release), apps: Type.Array(AppState)})

export const ApplyRequest = Type.Object(
  {
    content: Type.String({description: 'the blueprint YAML text'}),
    file: Type.String({description: 'the file name, used in error messages'}),
    baseDir: Type.String({description: 'absolute folder that exec commands run in'}),
    allowDestructive: Type.Optional(Type.Boolean({description: 'allow dropping deployed state: an environment with deployed apps, or a deployed resource'})),
    dryRun: Type.Optional(Type.Boolean({description: 'answer with the diff (and what would be refused) and write nothing'})),
  },
  {additionalProperties: false},
)

export const Change = Type.Object({
  kind: literals(['project', 'environment', 'resource'] as const),
  name: Type.String(),
  change: literals(['created', 'updated', 'removed', 'unchanged'] as const),
  detail: Type.Optional(Type.String()),
})

export const ResourceSummary = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  driver: Type.String(),
  dependsOn: Type.Array(Type.String()),
  version: NullableString,
})

export const Project = Type.Object({
  name: Type.String(),
  file: Type.String(),
  baseDir: Type.String(),
  environments: Type.Array(Type.String()),
  resources: Type.Array(ResourceSummary),
  createdAt: Type.String(),
  appliedAt: Type.String(),
})

export const DroppedApp = Type.Object({environment: Type.String(), resource: Type.String(), deployedVersion: Type.String()})

export const ApplyResponse = Type.Object({
  project: Project,
  created: Type.Boolean(),
  changed: Type.Boolean(),
  changes: Type.Array(Change),
  dryRun: Type.Boolean({description: 'true: nothing was written'}),
  dropped: Type.Array(DroppedApp, {description: 'deployed app states this apply drops (or, in a dry run, would drop)'}),
  needsAllowDestructive: Type.Boolean({description: 'dropped is not empty and allowDestructive was not given: the apply is (or would be) refused'}),
})

export const SetVersionRequest = Type.Object({version: Version}, {additionalProperties: false})

export const LogLine = Type.Object({
  id: Type.Integer(),
  taskId: NullableInteger,
  attempt: nullable(Type.Integer(), {description: 'the attempt of its task that wrote it; null for lines of the release'}),
  resource: NullableString,
  target: NullableString,
  stream: literals(['stdout', 'stderr', 'system'] as const),
  line: Type.String(),
  at: Type.String(),
})

export const LogsResponse = Type.Object({
  lines: Type.Array(LogLine),
  next: Type.Integer(),
  releaseStatus: literals(RELEASE_STATUSES),
  /** when the log retention deleted this release's lines; null while they are kept */
  logsDeletedAt: NullableString,
})

export const BlockRequest = Type.Object({version: Version, reason: Type.String({minLength: 1, maxLength: 2000, pattern: '^[^\\u0000]*$'})}, {additionalProperties: false})

export const UnblockRequest = Type.Object({version: Version}, {additionalProperties: false})

export const BlockResponse = Type.Object({block: BlockedVersion, alreadyBlocked: Type.Boolean({description: 'the version was blocked already: the first block stays'})})

export const UnblockResponse = Type.Object({
  unblocked: Type.Boolean({description: 'false: the version was not blocked'}),
  block: nullable(BlockedVersion, {description: 'the block that was lifted'}),
})

export const DecisionRequest = Type.Object({comment: Type.Optional(Text)}, {additionalProperties: false})

export const AppHistoryEntry = Type.Object({
  releaseId: Type.Integer(),
  type: literals(RELEASE_TYPES),
  action: literals(ACTIONS),
  fromVersion: NullableString,
  toVersion: NullableString,
  target: NullableString,
  triggeredBy: Type.String(),
  finishedAt: Type.String(),
})

export const RollbackRequest = Type.Object(
  {
    allowDestructive: Type.Optional(Type.Boolean()),
    comment: Type.Optional(Text),
    dryRun: Type.Optional(Type.Boolean()),
    onConflict: Type.Optional(literals(['queue', 'fail'] as const)),
    source: Type.Optional(literals(['cli', 'api'] as const)),
    ...ReleaseControls,
  },
  {additionalProperties: false},
)

export const RetryRequest = Type.Object(
  {
    comment: Type.Optional(Text),
    dryRun: Type.Optional(Type.Boolean()),
    onConflict: Type.Optional(literals(['queue', 'fail'] as const)),
    source: Type.Optional(literals(['cli', 'api'] as const)),
    ...ReleaseControls,
  },
  {additionalProperties: false},
)

export const ReplicaRun = Type.Object({
  releaseId: Type.Integer(),
  project: Type.String(),
  environment: Type.String(),
  type: literals(RELEASE_TYPES),
  startedAt: NullableString,
  leaseExpiresAt: NullableString,
})

export const Replica = Type.Object({
  id: Type.String(),
  host: Type.String(),
  pid: Type.Integer(),
  url: NullableString,
  version: Type.String(),
  capacity: Type.Integer({description: 'how many releases it runs at once'}),
  leaseMs: Type.Integer(),
  startedAt: Type.String(),
  heartbeatAt: Type.String(),
  /** the heartbeat plus the lease: after this, any replica fails its runs */
  leaseExpiresAt: Type.String({description: 'its last heartbeat plus its lease; past this, other replicas fail its runs'}),
  stopping: Type.Boolean({description: 'shutting down: it starts nothing new and finishes what it runs'}),
  self: Type.Boolean({description: 'the replica that answered this request'}),
  runs: Type.Array(ReplicaRun),
})

export type ErrorBody = Static<typeof ErrorBody>
export type AppState = Static<typeof AppState>
export type ReleaseRef = Static<typeof ReleaseRef>
export type ReleaseResource = Static<typeof ReleaseResource>
export type WaitingFor = Static<typeof WaitingFor>
export type Task = Static<typeof Task>
export type Release = Static<typeof Release>
export type TriggerRequest = Static<typeof TriggerRequest>
export type TriggerResponse = Static<typeof TriggerResponse>
export type SyncRequest = Static<typeof SyncRequest>
export type SyncResponse = Static<typeof SyncResponse>
export type ApplyRequest = Static<typeof ApplyRequest>
export type ApplyResponse = Static<typeof ApplyResponse>
export type Change = Static<typeof Change>
export type DroppedApp = Static<typeof DroppedApp>
export type Project = Static<typeof Project>
export type LogLine = Static<typeof LogLine>
export type LogsResponse = Static<typeof LogsResponse>
export type Replica = Static<typeof Replica>
export type ReplicaRun = Static<typeof ReplicaRun>
export type PlannedTask = Static<typeof PlannedTask>
export type Plan = Static<typeof Plan>
export type DryRun = Static<typeof DryRun>
export type ReleaseOptions = Static<typeof ReleaseOptions>
export type AppHistoryEntry = Static<typeof AppHistoryEntry>
export type RollbackRequest = Static<typeof RollbackRequest>
export type Decision = Static<typeof Decision>
export type Approval = Static<typeof Approval>
export type DecisionRequest = Static<typeof DecisionRequest>
export type BlockedVersion = Static<typeof BlockedVersion>
export type BlockRequest = Static<typeof BlockRequest>
export type BlockResponse = Static<typeof BlockResponse>
export type UnblockResponse = Static<typeof UnblockResponse>
export type FreezeOverride = Static<typeof FreezeOverride>
export type RetryRequest = Static<typeof RetryRequest>

// The types of environment-schemas.ts, for the modules that import only types. A type export is erased,
// so this module does not load environment-schemas.ts (which imports from it): the schemas themselves
// are imported from there.
export type {
  AddFreezeRequest,
  Environment,
  Freeze,
  FreezeWindow,
  PauseResponse,
  PauseState,
  ResumeResponse,
  Schedule,
  ScheduleRule,
  ScheduleRun,
  SetApprovalRequest,
  SetParallelRequest,
  SetQueueRequest,
  SetScheduleRequest,
  SettingsChange,
  SettingsView,
} from './environment-schemas.js'
