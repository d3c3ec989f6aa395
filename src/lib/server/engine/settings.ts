// Settings: control-plane and environment settings (parallel releases, max parallel, approval), their
// history, and the rule that parallel releases and the approval workflow exclude each other. A change
// admits again where it may let a release start.
import type {SetApprovalRequest, SetParallelRequest, SetQueueRequest, SettingsChange, SettingsView} from '../../api/schemas.js'
import {invalid} from '../errors.js'
import type {SettingsRecord} from '../store/store.js'
import type {EngineContext} from './context.js'
import {nowOf} from './context.js'
import {settingsChanged} from './rules/events.js'
import {effectiveSettingsOf, requireProjectEnvironment} from './lookups.js'
import {effectiveSettings, exclusivityViolation, type Scope, scopeName} from './rules/settings.js'
import type {RunCoordinator} from './runs/coordinator.js'
import {transitionRelease} from './runs/transitions.js'

const SETTINGS_HISTORY = 20

export class Settings {
  constructor(
    private readonly ctx: EngineContext,
    private readonly runs: RunCoordinator,
  ) {}

  async getSettings(project?: string, environment?: string): Promise<SettingsView> {
    return this.settingsView(await this.requireScope(project, environment))
  }

  async setParallel(request: SetParallelRequest, subject: string): Promise<SettingsView> {
    if (request.enabled === undefined && request.max === undefined) throw invalid('nothing to change', 'pass --enabled or --disabled, and/or --max N')
    return this.changeSettings(request, {parallel: request.enabled, maxParallel: request.max}, subject)
  }

  async setApproval(request: SetApprovalRequest, subject: string): Promise<SettingsView> {
    if (request.enabled === undefined && request.required === undefined) throw invalid('nothing to change', 'pass --enabled or --disabled, and/or --required N')
    return this.changeSettings(request, {approval: request.enabled, approvalsRequired: request.required}, subject)
  }

  /** fifo or supersede: what a new release does to the queued releases its lock set covers (nothing, or cancel them). */
  async setQueue(request: SetQueueRequest, subject: string): Promise<SettingsView> {
    return this.changeSettings(request, {queueMode: request.mode}, subject)
  }

  private async requireScope(project: string | undefined, environment: string | undefined): Promise<Scope> {
    if (!project && !environment) return {project: null, environment: null}
    if (!project) throw invalid('an environment needs its project', 'pass --project too')
    if (!environment) throw invalid('settings are per environment or for the whole control plane', 'pass --environment too, or neither')
    await requireProjectEnvironment(this.ctx.store, project, environment)
    return {project, environment}
  }

  private async settingsView(scope: Scope): Promise<SettingsView> {
    const {store} = this.ctx
    const controlPlane = await store.getSettings(null, null)
    const own = scope.project ? await store.getSettings(scope.project, scope.environment) : null
    const settings = effectiveSettings(controlPlane, own)
    return {scope, ...settings, history: await store.listSettingsChanges(scope.project, scope.environment, SETTINGS_HISTORY)}
  }

  private async changeSettings(
    request: {project?: string; environment?: string},
    patch: Partial<Pick<SettingsRecord, 'parallel' | 'maxParallel' | 'approval' | 'approvalsRequired' | 'queueMode'>>,
    subject: string,
  ): Promise<SettingsView> {
    const scope = await this.requireScope(request.project, request.environment)
    const now = nowOf(this.ctx)
    const pendingMaySettle = await this.ctx.store.transaction(async (tx) => {
      const current = (await tx.getSettings(scope.project, scope.environment)) ?? {
        ...scope,
        parallel: null,
        maxParallel: null,
        approval: null,
        approvalsRequired: null,
        queueMode: null,
        updatedBy: subject,
        updatedAt: now,
      }
      const next: SettingsRecord = {...current, updatedBy: subject, updatedAt: now}
      const changes: SettingsChange[] = []
      for (const key of ['parallel', 'maxParallel', 'approval', 'approvalsRequired', 'queueMode'] as const) {
        const value = patch[key]
        if (value === undefined || value === current[key]) continue
        ;(next as unknown as Record<string, unknown>)[key] = value
        changes.push({...scope, setting: key, oldValue: current[key] === null ? null : String(current[key]), newValue: String(value), changedBy: subject, changedAt: now})
      }
      const rows = (await tx.listSettings()).filter((row) => row.project !== scope.project || row.environment !== scope.environment)
      const violation = exclusivityViolation([...rows, next])
      if (violation) {
        const where = scopeName(violation.scope)
        const flags = violation.scope.project ? ` -p ${violation.scope.project} -e ${violation.scope.environment}` : ''
        const refusal = patch.parallel
          ? `parallel releases cannot be turned on: the approval workflow is on for ${where}`
          : `the approval workflow cannot be turned on: parallel releases are on for ${where}`
        throw invalid(
          `${refusal}, and the two exclude each other (a release pending approval cannot run in parallel)`,
          patch.parallel ? `turn the approval workflow off first: relctl settings set-approval --disabled${flags}` : `turn parallel releases off first: relctl settings set-parallel --disabled${flags}`,
        )
      }
      await tx.saveSettings(next, changes)
      if (changes.length > 0) await tx.appendEvents([settingsChanged(next, changes)])
      // Releases pending approval may be ready to queue: the workflow went off, or fewer approvers are needed.
      return (patch.approval === false && current.approval !== false) || changes.some((change) => change.setting === 'approvalsRequired')
    })
    this.ctx.log.info({scope, patch, by: subject}, 'settings changed')
    const environments = scope.project ? [{project: scope.project, environment: scope.environment as string}] : await this.allEnvironments()
    for (const {project, environment} of environments) {
      if (pendingMaySettle) await this.settlePendingApprovals(project, environment, subject)
      else await this.runs.admit(project, environment)
    }
    return this.settingsView(scope)
  }

  /**
   * Releases pending approval go to the queue where the approval workflow is now off, or where they
   * have as many approvers as are now required.
   */
  private async settlePendingApprovals(project: string, environment: string, subject: string) {
    await this.runs.turn(project, environment, async (tx) => {
      const settings = await effectiveSettingsOf(tx, project, environment)
      const required = settings.approvalsRequired.value
      for (const release of await tx.listReleases({project, environment, statuses: ['pending_approval']})) {
        const approvals = settings.approval.value ? (await tx.listApprovals(release.id)).length : 0
        if (settings.approval.value && approvals < required) continue
        const comment = settings.approval.value
          ? `it has ${approvals} approval${approvals === 1 ? '' : 's'}; ${required} ${required === 1 ? 'is' : 'are'} now required`
          : 'the approval workflow was turned off'
        await transitionRelease(tx, release.id, ['pending_approval'], 'queued', {decision: {decision: 'approved', by: subject, at: nowOf(this.ctx), comment}})
      }
    })
  }

  private async allEnvironments(): Promise<{project: string; environment: string}[]> {
    const all: {project: string; environment: string}[] = []
    for (const project of await this.ctx.store.listProjects()) {
      for (const environment of await this.ctx.store.listEnvironments(project.name)) all.push({project: project.name, environment: environment.name})
    }
    return all
  }
}
