import {randomUUID} from 'node:crypto'

import {Args, Flags} from '@oclif/core'

import {formatDuration} from '../../lib/api/duration.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {splitNames, WAIT_EXIT_CODES, waitFlags} from '../../lib/cli/flags.js'
import {settleWait, type WaitResult} from '../../lib/cli/outcomes.js'
import {Progress} from '../../lib/cli/output.js'
import {appTable} from '../../lib/cli/render.js'
import {waitForApps} from '../../lib/client/wait.js'

export default class ReleaseWait extends ApiCommand<typeof ReleaseWait> {
  static summary = 'Block until apps are stable: Synced, Healthy, and no release queued or running for them.'

  static description = `Looks once and returns at once when every app is already stable; otherwise polls (--interval, with jitter) and prints each change of app state. All apps are waited on together. With --sync, apps that are out of sync with nothing queued or running for them are synced first.

A release touching the apps that fails ends the wait with exit 3 and prints the failed tasks with the last lines of their logs. If the control plane is unreachable, the command keeps trying until the timeout.

EXIT CODES
${Object.entries(WAIT_EXIT_CODES).map(([code, text]) => `  ${code}  ${text}`).join('\n')}
  9  unknown project, environment or app`

  static examples = [
    '<%= config.bin %> <%= command.id %> api,web --project shop --environment staging --timeout 5m',
    '<%= config.bin %> <%= command.id %> api,web --project shop --environment prod --sync --timeout 15m',
    '<%= config.bin %> <%= command.id %> api -p shop -e prod --json > state.json',
  ]

  static args = {
    apps: Args.string({description: 'Comma-separated app (resource) names.', required: true}),
  }

  static flags = {
    sync: Flags.boolean({summary: 'Trigger a sync when apps are out of sync and nothing is queued or running for them.'}),
    ...waitFlags,
  }

  async run(): Promise<WaitResult> {
    const {project, environment} = this.scope()
    const apps = splitNames(this.args.apps)
    const client = await this.client()
    const progress = await Progress.create(`waiting for ${apps.join(', ')}`)
    try {
      const outcome = await waitForApps(client, {
        project,
        environment,
        apps,
        timeoutMs: this.flags.timeout,
        intervalMs: this.flags.interval,
        sync: this.flags.sync,
        onChange: (text) => progress.event(text),
        onStatus: (text) => progress.status(text),
        idempotencyKey: () => randomUUID(),
      })
      progress.stop()
      const result = await settleWait(client, outcome, formatDuration(this.flags.timeout))
      this.print(appTable(result.apps))
      return result
    } finally {
      progress.stop()
    }
  }
}
