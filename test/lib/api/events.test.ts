import {describe, expect, it} from 'vitest'

import type {Event} from '../../../src/lib/api/event-schemas.js'
import {describeEvent} from '../../../src/lib/api/event-text.js'
import {EVENT_KINDS, kindMatcher, kindPatternProblem, releaseStatusEvent} from '../../../src/lib/api/events.js'
import {nextCommand, slackMessage} from '../../../src/lib/server/notifications/payloads.js'

describe('event kinds', () => {
  it('matches patterns with * for any characters; no patterns match everything', () => {
    const releases = kindMatcher(['release.*'])
    expect(EVENT_KINDS.filter(releases)).toEqual(EVENT_KINDS.filter((kind) => kind.startsWith('release.')))
    expect(EVENT_KINDS.filter(kindMatcher(['*.failed', 'log']))).toEqual(['release.failed', 'log', 'pipeline.failed'])
    expect(EVENT_KINDS.filter(kindMatcher([]))).toEqual([...EVENT_KINDS])
    expect(EVENT_KINDS.filter(kindMatcher(['*']))).toEqual([...EVENT_KINDS])
    // the dot is a dot, not any character
    expect(kindMatcher(['release.started'])('releaseXstarted')).toBe(false)
  })

  it('names a pattern that matches no kind, with the kinds to choose from', () => {
    expect(kindPatternProblem('relese.*')).toMatch(/"relese\.\*" matches no event kind; the kinds are release\.created, .*replica\.lost/)
    expect(kindPatternProblem('')).toMatch(/empty/)
    expect(kindPatternProblem('task.*')).toBeNull()
  })

  it('calls a running release started', () => {
    expect(releaseStatusEvent('running')).toBe('release.started')
    expect(releaseStatusEvent('pending_approval')).toBe('release.pending_approval')
  })
})

describe('freeze, block and control-plane pause events in words', () => {
  const envelope = {seq: 9, at: '2026-12-20T17:00:00.000Z', releaseId: null, taskId: null}
  const freeze = {id: 3, level: 'environment' as const, project: 'shop', environment: 'prod', from: '2026-12-20T17:00:00.000Z', to: '2027-01-04T07:00:00.000Z', cron: null, durationMs: null, timezone: 'Europe/Berlin', reason: 'year-end', createdBy: 'olga', createdAt: '2026-12-01T00:00:00.000Z'}
  const block = {project: 'shop', app: 'api', version: '3.3.0', reason: 'memory leak', by: 'olga', at: '2026-12-01T00:00:00.000Z'}

  it('says what changed, and which command acts on it', () => {
    const added: Event = {...envelope, kind: 'freeze.changed', project: 'shop', environment: 'prod', data: {freeze, deleted: false, by: 'olga', at: envelope.at}}
    expect(describeEvent(added)).toEqual(['freeze 3 added by olga: 2026-12-20T17:00:00.000Z to 2027-01-04T07:00:00.000Z: year-end'])
    expect(nextCommand(added)).toBe('relctl freeze list -p shop -e prod')
    const weekends: Event = {...added, data: {freeze: {...freeze, from: null, to: null, cron: '0 18 * * 5', durationMs: 62 * 3_600_000}, deleted: true, by: 'bo', at: envelope.at}}
    expect(describeEvent(weekends)).toEqual(['freeze 3 deleted by bo: 0 18 * * 5 (Europe/Berlin) for 62h00m: year-end'])
    expect(nextCommand(weekends)).toBeNull()
    const blocked: Event = {...envelope, kind: 'block.changed', project: 'shop', environment: null, data: {block, blocked: true, by: 'olga', at: envelope.at}}
    expect(describeEvent(blocked)).toEqual(['api 3.3.0 blocked by olga: memory leak'])
    expect(nextCommand(blocked)).toBe('relctl app unblock api 3.3.0 -p shop')
    expect(describeEvent({...blocked, data: {block, blocked: false, by: 'bo', at: envelope.at}})).toEqual(['api 3.3.0 unblocked by bo'])
    const pausedAll: Event = {
      ...envelope,
      kind: 'pause.changed',
      project: null,
      environment: null,
      data: {project: null, environment: null, paused: true, pause: {level: 'control-plane', project: null, environment: null, by: 'olga', at: envelope.at, reason: 'dc move'}, by: 'olga', at: envelope.at},
    }
    expect(nextCommand(pausedAll)).toBe('relctl resume --all')
    expect(JSON.stringify(slackMessage(blocked, 'https://relctl.example').blocks)).toContain(':no_entry: *api 3.3.0 blocked by olga: memory leak*')
  })
})
