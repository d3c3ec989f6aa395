import {readFile} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'

import {Flags} from '@oclif/core'

import type {ApplyResponse} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {CliError} from '../../lib/client/errors.js'

const SIGNS = {created: '+', updated: '~', removed: '-', unchanged: '='} as const

export default class ProjectApply extends ApiCommand<typeof ProjectApply> {
  static summary = 'Declare a blueprint: create or update its project, environments and resources.'

  static description = `Applying is idempotent and prints what changed. Exec commands run in the blueprint's folder on the control plane's machine. A resource removed from the blueprint stays in its environments (shown as removed) until a release with --allow-destructive deletes it.

The control plane validates the file and lists every problem with its line, its path in the document and what to do.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --file examples/shop/relctl.yaml',
    '<%= config.bin %> <%= command.id %> -f relctl.yaml --json',
  ]

  static flags = {
    file: Flags.string({char: 'f', summary: 'Blueprint file (relctl.yaml).', required: true}),
  }

  async run(): Promise<ApplyResponse> {
    const path = resolve(this.flags.file)
    let content: string
    try {
      content = await readFile(path, 'utf8')
    } catch (error) {
      throw new CliError(`cannot read ${this.flags.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 2, 'usage', 'pass the path of a relctl.yaml with --file')
    }
    const client = await this.client()
    const result = await client.applyProject({content, file: this.flags.file, baseDir: dirname(path)})
    const verb = result.created ? 'created' : result.changed ? 'updated' : 'unchanged'
    const lines = [`Project ${result.project.name} ${verb} from ${this.flags.file}`]
    for (const change of result.changes) {
      if (change.kind === 'project' || change.change === 'unchanged') continue
      lines.push(`  ${SIGNS[change.change]} ${change.kind} ${change.name}${change.detail ? `: ${change.detail}` : ''}`)
    }
    if (!result.changed) lines.push('  nothing changed')
    this.print(lines.join('\n'))
    return result
  }
}
