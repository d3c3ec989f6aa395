import {describe, expect, it} from 'vitest'

import {parseBlueprint} from '../../../../../src/lib/server/blueprint/blueprint.js'
import {refuseImpossibleSchedule} from '../../../../../src/lib/server/engine/rules/schedule-types.js'
import {ControlPlaneError} from '../../../../../src/lib/server/errors.js'
import {SHOP_BLUEPRINT} from '../../../../helpers/engine.js'

const plain = parseBlueprint(SHOP_BLUEPRINT, 'relctl.yaml')
const withWorkflow = parseBlueprint(`${SHOP_BLUEPRINT}workflow:\n  - step: backend\n    tasks: [db, api]\n`, 'relctl.yaml')

function refusal(run: () => void): ControlPlaneError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ControlPlaneError)
    return error as ControlPlaneError
  }
  throw new Error('expected a refusal')
}

describe('refuseImpossibleSchedule', () => {
  it('refuses a custom schedule: without a workflow, and with one (a schedule carries no steps)', () => {
    expect(refusal(() => refuseImpossibleSchedule('custom', [], plain)).message).toContain('this blueprint has no workflow')
    const withSteps = refusal(() => refuseImpossibleSchedule('custom', [], withWorkflow))
    expect(withSteps.message).toContain('a schedule does not carry the steps a custom release needs (workflow steps: backend)')
    expect(withSteps.status).toBe(422)
  })

  it('refuses rollback, destroy, and selective without resources', () => {
    expect(refusal(() => refuseImpossibleSchedule('rollback', [], plain)).message).toContain('a rollback cannot be scheduled')
    expect(refusal(() => refuseImpossibleSchedule('destroy', [], plain)).message).toContain('destroy releases cannot be scheduled')
    expect(refusal(() => refuseImpossibleSchedule('selective', [], plain)).message).toContain('needs its resources')
  })

  it('accepts the schedules that can release', () => {
    expect(() => refuseImpossibleSchedule('full', [], withWorkflow)).not.toThrow()
    expect(() => refuseImpossibleSchedule('launch', [], plain)).not.toThrow()
    expect(() => refuseImpossibleSchedule('selective', ['api'], plain)).not.toThrow()
  })
})
