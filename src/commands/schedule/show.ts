import type {Schedule} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {scheduleText} from '../../lib/cli/schedule.js'

export default class ScheduleShow extends ApiCommand<typeof ScheduleShow> {
  static summary = 'Show the schedule: rule, next run (local time and UTC), and the last 20 runs with their outcome.'

  static examples = ['<%= config.bin %> <%= command.id %> --project shop --environment staging', '<%= config.bin %> <%= command.id %> -p shop -e staging --json']

  async run(): Promise<Schedule> {
    const {project, environment} = this.scope()
    const schedule = await (await this.client()).getSchedule(project, environment)
    this.print(scheduleText(schedule))
    return schedule
  }
}
