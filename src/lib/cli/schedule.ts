// Rendering of schedules: the rule, the next run in local time and UTC, and the last runs.
import type {Schedule} from '../api/schemas.js'
import {table} from './output.js'

export function ruleText(schedule: Pick<Schedule, 'rule'>): string {
  return schedule.rule.every ? `every ${schedule.rule.every}` : `cron "${schedule.rule.cron}" (${schedule.rule.timezone ?? 'UTC'})`
}

// Made on first use: building a DateTimeFormat loads time-zone data, which every command would pay at start.
let localFormat: Intl.DateTimeFormat | undefined
const localFormatter = () => (localFormat ??= new Intl.DateTimeFormat('en-CA', {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
  timeZoneName: 'short',
}))

/** "2026-11-22 09:30:00 CET (2026-11-22T08:30:00Z)": the reader's local time, then UTC. */
export function localAndUtc(iso: string): string {
  const date = new Date(iso)
  const part = Object.fromEntries(localFormatter().formatToParts(date).map(({type, value}) => [type, value]))
  const local = `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} ${part.timeZoneName}`
  return `${local} (${date.toISOString().replace(/\.\d{3}Z$/, 'Z')})`
}

export function scheduleText(schedule: Schedule): string {
  const lines = [
    `Schedule of ${schedule.project}/${schedule.environment}: ${ruleText(schedule)}, ${schedule.type} release${schedule.resources.length > 0 ? ` of ${schedule.resources.join(', ')}` : ''}${schedule.paused ? ' (PAUSED)' : ''}`,
    `  next run:  ${localAndUtc(schedule.nextRunAt)}`,
    `  set by:    ${schedule.createdBy} at ${schedule.createdAt}`,
  ]
  if (schedule.runs.length === 0) lines.push('  no runs yet')
  else {
    lines.push(
      '',
      table(schedule.runs, [
        {header: 'due', get: (run) => run.slotAt},
        {header: 'outcome', get: (run) => run.outcome},
        {header: 'release', get: (run) => run.releaseId},
        {header: 'reason', get: (run) => run.reason},
      ]),
    )
  }
  return lines.join('\n')
}
