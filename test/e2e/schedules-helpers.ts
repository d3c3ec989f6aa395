// Helpers shared by the schedule e2e tests (schedules.test.ts, schedules-restart.test.ts).
import {expect} from 'vitest'

import {api, must, type Server, startServer, tempDir} from './harness.js'

export const STAGING = ['-p', 'sched-app', '-e', 'staging']
const SCHEDULE = '/v1/projects/sched-app/environments/staging/schedule'

export interface Run {
  slotAt: string
  recordedAt: string
  outcome: 'released' | 'skipped' | 'missed'
  releaseId: number | null
  reason: string | null
}

export async function setUp(options: {dataDir?: string; state?: string} = {}) {
  const state = options.state ?? tempDir('relctl-e2e-state-')
  const server = await startServer({env: {RELCTL_TEST_STATE: state}, ...(options.dataDir && {dataDir: options.dataDir})})
  return {server, state}
}

export async function schedule(server: Server, scope = STAGING) {
  return (await must(['schedule', 'show', ...scope, '--json'], {server})).json()
}

export async function runs(server: Server): Promise<Run[]> {
  return (await api(SCHEDULE, {server})).runs
}

/** Releases the schedule made, oldest first. */
export async function scheduledReleases(server: Server) {
  const all = (await must(['release', 'list', ...STAGING, '--limit', '1000', '--json'], {server})).json()
  return all.filter((release: {source: string}) => release.source === 'schedule').reverse()
}

export function expectUniqueSlots(list: Run[]) {
  const slots = list.map((run) => run.slotAt)
  expect(new Set(slots).size, JSON.stringify(list, null, 1)).toBe(slots.length)
}
