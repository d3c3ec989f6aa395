import * as Flags from '@oclif/core/flags'

import type {Schedule} from '../../lib/api/schemas.js'
import {splitList} from '../../lib/api/domain.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {scheduleText} from '../../lib/cli/schedule.js'

export default class ScheduleSet extends ApiCommand<typeof ScheduleSet> {
  static summary = 'Set the environment\'s schedule (one per environment; a second set replaces it).'

  static description = `--every takes minutes, hours, days or weeks (30m, 6h, 1d, 2w; seconds are accepted too), counted from now; --cron takes a five-field expression read in --timezone (default UTC). A scheduled run makes a release whose source is "schedule".

When a run is due and a release of the environment is queued or running, or the environment or its project is paused, or the schedule is paused, nothing is queued: the run is recorded as skipped with the reason. A control plane that was down across run times fires once when it starts and records the others as missed.

A schedule that could never produce a release is refused with the reason: a custom release (a schedule carries no workflow steps), a selective one without --resources.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --project shop --environment staging --every 6h --type full',
    '<%= config.bin %> <%= command.id %> -p shop -e staging --cron "0 3 * * 1-5" --timezone Europe/Berlin --type selective --resources api,web',
  ]

  static flags = {
    every: Flags.string({summary: 'Interval: 30m, 6h, 1d, 2w.', exactlyOne: ['every', 'cron']}),
    cron: Flags.string({summary: 'Five-field cron expression, e.g. "0 3 * * 1-5".', exactlyOne: ['every', 'cron']}),
    timezone: Flags.string({summary: 'IANA time zone of --cron (default UTC).', dependsOn: ['cron']}),
    type: Flags.option({options: ['launch', 'full', 'selective', 'custom'] as const, summary: 'Release type of each run (default: selective with --resources, else full).'})(),
    resources: Flags.string({summary: 'Resources of a selective release: a,b.'}),
  }

  async run(): Promise<Schedule> {
    const {project, environment} = this.scope()
    const schedule = await (await this.client()).setSchedule(project, environment, {
      type: this.flags.type ?? (this.flags.resources ? 'selective' : 'full'),
      ...(this.flags.every && {every: this.flags.every}),
      ...(this.flags.cron && {cron: this.flags.cron}),
      ...(this.flags.timezone && {timezone: this.flags.timezone}),
      ...(this.flags.resources && {resources: splitList(this.flags.resources)}),
    })
    this.print(scheduleText(schedule))
    return schedule
  }
}
