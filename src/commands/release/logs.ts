import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {isFinalStatus} from '../../lib/api/domain.js'
import type {LogLine} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {untilInterrupted} from '../../lib/cli/interrupt.js'
import {logLine, planTree, rawLogLine} from '../../lib/cli/render.js'
import type {ControlPlaneClient} from '../../lib/client/client.js'
import {delay} from '../../lib/client/delay.js'

const PAGE = 1000
const FOLLOW_INTERVAL_MS = 500

export default class ReleaseLogs extends ApiCommand<typeof ReleaseLogs> {
  static summary = 'Print the plan of a release as a tree, then its task logs; -f follows them until the release ends.'

  static description = `Log lines keep their tabs; other control characters (ESC sequences, carriage returns, bells) are shown escaped, as \\x1b, so that a deploy's output cannot drive your terminal. --raw prints them as they are (colours included); --json always carries the raw text.

Ctrl-C or SIGTERM stops following (exit 130 or 143); the release goes on.`

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
    const pages = this.pages(client, {...(task && {resource: task}), ...(target && {target})}, show)
    await (this.flags.follow ? untilInterrupted(pages, `relctl release logs ${this.args.id} --follow`) : pages)
    if (this.flags.follow && !this.jsonEnabled()) await printTree()
    return collected
  }

  /** Every page of lines, and with --follow the new ones until the release ends. */
  private async pages(client: ControlPlaneClient, filter: {resource?: string; target?: string}, show: (line: LogLine) => void): Promise<void> {
    let after = 0
    for (;;) {
      const page = await client.releaseLogs(this.args.id, {after, limit: PAGE, ...filter})
      if (after === 0 && page.logsDeletedAt) {
        this.note(`the log lines of release ${this.args.id} were deleted on ${page.logsDeletedAt}: it ended longer ago than the control plane's log retention (server start --log-retention); the release record is kept`)
      }
      for (const line of page.lines) show(line)
      after = page.next
      if (page.lines.length === PAGE) continue
      if (!this.flags.follow || isFinalStatus(page.releaseStatus)) {
        // One last page: lines written just before the release ended.
        if (this.flags.follow && page.lines.length > 0) continue
        return
      }
      await delay(FOLLOW_INTERVAL_MS)
    }
  }
}
