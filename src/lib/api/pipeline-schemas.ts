// The API of pipelines: runs (their summary, the tree stage -> step -> environment -> release), the
// requests that start, approve, reject and cancel them, a run's dry run, and promote. Served in the
// OpenAPI document; the CLI imports only the types.
import {type Static, Type} from '@sinclair/typebox'

import {NAME_PATTERN, PIPELINE_RUN_STATUSES, PIPELINE_WAIT_REASONS, VERSION_PATTERN} from './domain.js'
import {literals, Name, nullable, NullableInteger, NullableString, Release, Text} from './schemas.js'

const Order = literals(['parallel', 'sequential'] as const)

export const AppVersion = Type.Object({name: Type.String({pattern: NAME_PATTERN.source}), version: Type.String({pattern: VERSION_PATTERN.source, maxLength: 200})}, {additionalProperties: false})

export const PipelineWaitingFor = Type.Object({
  reason: literals(PIPELINE_WAIT_REASONS),
  message: Type.String(),
  stage: Type.Optional(Type.Integer({description: 'the stage (from 1) whose gate it waits at'})),
  until: Type.Optional(Type.String({description: 'a soak: when it ends if the apps stay Synced and Healthy'})),
  leftMs: Type.Optional(Type.Integer({description: 'a soak: how long is left, when the answer was made'})),
  runs: Type.Optional(Type.Array(Type.Integer(), {description: 'queue: the older run it waits for'})),
  releases: Type.Optional(Type.Array(Type.Integer())),
})

export const StageApproval = Type.Object({stage: Type.Integer({description: 'from 1'}), by: Type.String(), at: Type.String(), comment: NullableString})

export const StageGate = Type.Object({
  soak: nullable(Type.String(), {description: 'how long its apps stay Synced and Healthy before the next stage, e.g. 10m'}),
  soakMs: NullableInteger,
  approval: Type.Boolean({description: 'approved (by someone other than the run\'s creator) before the stage starts'}),
})

export const PipelineRunSummary = Type.Object({
  id: Type.Integer(),
  project: Type.String(),
  pipeline: Type.String(),
  status: literals(PIPELINE_RUN_STATUSES),
  versions: Type.Array(AppVersion, {description: 'the apps the run moves and their versions, in the order a release plans them'}),
  services: Order,
  queue: literals(['fifo', 'supersede'] as const),
  onFailure: literals(['stop', 'rollback'] as const),
  stage: Type.Integer({description: 'the stage it is at (from 1); the last one once it succeeded'}),
  step: Type.Integer({description: 'the step it is at (from 1)'}),
  steps: Type.Integer(),
  waitingFor: nullable(PipelineWaitingFor, {description: 'what it waits for, while it waits'}),
  supersededBy: NullableInteger,
  approvals: Type.Array(StageApproval),
  decision: nullable(Type.Object({decision: literals(['rejected', 'cancelled'] as const), by: Type.String(), at: Type.String(), comment: NullableString})),
  error: NullableString,
  createdBy: Type.String(),
  source: literals(['cli', 'api'] as const),
  comment: NullableString,
  idempotencyKey: NullableString,
  createdAt: Type.String(),
  startedAt: NullableString,
  finishedAt: NullableString,
})

export const PIPELINE_PART_STATUSES = ['pending', 'waiting', 'running', 'soaking', 'succeeded', 'failed', 'cancelled', 'skipped'] as const

export const PipelineRunEnvironment = Type.Object({
  environment: Type.String(),
  apps: Type.Array(AppVersion),
  release: nullable(Release, {description: 'the release of this step in this environment, with its tasks; null before it is made'}),
  rollback: nullable(Release, {description: 'onFailure: rollback: the release that rolled it back'}),
  note: NullableString,
})

export const PipelineRunStep = Type.Object({
  step: Type.Integer({description: 'from 1'}),
  service: nullable(Type.String(), {description: 'services: sequential: the one app of this step'}),
  status: literals(PIPELINE_PART_STATUSES),
  environments: Type.Array(PipelineRunEnvironment),
})

export const PipelineRunStage = Type.Object({
  stage: Type.Integer({description: 'from 1'}),
  name: NullableString,
  environments: Type.Array(Type.String()),
  order: Order,
  gate: StageGate,
  status: literals(PIPELINE_PART_STATUSES),
  steps: Type.Array(PipelineRunStep),
})

export const PipelineRun = Type.Composite([PipelineRunSummary, Type.Object({stages: Type.Array(PipelineRunStage)})])

export const RunPipelineRequest = Type.Object(
  {
    versions: Type.Optional(Type.Array(AppVersion, {maxItems: 1000, description: '--set api=1.5.0: the version of each app'})),
    apps: Type.Optional(Type.Array(Name, {minItems: 1, maxItems: 1000, description: 'the apps to move; default: those of versions, else every app. An app without a version takes the desired version of the first environment'})),
    comment: Type.Optional(Text),
    onConflict: Type.Optional(literals(['queue', 'fail'] as const)),
    source: Type.Optional(literals(['cli', 'api'] as const)),
    dryRun: Type.Optional(Type.Boolean({description: 'the whole order and what would hold the run back now; nothing is recorded'})),
  },
  {additionalProperties: false},
)

export const PipelineDryRun = Type.Object({
  dryRun: Type.Literal(true),
  project: Type.String(),
  pipeline: Type.String(),
  versions: Type.Array(AppVersion),
  services: Order,
  queue: literals(['fifo', 'supersede'] as const),
  onFailure: literals(['stop', 'rollback'] as const),
  stages: Type.Array(Type.Object({stage: Type.Integer(), name: NullableString, environments: Type.Array(Type.String()), order: Order, gate: StageGate})),
  steps: Type.Array(
    Type.Object({
      step: Type.Integer(),
      stage: Type.Integer(),
      service: NullableString,
      environments: Type.Array(Type.Object({environment: Type.String(), apps: Type.Array(Type.String()), order: Type.String({description: "the environment's release, level by level"})})),
    }),
  ),
  order: Type.String({description: 'every task of the run level by level, each as environment/task: "dev/api, dev/web | prod/api@eu-1"'}),
  wouldWaitFor: nullable(PipelineWaitingFor, {description: 'what would hold the run back now: an older run (fifo), a pause'}),
})

export const RunPipelineResponse = Type.Object({run: PipelineRun, created: Type.Boolean()})

export const PipelineRunsQuery = Type.Object(
  {
    pipeline: Type.Optional(Name),
    active: Type.Optional(Type.Boolean({description: 'only queued and running runs'})),
    limit: Type.Optional(Type.Integer({minimum: 1, maximum: 1000, default: 50})),
  },
  {additionalProperties: false},
)

export const PipelineDecisionRequest = Type.Object({comment: Type.Optional(Text)}, {additionalProperties: false})

export const PromoteRequest = Type.Object(
  {
    from: Name,
    apps: Type.Optional(Type.Array(Name, {minItems: 1, maxItems: 1000, description: 'default: every app of the source environment'})),
    comment: Type.Optional(Text),
    source: Type.Optional(literals(['cli', 'api'] as const)),
  },
  {additionalProperties: false},
)

export const PromoteResponse = Type.Object({
  from: Type.String(),
  to: Type.String(),
  versions: Type.Array(AppVersion, {description: 'what is deployed and stable in the source: now the desired versions of the target'}),
  release: nullable(Release, {description: 'the selective release of the apps not already at those versions; null when none was needed'}),
  unchanged: Type.Array(Type.String(), {description: 'apps the target runs at that version already'}),
})

export type AppVersion = Static<typeof AppVersion>
export type PipelineWaitingFor = Static<typeof PipelineWaitingFor>
export type PipelineRunSummary = Static<typeof PipelineRunSummary>
export type PipelineRunEnvironment = Static<typeof PipelineRunEnvironment>
export type PipelineRunStep = Static<typeof PipelineRunStep>
export type PipelineRunStage = Static<typeof PipelineRunStage>
export type PipelineRun = Static<typeof PipelineRun>
export type RunPipelineRequest = Static<typeof RunPipelineRequest>
export type RunPipelineResponse = Static<typeof RunPipelineResponse>
export type PipelineDryRun = Static<typeof PipelineDryRun>
export type PromoteRequest = Static<typeof PromoteRequest>
export type PromoteResponse = Static<typeof PromoteResponse>
