import {describe, expect, it} from 'vitest'

import {DEFAULT_APPROVALS_REQUIRED, DEFAULT_MAX_PARALLEL} from '../../../../../src/lib/api/domain.js'
import {effectiveSettings, exclusivityViolation, scopeName} from '../../../../../src/lib/server/engine/rules/settings.js'
import type {SettingsRecord} from '../../../../../src/lib/server/store/store.js'

type Values = Partial<Pick<SettingsRecord, 'parallel' | 'maxParallel' | 'approval' | 'approvalsRequired'>>

const at = '2026-03-02T10:00:00.000Z'
const controlPlane = (values: Values = {}): SettingsRecord => ({
  project: null,
  environment: null,
  parallel: null,
  maxParallel: null,
  approval: null,
  approvalsRequired: null,
  queueMode: null,
  updatedBy: 'admin',
  updatedAt: at,
  ...values,
})
const environment = (name: string, values: Values = {}, project = 'shop'): SettingsRecord => ({
  ...controlPlane(values),
  project,
  environment: name,
})

describe('effectiveSettings: precedence and sources', () => {
  it('uses the built-in defaults when there is no row at all', () => {
    expect(effectiveSettings(null, null)).toEqual({
      parallel: {value: false, source: 'default'},
      maxParallel: {value: DEFAULT_MAX_PARALLEL, source: 'default'},
      approval: {value: false, source: 'default'},
      approvalsRequired: {value: DEFAULT_APPROVALS_REQUIRED, source: 'default'},
      queueMode: {value: 'fifo', source: 'default'},
    })
    expect(DEFAULT_MAX_PARALLEL).toBe(10)
    expect(DEFAULT_APPROVALS_REQUIRED).toBe(1)
  })

  it('uses the defaults for rows whose values are all null (inherit)', () => {
    expect(effectiveSettings(controlPlane(), environment('prod'))).toEqual({
      parallel: {value: false, source: 'default'},
      maxParallel: {value: 10, source: 'default'},
      approval: {value: false, source: 'default'},
      approvalsRequired: {value: 1, source: 'default'},
      queueMode: {value: 'fifo', source: 'default'},
    })
  })

  it('takes control-plane values over the defaults, per setting', () => {
    expect(effectiveSettings(controlPlane({parallel: true}), null)).toEqual({
      parallel: {value: true, source: 'control-plane'},
      maxParallel: {value: 10, source: 'default'},
      approval: {value: false, source: 'default'},
      approvalsRequired: {value: 1, source: 'default'},
      queueMode: {value: 'fifo', source: 'default'},
    })
    expect(effectiveSettings(controlPlane({maxParallel: 3, approval: true, approvalsRequired: 2}), environment('prod'))).toEqual({
      parallel: {value: false, source: 'default'},
      maxParallel: {value: 3, source: 'control-plane'},
      approval: {value: true, source: 'control-plane'},
      approvalsRequired: {value: 2, source: 'control-plane'},
      queueMode: {value: 'fifo', source: 'default'},
    })
  })

  it('takes environment values over the control plane, per setting', () => {
    const settings = effectiveSettings(controlPlane({parallel: true, maxParallel: 50, approval: false, approvalsRequired: 2}), environment('prod', {maxParallel: 2, approvalsRequired: 3}))
    expect(settings).toEqual({
      parallel: {value: true, source: 'control-plane'},
      maxParallel: {value: 2, source: 'environment'},
      approval: {value: false, source: 'control-plane'},
      approvalsRequired: {value: 3, source: 'environment'},
      queueMode: {value: 'fifo', source: 'default'},
    })
  })

  it('treats an explicit false (and a max) in the environment as an override, not as "unset"', () => {
    const settings = effectiveSettings(controlPlane({parallel: true, approval: true}), environment('prod', {parallel: false, approval: false}))
    expect(settings.parallel).toEqual({value: false, source: 'environment'})
    expect(settings.approval).toEqual({value: false, source: 'environment'})
    // and an environment value with no control-plane row at all
    expect(effectiveSettings(null, environment('prod', {parallel: true, maxParallel: 1})).maxParallel).toEqual({value: 1, source: 'environment'})
    expect(effectiveSettings(null, environment('prod', {parallel: false})).parallel).toEqual({value: false, source: 'environment'})
  })
})

describe('scopeName', () => {
  it('names the control plane or project/environment', () => {
    expect(scopeName({project: null, environment: null})).toBe('the control plane')
    expect(scopeName({project: 'shop', environment: 'prod'})).toBe('shop/prod')
  })
})

describe('exclusivityViolation', () => {
  it('finds nothing without rows, or when only one of the two is on anywhere', () => {
    expect(exclusivityViolation([])).toBeNull()
    expect(exclusivityViolation([controlPlane({parallel: true})])).toBeNull()
    expect(exclusivityViolation([controlPlane({approval: true})])).toBeNull()
    expect(exclusivityViolation([controlPlane({parallel: true}), environment('prod', {maxParallel: 3}), environment('staging', {parallel: false})])).toBeNull()
  })

  it('reports the control plane when both are on there', () => {
    const violation = exclusivityViolation([controlPlane({parallel: true, approval: true})])
    expect(violation?.scope).toEqual({project: null, environment: null})
    expect(violation?.settings.parallel).toEqual({value: true, source: 'control-plane'})
    expect(violation?.settings.approval).toEqual({value: true, source: 'control-plane'})
  })

  it('reports an environment where both are on by its own row', () => {
    const violation = exclusivityViolation([environment('staging', {approval: true}), environment('prod', {parallel: true, approval: true})])
    expect(violation?.scope).toEqual({project: 'shop', environment: 'prod'})
  })

  it('control-plane parallel + an environment that turns approval on collide in that environment', () => {
    const violation = exclusivityViolation([controlPlane({parallel: true}), environment('staging', {maxParallel: 2}), environment('prod', {approval: true})])
    expect(violation?.scope).toEqual({project: 'shop', environment: 'prod'})
    expect(violation?.settings.parallel).toEqual({value: true, source: 'control-plane'})
    expect(violation?.settings.approval).toEqual({value: true, source: 'environment'})
  })

  it('control-plane approval + an environment that turns parallel on collide in that environment', () => {
    const violation = exclusivityViolation([environment('prod', {parallel: true, maxParallel: 3}), controlPlane({approval: true})])
    expect(violation?.scope).toEqual({project: 'shop', environment: 'prod'})
    expect(violation?.settings.parallel.source).toBe('environment')
    expect(violation?.settings.approval.source).toBe('control-plane')
  })

  it('an environment that turns parallel off may have approval while the control plane has parallel on', () => {
    expect(exclusivityViolation([controlPlane({parallel: true}), environment('prod', {parallel: false, approval: true})])).toBeNull()
  })

  it('an environment that turns approval off may have parallel while the control plane has approval on', () => {
    expect(exclusivityViolation([controlPlane({approval: true}), environment('prod', {approval: false, parallel: true})])).toBeNull()
  })

  it('environment overrides do not excuse the control plane itself: its own values must still exclude each other', () => {
    // every listed environment opts out of one of the two, but environments without a row inherit both
    const violation = exclusivityViolation([
      controlPlane({parallel: true, approval: true}),
      environment('prod', {parallel: false}),
      environment('staging', {approval: false}),
    ])
    expect(violation?.scope).toEqual({project: null, environment: null})
  })

  it('a control-plane change collides with an environment that inherits the other setting', () => {
    // prod turned approval on while the control plane had parallel off ...
    const before = [controlPlane({parallel: false}), environment('prod', {approval: true})]
    expect(exclusivityViolation(before)).toBeNull()
    // ... so turning parallel on at the control plane would make both hold in prod
    expect(exclusivityViolation([controlPlane({parallel: true}), environment('prod', {approval: true})])?.scope).toEqual({project: 'shop', environment: 'prod'})
    // unless prod also opts out of parallel releases
    expect(exclusivityViolation([controlPlane({parallel: true}), environment('prod', {approval: true, parallel: false})])).toBeNull()
  })

  it('checks environments of every project, and reports the control plane before any environment', () => {
    expect(exclusivityViolation([environment('prod', {parallel: true}), environment('prod', {approval: true, parallel: true}, 'blog')])?.scope).toEqual({
      project: 'blog',
      environment: 'prod',
    })
    expect(exclusivityViolation([environment('prod', {parallel: true, approval: true}), controlPlane({parallel: true, approval: true})])?.scope).toEqual({
      project: null,
      environment: null,
    })
  })

  it('is a pure function of the rows: the effective settings it reports are those of effectiveSettings', () => {
    const rows = [controlPlane({parallel: true, maxParallel: 7}), environment('prod', {approval: true})]
    expect(exclusivityViolation(rows)?.settings).toEqual(effectiveSettings(rows[0], rows[1]))
  })
})
