import {Args, Flags} from '@oclif/core'

import {isFinalStatus} from '../../lib/api/domain.js'
import type {LogLine} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {logLine, planTree} from '../../lib/cli/render.js'
import {delay} from '../../lib/client/delay.js'

const PAGE = 1000
const FOLLOW_INTERVAL_MS = 500

export default class ReleaseLogs extends ApiCommand<typeof ReleaseLogs> {
  static summary = 'Print the plan of a release as a tree, then its task logs; -f follows them until the release ends.'

  static examples = [
    '<%= config.bin %> <%= command.id %> 42',
    '<%= config.bin %> <%= command.id %> 42 --follow',
    '<%= config.bin %> <%= command.id %> 42 --task api --json',
    '<%= config.bin %> <%= command.id %> 42 --task api --target eu-1',
  ]

  static args = {
    id: Args.integer({description: 'Release id.', required: true, min: 1}),
  }

  static flags = {
    follow: Flags.boolean({char: 'f', summary: 'Keep printing new lines until the release ends.'}),
    task: Flags.string({summary: 'Only the lines of this task: a resource or a hook (beforeTarget, afterTarget), or a task key such as api@eu-1.'}),
    target: Flags.string({summary: 'Only the lines of tasks on this target.'}),
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
    let after = 0
    for (;;) {
      const page = await client.releaseLogs(this.args.id, {after, limit: PAGE, ...(task && {resource: task}), ...(target && {target})})
      if (after === 0 && page.logsDeletedAt) {
        this.note(`the log lines of release ${this.args.id} were deleted on ${page.logsDeletedAt}: it ended longer ago than the control plane's log retention (server start --log-retention); the release record is kept`)
      }
      for (const line of page.lines) {
        if (this.jsonEnabled()) collected.push(line)
        else this.print(logLine(line, {withResource: !task, withTarget: !target}))
      }
      after = page.next
      if (page.lines.length === PAGE) continue
      if (!this.flags.follow || isFinalStatus(page.releaseStatus)) {
        // One last page: lines written just before the release ended.
        if (this.flags.follow && page.lines.length > 0) continue
        break
      }
      await delay(FOLLOW_INTERVAL_MS)
    }
    if (this.flags.follow && !this.jsonEnabled()) await printTree()
    return collected
  }
}
