import * as Args from '@oclif/core/args'

import type {Project} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {table} from '../../lib/cli/output.js'

export default class ProjectShow extends ApiCommand<typeof ProjectShow> {
  static summary = 'Show a project: its resources, their dependencies, and its environments.'

  static examples = ['<%= config.bin %> <%= command.id %> shop', '<%= config.bin %> <%= command.id %> --project shop --json']

  static args = {
    name: Args.string({description: 'Project name (default: --project / RELCTL_PROJECT).'}),
  }

  async run(): Promise<Project> {
    const project = await (await this.client()).getProject(this.args.name ?? this.project())
    this.print(
      [
        `Project ${project.name}`,
        `  file:         ${project.file} (runs in ${project.baseDir})`,
        `  environments: ${project.environments.join(', ')}`,
        `  applied:      ${project.appliedAt}`,
        '',
        table(project.resources, [
          {header: 'resource', get: (resource) => resource.name},
          {header: 'kind', get: (resource) => resource.kind},
          {header: 'driver', get: (resource) => resource.driver},
          {header: 'version', get: (resource) => resource.version},
          {header: 'depends on', get: (resource) => resource.dependsOn.join(', ')},
        ]),
      ].join('\n'),
    )
    return project
  }
}
