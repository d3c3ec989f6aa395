import * as Flags from '@oclif/core/flags'

import type {SettingsView} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {settingsText} from '../../lib/cli/settings.js'
import {CliError} from '../../lib/client/errors.js'

export default class SettingsSetApproval extends ApiCommand<typeof SettingsSetApproval> {
  static summary = 'Turn the approval workflow on or off.'

  static description = `With the approval workflow on, a new release waits as pending_approval until "relctl release approve ID" (it then queues) or "relctl release reject ID". Without --project/--environment this sets the control-plane default; with both, one environment's override.

Refused while parallel releases are on where it would apply. Turning it off sends releases pending approval to the queue.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --enabled --project shop --environment prod',
    '<%= config.bin %> <%= command.id %> --disabled -p shop -e prod',
    '<%= config.bin %> <%= command.id %> --enabled --json',
  ]

  static flags = {
    enabled: Flags.boolean({summary: 'Turn the approval workflow on.', exclusive: ['disabled']}),
    disabled: Flags.boolean({summary: 'Turn the approval workflow off.', exclusive: ['enabled']}),
  }

  async run(): Promise<SettingsView> {
    if (!this.flags.enabled && !this.flags.disabled) throw new CliError('say whether to turn it on or off', 2, 'usage', 'pass --enabled or --disabled')
    const {project, environment} = this.apiFlags
    const view = await (await this.client()).setApproval({...(project && {project}), ...(environment && {environment}), enabled: Boolean(this.flags.enabled)})
    this.print(settingsText(view))
    return view
  }
}
