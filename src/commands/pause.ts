import * as Flags from '@oclif/core/flags'

import type {PauseResponse} from '../lib/api/schemas.js'
import {ApiCommand} from '../lib/cli/base-command.js'
import {allOrScope} from '../lib/cli/flags.js'

export default class Pause extends ApiCommand<typeof Pause> {
  static summary = 'Pause releases of every project (--all), a project or one environment.'

  static description = `While paused, no release of any type starts: new triggers are refused with exit 6 (the message says who paused, when, why and how to resume), queued releases stay queued and start in order after resume, and running releases finish. A pause also holds back schedules: their runs are recorded as skipped.

--all is one switch for every project of the control plane (operators of the control plane). Without --environment the whole project (blueprint) is paused; with it, one environment. Each level is lifted only by its own resume. Note that RELCTL_PROJECT and RELCTL_ENVIRONMENT, when set, count as --project and --environment.

For windows planned ahead (a holiday, every weekend), see relctl freeze add.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --project shop --reason "quarter-end freeze"',
    '<%= config.bin %> <%= command.id %> --project shop --environment prod --reason "incident 4411"',
    '<%= config.bin %> <%= command.id %> --all --reason "datacenter move"',
  ]

  static flags = {
    all: Flags.boolean({summary: 'Pause the whole control plane: every project.'}),
    reason: Flags.string({summary: 'Why: shown to everyone whose release is refused.'}),
  }

  async run(): Promise<PauseResponse> {
    const {project, environment} = allOrScope(this.flags.all, this.apiFlags, 'pause')
    const result = await (await this.client()).pause(project, environment, this.flags.reason)
    const where = project === undefined ? 'the whole control plane (every project)' : environment ? `${project}/${environment}` : `project ${project} (every environment)`
    const resume = project === undefined ? 'relctl resume --all' : `relctl resume -p ${project}${environment ? ` -e ${environment}` : ''}`
    const {pause} = result
    this.print(
      result.alreadyPaused
        ? `${where} was already paused by ${pause.by} since ${pause.at}${pause.reason ? `: ${pause.reason}` : ''}; nothing changed`
        : `Paused releases of ${where}${pause.reason ? `: ${pause.reason}` : ''}. Resume with: ${resume}`,
    )
    return result
  }
}
