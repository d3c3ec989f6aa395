import type {Schedule} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'

export default class ScheduleDelete extends ApiCommand<typeof ScheduleDelete> {
  static summary = "Delete the environment's schedule."

  static examples = ['<%= config.bin %> <%= command.id %> --project shop --environment staging', '<%= config.bin %> <%= command.id %> -p shop -e staging --json']

  async run(): Promise<Schedule> {
    const {project, environment} = this.scope()
    const schedule = await (await this.client()).scheduleAction(project, environment, 'delete')
    this.print(`Deleted the schedule of ${project}/${environment} (${schedule.rule.every ? 'every ' + schedule.rule.every : schedule.rule.cron}).`)
    return schedule
  }
}
