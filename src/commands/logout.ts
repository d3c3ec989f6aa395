import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../lib/cli/base-command.js'

export default class Logout extends BaseCommand<typeof Logout> {
  static summary = 'Forget a profile (its URL and token).'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --profile prod']

  static flags = {
    profile: Flags.string({summary: 'Profile name.', default: 'default', env: 'RELCTL_PROFILE'}),
  }

  async run(): Promise<{profile: string; removed: boolean}> {
    const {removeProfile} = await import('../lib/cli/profiles.js')
    const removed = await removeProfile(this.flags.profile)
    this.print(removed ? `Profile "${this.flags.profile}" removed.` : `There was no profile "${this.flags.profile}"; nothing to do.`)
    return {profile: this.flags.profile, removed}
  }
}
