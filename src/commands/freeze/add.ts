import * as Flags from '@oclif/core/flags'

import type {Freeze} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {freezeText} from '../../lib/cli/freezes.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'
import {CliError} from '../../lib/client/errors.js'

export default class FreezeAdd extends ApiCommand<typeof FreezeAdd> {
  static summary = 'Add a freeze: a window (one-off or recurring) during which releases do not start.'

  static description = `A freeze applies to one environment (--project and --environment), a whole project (--project) or the whole control plane (--all). While one of its windows is open it acts like a pause: a trigger is refused with exit 6 naming the window, its end and its reason (unless it has --on-freeze queue, which queues it until the window ends, or an operator's --override-freeze --reason), scheduled releases are skipped, queued releases wait ("freeze until ..."), and running releases finish.

A one-off window is --from and --to: 2026-12-20T18:00, read in --timezone (default UTC), or with an offset of its own (2026-12-20T18:00Z, ...+01:00). A recurring window starts at each run of --cron in --timezone and lasts --duration on that time zone's wall clock, so "--cron '0 18 * * 5' --duration 62h --timezone Europe/Berlin" is Friday 18:00 to Monday 08:00 Berlin time, also on the weekend the clocks change. Windows of one recurring freeze may not overlap.

${toHelpSection({ok: 'added', usage: 'invalid window, rule, time zone or scope', auth: 'not an operator of the scope', notFound: 'project or environment not found', unreachable: true})}`

  static examples = [
    '<%= config.bin %> <%= command.id %> --project shop --environment prod --from 2026-12-20T18:00 --to 2027-01-04T08:00 --timezone Europe/Berlin --reason "year-end"',
    '<%= config.bin %> <%= command.id %> --project shop --cron "0 18 * * 5" --duration 62h --timezone Europe/Berlin --reason "weekends"',
    '<%= config.bin %> <%= command.id %> --all --from 2026-12-24 --to 2026-12-27 --reason "holidays" --json',
  ]

  static flags = {
    all: Flags.boolean({summary: 'Freeze the whole control plane: every project.'}),
    from: Flags.string({summary: 'A one-off window: when it starts (2026-12-20T18:00).'}),
    to: Flags.string({summary: 'A one-off window: when it ends.'}),
    cron: Flags.string({summary: 'A recurring window: when each starts, as a five-field cron rule.'}),
    duration: Flags.string({summary: 'A recurring window: how long each lasts (62h, 90m).'}),
    timezone: Flags.string({summary: 'IANA time zone of --from, --to and --cron (default UTC).'}),
    reason: Flags.string({summary: 'Why: shown to everyone whose release it holds.', required: true}),
  }

  async run(): Promise<Freeze> {
    const {project, environment} = this.apiFlags
    if (this.flags.all && (project || environment)) {
      throw new CliError('--all freezes the whole control plane; it takes no --project or --environment', 2, 'usage', 'drop -p/-e (or unset RELCTL_PROJECT and RELCTL_ENVIRONMENT), or drop --all')
    }
    if (!this.flags.all && !project) throw new CliError('say what to freeze', 2, 'usage', 'pass --project (and --environment), or --all for the whole control plane')
    const {from, to, cron, duration, timezone, reason} = this.flags
    const freeze = await (await this.client()).addFreeze({
      ...(project && {project}),
      ...(environment && {environment}),
      ...(from !== undefined && {from}),
      ...(to !== undefined && {to}),
      ...(cron !== undefined && {cron}),
      ...(duration !== undefined && {duration}),
      ...(timezone !== undefined && {timezone}),
      reason,
    })
    this.print(freezeText(freeze))
    return freeze
  }
}
