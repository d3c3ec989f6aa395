// The pause wording, stated once: what a refused trigger, a dry run and a skipped schedule run say.
import type {PauseState} from '../../../api/schemas.js'
import {ControlPlaneError} from '../../errors.js'

/** Which pause holds, by whom, since when and why: for refusals, dry runs and skipped schedule runs. */
export function describePauses(pauses: PauseState[]): string {
  const [pause] = pauses
  const where = pause.level === 'project' ? `project ${pause.project} (every environment)` : `${pause.project}/${pause.environment}`
  const also = pauses.length > 1 ? `; the environment is paused too (by ${pauses[1].by}${pauses[1].reason ? `: ${pauses[1].reason}` : ''})` : ''
  return `releases are paused for ${where} by ${pause.by} since ${pause.at}${pause.reason ? `: ${pause.reason}` : ''}${also}`
}

/** The error a trigger meets while a pause holds: which level, who, since when, why, and how to resume. */
export function pausedError(pauses: PauseState[]): ControlPlaneError {
  const [pause] = pauses
  const resume = pause.level === 'project' ? `relctl resume -p ${pause.project}` : `relctl resume -p ${pause.project} -e ${pause.environment}`
  const resumeBoth = pauses.length > 1 ? ` and relctl resume -p ${pause.project} -e ${pauses[1].environment}` : ''
  return new ControlPlaneError('paused', `${describePauses(pauses)}; nothing was queued`, {hint: `when it is time, resume with: ${resume}${resumeBoth}`})
}

