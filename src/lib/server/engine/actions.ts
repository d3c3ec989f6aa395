// Actions on one release: cancel, approve, reject; and on one app: a new desired version.
import {setTimeout as delay} from 'node:timers/promises'

import type {AppState, Release} from '../../api/schemas.js'
import {forbidden, invalid, notFound} from '../errors.js'
import type {ReleaseRecord} from '../store/store.js'
import {refuseBlockedVersions} from './blocks.js'
import type {EngineContext} from './context.js'
import {nowOf} from './context.js'
import {effectiveSettingsOf, releaseNotFound, requireProjectEnvironment} from './lookups.js'
import type {RunCoordinator} from './runs/coordinator.js'
import {changeApp, transitionRelease} from './runs/transitions.js'
import type {Views} from './views.js'

/** How long a cancel answered by a replica that does not run the release waits for its owner to stop it. */
const CANCEL_ANSWER_WAIT_MS = 5000
const CANCEL_POLL_MS = 100

export class Actions {
  constructor(
    private readonly ctx: EngineContext,
    private readonly runs: RunCoordinator,
    private readonly views: Views,
  ) {}

  async cancel(id: number, subject: string): Promise<Release> {
    const release = await this.ctx.store.getRelease(id)
    if (!release) throw releaseNotFound(id)
    if (release.status === 'running') {
      const runsHere = this.runs.runOf(id) !== undefined
      if ((await this.runs.cancelRun(id, subject)) && !runsHere) await this.endOf(id)
      return this.views.getRelease(id)
    }
    const cancelled = await this.runs.turn(release.project, release.environment, (tx) =>
      transitionRelease(tx, id, ['queued', 'pending_approval'], 'cancelled', {finishedAt: nowOf(this.ctx), error: `cancelled by ${subject} before it started`}),
    )
    if (!cancelled) {
      const current = await this.ctx.store.getRelease(id)
      if (current?.status === 'running') return this.cancel(id, subject)
      throw invalid(`release ${id} is already ${(current?.status ?? release.status).replace('_', ' ')}; there is nothing to cancel`)
    }
    this.ctx.log.info({releaseId: id, by: subject}, 'queued release cancelled')
    return this.views.getRelease(id)
  }

  /** Waits a little for a release that another replica was asked to stop, so that the answer can say it ended. */
  private async endOf(id: number): Promise<void> {
    const deadline = Date.now() + CANCEL_ANSWER_WAIT_MS
    while (Date.now() < deadline) {
      const current = await this.ctx.store.getRelease(id)
      if (!current || current.status !== 'running') return
      await delay(CANCEL_POLL_MS)
    }
  }

  /**
   * Approves or rejects a release pending approval. An approval is one approver's: the release joins the
   * queue (and is admitted) once it has as many distinct approvers as its environment requires; its author
   * cannot be one of them. One rejection rejects it.
   */
  async decide(id: number, decision: 'approved' | 'rejected', subject: string, comment: string | null): Promise<Release> {
    const release = await this.ctx.store.getRelease(id)
    if (!release) throw releaseNotFound(id)
    if (release.status !== 'pending_approval') throw notPending(release, decision)
    const scope = `${release.project}/${release.environment}`
    if (decision === 'approved' && release.triggeredBy === subject) {
      throw forbidden(`token ${subject} triggered release ${id}; the author of a release cannot approve it`, `another approver of ${scope} must approve it`)
    }
    const at = nowOf(this.ctx)
    const done = await this.runs.turn(release.project, release.environment, async (tx) => {
      const current = (await tx.getRelease(id)) as ReleaseRecord
      if (current.status !== 'pending_approval') return false
      if (decision === 'rejected') {
        return transitionRelease(tx, id, ['pending_approval'], 'rejected', {
          decision: {decision, by: subject, at, comment},
          finishedAt: at,
          error: `rejected by ${subject}${comment ? `: ${comment}` : ''}`,
        })
      }
      const required = (await effectiveSettingsOf(tx, release.project, release.environment)).approvalsRequired.value
      if (!(await tx.addApproval(id, {by: subject, at, comment}))) {
        const approvals = await tx.listApprovals(id)
        throw invalid(
          `${subject} has approved release ${id} already; it needs ${required} distinct approvers and has ${approvals.length} (${approvals.map((approval) => approval.by).join(', ')})`,
          `another approver of ${scope} must approve it`,
        )
      }
      if ((await tx.listApprovals(id)).length < required) return true
      return transitionRelease(tx, id, ['pending_approval'], 'queued', {decision: {decision, by: subject, at, comment}})
    })
    if (!done) throw notPending((await this.ctx.store.getRelease(id)) as ReleaseRecord, decision)
    this.ctx.log.info({releaseId: id, decision, by: subject}, 'release decided')
    return this.views.getRelease(id)
  }

  async setDesiredVersion(projectName: string, environment: string, name: string, version: string): Promise<AppState> {
    const project = await requireProjectEnvironment(this.ctx.store, projectName, environment)
    const apps = await this.ctx.store.listApps(project.name, environment)
    const app = apps.find((candidate) => candidate.name === name)
    if (!app) throw notFound('app', name, apps.map((candidate) => candidate.name))
    if (app.removed) throw invalid(`app "${name}" was removed from the blueprint`, 'add it back to the blueprint, or delete it with a release using --allow-destructive')
    await refuseBlockedVersions(this.ctx.store, project.name, [{name, toVersion: version}], `${name} cannot be set to ${version}`)
    await changeApp(this.ctx.store, project.name, environment, name, {desiredVersion: version}, nowOf(this.ctx))
    return (await this.views.appStates(project.name, environment)).find((state) => state.name === name) as AppState
  }
}

function notPending(release: ReleaseRecord, decision: 'approved' | 'rejected') {
  return invalid(
    `release ${release.id} is ${release.status.replace('_', ' ')}; only a release pending approval can be ${decision}`,
    release.decision ? `it was ${release.decision.decision} by ${release.decision.by} at ${release.decision.at}` : undefined,
  )
}
