import type {Schedule} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {scheduleText} from '../../lib/cli/schedule.js'

export default class ScheduleResume extends ApiCommand<typeof ScheduleResume> {
  static summary = "Resume a paused schedule."

  static examples = ['<%= config.bin %> <%= command.id %> --project shop --environment staging', '<%= config.bin %> <%= command.id %> -p shop -e staging --json']

  async run(): Promise<Schedule> {
    const {project, environment} = this.scope()
    const schedule = await (await this.client()).scheduleAction(project, environment, 'resume')
    this.print(scheduleText(schedule))
    return schedule
  }
}
