// Rendering of freezes: the rule as it was written, the window in force, the next one, in the reader's
// local time and UTC.
import {formatDuration} from '../api/duration.js'
import type {Environment, Freeze} from '../api/schemas.js'
import {table} from './output.js'
import {localAndUtc} from './schedule.js'
import {printable} from './terminal-text.js'

/** "the control plane", "project shop", "shop/prod" */
export function freezeScope(freeze: Pick<Freeze, 'project' | 'environment'>): string {
  if (freeze.project === null) return 'the control plane'
  return freeze.environment === null ? `project ${freeze.project}` : `${freeze.project}/${freeze.environment}`
}

/** "2026-12-20T17:00:00Z to 2027-01-04T07:00:00Z" or "cron "0 18 * * 5" for 62h00m (Europe/Berlin)" */
export function freezeRule(freeze: Freeze): string {
  if (freeze.cron !== null) return `cron "${freeze.cron}" for ${formatDuration(freeze.durationMs ?? 0)} (${freeze.timezone})`
  return `${utc(freeze.from as string)} to ${utc(freeze.to as string)}`
}

function utc(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, 'Z')
}

function windowText(window: {startsAt: string; endsAt: string}): string {
  return `${localAndUtc(window.startsAt)} until ${localAndUtc(window.endsAt)}`
}

export function freezeText(freeze: Freeze): string {
  return [
    `Freeze ${freeze.id} on ${freezeScope(freeze)}: ${freezeRule(freeze)}: ${printable(freeze.reason)}`,
    `  in force:  ${freeze.current ? `yes, since ${windowText(freeze.current)}` : 'no'}`,
    `  next:      ${freeze.next ? windowText(freeze.next) : 'none'}`,
    `  added by:  ${freeze.createdBy} at ${freeze.createdAt}`,
  ].join('\n')
}

export function freezeTable(freezes: Freeze[]): string {
  return table(freezes, [
    {header: 'id', get: (freeze) => freeze.id},
    {header: 'scope', get: (freeze) => freezeScope(freeze)},
    {header: 'window', get: (freeze) => freezeRule(freeze)},
    {header: 'now', get: (freeze) => (freeze.current ? `in force until ${utc(freeze.current.endsAt)}` : '')},
    {header: 'next', get: (freeze) => (freeze.next ? `${utc(freeze.next.startsAt)} to ${utc(freeze.next.endsAt)}` : '')},
    {header: 'by', get: (freeze) => freeze.createdBy},
    {header: 'reason', get: (freeze) => freeze.reason},
  ])
}

/** The lines of env show about freezes: in force or not, and the next windows. */
export function environmentFreezeLines(environment: Pick<Environment, 'freezes'>): string[] {
  const source = (window: Environment['freezes'][number]) => `freeze ${window.freeze} at the ${window.level === 'control-plane' ? 'control-plane' : window.level} level`
  const inForce = environment.freezes.filter((window) => window.inForce)
  const coming = environment.freezes.filter((window) => !window.inForce)
  return [
    ...(inForce.length === 0 ? ['  frozen:       no'] : inForce.map((window) => `  frozen:       yes, until ${utc(window.endsAt)} (${source(window)}): ${printable(window.reason)}`)),
    ...coming.map((window) => `  next freeze:  ${utc(window.startsAt)} to ${utc(window.endsAt)} (${source(window)}): ${printable(window.reason)}`),
  ]
}
