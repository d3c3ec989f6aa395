// Helpers shared by the schedule e2e tests (schedules.test.ts, schedules-restart.test.ts).
import {expect} from 'vitest'

import {api, type Server, startServer, tempDir} from './harness.js'

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

/** The schedule as `schedule show --json` prints it (read through the API: a CLI run is a process start). */
export async function schedule(server: Server, scope = STAGING) {
  const [, project, , environment] = scope
  return api(`/v1/projects/${project}/environments/${environment}/schedule`, {server})
}

export async function runs(server: Server): Promise<Run[]> {
  return (await api(SCHEDULE, {server})).runs
}

/** Releases the schedule made, oldest first. */
export async function scheduledReleases(server: Server) {
  const all = await api('/v1/releases?project=sched-app&environment=staging&limit=1000', {server})
  return all.filter((release: {source: string}) => release.source === 'schedule').reverse()
}

export function expectUniqueSlots(list: Run[]) {
  const slots = list.map((run) => run.slotAt)
  expect(new Set(slots).size, JSON.stringify(list, null, 1)).toBe(slots.length)
}
