import * as Flags from '@oclif/core/flags'

import {EXIT} from '../lib/api/domain.js'
import {BaseCommand, readCaFile} from '../lib/cli/base-command.js'
import {CliError} from '../lib/client/errors.js'

export interface LoginResult {
  profile: string
  url: string
  /** the token's name on the control plane */
  name: string
  serverVersion: string
  configFile: string
}

export default class Login extends BaseCommand<typeof Login> {
  static summary = 'Save a control plane URL and token as a profile, after checking them.'

  static description = `Without --token, the token is asked for on the terminal, without echo (so it stays out of the shell history and the process list), or read from the first line of standard input when that is not a terminal.

The profile file is written with mode 0600. RELCTL_URL, RELCTL_TOKEN and RELCTL_CA_FILE win over a profile, and --url/--token/--ca-file flags win over those.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --url http://127.0.0.1:7420',
    '<%= config.bin %> <%= command.id %> --url https://relctl.example.com --ca-file ./relctl-ca.pem --profile prod',
    '<%= config.bin %> <%= command.id %> --url https://relctl.example.com --profile ci < ./token',
  ]

  static flags = {
    url: Flags.string({summary: 'Control plane URL.', required: true}),
    token: Flags.string({summary: 'The token; without it, it is asked for. On the command line it stays in the shell history.'}),
    'ca-file': Flags.string({summary: 'PEM certificate (or CA) to trust for an https:// URL; saved with the profile.', env: 'RELCTL_CA_FILE'}),
    profile: Flags.string({summary: 'Profile name.', default: 'default', env: 'RELCTL_PROFILE'}),
  }

  async run(): Promise<LoginResult> {
    const token = this.flags.token ?? (await this.askToken())
    if (!token) throw new CliError('no token given', EXIT.usage, 'usage', 'type it at the prompt, pipe it in, or pass --token')
    const {ControlPlaneClient} = await import('../lib/client/client.js')
    const {saveProfile} = await import('../lib/cli/profiles.js')
    const {resolve} = await import('node:path')
    const caFile = this.flags['ca-file'] && resolve(this.flags['ca-file'])
    const client = new ControlPlaneClient({url: this.flags.url, token, ...(caFile && {ca: readCaFile(caFile)})})
    try {
      const who = await client.whoami()
      const configFile = await saveProfile(this.flags.profile, {url: client.url, token, ...(caFile && {caFile})})
      this.print(`Logged in to ${client.url} (relctl ${who.serverVersion}) as token ${who.name}, profile "${this.flags.profile}"; saved in ${configFile}`)
      return {profile: this.flags.profile, url: client.url, name: who.name, serverVersion: who.serverVersion, configFile}
    } finally {
      await client.close()
    }
  }

  private async askToken(): Promise<string> {
    const {askSecret, readFirstLine} = await import('../lib/cli/prompt.js')
    return process.stdin.isTTY ? askSecret(`Token for ${this.flags.url}: `) : readFirstLine()
  }
}
