import * as Flags from '@oclif/core/flags'

import type {ResumeResponse} from '../lib/api/schemas.js'
import {ApiCommand} from '../lib/cli/base-command.js'
import {allOrScope} from '../lib/cli/flags.js'

export default class Resume extends ApiCommand<typeof Resume> {
  static summary = 'Lift a pause: of every project (--all), a project or one environment.'

  static description = 'Resume clears only its own level: resuming an environment does not lift a project-level pause, resuming the project does not lift environment pauses, and resume --all lifts only the control plane\'s pause (the command says which still hold). Queued releases then start in queue order.'

  static examples = ['<%= config.bin %> <%= command.id %> --project shop --environment prod', '<%= config.bin %> <%= command.id %> --project shop --json', '<%= config.bin %> <%= command.id %> --all']

  static flags = {
    all: Flags.boolean({summary: 'Lift the control plane\'s pause (pause --all).'}),
  }

  async run(): Promise<ResumeResponse> {
    const {project, environment} = allOrScope(this.flags.all, this.apiFlags, 'resume')
    const result = await (await this.client()).resume(project, environment)
    const where = project === undefined ? 'the whole control plane' : environment ? `${project}/${environment}` : `project ${project}`
    this.print(result.resumed ? `Resumed releases of ${where}.` : `${where} was not paused at this level; nothing changed.`)
    for (const pause of result.stillPaused) {
      const held =
        pause.level === 'control-plane'
          ? 'the whole control plane (control-plane level)'
          : pause.level === 'project'
            ? `project ${pause.project} (project level)`
            : `${pause.project}/${pause.environment} (environment level)`
      const resume = pause.level === 'control-plane' ? 'relctl resume --all' : pause.level === 'project' ? `relctl resume -p ${pause.project}` : `relctl resume -p ${pause.project} -e ${pause.environment}`
      this.note(`Warning: ${held} is still paused by ${pause.by} since ${pause.at}${pause.reason ? `: ${pause.reason}` : ''}; its releases stay held until: ${resume}`)
    }
    return result
  }
}
