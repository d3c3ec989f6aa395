import {describe, expect, it} from 'vitest'

import {EVENT_KINDS, kindMatcher, kindPatternProblem, releaseStatusEvent} from '../../../src/lib/api/events.js'

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
