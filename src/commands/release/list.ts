import * as Flags from '@oclif/core/flags'

import {RELEASE_STATUSES} from '../../lib/api/domain.js'
import type {Release} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {releaseTable} from '../../lib/cli/render.js'

export default class ReleaseList extends ApiCommand<typeof ReleaseList> {
  static summary = 'Release history and the queue, newest first.'

  static description = 'With --active: running and queued releases with their queue position and what each waits for. Filter by --project and --environment, or by --status.'

  static examples = [
    '<%= config.bin %> <%= command.id %> --project shop --environment prod',
    '<%= config.bin %> <%= command.id %> -p shop -e prod --active',
    '<%= config.bin %> <%= command.id %> --status failed,cancelled --limit 10 --json',
  ]

  static flags = {
    active: Flags.boolean({summary: 'Only pending, queued and running releases.'}),
    status: Flags.string({summary: `Comma-separated statuses: ${RELEASE_STATUSES.join(', ')}.`, exclusive: ['active']}),
    limit: Flags.integer({summary: 'At most this many.', default: 50, min: 1, max: 1000}),
  }

  async run(): Promise<Release[]> {
    const {project, environment} = this.apiFlags
    const releases = await (await this.client()).listReleases({
      project,
      environment,
      ...(this.flags.active && {active: true}),
      ...(this.flags.status && {status: this.flags.status}),
      limit: this.flags.limit,
    })
    const shown = releases
    this.print(shown.length === 0 ? (this.flags.active ? 'Nothing is queued or running.' : 'No releases yet.') : releaseTable(shown, {active: this.flags.active}))
    return shown
  }
}
