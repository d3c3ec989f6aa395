import * as Flags from '@oclif/core/flags'

import type {PipelineRunSummary} from '../../lib/api/pipeline-schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'

export default class PipelineList extends ApiCommand<typeof PipelineList> {
  static summary = 'Runs of a project\'s pipelines, newest first.'

  static description = 'Each with the stage it is at and what it waits for (an older run, an approval, a soak, a release, a pause). A token sees the runs it may read an environment of.'

  static examples = [
    '<%= config.bin %> <%= command.id %> --project shop',
    '<%= config.bin %> <%= command.id %> -p shop --pipeline main --active',
    '<%= config.bin %> <%= command.id %> -p shop --limit 5 --json',
  ]

  static flags = {
    pipeline: Flags.string({summary: 'Only the runs of this pipeline.'}),
    active: Flags.boolean({summary: 'Only queued and running runs.'}),
    limit: Flags.integer({summary: 'At most this many.', default: 50, min: 1, max: 1000}),
  }

  async run(): Promise<PipelineRunSummary[]> {
    const runs = await (await this.client()).listPipelineRuns(this.project(), {
      ...(this.flags.pipeline && {pipeline: this.flags.pipeline}),
      ...(this.flags.active && {active: true}),
      limit: this.flags.limit,
    })
    const {runTable} = await import('../../lib/cli/pipelines.js')
    this.print(runs.length === 0 ? (this.flags.active ? 'No pipeline run is under way.' : 'No pipeline runs yet.') : runTable(runs))
    return runs
  }
}
