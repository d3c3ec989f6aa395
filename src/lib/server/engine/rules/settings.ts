// Settings: control-plane defaults with per-environment overrides. Pure functions of the stored rows:
// what is in effect where (and where each value comes from), and whether parallel releases and the
// approval workflow would both be on somewhere, which is never allowed.
import {DEFAULT_APPROVALS_REQUIRED, DEFAULT_MAX_PARALLEL, DEFAULT_QUEUE_MODE, type QueueMode, type SETTING_SOURCES} from '../../../api/domain.js'
import type {SettingsRecord} from '../../store/store.js'

type Source = (typeof SETTING_SOURCES)[number]

export interface Effective<T> {
  value: T
  source: Source
}

export interface EffectiveSettings {
  parallel: Effective<boolean>
  maxParallel: Effective<number>
  approval: Effective<boolean>
  approvalsRequired: Effective<number>
  queueMode: Effective<QueueMode>
}

const BUILT_IN = {parallel: false, maxParallel: DEFAULT_MAX_PARALLEL, approval: false, approvalsRequired: DEFAULT_APPROVALS_REQUIRED, queueMode: DEFAULT_QUEUE_MODE as QueueMode}

function pick<K extends keyof typeof BUILT_IN>(key: K, controlPlane: SettingsRecord | null, environment: SettingsRecord | null): Effective<(typeof BUILT_IN)[K]> {
  const own = environment?.[key]
  if (own !== null && own !== undefined) return {value: own as (typeof BUILT_IN)[K], source: 'environment'}
  const inherited = controlPlane?.[key]
  if (inherited !== null && inherited !== undefined) return {value: inherited as (typeof BUILT_IN)[K], source: 'control-plane'}
  return {value: BUILT_IN[key], source: 'default'}
}

export function effectiveSettings(controlPlane: SettingsRecord | null, environment: SettingsRecord | null): EffectiveSettings {
  return {
    parallel: pick('parallel', controlPlane, environment),
    maxParallel: pick('maxParallel', controlPlane, environment),
    approval: pick('approval', controlPlane, environment),
    approvalsRequired: pick('approvalsRequired', controlPlane, environment),
    queueMode: pick('queueMode', controlPlane, environment),
  }
}

export interface Scope {
  project: string | null
  environment: string | null
}

export function scopeName(scope: Scope): string {
  return scope.project && scope.environment ? `${scope.project}/${scope.environment}` : 'the control plane'
}

/**
 * The first scope where parallel releases and the approval workflow would both be in effect, given
 * every stored settings row. Environments without a row inherit the control plane, so checking the
 * control plane and each environment row covers every environment.
 */
export function exclusivityViolation(rows: SettingsRecord[]): {scope: Scope; settings: EffectiveSettings} | null {
  const controlPlane = rows.find((row) => row.project === null && row.environment === null) ?? null
  const scopes = [controlPlane, ...rows.filter((row) => row.project !== null)]
  for (const row of scopes) {
    const settings = effectiveSettings(controlPlane, row?.project ? row : null)
    if (settings.parallel.value && settings.approval.value) {
      return {scope: {project: row?.project ?? null, environment: row?.environment ?? null}, settings}
    }
  }
  return null
}
