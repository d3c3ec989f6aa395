import * as Flags from '@oclif/core/flags'

import type {AuditEntry} from '../../lib/api/access.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {durationFlag} from '../../lib/cli/flags.js'

export default class AuditList extends ApiCommand<typeof AuditList> {
  static summary = 'The audit log, newest first: who did (or was refused) what, where, when and from which address.'

  static description = `Every request that changes something is recorded, refusals included (denied: the token may not; unauthenticated: no token was accepted). --project and --environment keep the entries of that scope. Entries are kept for the control plane's --audit-retention (default 365d). Needs an admin of the scope listed.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --project shop --environment prod --since 24h',
    '<%= config.bin %> <%= command.id %> --actor release-manager --json',
  ]

  static flags = {
    actor: Flags.string({summary: 'Only what this token did.'}),
    since: durationFlag({summary: 'Only entries from this long ago: 30m, 24h, 7d.'}),
    limit: Flags.integer({summary: 'At most this many entries.', default: 100, min: 1, max: 1000}),
  }

  async run(): Promise<AuditEntry[]> {
    const {project, environment} = this.apiFlags
    const since = this.flags.since === undefined ? undefined : new Date(Date.now() - this.flags.since).toISOString()
    const entries = await (await this.client()).listAudit({project, environment, actor: this.flags.actor, since, limit: this.flags.limit})
    const {auditTable} = await import('../../lib/cli/tokens.js')
    this.print(entries.length > 0 ? auditTable(entries) : 'No audit entries match.')
    return entries
  }
}
