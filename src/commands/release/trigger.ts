import * as Flags from '@oclif/core/flags'

import {ACTIONS, RELEASE_TYPES, splitList} from '../../lib/api/domain.js'
import type {DryRun, Release, TriggerRequest} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'
import {cancelOnTimeoutFlag, INTERRUPT_EXIT_CODES, releaseControlFlags, releaseControls, waitFlags} from '../../lib/cli/flags.js'
import {watchRelease} from '../../lib/cli/outcomes.js'
import {dryRunText, releaseSummary} from '../../lib/cli/render.js'
import {CliError} from '../../lib/client/errors.js'

export default class ReleaseTrigger extends ApiCommand<typeof ReleaseTrigger> {
  static summary = 'Start a release of any type.'

  static description = `Types: launch (every resource), full (every resource whose desired version differs from the deployed one; --force: all), selective (--resources a,b; add :create, :update or :delete to choose the action), custom (--steps: only those workflow steps; locks the environment), destroy (every resource, needs --allow-destructive). Without --type, a trigger with --steps is custom, one with --resources selective, and one with neither full. Rollbacks: relctl release rollback ID.

--refresh first reads live versions with each resource's exec.status command: an app whose live version differs from the recorded one is marked OutOfSync (drift) and the release corrects it. --serial or --parallel overrides the environment's target rollout once. --dry-run prints the plan (steps, tasks, targets, order, hooks, versions from -> to) and what would hold it back now, and queues nothing.

The release is durable before the command hears "accepted". It runs at once or queues; a queued release says what it waits for. With --on-conflict fail, a release that would have to wait behind a conflicting one is refused with exit 5 and nothing is queued.

While a freeze holds (relctl freeze list), the trigger is refused with exit 6, unless --on-freeze queue (it queues until the freeze ends) or --override-freeze --reason "..." (operators only; it starts as if there were no freeze, and the override is recorded on the release and in the audit log). --deadline 30m stops a release that runs longer and ends it failed (reason deadline); --expire-after 2h cancels it if it has not started by then (reason expired).

Every trigger carries an idempotency key (a new one per run unless --idempotency-key is given), so a retried request never queues twice.

${toHelpSection({
  ok: 'accepted (with --wait: succeeded)',
  usage: 'invalid input (type, resources, flags), or a version blocked with relctl app block',
  releaseFailed: 'with --wait: the release failed, was cancelled or was rejected',
  timeout: 'with --wait: timed out',
  stateLock: 'state lock held by a conflicting release (--on-conflict fail)',
  paused: 'blocked by a pause or a freeze',
  auth: 'authentication failed, or --override-freeze by a token that is not an operator here',
  unreachable: 'control plane unreachable',
  notFound: 'project, environment or resource not found',
  ...INTERRUPT_EXIT_CODES,
})}`

  static examples = [
    '<%= config.bin %> <%= command.id %> --type full --project shop --environment staging --comment "weekly" --json',
    '<%= config.bin %> <%= command.id %> --resources api,web --project shop --environment prod --wait --timeout 15m',
    '<%= config.bin %> <%= command.id %> --type selective --resources old-worker:delete --allow-destructive -p shop -e prod',
    '<%= config.bin %> <%= command.id %> --type selective --resources api --on-conflict fail --idempotency-key "$CI_PIPELINE_ID" -p shop -e prod',
    '<%= config.bin %> <%= command.id %> --type custom --steps migrate --project shop --environment prod --dry-run',
    '<%= config.bin %> <%= command.id %> --type full --serial --refresh --project shop --environment prod --wait',
    '<%= config.bin %> <%= command.id %> --resources api --on-freeze queue --expire-after 2h --deadline 30m -p shop -e prod',
    '<%= config.bin %> <%= command.id %> --resources api --override-freeze --reason "incident 4411" -p shop -e prod --wait',
  ]

  static flags = {
    type: Flags.option({options: RELEASE_TYPES, summary: 'Release type (default: selective with --resources, else full).'})(),
    resources: Flags.string({summary: 'Resources of a selective release: a,b or a:create,b:delete.'}),
    refresh: Flags.boolean({summary: 'Read live versions first (exec.status): drift counts as out of sync and the release corrects it.'}),
    force: Flags.boolean({summary: 'Redeploy even what is in sync.'}),
    'allow-destructive': Flags.boolean({summary: 'Allow deletes (destroy releases, :delete, resources removed from the blueprint).'}),
    comment: Flags.string({summary: 'Why: shown in release list and show.'}),
    'on-conflict': Flags.option({options: ['queue', 'fail'] as const, default: 'queue', summary: 'Queue behind a conflicting release, or fail at once (exit 5).'})(),
    'idempotency-key': Flags.string({summary: 'Makes retries safe: the same key returns the same release.'}),
    steps: Flags.string({summary: 'Custom releases: the workflow steps to run, a,b.'}),
    serial: Flags.boolean({summary: 'This once, roll out across targets one at a time (with target hooks).', exclusive: ['parallel']}),
    parallel: Flags.boolean({summary: 'This once, roll out to every target at the same time.', exclusive: ['serial']}),
    'dry-run': Flags.boolean({summary: 'Print the plan and what would hold it back now; queue nothing.', exclusive: ['wait']}),
    wait: Flags.boolean({summary: 'Wait for the release to end; exit 0 only when it succeeded.'}),
    ...releaseControlFlags,
    ...waitFlags,
    ...cancelOnTimeoutFlag,
  }

  async run(): Promise<Release | DryRun> {
    const {project, environment} = this.scope()
    const type = this.flags.type ?? (this.flags.steps ? 'custom' : this.flags.resources ? 'selective' : 'full')
    const request: TriggerRequest = {
      type,
      ...(this.flags.resources && {resources: parseResources(this.flags.resources)}),
      ...(this.flags.steps && {steps: splitList(this.flags.steps)}),
      ...(this.flags.serial && {targetOrder: 'sequential' as const}),
      ...(this.flags.parallel && {targetOrder: 'parallel' as const}),
      refresh: this.flags.refresh,
      force: this.flags.force,
      allowDestructive: this.flags['allow-destructive'],
      ...(this.flags.comment && {comment: this.flags.comment}),
      onConflict: this.flags['on-conflict'],
      source: 'cli',
      ...releaseControls(this.flags),
    }
    const client = await this.client()
    if (this.flags['dry-run']) {
      const dryRun = await client.triggerDryRun(project, environment, request)
      this.print(dryRunText(dryRun))
      return dryRun
    }
    const {release, created} = await client.trigger(project, environment, request, this.flags['idempotency-key'] ?? crypto.randomUUID())
    this.note(releaseSummary(release, created))
    if (!this.flags.wait) {
      this.print(String(release.id))
      return release
    }
    const final = await watchRelease(client, release, this.flags)
    this.print(`Release ${final.id} succeeded`)
    return final
  }
}

/** "api,web:create" -> [{name: 'api'}, {name: 'web', action: 'create'}] */
export function parseResources(text: string): NonNullable<TriggerRequest['resources']> {
  return splitList(text).map((item) => {
    const [name, action, ...rest] = item.split(':')
    if (rest.length > 0 || (action !== undefined && !(ACTIONS as readonly string[]).includes(action))) {
      throw new CliError(`"${item}" is not a resource: write NAME or NAME:ACTION with ACTION one of ${ACTIONS.join(', ')}`, 2, 'usage')
    }
    return action ? {name, action: action as (typeof ACTIONS)[number]} : {name}
  })
}
