import * as Args from '@oclif/core/args'

import type {PipelineRun} from '../../lib/api/pipeline-schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {commentFlag} from '../../lib/cli/pipeline-flags.js'

export default class PipelineApprove extends ApiCommand<typeof PipelineApprove> {
  static summary = 'Approve the gate a pipeline run waits at: its stage starts.'

  static description = 'Needs the approve permission on every environment of the stage (an approver or an admin of them). The token that created the run cannot approve its gates: another person must. Only a run that waits at an approval gate (relctl pipeline show) can be approved; anything else is exit 2.'

  static examples = ['<%= config.bin %> <%= command.id %> 7', '<%= config.bin %> <%= command.id %> 7 --comment "canary looks fine" --json']

  static args = {
    run: Args.integer({description: 'Pipeline run id.', required: true, min: 1}),
  }

  static flags = {
    comment: commentFlag,
  }

  async run(): Promise<PipelineRun> {
    const run = await (await this.client()).decidePipelineRun(this.args.run, 'approve', this.flags.comment)
    const {runSummary} = await import('../../lib/cli/pipelines.js')
    this.print(runSummary(run))
    return run
  }
}
