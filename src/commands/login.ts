import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../lib/cli/base-command.js'

export interface LoginResult {
  profile: string
  url: string
  serverVersion: string
  configFile: string
}

export default class Login extends BaseCommand<typeof Login> {
  static summary = 'Save a control plane URL and token as a profile, after checking them.'

  static description = 'The profile file is written with mode 0600. RELCTL_URL and RELCTL_TOKEN win over a profile, and --url/--token flags win over both.'

  static examples = [
    '<%= config.bin %> <%= command.id %> --url http://127.0.0.1:7420 --token rc_abc123',
    '<%= config.bin %> <%= command.id %> --url https://relctl.example.com --token "$RELCTL_TOKEN" --profile prod',
  ]

  static flags = {
    url: Flags.string({summary: 'Control plane URL.', required: true}),
    token: Flags.string({summary: 'Bearer token (printed by relctl server start).', required: true}),
    profile: Flags.string({summary: 'Profile name.', default: 'default', env: 'RELCTL_PROFILE'}),
  }

  async run(): Promise<LoginResult> {
    const {ControlPlaneClient} = await import('../lib/client/client.js')
    const {saveProfile} = await import('../lib/cli/profiles.js')
    const client = new ControlPlaneClient({url: this.flags.url, token: this.flags.token})
    try {
      const who = await client.whoami()
      const configFile = await saveProfile(this.flags.profile, {url: client.url, token: this.flags.token})
      this.print(`Logged in to ${client.url} (relctl ${who.serverVersion}) as profile "${this.flags.profile}"; saved in ${configFile}`)
      return {profile: this.flags.profile, url: client.url, serverVersion: who.serverVersion, configFile}
    } finally {
      await client.close()
    }
  }
}
