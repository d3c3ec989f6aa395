// The pause wording, stated once: what a refused trigger, a dry run and a skipped schedule run say.
import type {PauseState} from '../../../api/schemas.js'
import {ControlPlaneError} from '../../errors.js'

/** Where a pause holds: "the whole control plane (every project)", "project shop (every environment)", "shop/prod". */
export function pausedWhere(pause: PauseState): string {
  if (pause.level === 'control-plane') return 'the whole control plane (every project)'
  return pause.level === 'project' ? `project ${pause.project} (every environment)` : `${pause.project}/${pause.environment}`
}

/** The command that lifts a pause. */
export function resumeCommand(pause: PauseState): string {
  if (pause.level === 'control-plane') return 'relctl resume --all'
  return pause.level === 'project' ? `relctl resume -p ${pause.project}` : `relctl resume -p ${pause.project} -e ${pause.environment}`
}

/** Which pause holds, by whom, since when and why: for refusals, dry runs and skipped schedule runs. */
export function describePauses(pauses: PauseState[]): string {
  const [pause, ...others] = pauses
  const also = others.map((other) => `; ${other.level === 'environment' ? 'the environment' : other.level === 'project' ? 'the project' : 'the control plane'} is paused too (by ${other.by}${other.reason ? `: ${other.reason}` : ''})`).join('')
  return `releases are paused for ${pausedWhere(pause)} by ${pause.by} since ${pause.at}${pause.reason ? `: ${pause.reason}` : ''}${also}`
}

/** The error a trigger meets while a pause holds: which level, who, since when, why, and how to resume. */
export function pausedError(pauses: PauseState[]): ControlPlaneError {
  return new ControlPlaneError('paused', `${describePauses(pauses)}; nothing was queued`, {hint: `when it is time, resume with: ${pauses.map(resumeCommand).join(' and ')}`})
}
