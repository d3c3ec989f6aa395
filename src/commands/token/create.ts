import * as Flags from '@oclif/core/flags'

import type {NewToken} from '../../lib/api/access.js'
import {EXIT, ROLES} from '../../lib/api/domain.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {CliError} from '../../lib/client/errors.js'

export default class TokenCreate extends ApiCommand<typeof TokenCreate> {
  static summary = 'Create a token for a person or a CI job, with its grants; prints the secret once.'

  static description = `A grant is a role on a scope: --role with --project and --environment (the whole project without --environment, the whole control plane without either), and each --grant ROLE[:PROJECT[/ENVIRONMENT]] adds one more. Roles: viewer (read), deployer (viewer + trigger, sync, rollback, cancel, app set), approver (viewer + approve, reject), operator (deployer + pause, resume, schedules, settings), admin (everything: project apply, tokens, the audit log).

The secret goes alone to stdout (TOKEN=$(relctl token create ...) keeps it); the control plane keeps only its hash, so it is never shown again. Without --expires the token does not expire. Needs an admin of the control plane.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --name ci-shop --role deployer --project shop --environment staging --expires 90d',
    '<%= config.bin %> <%= command.id %> --name release-manager --role approver --project shop --environment prod',
    '<%= config.bin %> <%= command.id %> --name oncall --role operator --project shop --grant viewer:billing',
  ]

  static flags = {
    name: Flags.string({summary: 'Who the token is: a person or a CI job (lower-case letters, digits, ".", "_", "-"). Recorded as who did what.', required: true}),
    role: Flags.option({options: ROLES, summary: 'Role of the grant on --project/--environment, or on the whole control plane without them.'})(),
    grant: Flags.string({summary: 'One more grant: ROLE, ROLE:PROJECT or ROLE:PROJECT/ENVIRONMENT (repeatable).', multiple: true}),
    expires: Flags.string({summary: 'How long the token is valid: 90d, 12h, 2w (default: it does not expire).'}),
  }

  async run(): Promise<NewToken> {
    const {parseGrant} = await import('../../lib/api/grants.js')
    const {project, environment} = this.apiFlags
    const grants = []
    if (this.flags.role) grants.push({role: this.flags.role, project: project ?? null, environment: environment ?? null})
    else if (project || environment) throw new CliError('--project and --environment (or RELCTL_PROJECT, RELCTL_ENVIRONMENT) scope the grant of --role', EXIT.usage, 'usage', 'pass --role too, or give every grant with --grant ROLE:PROJECT/ENVIRONMENT and unset those variables')
    for (const text of this.flags.grant ?? []) {
      const grant = parseGrant(text)
      if (!grant || !(ROLES as readonly string[]).includes(grant.role)) {
        throw new CliError(`--grant ${text} is not ROLE, ROLE:PROJECT or ROLE:PROJECT/ENVIRONMENT with a role of ${ROLES.join(', ')}`, EXIT.usage, 'usage', 'e.g. --grant approver:shop/prod')
      }
      grants.push(grant as NewToken['grants'][number])
    }
    if (grants.length === 0) throw new CliError('the token needs a grant', EXIT.usage, 'usage', 'pass --role (with --project/--environment), or --grant ROLE:PROJECT/ENVIRONMENT')
    const token = await (await this.client()).createToken({name: this.flags.name, grants, ...(this.flags.expires && {expiresIn: this.flags.expires})})
    const {newTokenNote, STORE_IT_NOW} = await import('../../lib/cli/tokens.js')
    this.note(newTokenNote(token, 'Created'))
    this.print(token.token)
    this.note(STORE_IT_NOW)
    return token
  }
}
