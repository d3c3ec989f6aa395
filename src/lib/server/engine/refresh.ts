// Refresh: reads live versions through each resource's driver (exec: its status command, on every
// target) and records drift: a live version unlike the recorded one becomes the deployed version, so the
// app shows OutOfSync and the next release corrects it. The drift note stays until a deploy succeeds.
import type {AppState, DryRun} from '../../api/schemas.js'
import {driverFor} from '../drivers/index.js'
import type {ProjectRecord} from '../store/store.js'
import type {EngineContext} from './context.js'
import {nowOf} from './context.js'
import {environmentSpec, requireProjectEnvironment} from './lookups.js'
import {changeApp} from './runs/transitions.js'
import type {Views} from './views.js'

export class Refresher {
  constructor(
    private readonly ctx: EngineContext,
    private readonly views: Views,
  ) {}

  async refreshApps(projectName: string, environment: string): Promise<AppState[]> {
    const project = await requireProjectEnvironment(this.ctx.store, projectName, environment)
    await this.refresh(project, environment)
    return this.views.appStates(project.name, environment)
  }

  /** Records what drifted; returns every app whose live version differs from the recorded one. */
  async refresh(project: ProjectRecord, environment: string): Promise<DryRun['refreshed']> {
    const {store, log} = this.ctx
    const spec = environmentSpec(project, environment)
    const apps = new Map((await store.listApps(project.name, environment)).map((app) => [app.name, app]))
    const drifted: DryRun['refreshed'] = []
    for (const resource of project.blueprint.resources) {
      const app = apps.get(resource.name)
      if (!app) continue
      // Every target is compared with what the last deploy recorded, not with an earlier refresh's finding.
      const baseline = app.drift ? app.drift.recordedVersion : app.deployedVersion
      const lives: string[] = []
      for (const target of spec.targets.length > 0 ? spec.targets : [null]) {
        const live = await driverFor(resource).status({project: project.name, environment, resource, target, recordedVersion: baseline, baseDir: project.baseDir, passEnv: this.ctx.passEnv})
        if (live !== null) lives.push(live)
      }
      const live = lives.find((version) => version !== baseline)
      if (live !== undefined) {
        if (app.drift?.liveVersion !== live || app.deployedVersion !== live) {
          const drift = {recordedVersion: baseline, liveVersion: live, at: nowOf(this.ctx)}
          await changeApp(store, project.name, environment, app.name, {deployedVersion: live, drift, ...(app.health === 'Missing' && {health: 'Healthy'})}, nowOf(this.ctx))
          log.info({project: project.name, environment, app: app.name, recorded: baseline, live}, 'drift found by refresh')
        }
        drifted.push({name: app.name, recordedVersion: baseline, liveVersion: live})
      } else if (app.drift && lives.length > 0) {
        // Every target runs the recorded version again (put right by hand): the drift is gone.
        await changeApp(store, project.name, environment, app.name, {deployedVersion: baseline, drift: null}, nowOf(this.ctx))
      }
    }
    return drifted
  }
}
