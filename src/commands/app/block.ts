import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import type {BlockResponse} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'

export default class AppBlock extends ApiCommand<typeof AppBlock> {
  static summary = 'Block a version of an app in every environment of the project.'

  static description = `No release (trigger, sync, rollback, retry, schedule) and no app set may take the app to a blocked version: each is refused with exit 2, naming who blocked it and why. A queued release that would deploy it fails when it would start; running releases finish. Blocking a version that is blocked already keeps the first block. Operators of the project may block and unblock.

${toHelpSection({ok: 'blocked (or blocked already)', usage: 'invalid version or reason', auth: 'not an operator of the project', notFound: 'project or app not found', unreachable: true})}`

  static examples = ['<%= config.bin %> <%= command.id %> api 3.3.0 --project shop --reason "memory leak"', '<%= config.bin %> <%= command.id %> api 3.3.0 -p shop --reason "CVE-2026-1234" --json']

  static args = {
    app: Args.string({description: 'App (resource) name.', required: true}),
    version: Args.string({description: 'The version to block.', required: true}),
  }

  static flags = {
    reason: Flags.string({summary: 'Why: shown to everyone who would deploy it.', required: true}),
  }

  async run(): Promise<BlockResponse> {
    const project = this.project()
    const result = await (await this.client()).blockVersion(project, this.args.app, this.args.version, this.flags.reason)
    const {block} = result
    this.print(
      result.alreadyBlocked
        ? `${block.app} ${block.version} was already blocked in project ${block.project} by ${block.by} since ${block.at}: ${block.reason}; nothing changed`
        : `Blocked ${block.app} ${block.version} in project ${block.project}: ${block.reason}. Unblock with: relctl app unblock ${block.app} ${block.version} -p ${block.project}`,
    )
    return result
  }
}
