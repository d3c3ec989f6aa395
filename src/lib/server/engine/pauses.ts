// Pauses: the whole control plane (every project), a project (every environment) or one environment
// stops starting releases until resumed. A resume admits again what waited.
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

  /** Pauses a level: the control plane (project null), a project (environment null) or an environment. */
  async pause(projectName: string | null, environment: string | null, reason: string | null, subject: string): Promise<PauseResponse> {
    const project = projectName === null ? null : (await this.requireScope(projectName, environment)).name
    const level = project === null ? 'control-plane' : environment === null ? 'project' : 'environment'
    const {pause, created} = await this.ctx.store.transaction(async (tx) => {
      const added = await tx.addPause({level, project, environment, by: subject, at: nowOf(this.ctx), reason})
      if (added.created) await tx.appendEvents([pauseChanged(project, environment, added.pause, subject, added.pause.at)])
      return added
    })
    if (created) this.ctx.log.info({project, environment, by: subject, reason}, 'releases paused')
    return {pause, alreadyPaused: !created}
  }

  /** Lifts the pause of one level only, admits what it held, and says which pauses of other levels still hold. */
  async resume(projectName: string | null, environment: string | null, subject: string): Promise<ResumeResponse> {
    const {store} = this.ctx
    const project = projectName === null ? null : (await this.requireScope(projectName, environment)).name
    const resumed = await store.transaction(async (tx) => {
      const removed = await tx.removePause(project, environment)
      if (removed) await tx.appendEvents([pauseChanged(project, environment, null, subject, nowOf(this.ctx))])
      return removed
    })
    if (resumed) this.ctx.log.info({project, environment, by: subject}, 'releases resumed')
    if (project === null) await this.runs.admitEverywhere()
    else {
      const environments = environment === null ? (await store.listEnvironments(project)).map((env) => env.name) : [environment]
      for (const name of environments) await this.runs.admit(project, name)
    }
    // The other levels' pauses still hold: the control plane's and the project's for an environment, ...
    const level = project === null ? 'control-plane' : environment === null ? 'project' : 'environment'
    const stillPaused = (await store.listPauses(project, environment)).filter((pause) => pause.level !== level)
    return {resumed, stillPaused}
  }

  private async requireScope(projectName: string, environment: string | null) {
    const project = await requireProject(this.ctx.store, projectName)
    if (environment !== null) await requireEnvironment(this.ctx.store, project, environment)
    return project
  }
}
