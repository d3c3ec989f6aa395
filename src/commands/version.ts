import {Command} from '@oclif/core/command'

export default class Version extends Command {
  static summary = 'Print the version of relctl, as --version does.'

  static examples = ['<%= config.bin %> <%= command.id %>']

  async run(): Promise<void> {
    process.stdout.write(`${this.config.userAgent}\n`)
  }
}
