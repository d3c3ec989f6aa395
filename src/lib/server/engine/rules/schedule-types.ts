// Which scheduled releases can ever produce a release. A schedule carries a release type and, for a
// selective one, its resources, nothing else: a combination that the trigger would always refuse is
// refused when the schedule is set, with the reason, instead of being skipped at every run.
import type {ReleaseType} from '../../../api/domain.js'
import type {Blueprint} from '../../blueprint/blueprint.js'
import {invalid} from '../../errors.js'

export function refuseImpossibleSchedule(type: ReleaseType, resources: string[], blueprint: Blueprint): void {
  if (type === 'selective' && resources.length === 0) throw invalid('a scheduled selective release needs its resources', 'pass --resources api,web')
  if (type !== 'selective' && resources.length > 0) throw invalid(`--resources is only for selective releases, not ${type}`)
  if (type === 'destroy') throw invalid('destroy releases cannot be scheduled', 'trigger a destroy by hand with --allow-destructive')
  if (type === 'rollback') throw invalid('a rollback cannot be scheduled: it is made from the release it undoes', 'use: relctl release rollback RELEASE_ID')
  if (type === 'custom') {
    const steps = blueprint.workflow.map((step) => step.step)
    if (steps.length === 0) {
      throw invalid('a scheduled custom release could never run: custom releases run workflow steps, and this blueprint has no workflow', 'schedule --type full or --type selective --resources api,web instead')
    }
    throw invalid(
      `a scheduled custom release could never run: a schedule does not carry the steps a custom release needs (workflow steps: ${steps.join(', ')})`,
      'schedule --type full, or --type selective --resources with the resources of the steps you want',
    )
  }
}
