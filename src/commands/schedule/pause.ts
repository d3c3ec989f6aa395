import type {Schedule} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {scheduleText} from '../../lib/cli/schedule.js'

export default class SchedulePause extends ApiCommand<typeof SchedulePause> {
  static summary = "Pause the schedule: due runs are recorded as skipped until it resumes."

  static examples = ['<%= config.bin %> <%= command.id %> --project shop --environment staging', '<%= config.bin %> <%= command.id %> -p shop -e staging --json']

  async run(): Promise<Schedule> {
    const {project, environment} = this.scope()
    const schedule = await (await this.client()).scheduleAction(project, environment, 'pause')
    this.print(scheduleText(schedule))
    return schedule
  }
}
