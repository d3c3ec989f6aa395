import * as Flags from '@oclif/core/flags'

import type {SettingsView} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {settingsText} from '../../lib/cli/settings.js'
import {CliError} from '../../lib/client/errors.js'

export default class SettingsSetParallel extends ApiCommand<typeof SettingsSetParallel> {
  static summary = 'Turn parallel releases on or off, and set max parallel.'

  static description = `Without --project/--environment this sets the control-plane default; with both, one environment's override. With parallel releases on, non-conflicting selective releases of an environment run at the same time, up to max parallel (1–1000, default 10); conflicting ones queue in order.

Refused while the approval workflow is on where it would apply: the message says which to turn off first. Queued releases are re-admitted at once.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --enabled --max 10',
    '<%= config.bin %> <%= command.id %> --enabled --max 3 --project shop --environment prod',
    '<%= config.bin %> <%= command.id %> --disabled -p shop -e prod --json',
  ]

  static flags = {
    enabled: Flags.boolean({summary: 'Turn parallel releases on.', exclusive: ['disabled']}),
    disabled: Flags.boolean({summary: 'Turn parallel releases off.', exclusive: ['enabled']}),
    max: Flags.integer({summary: 'Max releases running at once per environment.', min: 1, max: 1000}),
  }

  async run(): Promise<SettingsView> {
    const {enabled, disabled, max} = this.flags
    if (!enabled && !disabled && max === undefined) throw new CliError('nothing to change', 2, 'usage', 'pass --enabled or --disabled, and/or --max N')
    const {project, environment} = this.apiFlags
    const view = await (await this.client()).setParallel({
      ...(project && {project}),
      ...(environment && {environment}),
      ...((enabled || disabled) && {enabled: Boolean(enabled)}),
      ...(max !== undefined && {max}),
    })
    this.print(settingsText(view))
    return view
  }
}
