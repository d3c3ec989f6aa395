// Helpers shared by the pipeline e2e tests (not a test file itself): the deploys' own record of when
// they ran, and reading runs through the CLI.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {expect} from 'vitest'

import {must, type RunOptions, waitFor} from './harness.js'

export interface Deploy {
  release: number
  environment: string
  resource: string
  target: string
  start: number
  end: number
}

/** The deploys test/fixtures/pipelines/scripts/deploy.sh recorded, with their start and end (ns) taken from exec.log. */
export function deploys(state: string): Deploy[] {
  const started = new Map<string, number>()
  const done: Deploy[] = []
  for (const line of readFileSync(join(state, 'exec.log'), 'utf8').trim().split('\n')) {
    const [what, release, environment, resource, target, ns] = line.split(' ')
    const key = `${release} ${environment} ${resource} ${target}`
    if (what === 'start') started.set(key, Number(ns))
    else done.push({release: Number(release), environment, resource, target, start: started.get(key) as number, end: Number(ns)})
  }
  return done
}

/** Each deploy of `later` started after every deploy of `earlier` had ended. */
export function allAfter(later: Deploy[], earlier: Deploy[]) {
  const lastEnd = Math.max(...earlier.map((deploy) => deploy.end))
  for (const deploy of later) expect(deploy.start, `${deploy.environment}/${deploy.resource}@${deploy.target} starts after ${earlier.map((d) => `${d.environment}/${d.resource}@${d.target}`).join(', ')} ended`).toBeGreaterThanOrEqual(lastEnd)
}

/** The deploys ran together: each started before every other one ended. */
export function together(group: Deploy[]) {
  for (const a of group) for (const b of group) if (a !== b) expect(a.start, `${a.resource}@${a.target} starts before ${b.resource}@${b.target} ends`).toBeLessThan(b.end)
}

export interface RunView {
  id: number
  status: string
  pipeline: string
  stage: number
  step: number
  error: string | null
  createdBy: string
  supersededBy: number | null
  waitingFor: {reason: string; message: string; stage?: number; until?: string; leftMs?: number; runs?: number[]} | null
  approvals: {stage: number; by: string; comment: string | null}[]
  stages: {
    stage: number
    status: string
    environments: string[]
    steps: {
      step: number
      service: string | null
      status: string
      environments: {
        environment: string
        apps: {name: string; version: string}[]
        release: {id: number; status: string; source: string; triggeredBy: string; createdAt: string; startedAt: string | null; finishedAt: string | null; options: Record<string, unknown>} | null
        rollback: {id: number; status: string} | null
        note: string | null
      }[]
    }[]
  }[]
}

/** `relctl pipeline show ID --json` */
export async function showRun(id: number, options: RunOptions = {}): Promise<RunView> {
  return (await must(['pipeline', 'show', String(id), '--json'], options)).json()
}

/** Waits (by looking with the CLI's JSON) until the run satisfies `until`; returns it. */
export function runUntil(id: number, until: (run: RunView) => boolean, what: string, options: RunOptions & {timeoutMs?: number} = {}): Promise<RunView> {
  return waitFor(
    async () => {
      const run = await showRun(id, options)
      return until(run) ? run : null
    },
    {what: `pipeline run ${id}: ${what}`, timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 200},
  )
}

/** The releases of a run by environment (the deploy ones), in step order. */
export function releasesOf(run: RunView): {environment: string; step: number; id: number; status: string; createdAt: string; finishedAt: string | null}[] {
  return run.stages.flatMap((stage) =>
    stage.steps.flatMap((step) =>
      step.environments.flatMap((environment) =>
        environment.release ? [{environment: environment.environment, step: step.step, id: environment.release.id, status: environment.release.status, createdAt: environment.release.createdAt, finishedAt: environment.release.finishedAt}] : [],
      ),
    ),
  )
}

/** The run id a `pipeline run` printed on stdout (without --json). */
export function runIdOf(stdout: string): number {
  const id = Number(stdout.trim())
  if (!Number.isInteger(id) || id < 1) throw new Error(`no run id in: ${stdout}`)
  return id
}
