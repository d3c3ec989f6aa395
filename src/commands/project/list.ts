import type {Project} from '../../lib/api/schemas.js'
import {ApiCommand} from '../../lib/cli/base-command.js'
import {ago, table} from '../../lib/cli/output.js'

export default class ProjectList extends ApiCommand<typeof ProjectList> {
  static summary = 'List the projects (blueprints) on the control plane.'

  static examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<Project[]> {
    const projects = await (await this.client()).listProjects()
    this.print(
      projects.length === 0
        ? 'No projects yet; declare one with: relctl project apply -f relctl.yaml'
        : table(projects, [
            {header: 'project', get: (project) => project.name},
            {header: 'environments', get: (project) => project.environments.join(', ')},
            {header: 'resources', get: (project) => project.resources.length},
            {header: 'file', get: (project) => project.file},
            {header: 'applied', get: (project) => ago(project.appliedAt)},
          ]),
    )
    return projects
  }
}
