// Rendering of settings for `settings show` and the set-* commands.
import type {SettingsView} from '../api/schemas.js'
import {table} from './output.js'

const SOURCE_WORDS = {default: 'built-in default', 'control-plane': 'control-plane setting', environment: 'environment override'}

export function settingsText(view: SettingsView): string {
  const where = view.scope.project ? `${view.scope.project}/${view.scope.environment}` : 'control plane (defaults for every environment)'
  const lines = [
    `Settings of ${where}`,
    `  parallel releases:  ${view.parallel.value ? 'on' : 'off'}  (${SOURCE_WORDS[view.parallel.source]})`,
    `  max parallel:       ${view.maxParallel.value}  (${SOURCE_WORDS[view.maxParallel.source]})`,
    `  approval workflow:  ${view.approval.value ? 'on' : 'off'}  (${SOURCE_WORDS[view.approval.source]})`,
    `  approvers needed:   ${view.approvalsRequired.value}  (${SOURCE_WORDS[view.approvalsRequired.source]})`,
    `  queue mode:         ${view.queueMode.value}  (${SOURCE_WORDS[view.queueMode.source]})`,
  ]
  if (view.history.length > 0) {
    lines.push(
      '',
      'Recent changes here:',
      table(view.history, [
        {header: 'when', get: (change) => change.changedAt},
        {header: 'who', get: (change) => change.changedBy},
        {header: 'setting', get: (change) => change.setting},
        {header: 'from', get: (change) => change.oldValue ?? '(inherited)'},
        {header: 'to', get: (change) => change.newValue},
      ]),
    )
  }
  return lines.join('\n')
}
