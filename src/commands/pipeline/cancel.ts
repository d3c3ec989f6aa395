import * as Args from '@oclif/core/args'

import type {PipelineRun} from '../../lib/api/pipeline-schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'

export default class PipelineCancel extends ApiCommand<typeof PipelineCancel> {
  static summary = 'Cancel a pipeline run: no other stage starts, and its releases still pending, queued or running are cancelled.'

  static description = 'Needs the deploy permission on every environment of the run. A run that has ended is refused (exit 2). Its waiters exit 3.'

  static examples = ['<%= config.bin %> <%= command.id %> 7', '<%= config.bin %> <%= command.id %> 7 --json']

  static args = {
    run: Args.integer({description: 'Pipeline run id.', required: true, min: 1}),
  }

  async run(): Promise<PipelineRun> {
    const run = await (await this.client()).cancelPipelineRun(this.args.run)
    const {runSummary} = await import('../../lib/cli/pipelines.js')
    this.print(runSummary(run))
    return run
  }
}
