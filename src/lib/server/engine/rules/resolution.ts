// Resolution: which resources a trigger releases, and with which action, checked against the
// environment's apps and the blueprint. Pure: the caller reads the apps.
import type {ReleaseType} from '../../../api/domain.js'
import type {ReleaseResource, TriggerRequest} from '../../../api/schemas.js'
import type {Blueprint} from '../../blueprint/blueprint.js'
import {invalid, notFound} from '../../errors.js'
import type {AppRecord} from '../../store/store.js'

/** A trigger request -> the resources and actions of the release, checked against the environment's apps. */
export async function resolveResources(
  request: TriggerRequest,
  apps: AppRecord[],
  blueprint: Blueprint,
  allNames: () => Promise<string[]>,
): Promise<ReleaseResource[]> {
  const type: ReleaseType = request.type
  const destructive = request.allowDestructive ?? false
  const entry = (app: AppRecord, action: ReleaseResource['action']): ReleaseResource => ({
    name: app.name,
    action,
    fromVersion: app.deployedVersion,
    toVersion: action === 'delete' ? null : app.desiredVersion,
  })
  const deployAction = (app: AppRecord) => (app.deployedVersion === null ? 'create' : 'update')

  if (type !== 'custom' && request.steps?.length) throw invalid('--steps is only for custom releases', 'use --type custom --steps migrate')
  if (type !== 'selective' && request.resources?.length) {
    throw invalid(`a ${type} release covers the whole environment; --resources is only for selective releases`, 'drop --resources, or use --type selective')
  }
  switch (type) {
    case 'selective': {
      if (!request.resources?.length) throw invalid('a selective release needs the resources to release', 'pass --resources api,web')
      const seen = new Set<string>()
      const resources: ReleaseResource[] = []
      for (const wanted of request.resources) {
        if (seen.has(wanted.name)) continue
        seen.add(wanted.name)
        const app = apps.find((candidate) => candidate.name === wanted.name)
        if (!app) throw notFound('app', wanted.name, await allNames())
        const action = wanted.action ?? (app.removed ? 'delete' : deployAction(app))
        if (action === 'delete' && !destructive) {
          throw invalid(`deleting ${app.name} is destructive and was not allowed`, 'add --allow-destructive to delete it')
        }
        if (action !== 'delete' && app.removed) {
          throw invalid(`${app.name} was removed from the blueprint; it can only be deleted`, `use --resources ${app.name}:delete --allow-destructive`)
        }
        resources.push(entry(app, action))
      }
      return resources
    }
    case 'full':
    case 'launch': {
      const resources: ReleaseResource[] = []
      for (const app of apps) {
        if (app.removed) {
          if (destructive) resources.push(entry(app, 'delete'))
        } else if (type === 'launch' || request.force || app.deployedVersion !== app.desiredVersion) {
          resources.push(entry(app, deployAction(app)))
        }
      }
      return resources
    }
    case 'destroy': {
      if (!destructive) throw invalid('a destroy release deletes every resource of the environment and was not allowed', 'add --allow-destructive to destroy it')
      return apps.filter((app) => app.deployedVersion !== null || app.removed).map((app) => entry(app, 'delete'))
    }
    case 'custom': {
      const known = blueprint.workflow.map((step) => step.step)
      if (known.length === 0) throw invalid('a custom release runs workflow steps, and this blueprint has no workflow', 'declare "workflow:" steps in the blueprint, or use --type selective')
      if (!request.steps?.length) throw invalid('a custom release needs the steps to run', `pass --steps, e.g. --steps ${known[0]} (steps: ${known.join(', ')})`)
      const unknown = request.steps.filter((step) => !known.includes(step))
      if (unknown.length > 0) throw invalid(`unknown step${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, `the workflow's steps are: ${known.join(', ')}`)
      const names = new Set(blueprint.workflow.filter((step) => request.steps?.includes(step.step)).flatMap((step) => step.tasks))
      return apps.filter((app) => names.has(app.name) && !app.removed).map((app) => entry(app, deployAction(app)))
    }
    case 'rollback':
      throw invalid('a rollback is made from the release it undoes', 'use: relctl release rollback RELEASE_ID')
  }
}
