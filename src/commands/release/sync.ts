import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import type {DryRun, SyncResponse} from '../../lib/api/schemas.js'
import {splitList} from '../../lib/api/domain.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'
import {cancelOnTimeoutFlag, releaseControlFlags, releaseControls, WAIT_EXIT_CODES, waitFlags} from '../../lib/cli/flags.js'
import {watchApps} from '../../lib/cli/outcomes.js'
import {appTable, dryRunText, releaseSummary} from '../../lib/cli/render.js'

export default class ReleaseSync extends ApiCommand<typeof ReleaseSync> {
  static summary = 'Bring apps to their desired version: one selective release of the out-of-sync ones.'

  static description = `Apps already Synced are left alone (unless --force); when all are, nothing is triggered and the command exits 0. Unknown app names exit 9 and list the valid ones. A desired version blocked with relctl app block is refused with exit 2, naming who blocked it and why. With --wait, the command then waits like "release wait" for all the apps together.

Freezes and deadlines work as for release trigger: --on-freeze queue, --override-freeze --reason, --deadline, --expire-after.

${toHelpSection({
  ...WAIT_EXIT_CODES,
  ok: 'synced (or already in sync); with --wait: the apps are stable',
  usage: 'invalid input, or a blocked version',
  stateLock: 'state lock conflict',
  paused: 'blocked by a pause or a freeze',
  notFound: 'unknown project, environment or app',
})}`

  static examples = [
    '<%= config.bin %> <%= command.id %> api,web --project shop --environment staging',
    '<%= config.bin %> <%= command.id %> api,web --project shop --environment prod --wait --timeout 15m',
    'RELCTL_PROJECT=shop RELCTL_ENVIRONMENT=prod <%= config.bin %> <%= command.id %> api --force --json',
    '<%= config.bin %> <%= command.id %> api,web --project shop --environment prod --refresh --dry-run',
  ]

  static args = {
    apps: Args.string({description: 'Comma-separated app (resource) names.', required: true}),
  }

  static flags = {
    force: Flags.boolean({summary: 'Release the apps even when they are in sync.'}),
    refresh: Flags.boolean({summary: 'Read live versions first (exec.status): drift counts as out of sync.'}),
    'dry-run': Flags.boolean({summary: 'Print the plan and what would hold it back now; queue nothing.', exclusive: ['wait']}),
    comment: Flags.string({summary: 'Why: shown in release list and show.'}),
    wait: Flags.boolean({summary: 'Wait until the apps are stable.'}),
    ...releaseControlFlags,
    ...waitFlags,
    ...cancelOnTimeoutFlag,
  }

  async run(): Promise<SyncResponse | DryRun> {
    const {project, environment} = this.scope()
    const apps = splitList(this.args.apps)
    const client = await this.client()
    const request = {
      apps,
      force: this.flags.force,
      refresh: this.flags.refresh,
      source: 'cli' as const,
      ...(this.flags.comment && {comment: this.flags.comment}),
      ...releaseControls(this.flags),
    }
    if (this.flags['dry-run']) {
      const dryRun = await client.syncDryRun(project, environment, request)
      if ('dryRun' in dryRun) this.print(dryRunText(dryRun))
      else this.print(`${apps.join(', ')} ${apps.length > 1 ? 'are' : 'is'} in sync or already on the way: a sync would release nothing`)
      return dryRun
    }
    const result = await client.sync(project, environment, request, crypto.randomUUID())
    if (result.release) {
      this.note(releaseSummary(result.release, true))
    } else {
      const underWay = [...new Set(result.apps.flatMap((app) => app.activeReleases.map((release) => release.id)))]
      this.note(
        underWay.length > 0 && result.apps.some((app) => app.sync !== 'Synced')
          ? `nothing new to release: release ${underWay.join(', ')} already takes ${apps.join(', ')} to the desired version`
          : `${apps.join(', ')} ${apps.length > 1 ? 'are' : 'is'} already in sync; nothing to release (use --force to release anyway)`,
      )
    }
    if (!this.flags.wait) {
      this.print(result.release ? String(result.release.id) : appTable(result.apps))
      return result
    }
    const settled = await watchApps(client, {project, environment, apps, sync: false, watch: result.release ? [result.release.id] : []}, this.flags)
    this.print(appTable(settled.apps))
    return {release: result.release && (await client.getRelease(result.release.id)), apps: settled.apps}
  }
}
