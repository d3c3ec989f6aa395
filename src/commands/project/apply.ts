import {readFile} from 'node:fs/promises'
import {dirname, resolve} from 'node:path'

import * as Flags from '@oclif/core/flags'

import type {ApplyResponse} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {CliError} from '../../lib/client/errors.js'

const SIGNS = {created: '+', updated: '~', removed: '-', unchanged: '='} as const

export default class ProjectApply extends ApiCommand<typeof ProjectApply> {
  static summary = 'Declare a blueprint: create or update its project, environments and resources.'

  static description = `Applying is idempotent and prints what changed. Exec commands run in the blueprint's folder on the control plane's machine. A resource removed from the blueprint stays in its environments (shown as removed) until a release with --allow-destructive deletes it.

Dropping deployed state (an environment where apps are deployed, whose app states go with it, or a resource deployed somewhere) is refused with the list of what is deployed, unless --allow-destructive is given. --dry-run prints the same diff, and what would be refused, and writes nothing.

The control plane validates the file and lists every problem with its line, its path in the document and what to do.`

  static examples = [
    '<%= config.bin %> <%= command.id %> --file examples/shop/relctl.yaml',
    '<%= config.bin %> <%= command.id %> --file relctl.yaml --dry-run',
    '<%= config.bin %> <%= command.id %> --file relctl.yaml --allow-destructive --json',
  ]

  static flags = {
    file: Flags.string({char: 'f', summary: 'Blueprint file (relctl.yaml).', required: true}),
    'dry-run': Flags.boolean({summary: 'Print the diff, and what would be refused, and write nothing.'}),
    'allow-destructive': Flags.boolean({summary: 'Allow dropping deployed state: an environment with deployed apps, or a deployed resource.'}),
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
    const result = await client.applyProject({
      content,
      file: this.flags.file,
      baseDir: dirname(path),
      ...(this.flags['dry-run'] && {dryRun: true}),
      ...(this.flags['allow-destructive'] && {allowDestructive: true}),
    })
    const verb = result.created ? 'created' : result.changed ? 'updated' : 'unchanged'
    const lines = [result.dryRun ? `Dry run: project ${result.project.name} would be ${verb} from ${this.flags.file} (nothing written)` : `Project ${result.project.name} ${verb} from ${this.flags.file}`]
    for (const change of result.changes) {
      if (change.kind === 'project' || change.change === 'unchanged') continue
      lines.push(`  ${SIGNS[change.change]} ${change.kind} ${change.name}${change.detail ? `: ${change.detail}` : ''}`)
    }
    if (!result.changed) lines.push('  nothing changed')
    if (result.needsAllowDestructive) {
      lines.push('  ! refused without --allow-destructive: it drops deployed state:')
      for (const app of result.dropped) lines.push(`    ${app.environment}/${app.resource} (deployed version ${app.deployedVersion})`)
    }
    this.print(lines.join('\n'))
    return result
  }
}
