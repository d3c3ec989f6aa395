// What a notification says: the line, and the command that acts on it, for pipeline runs (issue 13) and a release that waits for approval (issue 11).
import {describe, expect, it} from 'vitest'

import type {Event, PipelineEventData} from '../../../../src/lib/api/event-schemas.js'
import {nextCommand, slackMessage} from '../../../../src/lib/server/notifications/payloads.js'

const RUN: PipelineEventData = {
  id: 7,
  project: 'shop',
  pipeline: 'main',
  status: 'running',
  versions: [{name: 'api', version: '1.5.0'}],
  services: 'parallel',
  queue: 'fifo',
  onFailure: 'stop',
  stage: 3,
  step: 3,
  steps: 3,
  waitingFor: {reason: 'approval', stage: 3, message: 'waits for approval of stage 3 (prod): relctl pipeline approve 7 (by someone other than ci, who created the run)'},
  supersededBy: null,
  approvals: [],
  decision: null,
  error: null,
  createdBy: 'ci',
  source: 'cli',
  comment: null,
  idempotencyKey: null,
  createdAt: '2026-06-01T12:00:00.000Z',
  startedAt: '2026-06-01T12:00:00.000Z',
  finishedAt: null,
}

const event = (kind: Event['kind'], data: PipelineEventData = RUN) => ({seq: 12, kind, at: '2026-06-01T12:10:00.000Z', project: 'shop', environment: null, releaseId: null, taskId: null, data}) as Event

describe('notifications of pipeline runs', () => {
  it('a run that waits for approval says who may approve it, and the command', () => {
    expect(nextCommand(event('pipeline.waiting'))).toBe('relctl pipeline approve 7   (or: relctl pipeline reject 7)')
    const slack = slackMessage(event('pipeline.waiting'), 'https://relctl.example')
    expect(slack.text).toBe('relctl: pipeline run 7 (main) waits: waits for approval of stage 3 (prod): relctl pipeline approve 7 (by someone other than ci, who created the run) in shop')
    expect(JSON.stringify(slack.blocks)).toContain(':hourglass_flowing_sand:')
  })

  it('any other news of a run points at pipeline show', () => {
    const failed = {...RUN, status: 'failed' as const, waitingFor: null, error: 'stage 1 (dev) failed: release 3 (dev) failed: task failed: api'}
    expect(nextCommand(event('pipeline.failed', failed))).toBe('relctl pipeline show 7')
    expect(slackMessage(event('pipeline.failed', failed), 'https://relctl.example').text).toBe('relctl: pipeline run 7 (main) failed: stage 1 (dev) failed: release 3 (dev) failed: task failed: api in shop')
    expect(nextCommand(event('pipeline.waiting', {...RUN, waitingFor: {reason: 'soak', stage: 2, message: 'soak of stage 2 (staging), 10m: …', until: '2026-06-01T12:20:00.000Z'}}))).toBe('relctl pipeline show 7')
  })
})

describe('notifications of releases', () => {
  const pending = {
    seq: 40,
    kind: 'release.pending_approval',
    at: '2026-06-01T12:00:00.000Z',
    project: 'shop',
    environment: 'prod',
    releaseId: 42,
    taskId: null,
    data: {
      id: 42,
      project: 'shop',
      environment: 'prod',
      type: 'selective',
      status: 'pending_approval',
      resources: [{name: 'api', action: 'update', fromVersion: '1.4.2', toVersion: '1.5.0'}],
      triggeredBy: 'ada',
      source: 'cli',
      error: null,
      decision: null,
    },
  } as unknown as Event

  it('a release that waits for approval gives the command to approve it (or reject it), in the Slack message too', () => {
    expect(nextCommand(pending)).toBe('relctl release approve 42   (or: relctl release reject 42)')
    const slack = slackMessage(pending, 'https://relctl.example')
    const blocks = JSON.stringify(slack.blocks)
    expect(blocks).toContain(':raised_hand:')
    expect(blocks).toContain('`relctl release approve 42   (or: relctl release reject 42)`')
    expect(blocks).toContain('*Triggered by*\\nada (cli)')
    expect(blocks).toContain('*Resources*\\napi')
  })
})
