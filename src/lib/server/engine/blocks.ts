// Blocked versions: a version of an app that no release, `app set`, schedule or pipeline may take the app
// to in any environment of its project, until it is unblocked. The check itself is pure
// (rules/blocks.ts); `refuseBlockedVersions` is what any part that deploys versions calls.
import type {BlockedVersion, BlockResponse, UnblockResponse} from '../../api/schemas.js'
import {notFound} from '../errors.js'
import type {Store} from '../store/store.js'
import type {EngineContext} from './context.js'
import {nowOf} from './context.js'
import {requireProject} from './lookups.js'
import {blockedVersionError, blocksMet} from './rules/blocks.js'
import {blockChanged} from './rules/events.js'

/**
 * Throws blocked_version (exit 2) when one of the changes would take an app of the project to a blocked
 * version; the message starts with `refusal` ("this full release would deploy a blocked version").
 */
export async function refuseBlockedVersions(store: Store, project: string, changes: {name: string; toVersion: string | null; action?: 'create' | 'update' | 'delete'}[], refusal: string): Promise<void> {
  const met = blocksMet(changes, await store.listBlockedVersions(project))
  if (met.length > 0) throw blockedVersionError(met, refusal)
}

export class Blocks {
  constructor(private readonly ctx: EngineContext) {}

  async block(projectName: string, app: string, version: string, reason: string, subject: string): Promise<BlockResponse> {
    const {store} = this.ctx
    const project = await requireProject(store, projectName)
    await this.requireApp(project.name, project.blueprint.resources.map((resource) => resource.name), app)
    const at = nowOf(this.ctx)
    const {block, created} = await store.transaction(async (tx) => {
      const added = await tx.blockVersion({project: project.name, app, version, reason, by: subject, at})
      if (added.created) await tx.appendEvents([blockChanged(added.block, true, subject, at)])
      return added
    })
    if (created) this.ctx.log.info({project: project.name, app, version, by: subject}, 'version blocked')
    return {block, alreadyBlocked: !created}
  }

  async unblock(projectName: string, app: string, version: string, subject: string): Promise<UnblockResponse> {
    const {store} = this.ctx
    const project = await requireProject(store, projectName)
    const at = nowOf(this.ctx)
    const block = await store.transaction(async (tx) => {
      const lifted = await tx.unblockVersion(project.name, app, version)
      if (lifted) await tx.appendEvents([blockChanged(lifted, false, subject, at)])
      return lifted
    })
    if (block) this.ctx.log.info({project: project.name, app, version, by: subject}, 'version unblocked')
    return {unblocked: block !== null, block}
  }

  async list(projectName: string): Promise<BlockedVersion[]> {
    const project = await requireProject(this.ctx.store, projectName)
    return this.ctx.store.listBlockedVersions(project.name)
  }

  /** An app of the blueprint, or one still deployed somewhere after it left the blueprint. */
  private async requireApp(project: string, declared: string[], app: string): Promise<void> {
    if (declared.includes(app)) return
    for (const environment of await this.ctx.store.listEnvironments(project)) {
      if ((await this.ctx.store.listApps(project, environment.name, [app])).length > 0) return
    }
    throw notFound('app', app, declared, undefined, `project ${project}`)
  }
}
