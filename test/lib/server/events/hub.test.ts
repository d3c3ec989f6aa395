// The event hub over a real SQLite store: subscriptions that resume from a position read what they
// missed from the table while new events keep coming, and receive every event once, in order; filters;
// a position older than the retention is refused.
import {afterEach, describe, expect, it} from 'vitest'

import type {EventKind} from '../../../../src/lib/api/events.js'
import {kindMatcher} from '../../../../src/lib/api/events.js'
import {ControlPlaneError} from '../../../../src/lib/server/errors.js'
import {EventHub, type EventSink} from '../../../../src/lib/server/events/hub.js'
import {type EventFilter, matches, type PresentedEvent} from '../../../../src/lib/server/events/present.js'
import type {NewEvent, StoredEvent, Store} from '../../../../src/lib/server/store/store.js'
import {createTestEngine, quietLog, type TestEngine, waitFor} from '../../../helpers/engine.js'

let opened: {t: TestEngine; hub: EventHub}[] = []

afterEach(async () => {
  for (const {t, hub} of opened.splice(0)) {
    await hub.close()
    await t.close()
  }
})

async function hubOnStore(): Promise<{store: Store; hub: EventHub}> {
  const t = await createTestEngine(null, {start: false})
  const hub = new EventHub(t.store, quietLog, 60_000)
  await hub.start()
  opened.push({t, hub})
  return {store: t.store, hub}
}

function event(n: number, overrides: Partial<NewEvent> = {}): NewEvent {
  return {kind: 'pause.changed', project: 'shop', environment: 'prod', releaseId: null, taskId: null, apps: null, data: {n}, at: new Date().toISOString(), ...overrides}
}

function collector(): EventSink & {events: PresentedEvent[]} {
  const events: PresentedEvent[] = []
  return {
    events,
    send(presented) {
      events.push(presented)
      return true
    },
    drain: () => Promise.resolve(),
    end() {},
  }
}

const all: EventFilter = {kinds: kindMatcher([])}

describe('event hub', () => {
  it('a subscription that resumes catches up from the table and goes live: every event once, in order, while appends go on', async () => {
    const {store, hub} = await hubOnStore()
    for (let n = 1; n <= 300; n++) await store.appendEvents([event(n)])
    await hub.admit(10)
    expect(hub.head).toBe(300)
    const sink = collector()
    // Appends race the catch-up: 200 more, one commit each, while it reads the first 290 it missed.
    const appending = (async () => {
      for (let n = 301; n <= 500; n++) await store.appendEvents([event(n)])
    })()
    const subscribed = hub.subscribe(all, 10, sink)
    await Promise.all([appending, subscribed])
    await waitFor(() => sink.events.length >= 490 || undefined, 'the stream to bring every event')
    const seqs = sink.events.map((presented) => presented.stored.seq)
    expect(seqs).toEqual(Array.from({length: 490}, (_, index) => index + 11))
    expect(JSON.parse(sink.events[0].json)).toMatchObject({seq: 11, kind: 'pause.changed', data: {n: 11}})
  })

  it('a subscription from now sees only what comes after it', async () => {
    const {store, hub} = await hubOnStore()
    await store.appendEvents([event(1), event(2)])
    // Nobody subscribed: the hub read nothing; admitting a subscription brings its head up to date.
    expect(hub.head).toBe(0)
    await hub.admit(undefined)
    expect(hub.head).toBe(2)
    const sink = collector()
    await hub.subscribe(all, undefined, sink)
    await store.appendEvents([event(3)])
    await waitFor(() => sink.events.length === 1 || undefined, 'the new event')
    expect(sink.events[0].stored.seq).toBe(3)
  })

  it('refuses a position older than what the retention kept, with 410', async () => {
    const {store, hub} = await hubOnStore()
    const old = new Date(Date.now() - 10 * 86_400_000).toISOString()
    for (let n = 1; n <= 5; n++) await store.appendEvents([event(n, {at: old})])
    await store.appendEvents([event(6)])
    expect(await store.pruneEvents(new Date(Date.now() - 86_400_000).toISOString(), 1000, 100)).toBe(5)
    const refusal = await hub.admit(2).catch((error: unknown) => error)
    expect(refusal).toBeInstanceOf(ControlPlaneError)
    expect((refusal as ControlPlaneError).status).toBe(410)
    expect((refusal as ControlPlaneError).message).toContain('start over from now')
    await expect(hub.admit(5)).resolves.toBeUndefined()
  })
})

describe('event filters', () => {
  const stored = (kind: EventKind, fields: Partial<StoredEvent>): StoredEvent => ({...event(0), kind, seq: 1, ...fields})

  it('narrow by scope, release, apps and kind; wider scopes and events about no app pass narrower filters', () => {
    const filter: EventFilter = {project: 'shop', environment: 'prod', apps: ['api'], kinds: kindMatcher(['release.*', 'pause.changed', 'app.changed'])}
    expect(matches(filter, stored('release.started', {apps: '*'}))).toBe(true)
    expect(matches(filter, stored('release.started', {apps: ['api', 'db']}))).toBe(true)
    expect(matches(filter, stored('release.started', {apps: ['web']}))).toBe(false)
    expect(matches(filter, stored('app.changed', {apps: ['web']}))).toBe(false)
    expect(matches(filter, stored('task.started', {apps: ['api']}))).toBe(false)
    // the project's pause reaches a stream of one of its environments; another project's does not
    expect(matches(filter, stored('pause.changed', {environment: null}))).toBe(true)
    expect(matches(filter, stored('pause.changed', {project: 'other', environment: null}))).toBe(false)
    expect(matches(filter, stored('release.started', {environment: 'staging', apps: '*'}))).toBe(false)
    // control-plane events reach every project's stream
    expect(matches(filter, stored('pause.changed', {project: null, environment: null}))).toBe(true)
    expect(matches({releaseId: 7, kinds: kindMatcher([])}, stored('release.started', {releaseId: 8}))).toBe(false)
  })
})
