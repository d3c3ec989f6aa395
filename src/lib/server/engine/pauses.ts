// Pauses: a project (every environment) or one environment stops starting releases until resumed. A
// resume admits again what waited.
import type {PauseResponse, ResumeResponse} from '../../api/schemas.js'
import type {EngineContext} from './context.js'
import {nowOf} from './context.js'
import {pauseChanged} from './rules/events.js'
import {requireEnvironment, requireProject} from './lookups.js'
import type {RunCoordinator} from './runs/coordinator.js'

export class Pauses {
  constructor(
    private readonly ctx: EngineContext,
    private readonly runs: RunCoordinator,
  ) {}

  async pause(projectName: string, environment: string | null, reason: string | null, subject: string): Promise<PauseResponse> {
    const project = await requireProject(this.ctx.store, projectName)
    if (environment !== null) await requireEnvironment(this.ctx.store, project, environment)
    const {pause, created} = await this.ctx.store.transaction(async (tx) => {
      const added = await tx.addPause({level: environment === null ? 'project' : 'environment', project: project.name, environment, by: subject, at: nowOf(this.ctx), reason})
      if (added.created) await tx.appendEvents([pauseChanged(project.name, environment, added.pause, subject, added.pause.at)])
      return added
    })
    if (created) this.ctx.log.info({project: project.name, environment, by: subject, reason}, 'releases paused')
    return {pause, alreadyPaused: !created}
  }

  async resume(projectName: string, environment: string | null, subject: string): Promise<ResumeResponse> {
    const {store} = this.ctx
    const project = await requireProject(store, projectName)
    if (environment !== null) await requireEnvironment(store, project, environment)
    const resumed = await store.transaction(async (tx) => {
      const removed = await tx.removePause(project.name, environment)
      if (removed) await tx.appendEvents([pauseChanged(project.name, environment, null, subject, nowOf(this.ctx))])
      return removed
    })
    if (resumed) this.ctx.log.info({project: project.name, environment, by: subject}, 'releases resumed')
    const environments = environment === null ? (await store.listEnvironments(project.name)).map((env) => env.name) : [environment]
    for (const name of environments) await this.runs.admit(project.name, name)
    // The other level's pauses still hold: the project's for an environment, the environments' for the project.
    const stillPaused = (await store.listPauses(project.name, environment)).filter((pause) => pause.level !== (environment === null ? 'project' : 'environment'))
    return {resumed, stillPaused}
  }
}
