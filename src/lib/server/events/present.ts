// From rows of the events table to what the stream serves: the public event, serialized once however many
// streams carry it, and the filters a stream asks for.
import type {Event} from '../../api/event-schemas.js'
import type {StoredLogEvent} from '../engine/runs/transitions.js'
import type {Store, StoredEvent} from '../store/store.js'

/** An event ready to send: the row (for filtering) and its JSON. */
export interface PresentedEvent {
  stored: StoredEvent
  json: string
}

/** What one stream or subscription wants; every field narrows. */
export interface EventFilter {
  project?: string
  environment?: string
  releaseId?: number
  /** events about any of these apps, or about no app in particular */
  apps?: string[]
  kinds: (kind: string) => boolean
  /** what the reader may see at all (its token's grants) */
  visible?: (event: StoredEvent) => boolean
}

/**
 * Whether an event passes a filter. An event of a wider scope passes a narrower filter: a project's
 * pause reaches the streams of its environments, a control-plane setting every project's. An event
 * about no app in particular reaches the streams that follow apps of its environment.
 */
export function matches(filter: EventFilter, event: StoredEvent): boolean {
  if (!filter.kinds(event.kind)) return false
  if (filter.visible && !filter.visible(event)) return false
  if (filter.releaseId !== undefined && event.releaseId !== filter.releaseId) return false
  if (filter.project !== undefined && event.project !== null && event.project !== filter.project) return false
  if (filter.environment !== undefined && event.environment !== null && event.environment !== filter.environment) return false
  if (filter.apps !== undefined && event.apps !== null && event.apps !== '*' && !event.apps.some((app) => filter.apps?.includes(app))) return false
  return true
}

/** The public events of rows, in order: a log event's lines are read where its row points. */
export async function presentEvents(store: Store, rows: StoredEvent[]): Promise<PresentedEvent[]> {
  const presented: PresentedEvent[] = []
  for (const row of rows) {
    let data = row.data
    if (row.kind === 'log') {
      const {releaseId, fromId, toId} = row.data as StoredLogEvent
      const lines = (await store.logLinesBetween(releaseId, fromId, toId)).map(({releaseId: _releaseId, ...line}) => line)
      data = {releaseId, lines}
    }
    const {seq, kind, at, project, environment, releaseId, taskId} = row
    const event = {seq, kind, at, project, environment, releaseId, taskId, data} as Event
    presented.push({stored: row, json: JSON.stringify(event)})
  }
  return presented
}
