import type {SettingsView} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {settingsText} from '../../lib/cli/settings.js'

export default class SettingsShow extends ApiCommand<typeof SettingsShow> {
  static summary = 'Show the settings in effect and where each comes from.'

  static description = 'Without --project/--environment: the control-plane defaults. With both: what is in effect for that environment — its own override, the control-plane setting, or the built-in default (parallel off, max parallel 10, approval off) — and the latest changes with who made them and when.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --project shop --environment prod --json']

  async run(): Promise<SettingsView> {
    const {project, environment} = this.apiFlags
    const view = await (await this.client()).getSettings({project, environment})
    this.print(settingsText(view))
    return view
  }
}
