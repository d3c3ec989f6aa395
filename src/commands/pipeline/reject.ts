import * as Args from '@oclif/core/args'

import type {PipelineRun} from '../../lib/api/pipeline-schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {commentFlag} from '../../lib/cli/pipeline-flags.js'

export default class PipelineReject extends ApiCommand<typeof PipelineReject> {
  static summary = 'Reject the gate a pipeline run waits at: the run ends rejected.'

  static description = "Needs the approve permission on every environment of the stage; the run's creator may reject (withdraw) it too. Its waiters (pipeline wait, pipeline run --wait) exit 3. Only a run that waits at an approval gate can be rejected; anything else is exit 2."

  static examples = ['<%= config.bin %> <%= command.id %> 7 --comment "error rate too high in staging"']

  static args = {
    run: Args.integer({description: 'Pipeline run id.', required: true, min: 1}),
  }

  static flags = {
    comment: commentFlag,
  }

  async run(): Promise<PipelineRun> {
    const run = await (await this.client()).decidePipelineRun(this.args.run, 'reject', this.flags.comment)
    const {runSummary} = await import('../../lib/cli/pipelines.js')
    this.print(runSummary(run))
    return run
  }
}
