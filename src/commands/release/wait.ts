import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {splitList} from '../../lib/api/domain.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'
import {cancelOnTimeoutFlag, WAIT_EXIT_CODES, waitFlags} from '../../lib/cli/flags.js'
import {watchApps, type WaitResult} from '../../lib/cli/outcomes.js'
import {appTable} from '../../lib/cli/render.js'

export default class ReleaseWait extends ApiCommand<typeof ReleaseWait> {
  static summary = 'Block until apps are stable: Synced, Healthy, and no release queued or running for them.'

  static description = `Looks once and returns at once when every app is already stable; otherwise follows the control plane's event stream and looks again as soon as anything about the apps changes, printing each change of app state. Where the control plane serves no event stream (an older version, a proxy that buffers it), it says so once on stderr and looks every --interval instead. All apps are waited on together. With --sync, apps that are out of sync with nothing queued or running for them are synced first.

A release touching the apps that fails ends the wait with exit 3 and prints the failed tasks with the last lines of their logs. If the control plane is unreachable, the command keeps trying until the timeout. An app that is not stable while nothing is queued or running for it is named at once on stderr, with the commands that release it (--sync, release sync); the wait goes on, since a release may come from elsewhere, and the timeout message repeats the reason. Ctrl-C or SIGTERM ends the wait (exit 130 or 143), not the releases. With --cancel-on-timeout, a wait that times out first cancels the releases pending, queued or running for the apps (and still exits 4).

${toHelpSection({...WAIT_EXIT_CODES, notFound: 'unknown project, environment or app'})}`

  static examples = [
    '<%= config.bin %> <%= command.id %> api,web --project shop --environment staging --timeout 5m',
    '<%= config.bin %> <%= command.id %> api,web --project shop --environment prod --sync --timeout 15m',
    '<%= config.bin %> <%= command.id %> api -p shop -e prod --json > state.json',
    '<%= config.bin %> <%= command.id %> api --project shop --environment prod --timeout 10m --cancel-on-timeout',
  ]

  static args = {
    apps: Args.string({description: 'Comma-separated app (resource) names.', required: true}),
  }

  static flags = {
    sync: Flags.boolean({summary: 'Trigger a sync when apps are out of sync and nothing is queued or running for them.'}),
    ...waitFlags,
    ...cancelOnTimeoutFlag,
  }

  async run(): Promise<WaitResult> {
    const {project, environment} = this.scope()
    const apps = splitList(this.args.apps)
    const client = await this.client()
    const result = await watchApps(client, {project, environment, apps, sync: this.flags.sync, idempotencyKey: () => crypto.randomUUID()}, this.flags)
    this.print(appTable(result.apps))
    return result
  }
}
