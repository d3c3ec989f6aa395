import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {splitList} from '../../lib/api/domain.js'
import type {PipelineDryRun, PipelineRun, RunPipelineRequest} from '../../lib/api/pipeline-schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'
import {commentFlag, parseVersions, RUN_WAIT_EXIT_CODES, runWaitFlags} from '../../lib/cli/pipeline-flags.js'

export default class PipelineRunCommand extends ApiCommand<typeof PipelineRunCommand> {
  static summary = 'Start a run of a pipeline: versions through its stages of environments, with their gates.'

  static description = `The pipeline is declared under "pipelines:" in the blueprint (docs/pipelines.md). Each environment's work is an ordinary release (source pipeline) of the run's apps, made when the run gets there: its desired versions are set, then one selective release of them runs under the environment's own queue, locks, pause, approval and targets. With services: parallel the apps go together, environment after environment (or a stage's environments at once with order: parallel); with services: sequential one app goes through every stage before the next one starts anywhere. An approval gate waits before its stage for someone other than the run's creator (relctl pipeline approve); a soak gate holds the next stage until the stage's apps have stayed Synced and Healthy that long.

--set gives the versions (api=1.5.0,web=2.1.0); --apps the apps to move (default: those of --set, else every app; an app without a version takes the desired version of the pipeline's first environment). --dry-run prints the whole order, stage by stage and task by task, and records nothing.

A newer run of a pipeline with queue: fifo waits for the older ones; --on-conflict fail refuses it instead (exit 5). With queue: supersede it starts at once, and the older runs start no other stage. The run is durable before the command hears "accepted"; every run carries an idempotency key (a new one unless --idempotency-key is given), so a retried request never starts two runs.

${toHelpSection({
  ...RUN_WAIT_EXIT_CODES,
  ok: 'accepted (with --wait: the run succeeded)',
  usage: 'invalid input (versions, apps, flags), or a version of the run is blocked (relctl app block)',
  stateLock: 'an older run of the pipeline is under way (queue: fifo) and --on-conflict fail was given',
  paused: 'the first stage\'s environment is paused or frozen (nothing recorded); with --wait: timed out while blocked by a pause or a freeze',
  auth: 'authentication failed, or the token may not deploy to every environment of the pipeline',
  notFound: 'project, pipeline or app not found',
})}`

  static examples = [
    '<%= config.bin %> <%= command.id %> main --project shop --set api=1.5.0,web=2.1.0 --wait --timeout 2h',
    '<%= config.bin %> <%= command.id %> main --project shop --set api=1.5.0 --dry-run',
    '<%= config.bin %> <%= command.id %> main --project shop --apps api --comment "hotfix 4411" --json',
    '<%= config.bin %> <%= command.id %> main -p shop --set api=1.5.0 --on-conflict fail --idempotency-key "$CI_PIPELINE_ID"',
  ]

  static args = {
    name: Args.string({description: 'Pipeline name (under "pipelines:" in the blueprint).', required: true}),
  }

  static flags = {
    set: Flags.string({summary: 'Versions: app=version,app=version (or --set once per app).', multiple: true}),
    apps: Flags.string({summary: 'Apps to move, a,b (default: those of --set, else every app).'}),
    comment: commentFlag,
    'on-conflict': Flags.option({options: ['queue', 'fail'] as const, default: 'queue', summary: 'Wait behind an older run of the pipeline (queue: fifo), or fail at once (exit 5).'})(),
    'idempotency-key': Flags.string({summary: 'Makes retries safe: the same key returns the same run.'}),
    'dry-run': Flags.boolean({summary: 'Print the whole order and what would hold the run back now; record nothing.', exclusive: ['wait']}),
    wait: Flags.boolean({summary: 'Wait for the run to end; exit 0 only when it succeeded.'}),
    ...runWaitFlags,
  }

  async run(): Promise<PipelineRun | PipelineDryRun> {
    const project = this.project()
    const request: RunPipelineRequest = {
      ...(this.flags.set && {versions: parseVersions(this.flags.set)}),
      ...(this.flags.apps && {apps: splitList(this.flags.apps)}),
      ...(this.flags.comment && {comment: this.flags.comment}),
      onConflict: this.flags['on-conflict'],
      source: 'cli',
    }
    const client = await this.client()
    const {pipelineDryRunText, runSummary, runTable, watchRun} = await import('../../lib/cli/pipelines.js')
    if (this.flags['dry-run']) {
      const dryRun = await client.pipelineDryRun(project, this.args.name, request)
      this.print(pipelineDryRunText(dryRun))
      return dryRun
    }
    const {run, created} = await client.runPipeline(project, this.args.name, request, this.flags['idempotency-key'] ?? crypto.randomUUID())
    this.note(runSummary(run, created))
    if (!this.flags.wait) {
      this.print(String(run.id))
      return run
    }
    const final = await watchRun(client, run, this.flags)
    this.print(runTable([final]))
    return final
  }
}
