import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {ApiCommand} from '../lib/cli/base-command.js'
import {completionScript, type Shell, SHELLS} from '../lib/cli/completion.js'

export default class Autocomplete extends ApiCommand<typeof Autocomplete> {
  static summary = 'Print a shell completion script for bash, zsh or fish.'

  static description = `Completes commands, flags, and project and environment names (asked of the control plane when it is reachable, and cached for a minute in the config dir).

Setup:
  bash  add to ~/.bashrc:   eval "$(relctl autocomplete bash)"
  zsh   add to ~/.zshrc:    eval "$(relctl autocomplete zsh)"
  fish  run once:           relctl autocomplete fish > ~/.config/fish/completions/relctl.fish`

  static examples = ['<%= config.bin %> <%= command.id %> bash', 'eval "$(<%= config.bin %> <%= command.id %> zsh)"']

  static args = {
    shell: Args.string({description: 'The shell.', options: [...SHELLS], required: false}),
  }

  static flags = {
    list: Flags.option({options: ['projects', 'environments'] as const, summary: 'Print project or environment names, one a line (what the scripts call).', hidden: true})(),
  }

  async run(): Promise<void> {
    const {list} = this.flags
    if (list) return this.printNames(list)
    if (!this.args.shell) this.error(`name the shell: ${SHELLS.join(', ')}`, {exit: 2})
    process.stdout.write(completionScript(this.args.shell as Shell, this.config.bin, this.config.commands))
  }

  private async printNames(list: 'projects' | 'environments'): Promise<void> {
    const {cachedNames} = await import('../lib/cli/completion-names.js')
    const {url, profile, project} = this.apiFlags
    const key = `${url ?? profile}|${list}|${project ?? ''}`
    const names = await cachedNames(key, async () => {
      const client = await this.client()
      if (list === 'projects') return (await client.listProjects()).map((entry) => entry.name)
      return project ? (await client.listEnvironments(project)).map((entry) => entry.name) : []
    }).catch(() => [])
    if (names.length > 0) process.stdout.write(`${names.join('\n')}\n`)
  }
}
