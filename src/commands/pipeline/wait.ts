import * as Args from '@oclif/core/args'

import type {PipelineRun} from '../../lib/api/pipeline-schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'
import {RUN_WAIT_EXIT_CODES, runWaitFlags} from '../../lib/cli/pipeline-flags.js'

export default class PipelineWait extends ApiCommand<typeof PipelineWait> {
  static summary = 'Block until a pipeline run ends; exit 0 only when it succeeded.'

  static description = `Follows the control plane's event stream and prints each change as it happens: stage -> environment -> release, and what the run waits for (an older run, an approval, a soak and how long is left, a pause). Where the control plane serves no event stream, it says so once on stderr and looks every --interval instead; while the control plane is unreachable it keeps trying until the timeout. A run that failed prints the failed tasks of its releases with the last lines of their logs. Ctrl-C or SIGTERM ends the wait (exit 130 or 143), not the run.

${toHelpSection({...RUN_WAIT_EXIT_CODES, notFound: 'no such pipeline run'})}`

  static examples = ['<%= config.bin %> <%= command.id %> 7 --timeout 2h', '<%= config.bin %> <%= command.id %> 7 --json > run.json']

  static args = {
    run: Args.integer({description: 'Pipeline run id.', required: true, min: 1}),
  }

  static flags = {...runWaitFlags}

  async run(): Promise<PipelineRun> {
    const client = await this.client()
    const run = await client.getPipelineRun(this.args.run)
    const {runTable, watchRun} = await import('../../lib/cli/pipelines.js')
    const final = await watchRun(client, run, this.flags)
    this.print(runTable([final]))
    return final
  }
}
