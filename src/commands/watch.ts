import * as Flags from '@oclif/core/flags'

import {EXIT, isFinalStatus, splitList} from '../lib/api/domain.js'
import type {Event} from '../lib/api/event-schemas.js'
import type {Release} from '../lib/api/schemas.js'
import {eventLines} from '../lib/api/event-text.js'
import {kindPatternProblem, RELEASE_END_EVENTS} from '../lib/api/events.js'
import {ApiCommand} from '../lib/cli/base-command.js'
import {toHelpSection} from '../lib/cli/exit-codes.js'
import {INTERRUPT_EXIT_CODES} from '../lib/cli/flags.js'
import {untilInterrupted} from '../lib/cli/interrupt.js'
import type {ControlPlaneClient, EventStreamQuery} from '../lib/client/client.js'
import {CliError} from '../lib/client/errors.js'
import {EventFollower, StreamUnavailableError} from '../lib/client/events.js'

/** How long one long poll waits for an event where the stream cannot be held open. */
const LONG_POLL_MS = 30_000

export default class Watch extends ApiCommand<typeof Watch> {
  static override jsonLines = true

  static summary = "Print the control plane's events as they happen: one line each, or one JSON object a line with --json."

  static description = `Follows the event stream (GET /v1/events): every release, task, app, log, pause, settings, schedule and replica change, in the order the control plane recorded them, each with the state after it. Narrow it with --project, --environment, --apps, --release and --kinds (wildcards: release.*, *.failed).

With --json every event is printed as one JSON object on its own line (the same object the API serves; its seq is the resume position), for jq or a script; an error, Ctrl-C included, is one last line with error and exitCode. A dropped connection resumes after the last event printed, so nothing is lost and nothing is printed twice; where the stream cannot be held open (a proxy that buffers it), the events are read by long polling instead.

It runs until Ctrl-C or SIGTERM (exit 130 or 143), or, with --release, until that release ends, with its exit code. Continue where a watch stopped with --after SEQ.

Kinds: release.created, release.pending_approval, release.approved, release.rejected, release.queued, release.started, release.succeeded, release.failed, release.cancelled, task.started, task.ended, app.changed, log, pause.changed, settings.changed, schedule.fired, schedule.skipped, replica.lost (docs/events.md).

${toHelpSection({
  ok: 'with --release: the release succeeded',
  usage: 'an unknown kind, a filter without its project, or a position older than the event retention',
  releaseFailed: 'with --release: the release failed, was cancelled or rejected',
  notFound: 'no such project, environment or release',
  ...INTERRUPT_EXIT_CODES,
})}`

  static examples = [
    '<%= config.bin %> <%= command.id %> --project shop --environment prod',
    "<%= config.bin %> <%= command.id %> --project shop --kinds 'release.*,task.ended' --json",
    '<%= config.bin %> <%= command.id %> --release 42',
    '<%= config.bin %> <%= command.id %> --project shop --environment prod --apps api,web --after 1200 --json | jq .kind',
  ]

  static flags = {
    release: Flags.integer({summary: "Only this release's events; ends when it ends, with its exit code.", min: 1}),
    apps: Flags.string({summary: 'Only events about these apps (comma-separated) and about their environment as a whole. Needs --project and --environment.'}),
    kinds: Flags.string({summary: 'Only these kinds, comma-separated; * matches any characters (release.*,task.ended).'}),
    after: Flags.integer({summary: 'Start after this event (its seq) instead of now: continue where a previous watch stopped.', min: 0}),
  }

  async run(): Promise<void> {
    const {project, environment} = this.apiFlags
    for (const pattern of splitList(this.flags.kinds ?? '')) {
      const problem = kindPatternProblem(pattern)
      if (problem) throw new CliError(`--kinds: ${problem}`, EXIT.usage, 'usage', "e.g. --kinds 'release.*,task.ended'")
    }
    if ((environment || this.flags.apps) && !project) throw new CliError('--environment and --apps need --project', EXIT.usage, 'usage', 'pass --project NAME (-p) too')
    if (this.flags.apps && !environment) throw new CliError('--apps needs --environment', EXIT.usage, 'usage', 'pass --environment NAME (-e) too')
    const query: EventStreamQuery = {
      ...(project && {project}),
      ...(environment && {environment}),
      ...(this.flags.release !== undefined && {release: this.flags.release}),
      ...(this.flags.apps && {app: splitList(this.flags.apps).join(',')}),
      ...(this.flags.kinds && {kinds: splitList(this.flags.kinds).join(',')}),
    }
    const client = await this.client()
    let position = this.flags.after
    // Continuing after the last event printed: the same filters, and --after it.
    const resume = () =>
      [
        'relctl watch',
        ...(project ? ['-p', project] : []),
        ...(environment ? ['-e', environment] : []),
        ...(this.flags.release === undefined ? [] : ['--release', String(this.flags.release)]),
        ...(this.flags.apps ? ['--apps', this.flags.apps] : []),
        ...(this.flags.kinds ? ['--kinds', `'${this.flags.kinds}'`] : []),
        ...(position === undefined ? [] : ['--after', String(position)]),
        ...(this.jsonEnabled() ? ['--json'] : []),
      ].join(' ')
    const ended = await untilInterrupted(this.follow(client, query, (seq) => (position = seq)), resume, undefined, {stopped: 'stopped watching', again: 'watch again'})
    if (ended && ended !== 'succeeded') throw new CliError(`release ${this.flags.release} ${ended}`, EXIT.releaseFailed, `release_${ended}`, `see why: relctl release show ${this.flags.release}`)
  }

  /** Prints events until interrupted, or until the watched release ends: then its final status. */
  private async follow(client: ControlPlaneClient, query: EventStreamQuery, onPosition: (seq: number) => void): Promise<string | null> {
    // A release that ended before the watch began ends it at once, with its exit code.
    const watched = this.flags.release === undefined ? null : await client.getRelease(this.flags.release)
    let follower
    try {
      follower = await EventFollower.open(client, query, {after: this.flags.after, onNotice: (text) => this.note(text)})
    } catch (error) {
      if (!(error instanceof StreamUnavailableError)) throw error
      this.note(`${error.message}; reading the events by long polling instead`)
      return this.longPoll(client, query, watched, onPosition)
    }
    if (watched && isFinalStatus(watched.status) && this.flags.after === undefined) {
      follower.close()
      return watched.status
    }
    this.note(`watching the events after ${follower.openedAfter} (Ctrl-C stops)`)
    try {
      for (;;) {
        const batch = await follower.next(Number.POSITIVE_INFINITY)
        if (batch.gap) this.note('some events were missed: the stream resumed from now, after events older than the retention were deleted')
        for (const event of batch.events) {
          const ended = this.show(event, onPosition)
          if (ended) return ended
        }
      }
    } finally {
      follower.close()
    }
  }

  private async longPoll(client: ControlPlaneClient, query: EventStreamQuery, watched: Release | null, onPosition: (seq: number) => void): Promise<string | null> {
    if (watched && isFinalStatus(watched.status) && this.flags.after === undefined) return watched.status
    let after = this.flags.after
    for (;;) {
      const page = await client.eventsPage({...query, ...(after !== undefined && {after})}, LONG_POLL_MS)
      for (const event of page.events) {
        const ended = this.show(event as Event, onPosition)
        if (ended) return ended
      }
      after = page.next
    }
  }

  /** Prints one event; the watched release's final status when this event is its end. */
  private show(event: Event, onPosition: (seq: number) => void): string | null {
    if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify(event)}\n`)
    else for (const line of eventLines(event)) this.print(line)
    onPosition(event.seq)
    if (this.flags.release !== undefined && event.releaseId === this.flags.release && RELEASE_END_EVENTS.includes(event.kind)) return (event.data as {status: string}).status
    return null
  }
}
