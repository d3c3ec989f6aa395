import * as Flags from '@oclif/core/flags'

import {QUEUE_MODES} from '../../lib/api/domain.js'
import type {SettingsView} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {settingsText} from '../../lib/cli/settings.js'

export default class SettingsSetQueue extends ApiCommand<typeof SettingsSetQueue> {
  static summary = 'Choose the queue mode: fifo (every queued release runs in turn) or supersede (the newest wins).'

  static description = `fifo is the default. In supersede mode, a new release cancels the releases still pending approval or queued whose lock set its own covers (the same resources or fewer; a release that locks the whole environment covers every one), with "superseded by release N"; a running release is never touched. Changing the mode does not touch releases already queued. Without --project/--environment this sets the control-plane default; with both, one environment's override.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --mode supersede --project shop --environment staging',
    '<%= config.bin %> <%= command.id %> --mode fifo -p shop -e staging --json',
  ]

  static flags = {
    mode: Flags.option({options: QUEUE_MODES, required: true, summary: 'fifo or supersede.'})(),
  }

  async run(): Promise<SettingsView> {
    const {project, environment} = this.apiFlags
    const view = await (await this.client()).setQueue({...(project && {project}), ...(environment && {environment}), mode: this.flags.mode})
    this.print(settingsText(view))
    return view
  }
}
