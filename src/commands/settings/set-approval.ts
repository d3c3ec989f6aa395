import * as Flags from '@oclif/core/flags'

import type {SettingsView} from '../../lib/api/schemas.js'
import {MAX_APPROVALS_REQUIRED} from '../../lib/api/domain.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {settingsText} from '../../lib/cli/settings.js'
import {CliError} from '../../lib/client/errors.js'

export default class SettingsSetApproval extends ApiCommand<typeof SettingsSetApproval> {
  static summary = 'Turn the approval workflow on or off, and set how many approvers a release needs.'

  static description = `With the approval workflow on, a new release waits as pending_approval until it has --required approvals (default 1) from distinct tokens ("relctl release approve ID"), none of them the token that triggered it; it then queues. One "relctl release reject ID" rejects it. Without --project/--environment this sets the control-plane default; with both, one environment's override.

Refused while parallel releases are on where it would apply. Turning it off, or lowering --required to what a release has, sends releases pending approval to the queue.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --enabled --project shop --environment prod',
    '<%= config.bin %> <%= command.id %> --enabled --required 2 --project shop --environment prod',
    '<%= config.bin %> <%= command.id %> --disabled -p shop -e prod',
    '<%= config.bin %> <%= command.id %> --enabled --json',
  ]

  static flags = {
    enabled: Flags.boolean({summary: 'Turn the approval workflow on.', exclusive: ['disabled']}),
    disabled: Flags.boolean({summary: 'Turn the approval workflow off.', exclusive: ['enabled']}),
    required: Flags.integer({summary: 'How many distinct approvers a release needs (none of them its author).', min: 1, max: MAX_APPROVALS_REQUIRED}),
  }

  async run(): Promise<SettingsView> {
    const {enabled, disabled, required} = this.flags
    if (!enabled && !disabled && required === undefined) throw new CliError('say what to change', 2, 'usage', 'pass --enabled or --disabled, and/or --required N')
    const {project, environment} = this.apiFlags
    const view = await (await this.client()).setApproval({
      ...(project && {project}),
      ...(environment && {environment}),
      ...((enabled || disabled) && {enabled: Boolean(enabled)}),
      ...(required !== undefined && {required}),
    })
    this.print(settingsText(view))
    return view
  }
}
