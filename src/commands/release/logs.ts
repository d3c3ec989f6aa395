import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {EXIT, isFinalStatus, type ReleaseStatus} from '../../lib/api/domain.js'
import type {LogLine, Release} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {toHelpSection} from '../../lib/cli/exit-codes.js'
import {INTERRUPT_EXIT_CODES} from '../../lib/cli/flags.js'
import {untilInterrupted} from '../../lib/cli/interrupt.js'
import {logLine, planTree, rawLogLine} from '../../lib/cli/render.js'
import {watchChanges} from '../../lib/client/changes.js'
import type {ControlPlaneClient} from '../../lib/client/client.js'
import {CliError} from '../../lib/client/errors.js'

interface LogFilter {
  resource?: string
  target?: string
}

const PAGE = 1000
/** How often to look when the control plane serves no event stream. */
const FOLLOW_INTERVAL_MS = 500

export default class ReleaseLogs extends ApiCommand<typeof ReleaseLogs> {
  static summary = 'Print the plan of a release as a tree, then its task logs; -f follows them until the release ends.'

  static description = `Log lines keep their tabs; other control characters (ESC sequences, carriage returns, bells) are shown escaped, as \\x1b, so that a deploy's output cannot drive your terminal. --raw prints them as they are (colours included); --json always carries the raw text.

With --follow the lines come as the deploys write them (from the event stream; where the control plane serves none, from pages read every half second), and the command ends when the release ends, with its exit code. Ctrl-C or SIGTERM stops following (exit 130 or 143); the release goes on.

${toHelpSection({
  ok: 'the lines were printed; with --follow, the release succeeded',
  releaseFailed: 'with --follow: the release failed, was cancelled or rejected',
  notFound: 'no such release',
  ...INTERRUPT_EXIT_CODES,
})}`

  static examples = [
    '<%= config.bin %> <%= command.id %> 42',
    '<%= config.bin %> <%= command.id %> 42 --follow',
    '<%= config.bin %> <%= command.id %> 42 --task api --json',
    '<%= config.bin %> <%= command.id %> 42 --task api --target eu-1',
    '<%= config.bin %> <%= command.id %> 42 --raw > release-42.log',
  ]

  static args = {
    id: Args.integer({description: 'Release id.', required: true, min: 1}),
  }

  static flags = {
    follow: Flags.boolean({char: 'f', summary: 'Keep printing new lines until the release ends.'}),
    task: Flags.string({summary: 'Only the lines of this task: a resource or a hook (beforeTarget, afterTarget), or a task key such as api@eu-1.'}),
    target: Flags.string({summary: 'Only the lines of tasks on this target.'}),
    raw: Flags.boolean({summary: 'Print log lines as they are, control characters and ESC sequences included.'}),
  }

  async run(): Promise<LogLine[]> {
    const client = await this.client()
    // A task key (api@eu-1) names a resource and a target.
    const [task, keyTarget] = (this.flags.task ?? '').split('@')
    const target = this.flags.target ?? keyTarget
    const collected: LogLine[] = []
    // The plan as a tree (step -> task -> target, with status and duration) goes to stderr, so that
    // stdout stays the log lines alone for grep and pipes.
    const printTree = async () => {
      const release = await client.getRelease(this.args.id)
      if (release.tasks?.length) this.note(`${planTree(release.tasks)}\n`)
    }
    if (!this.jsonEnabled()) await printTree()
    const show = (line: LogLine) => {
      if (this.jsonEnabled()) collected.push(line)
      else if (this.flags.raw) process.stdout.write(`${rawLogLine(line, {withResource: !task, withTarget: !target})}\n`)
      else this.print(logLine(line, {withResource: !task, withTarget: !target}))
    }
    const filter = {...(task && {resource: task}), ...(target && {target})}
    if (!this.flags.follow) {
      await this.pages(client, 0, filter, show)
      return collected
    }
    const ended = await untilInterrupted(this.follow(client, filter, show), `relctl release logs ${this.args.id} --follow`)
    if (!this.jsonEnabled()) await printTree()
    if (ended.status !== 'succeeded') {
      throw new CliError(`release ${ended.id} ${ended.status}${ended.error ? `: ${ended.error}` : ''}`, EXIT.releaseFailed, `release_${ended.status}`, `see why: relctl release show ${ended.id}`, {lines: collected})
    }
    return collected
  }

  /** Every page of lines after a line id; returns the last id read and the release's status. */
  private async pages(client: ControlPlaneClient, after: number, filter: LogFilter, show: (line: LogLine) => void): Promise<{after: number; status: ReleaseStatus}> {
    for (;;) {
      const page = await client.releaseLogs(this.args.id, {after, limit: PAGE, ...filter})
      if (after === 0 && page.logsDeletedAt) {
        this.note(`the log lines of release ${this.args.id} were deleted on ${page.logsDeletedAt}: it ended longer ago than the control plane's log retention (server start --log-retention); the release record is kept`)
      }
      for (const line of page.lines) show(line)
      after = page.next
      if (page.lines.length < PAGE) return {after, status: page.releaseStatus}
    }
  }

  /**
   * The lines so far, then each new one as the release's log events bring it (or, without an event
   * stream, as pages read at an interval), until the release ends; returns the release as it ended.
   */
  private async follow(client: ControlPlaneClient, filter: LogFilter, show: (line: LogLine) => void): Promise<Release> {
    const changes = await watchChanges(client, {release: this.args.id, kinds: 'log,release.*'}, {intervalMs: FOLLOW_INTERVAL_MS, onNotice: (text) => this.note(text)})
    try {
      // The stream is open: lines written from now on come as events, those before in the pages.
      let {after, status} = await this.pages(client, 0, filter, show)
      while (!isFinalStatus(status)) {
        const batch = await changes.next(Number.POSITIVE_INFINITY)
        if (!batch || batch.gap) {
          ;({after, status} = await this.pages(client, after, filter, show))
          continue
        }
        for (const event of batch.events) {
          if (event.kind === 'log') {
            for (const line of event.data.lines) {
              if (line.id <= after) continue
              after = line.id
              if ((!filter.resource || line.resource === filter.resource) && (!filter.target || line.target === filter.target)) show(line)
            }
          } else if (event.kind.startsWith('release.')) status = (event.data as Release).status
        }
      }
      // When polling: lines written just before the release ended.
      await this.pages(client, after, filter, show)
      return await client.getRelease(this.args.id)
    } finally {
      changes.close()
    }
  }
}
