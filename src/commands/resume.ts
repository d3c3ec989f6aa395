import type {ResumeResponse} from '../lib/api/schemas.js'
import {ApiCommand} from '../lib/cli/base-command.js'

export default class Resume extends ApiCommand<typeof Resume> {
  static summary = 'Lift a pause: of the project without --environment, of one environment with it.'

  static description = 'Resume clears only its own level: resuming an environment does not lift a project-level pause, and resuming the project does not lift environment pauses (the command says which still hold). Queued releases then start in queue order.'

  static examples = ['<%= config.bin %> <%= command.id %> --project shop --environment prod', '<%= config.bin %> <%= command.id %> --project shop --json']

  async run(): Promise<ResumeResponse> {
    const project = this.project()
    const {environment} = this.apiFlags
    const result = await (await this.client()).resume(project, environment)
    const where = environment ? `${project}/${environment}` : `project ${project}`
    this.print(result.resumed ? `Resumed releases of ${where}.` : `${where} was not paused at this level; nothing changed.`)
    for (const pause of result.stillPaused) {
      const where = pause.level === 'project' ? `project ${pause.project} (project level)` : `${pause.project}/${pause.environment} (environment level)`
      const resume = pause.level === 'project' ? `relctl resume -p ${pause.project}` : `relctl resume -p ${pause.project} -e ${pause.environment}`
      this.note(`Warning: ${where} is still paused by ${pause.by} since ${pause.at}${pause.reason ? `: ${pause.reason}` : ''}; its releases stay held until: ${resume}`)
    }
    return result
  }
}
