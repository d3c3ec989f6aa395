import * as Args from '@oclif/core/args'

import type {PipelineRun} from '../../lib/api/pipeline-schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'

export default class PipelineShow extends ApiCommand<typeof PipelineShow> {
  static summary = 'Show a pipeline run: stage -> environment -> release -> tasks, each with its status, and what the run waits for.'

  static description = 'A soak says how long is left, or what holds it (an app that is not Synced and Healthy); an approval gate says who may approve it. With services: sequential, each stage lists each app\'s pass.'

  static examples = ['<%= config.bin %> <%= command.id %> 7', '<%= config.bin %> <%= command.id %> 7 --json']

  static args = {
    run: Args.integer({description: 'Pipeline run id.', required: true, min: 1}),
  }

  async run(): Promise<PipelineRun> {
    const run = await (await this.client()).getPipelineRun(this.args.run)
    const {runDetails} = await import('../../lib/cli/pipelines.js')
    this.print(runDetails(run))
    return run
  }
}
