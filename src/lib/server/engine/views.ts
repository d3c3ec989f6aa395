// Read models: what the API shows of projects, environments, apps and releases. What is derived and not
// stored is worked out here: an app's sync and stability, a queued release's position and what it waits
// for (the admission rule run again on the environment's queue).
import {ACTIVE_STATUSES, appSync, isQueueListing, type ReleaseStatus} from '../../api/domain.js'
import type {AppHistoryEntry, AppState, Environment, LogsResponse, Release, Schedule, WaitingFor} from '../../api/schemas.js'
import {plainEnvironment} from '../blueprint/blueprint.js'
import {notFound} from '../errors.js'
import type {ProjectRecord, ReleaseFilter, ReleaseRecord} from '../store/store.js'
import type {EngineContext} from './context.js'
import {nowOf} from './context.js'
import {effectiveSettingsOf, inBlueprintOrder, policyFor, releaseNotFound, requireEnvironment, requireProject, requireProjectEnvironment} from './lookups.js'
import {type ActiveRelease, decideAdmission, queuePositions, type QueueStanding} from './rules/admission.js'
import {windowsOf} from './rules/freeze-rules.js'
import {touches} from './rules/locks.js'
import {environmentKey} from './runs/turns.js'

const SCHEDULE_RUNS_SHOWN = 20

export class Views {
  /** the last decision per environment, with the inputs it was made on */
  private readonly lastDecisions = new Map<string, {inputs: string; decision: Promise<QueueStanding>}>()
  /** the last decision made on a listed head of each environment's queue, with the head and the inputs */
  private readonly lastHeadDecisions = new Map<string, {inputs: string; head: ActiveRelease[]; decision: QueueStanding}>()
  /** the view of each listed release (the store shares unchanged records), with where it waited */
  private readonly views = new WeakMap<ReleaseRecord, {queue: QueuePlace | undefined; view: Release}>()
  /**
   * The last answer to each listing (by its filter): the same records under the same decisions give the
   * same array again, which the HTTP layer finds its JSON by. Polling clients list the same queue again
   * and again while little moves.
   */
  private readonly lastListings = new Map<string, {records: ReleaseRecord[]; decisions: Map<string, QueueStanding>; views: Release[]}>()

  constructor(
    private readonly ctx: EngineContext,
    /** how many more releases the engine can start now: a queued release may wait for capacity */
    private readonly freeCapacity: () => number,
  ) {}

  async listProjects() {
    return Promise.all((await this.ctx.store.listProjects()).map((project) => this.projectView(project)))
  }

  async getProject(name: string) {
    return this.projectView(await requireProject(this.ctx.store, name))
  }

  async projectView(project: ProjectRecord) {
    return {
      name: project.name,
      file: project.file,
      baseDir: project.baseDir,
      environments: inBlueprintOrder(project, await this.ctx.store.listEnvironments(project.name)).map((environment) => environment.name),
      resources: project.blueprint.resources.map((spec) => ({
        name: spec.name,
        kind: spec.kind,
        driver: spec.driver,
        dependsOn: spec.dependsOn,
        version: spec.version,
      })),
      createdAt: project.createdAt,
      appliedAt: project.appliedAt,
    }
  }

  async listEnvironments(projectName: string): Promise<Environment[]> {
    const project = await requireProject(this.ctx.store, projectName)
    const environments = inBlueprintOrder(project, await this.ctx.store.listEnvironments(project.name))
    return Promise.all(environments.map((environment) => this.environmentView(project.name, environment.name, environment.createdAt)))
  }

  async getEnvironment(projectName: string, name: string): Promise<Environment> {
    const project = await requireProjectEnvironment(this.ctx.store, projectName, name)
    const environment = await this.ctx.store.getEnvironment(project.name, name)
    return this.environmentView(project.name, name, environment?.createdAt ?? nowOf(this.ctx))
  }

  private async environmentView(project: string, name: string, createdAt: string): Promise<Environment> {
    const {store} = this.ctx
    const settings = await effectiveSettingsOf(store, project, name)
    const now = this.ctx.clock()
    const policy = await policyFor(store, project, name, now)
    const spec = (await store.getProject(project))?.blueprint.environments.find((environment) => environment.name === name)
    const apps = await this.appStates(project, name)
    const active = await store.listReleases({project, environment: name, statuses: ACTIVE_STATUSES})
    return {
      project,
      name,
      settings: {parallel: settings.parallel.value, maxParallel: settings.maxParallel.value, approval: settings.approval.value, approvalsRequired: settings.approvalsRequired.value},
      targets: spec?.targets ?? [],
      rollout: spec?.rollout ?? plainEnvironment(name).rollout,
      paused: policy.pause !== null,
      pauses: await store.listPauses(project, name),
      frozen: policy.freeze !== null,
      freezes: windowsOf(await store.freezesFor(project, name, now.toISOString()), now),
      schedule: await this.scheduleView(project, name),
      apps: {
        total: apps.length,
        synced: apps.filter((app) => app.sync === 'Synced').length,
        healthy: apps.filter((app) => app.health === 'Healthy').length,
      },
      activeReleases: active.reverse().map((release) => ({id: release.id, status: release.status, type: release.type})),
      createdAt,
    }
  }

  async scheduleView(project: string, environment: string): Promise<Schedule | null> {
    const schedule = await this.ctx.store.getSchedule(project, environment)
    if (!schedule) return null
    return {...schedule, runs: await this.ctx.store.listScheduleRuns(project, environment, SCHEDULE_RUNS_SHOWN)}
  }

  async listApps(projectName: string, environment: string): Promise<AppState[]> {
    const project = await requireProjectEnvironment(this.ctx.store, projectName, environment)
    return this.appStates(project.name, environment)
  }

  async appStates(project: string, environment: string): Promise<AppState[]> {
    const {store} = this.ctx
    const [apps, active, last, blocked] = await Promise.all([
      store.listApps(project, environment),
      store.listReleases({project, environment, statuses: ACTIVE_STATUSES}),
      store.lastReleasePerApp(project, environment),
      store.listBlockedVersions(project),
    ])
    const order = (await store.getProject(project))?.blueprint.resources.map((spec) => spec.name) ?? []
    const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length)
    return apps
      .sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name))
      .map((app) => {
        const sync = appSync(app)
        const activeReleases = active
          .filter((release) => touches(release.lockSet, app.name))
          .reverse()
          .map((release) => ({id: release.id, status: release.status, type: release.type}))
        return {
          name: app.name,
          kind: app.kind,
          desiredVersion: app.desiredVersion,
          deployedVersion: app.deployedVersion,
          sync,
          health: app.health,
          removedFromBlueprint: app.removed,
          drift: app.drift,
          activeReleases,
          lastRelease: last.get(app.name) ?? null,
          stable: sync === 'Synced' && app.health === 'Healthy' && activeReleases.length === 0,
          blockedVersions: blocked.filter((block) => block.app === app.name),
          updatedAt: app.updatedAt,
        }
      })
  }

  async appHistory(projectName: string, environment: string, app: string, limit: number): Promise<AppHistoryEntry[]> {
    const project = await requireProjectEnvironment(this.ctx.store, projectName, environment)
    const apps = await this.ctx.store.listApps(project.name, environment)
    if (!apps.some((candidate) => candidate.name === app)) throw notFound('app', app, apps.map((candidate) => candidate.name), undefined, `${project.name}/${environment}`)
    return this.ctx.store.appHistory(project.name, environment, app, limit)
  }

  async getRelease(id: number): Promise<Release> {
    const release = await this.ctx.store.getRelease(id)
    if (!release) throw releaseNotFound(id)
    const [annotated] = this.annotate([release], await this.decisionsFor([release]))
    const tasks = (await this.ctx.store.listTasks(id)).map(({releaseId: _releaseId, ...task}) => task)
    const approvals = await this.ctx.store.listApprovals(id)
    if (annotated.waitingFor?.reason === 'approval') {
      const required = (await effectiveSettingsOf(this.ctx.store, release.project, release.environment)).approvalsRequired.value
      if (required > 1 || approvals.length > 0) {
        const more = required - approvals.length
        annotated.waitingFor = {
          ...annotated.waitingFor,
          message: `waits for ${more} more approval${more === 1 ? '' : 's'} (${approvals.length} of ${required}${approvals.length > 0 ? `: ${approvals.map((approval) => approval.by).join(', ')}` : ''}; its author ${release.triggeredBy} cannot approve): relctl release approve ${id}`,
        }
      }
    }
    return {...annotated, approvals, tasks}
  }

  /**
   * A release that waits in its queue, as getRelease shows it, from a decision already made on that
   * queue (the turn's that queued it): it has no tasks yet, which come with its claim.
   */
  waitingRelease(release: ReleaseRecord, queue: QueueStanding): Release | null {
    const position = queue.positions.get(release.id)
    // A wait for approval counts its approvals, which getRelease reads.
    if (position === undefined || queue.waiting.get(release.id)?.reason === 'approval') return null
    return {...releaseView(release, {queuePosition: position, waitingFor: queue.waiting.get(release.id)}), tasks: []}
  }

  async listReleases(filter: {project?: string; environment?: string; statuses?: ReleaseStatus[]; limit: number; order?: 'asc' | 'desc'}): Promise<Release[]> {
    if (filter.project) {
      const project = await requireProject(this.ctx.store, filter.project)
      if (filter.environment) await requireEnvironment(this.ctx.store, project, filter.environment)
    }
    const releases = await this.ctx.store.listReleases(filter)
    const key = JSON.stringify([filter.project, filter.environment, filter.statuses, filter.limit, filter.order])
    const decisions = await this.decisionsFor(releases, await this.queueHead(filter, releases))
    const last = this.lastListings.get(key)
    if (last && sameItems(last.records, releases) && sameDecisions(last.decisions, decisions)) return last.views
    const views = this.annotate(releases, decisions)
    this.lastListings.delete(key)
    if (this.lastListings.size >= LISTINGS_KEPT) this.lastListings.delete(this.lastListings.keys().next().value as string)
    this.lastListings.set(key, {records: releases, decisions, views})
    return views
  }

  /**
   * The active releases of the environment up to the last one listed, when the list is the head of its
   * queue (every active status, oldest first): with the running releases after it, that is all that
   * decides for the listed ones, so the queue need not be read again.
   */
  private async queueHead(filter: ReleaseFilter, listed: ReleaseRecord[]): Promise<ActiveRelease[] | undefined> {
    if (!isQueueListing(filter)) return undefined
    const head = listed.map(({id, status, lockSet}) => ({id, status: status as ActiveRelease['status'], lockSet}))
    if (filter.limit === undefined || listed.length < filter.limit) return head
    const last = listed.length > 0 ? listed[listed.length - 1].id : 0
    const runningAfter = await this.ctx.store.listReleases({project: filter.project, environment: filter.environment, statuses: ['running'], order: 'asc'})
    return [...head, ...runningAfter.filter((release) => release.id > last).map(({id, lockSet}) => ({id, status: 'running' as const, lockSet}))]
  }

  /**
   * Queue positions and why each waits in one environment: decided on the queue head given, else on the
   * whole queue, which is read again only when its mark, the policy or the free capacity moved since
   * the last decision there (the answers to a burst of triggers share one read). A head, policy and
   * capacity the same as the last time give the last decision again.
   */
  private async queueDecision(project: string, environment: string, queueHead?: ActiveRelease[]): Promise<QueueStanding> {
    const {store} = this.ctx
    const mark = queueHead ? null : await store.activeMark(project, environment)
    const policy = await policyFor(store, project, environment, this.ctx.clock())
    const capacity = this.freeCapacity()
    const key = environmentKey(project, environment)
    const inputs = `${mark}\u0000${capacity}\u0000${JSON.stringify(policy)}`
    if (queueHead) {
      const lastHead = this.lastHeadDecisions.get(key)
      // The store shares the lock sets of unchanged releases: the same objects.
      if (lastHead?.inputs === inputs && sameHead(lastHead.head, queueHead)) return lastHead.decision
      const decision = {positions: queuePositions(queueHead), waiting: decideAdmission(queueHead, policy, capacity).waiting}
      this.lastHeadDecisions.set(key, {inputs, head: queueHead, decision})
      return decision
    }
    const last = this.lastDecisions.get(key)
    // A read under way on the same inputs is shared: it began after its own mark was read.
    if (last?.inputs === inputs) return last.decision
    const decision = (async () => {
      const active = await store.activeLocks(project, environment)
      return {positions: queuePositions(active), waiting: decideAdmission(active, policy, capacity).waiting}
    })()
    this.lastDecisions.set(key, {inputs, decision})
    decision.catch(() => {
      if (this.lastDecisions.get(key)?.decision === decision) this.lastDecisions.delete(key)
    })
    return decision
  }

  /** The queue decision of each environment where a listed release waits. */
  private async decisionsFor(releases: ReleaseRecord[], queueHead?: ActiveRelease[]): Promise<Map<string, QueueStanding>> {
    const decisions = new Map<string, QueueStanding>()
    for (const release of releases) {
      if (!ACTIVE_STATUSES.includes(release.status) || release.status === 'running') continue
      const key = environmentKey(release.project, release.environment)
      if (decisions.has(key)) continue
      decisions.set(key, await this.queueDecision(release.project, release.environment, queueHead))
    }
    return decisions
  }

  /** Adds what is derived, not stored: queue position and why a queued release waits. */
  private annotate(releases: ReleaseRecord[], decisions: Map<string, QueueStanding>): Release[] {
    return releases.map((release) => {
      const decision = decisions.size > 0 ? decisions.get(environmentKey(release.project, release.environment)) : undefined
      const position = decision?.positions.get(release.id)
      const queue = position === undefined ? undefined : {queuePosition: position, waitingFor: decision?.waiting.get(release.id)}
      // An unchanged release in the same place keeps its view: a listing of a queue that did not move
      // builds nothing again (and the HTTP layer finds its JSON by the view itself).
      const kept = this.views.get(release)
      if (kept && kept.queue?.queuePosition === queue?.queuePosition && kept.queue?.waitingFor === queue?.waitingFor) return kept.view
      const view = releaseView(release, queue)
      this.views.set(release, {queue, view})
      return view
    })
  }

  async readLogs(id: number, after: number, limit: number, filter: {resource?: string; target?: string} = {}): Promise<LogsResponse> {
    const release = await this.ctx.store.getRelease(id)
    if (!release) throw releaseNotFound(id)
    const lines = await this.ctx.store.readLogs(id, after, limit, filter)
    return {
      lines: lines.map(({releaseId: _releaseId, ...line}) => line),
      next: lines.length > 0 ? lines[lines.length - 1].id : after,
      releaseStatus: release.status,
      logsDeletedAt: await this.ctx.store.logsDeletedAt(id),
    }
  }
}

/**
 * A release as the API shows it: its record without what only the engine keeps (the lock set, the
 * lease), and where it waits in its queue. Built field by field: a listing builds a thousand of them.
 */
interface QueuePlace {
  queuePosition: number
  waitingFor: WaitingFor | undefined
}

/** How many listings (filters) keep their last answer. */
const LISTINGS_KEPT = 64

/** The same objects in the same order. */
function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false
  return true
}

/** The same decision object for each environment. */
function sameDecisions(a: Map<string, QueueStanding>, b: Map<string, QueueStanding>): boolean {
  if (a.size !== b.size) return false
  for (const [key, decision] of a) if (b.get(key) !== decision) return false
  return true
}

/** The same releases in the same states and order, each locking the same (shared) lock set. */
function sameHead(a: ActiveRelease[], b: ActiveRelease[]): boolean {
  if (a.length !== b.length) return false
  for (let index = 0; index < a.length; index++) {
    if (a[index].id !== b[index].id || a[index].status !== b[index].status || a[index].lockSet !== b[index].lockSet) return false
  }
  return true
}

function releaseView(record: ReleaseRecord, queue?: QueuePlace): Release {
  const view: Release = {
    id: record.id,
    project: record.project,
    environment: record.environment,
    type: record.type,
    status: record.status,
    resources: record.resources,
    refresh: record.refresh,
    force: record.force,
    allowDestructive: record.allowDestructive,
    comment: record.comment,
    triggeredBy: record.triggeredBy,
    source: record.source,
    idempotencyKey: record.idempotencyKey,
    error: record.error,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    decision: record.decision,
    options: record.options,
    replica: record.replica,
    endReason: record.endReason,
    freezeOverride: record.freezeOverride,
    deadlineAt: record.deadlineAt,
    expiresAt: record.expiresAt,
  }
  if (queue) {
    view.queuePosition = queue.queuePosition
    if (queue.waitingFor) view.waitingFor = queue.waitingFor
  }
  return view
}
