import * as Flags from '@oclif/core/flags'

import {EXIT, splitList} from '../../lib/api/domain.js'
import type {CreatedNotification} from '../../lib/api/notification-schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'
import {CliError} from '../../lib/client/errors.js'

export default class NotifyAdd extends ApiCommand<typeof NotifyAdd> {
  static summary = 'Send events to a webhook or a Slack channel: of the whole control plane, a project (-p) or an environment (-p -e).'

  static description = `--events takes kind patterns, comma-separated, * for any characters: release.failed,release.pending_approval or 'release.*' (the kinds are listed in relctl watch --help; log events are not delivered).

A webhook gets each event as JSON (the event and links to its release), POSTed with the headers X-Relctl-Event (its kind), X-Relctl-Event-Id (its sequence number), X-Relctl-Delivery and X-Relctl-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> with the subscription's secret. Give the secret with --secret-file (a file whose first line is it, at least 16 characters); without one, the control plane makes one and prints it this once. Slack gets a readable message with the command to act on it.

Deliveries are at least once and in order per subscription; a failed one is retried with exponential backoff (server start --notify-retry-min, --notify-retry-for: 24h by default), and relctl notify list marks a subscription whose deliveries fail. Targets must be http(s) and public, or on a network the control plane allows (server start --notify-allow-network; by default only 127.0.0.1).

${toHelpSection({ok: true, usage: 'a bad URL, pattern or secret, or a target on an internal network the control plane does not allow', notFound: 'no such project or environment'})}`

  static examples = [
    '<%= config.bin %> <%= command.id %> --url https://hooks.example.com/relctl --events release.failed,release.pending_approval --project shop --environment prod --secret-file webhook-secret.txt',
    "<%= config.bin %> <%= command.id %> --slack https://hooks.slack.com/services/T000/B000/XXXX --events 'release.*' --project shop",
    "<%= config.bin %> <%= command.id %> --url https://ops.example.com/hook --events 'replica.lost,pause.changed' --json",
  ]

  static flags = {
    url: Flags.string({summary: 'A webhook: events are POSTed to this http(s) URL as JSON, signed. (The control plane: RELCTL_URL or the profile.)', exactlyOne: ['url', 'slack']}),
    slack: Flags.string({summary: "A Slack incoming webhook's URL: events arrive as messages.", exactlyOne: ['url', 'slack']}),
    events: Flags.string({summary: 'Kinds to deliver, comma-separated; * matches any characters (release.failed, release.*).', required: true}),
    'secret-file': Flags.string({summary: 'File whose first line is the webhook signing secret (default: the control plane makes one and prints it once).'}),
  }

  // Here --url is the webhook's (flags override the global one of the same name); the control plane is RELCTL_URL's or the profile's.
  protected override controlPlaneUrl(): string | undefined {
    return process.env.RELCTL_URL || undefined
  }

  async run(): Promise<CreatedNotification> {
    const {project, environment} = this.apiFlags
    if (environment && !project) throw new CliError('--environment needs --project', EXIT.usage, 'usage', 'pass --project NAME (-p) too')
    if (this.flags.slack && this.flags['secret-file']) throw new CliError('Slack webhooks are not signed: --secret-file goes with --url', EXIT.usage, 'usage')
    const secret = this.flags['secret-file'] ? await readSecret(this.flags['secret-file']) : undefined
    const client = await this.client()
    const created = await client.createNotification({
      kind: this.flags.slack ? 'slack' : 'webhook',
      url: (this.flags.slack ?? this.flags.url) as string,
      events: splitList(this.flags.events),
      ...(project && {project}),
      ...(environment && {environment}),
      ...(secret && {secret}),
    })
    const {notification} = created
    const scope = notification.project ? `${notification.project}${notification.environment ? `/${notification.environment}` : ''}` : 'the whole control plane'
    this.print(`Notification ${notification.id}: ${notification.events.join(', ')} of ${scope} to ${notification.kind} ${notification.target}`)
    if (created.secret) this.print(`Signing secret (shown this once; give it to the receiver to check X-Relctl-Signature): ${created.secret}`)
    this.print(`Try it: relctl notify test ${notification.id}`)
    return created
  }
}

async function readSecret(file: string): Promise<string> {
  const {readFile} = await import('node:fs/promises')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new CliError(`cannot read --secret-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, EXIT.usage, 'usage')
  }
  const secret = text.split(/\r?\n/)[0].trim()
  if (secret.length < 16) throw new CliError(`the secret in ${file} is ${secret.length} characters; a signing secret needs at least 16`, EXIT.usage, 'usage', 'make one with: openssl rand -hex 32 > webhook-secret.txt')
  return secret
}
