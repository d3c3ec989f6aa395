import * as Args from '@oclif/core/args'
import {Command} from '@oclif/core/command'
import {loadHelpClass} from '@oclif/core/help'

export default class HelpCommand extends Command {
  static summary = 'Show help for relctl or for one command: relctl help release sync.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> release sync']

  static strict = false

  static args = {
    command: Args.string({description: 'The command, words separated by spaces.', required: false}),
  }

  async run(): Promise<void> {
    const {argv} = await this.parse(HelpCommand)
    const Help = await loadHelpClass(this.config)
    await new Help(this.config, this.config.pjson.oclif.helpOptions ?? this.config.pjson.helpOptions).showHelp(argv as string[])
  }
}
