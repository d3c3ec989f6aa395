import type {Freeze} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {freezeTable} from '../../lib/cli/freezes.js'

export default class FreezeList extends ApiCommand<typeof FreezeList> {
  static summary = 'List the freezes in force and the next ones.'

  static description = 'Without --project, every freeze; with it, the freezes that apply to the project (the control plane\'s, the project\'s and its environments\'), and with --environment too, those that apply to that environment. Each shows its window in force now, if any, and its next one. A one-off freeze whose window has ended is not listed.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --project shop --environment prod', '<%= config.bin %> <%= command.id %> -p shop --json']

  async run(): Promise<Freeze[]> {
    const {project, environment} = this.apiFlags
    const freezes = await (await this.client()).listFreezes({...(project && {project}), ...(environment && {environment})})
    this.print(freezes.length > 0 ? freezeTable(freezes) : 'No freezes in force or to come.')
    return freezes
  }
}
