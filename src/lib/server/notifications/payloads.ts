// What a notification carries. A webhook gets the event as the stream serves it, with links, signed with
// HMAC-SHA256 over the timestamp and the body, as GitHub and Stripe sign theirs (docs/notifications.md has
// the check). Slack gets a message a person reads: what happened where, who, the outcome, and the exact
// command to act on it.
import {createHmac} from 'node:crypto'

import type {Event} from '../../api/event-schemas.js'
import {describeEvent, isPipelineEvent, resourcesText, scopeOf} from '../../api/event-text.js'

/** The headers every webhook delivery carries. */
export const SIGNATURE_HEADER = 'x-relctl-signature'
export const EVENT_ID_HEADER = 'x-relctl-event-id'
export const EVENT_KIND_HEADER = 'x-relctl-event'
export const DELIVERY_HEADER = 'x-relctl-delivery'

/** What a test delivery sends in place of an event. */
export interface TestPayload {
  test: true
  notification: number
  message: string
  at: string
}

/** Links to what an event is about, on the control plane's own address. */
export function linksOf(event: Event, publicUrl: string): Record<string, string> {
  const base = publicUrl.replace(/\/$/, '')
  return event.releaseId === null
    ? {events: `${base}/v1/events?after=${event.seq - 1}`}
    : {release: `${base}/v1/releases/${event.releaseId}`, logs: `${base}/v1/releases/${event.releaseId}/logs`, events: `${base}/v1/events?release=${event.releaseId}`}
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the timestamp makes a replayed delivery detectable. */
export function signature(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')
  return `t=${unixSeconds},v1=${mac}`
}

export function webhookBody(event: Event, publicUrl: string): string {
  return JSON.stringify({event, links: linksOf(event, publicUrl)})
}

/** The command that acts on an event: approve what waits for approval, look at what failed, resume what is paused. */
export function nextCommand(event: Event): string | null {
  if (isPipelineEvent(event)) {
    const run = event.data.id
    return event.kind === 'pipeline.waiting' && event.data.waitingFor?.reason === 'approval' ? `relctl pipeline approve ${run}   (or: relctl pipeline reject ${run})` : `relctl pipeline show ${run}`
  }
  const scope = event.project === null ? '' : ` -p ${event.project}${event.environment ? ` -e ${event.environment}` : ''}`
  switch (event.kind) {
    case 'release.pending_approval':
      return `relctl release approve ${event.data.id}   (or: relctl release reject ${event.data.id})`
    case 'release.failed':
    case 'release.cancelled':
      return `relctl release logs ${event.data.id}`
    case 'pause.changed':
      return event.data.paused ? `relctl resume${event.project === null ? ' --all' : scope}` : null
    case 'freeze.changed':
      return event.data.deleted ? null : `relctl freeze list${scope}`
    case 'block.changed':
      return event.data.blocked ? `relctl app unblock ${event.data.block.app} ${event.data.block.version} -p ${event.data.block.project}` : null
    case 'replica.lost':
      return 'relctl server status'
    default:
      return event.releaseId === null ? null : `relctl release show ${event.releaseId}`
  }
}

const EMOJI: Partial<Record<Event['kind'], string>> = {
  'release.succeeded': ':white_check_mark:',
  'release.failed': ':x:',
  'release.cancelled': ':no_entry_sign:',
  'release.rejected': ':no_entry:',
  'release.pending_approval': ':raised_hand:',
  'replica.lost': ':warning:',
  'schedule.skipped': ':fast_forward:',
  'freeze.changed': ':snowflake:',
  'block.changed': ':no_entry:',
  'pipeline.succeeded': ':white_check_mark:',
  'pipeline.failed': ':x:',
  'pipeline.cancelled': ':no_entry_sign:',
  'pipeline.rejected': ':no_entry:',
  'pipeline.waiting': ':hourglass_flowing_sand:',
}

/** Slack's mrkdwn treats &, < and > as markup. */
function slackText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

export function slackMessage(event: Event, publicUrl: string): {text: string; blocks: unknown[]} {
  const where = scopeOf(event)
  const [what] = describeEvent(event)
  const emoji = event.kind === 'pause.changed' ? (event.data.paused ? ':double_vertical_bar:' : ':arrow_forward:') : (EMOJI[event.kind] ?? ':information_source:')
  const headline = `${emoji} *${slackText(what)}* in \`${slackText(where)}\``
  const fields: string[] = []
  if (event.project !== null) fields.push(`*Project*\n${slackText(event.project)}`)
  if (event.environment !== null) fields.push(`*Environment*\n${slackText(event.environment)}`)
  if (event.kind.startsWith('release.')) {
    const release = event.data as Extract<Event, {kind: 'release.created'}>['data']
    fields.push(`*Release*\n<${linksOf(event, publicUrl).release}|${release.id}> (${release.type})`)
    fields.push(`*Resources*\n${slackText(resourcesText(release))}`)
    fields.push(`*Triggered by*\n${slackText(`${release.triggeredBy} (${release.source})`)}`)
    fields.push(`*Outcome*\n${slackText(`${release.status}${release.error ? `: ${release.error}` : ''}`)}`)
    if (release.decision) fields.push(`*${release.decision.decision === 'approved' ? 'Approved' : 'Rejected'} by*\n${slackText(release.decision.by)}`)
  }
  const command = nextCommand(event)
  const blocks: unknown[] = [{type: 'section', text: {type: 'mrkdwn', text: headline}}]
  if (fields.length > 0) blocks.push({type: 'section', fields: fields.slice(0, 10).map((text) => ({type: 'mrkdwn', text}))})
  if (command) blocks.push({type: 'context', elements: [{type: 'mrkdwn', text: `\`${slackText(command)}\``}]})
  return {text: `relctl: ${what} in ${where}`, blocks}
}

export function slackTestMessage(test: TestPayload): {text: string} {
  return {text: `relctl: ${test.message}`}
}
