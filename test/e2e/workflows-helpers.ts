// Small helpers shared by workflows.test.ts and workflows-plan.test.ts (not a test file itself).
import {expect} from 'vitest'

import {api, must, type RunResult} from './harness.js'

export interface TaskView {
  key: string
  kind: 'deploy' | 'hook'
  resource: string | null
  hook: string | null
  target: string | null
  step: string | null
  action: string
  fromVersion: string | null
  toVersion: string | null
  level: number
  status: string
  error: string | null
  startedAt: string | null
  finishedAt: string | null
}

export interface ReleaseView {
  id: number
  type: string
  status: string
  error: string | null
  refresh: boolean
  startedAt: string | null
  finishedAt: string | null
  resources: {name: string; action: string; fromVersion: string | null; toVersion: string | null}[]
  options: Record<string, unknown>
  tasks: TaskView[]
}

/** A duration as `release show` prints it: "312ms" or "1.0s". */
export const DURATION = '(?:\\d+ms|\\d+\\.\\ds)'

/** The release id in a trigger's / sync's / rollback's output ("Release 12 (full: ...) is running"). */
export function releaseIdOf(result: RunResult): number {
  const match = /Release (\d+)/.exec(`${result.stderr}\n${result.stdout}`)
  if (!match) throw new Error(`no release id in:\n${result}`)
  return Number(match[1])
}

/** `relctl release show ID --json` */
export async function showJson(id: number): Promise<ReleaseView> {
  return (await must(['release', 'show', String(id), '--json'])).json()
}

/** The task of a release by key; fails the test when there is none. */
export function byKey(release: ReleaseView): (key: string) => TaskView {
  return (key) => {
    const task = release.tasks.find((candidate) => candidate.key === key)
    expect(task, `task ${key} in release ${release.id}: ${release.tasks.map((t) => t.key).join(', ')}`).toBeDefined()
    return task as TaskView
  }
}

/** An ISO time as epoch ms (throws on null: the task never started or ended). */
export function ms(iso: string | null): number {
  if (!iso) throw new Error('the task has no such time')
  return Date.parse(iso)
}

/** Setup through the API (PUT .../apps/APP/version), not an assertion: the desired versions of apps. */
export async function setVersions(project: string, environment: string, versions: Record<string, string>) {
  await Promise.all(
    Object.entries(versions).map(([app, version]) => api(`/v1/projects/${project}/environments/${environment}/apps/${app}/version`, {method: 'PUT', body: {version}})),
  )
}

/** The ids of every release, newest first, as `relctl release list --json` prints them (or through the API, for a quick check). */
export async function releaseIds(options: {cli?: boolean} = {}): Promise<number[]> {
  const releases: {id: number}[] = options.cli ? (await must(['release', 'list', '--json', '--limit', '200'])).json() : await api('/v1/releases?limit=200')
  return releases.map((release) => release.id)
}

/** `relctl app list --json [--refresh]`, by app name. */
export async function appsOf(scope: string[], refresh = false) {
  const apps: {name: string; desiredVersion: string; deployedVersion: string; sync: string; health: string; drift: unknown}[] = (
    await must(['app', 'list', ...scope, '--json', ...(refresh ? ['--refresh'] : [])])
  ).json()
  return (name: string) => apps.find((app) => app.name === name)
}
