import type {ResumeResponse} from '../lib/api/schemas.js'
import {ApiCommand} from '../lib/cli/base-command.js'

export default class Resume extends ApiCommand<typeof Resume> {
  static summary = 'Lift a pause: of the project without --environment, of one environment with it.'

  static description = 'Resume clears only its own level: resuming an environment does not lift a project-level pause (the command says so). Queued releases then start in queue order.'

  static examples = ['<%= config.bin %> <%= command.id %> --project shop --environment prod', '<%= config.bin %> <%= command.id %> --project shop --json']

  async run(): Promise<ResumeResponse> {
    const project = this.project()
    const {environment} = this.apiFlags
    const result = await (await this.client()).resume(project, environment)
    const where = environment ? `${project}/${environment}` : `project ${project}`
    this.print(result.resumed ? `Resumed releases of ${where}.` : `${where} was not paused at this level; nothing changed.`)
    for (const pause of result.stillPaused) {
      this.note(
        `Warning: project ${pause.project} is still paused (project level) by ${pause.by} since ${pause.at}${pause.reason ? `: ${pause.reason}` : ''}; releases stay held until: relctl resume -p ${pause.project}`,
      )
    }
    return result
  }
}
