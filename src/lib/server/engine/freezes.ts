// Freezes: windows (one-off or recurring) during which releases of the control plane, a project or an
// environment do not start. Admission reads them as one more input of the pure rule (rules/admission.ts,
// rules/freeze-rules.ts); this part adds, lists and deletes them, and wakes admission when a window ends.
import type {AddFreezeRequest, Freeze} from '../../api/schemas.js'
import {ControlPlaneError, invalid} from '../errors.js'
import type {FreezeRecord} from '../store/store.js'
import type {EngineContext} from './context.js'
import {requireEnvironment, requireProject} from './lookups.js'
import {freezeChanged} from './rules/events.js'
import {compileFreeze, levelOf, nextWindow, windowAt} from './rules/freeze-rules.js'
import type {RunCoordinator} from './runs/coordinator.js'
import {ScheduleTimer} from './schedule-timer.js'

export class Freezes {
  private readonly timer: ScheduleTimer
  /** the freezes with a window in force at the last look: when one is no longer, admission runs */
  private inForce = new Set<number>()

  constructor(
    private readonly ctx: EngineContext,
    private readonly runs: RunCoordinator,
  ) {
    this.timer = new ScheduleTimer(() => this.windowsEnded(), ctx.clock, ctx.log)
  }

  startTimer(): void {
    this.timer.start()
  }

  stopTimer(): Promise<void> {
    return this.timer.stop()
  }

  async add(request: AddFreezeRequest, subject: string): Promise<Freeze> {
    const {store} = this.ctx
    if (request.environment !== undefined && request.project === undefined) throw invalid('an environment needs its project', 'pass --project too, or --all for the whole control plane')
    if (request.project !== undefined) {
      const project = await requireProject(store, request.project)
      if (request.environment !== undefined) await requireEnvironment(store, project, request.environment)
    }
    const now = this.ctx.clock()
    const at = now.toISOString()
    const freeze = await store.transaction(async (tx) => {
      const added = await tx.insertFreeze({
        project: request.project ?? null,
        environment: request.environment ?? null,
        ...compileFreeze(request, now),
        reason: request.reason,
        createdBy: subject,
        createdAt: at,
      })
      await tx.appendEvents([freezeChanged(added, false, subject, at)])
      return added
    })
    this.ctx.log.info({freeze: freeze.id, project: freeze.project, environment: freeze.environment, by: subject}, 'freeze added')
    this.timer.wake()
    return freezeView(freeze, now)
  }

  /** The freezes in force or still to come: all of them, or those that apply to a project (or one environment). */
  async list(scope: {project?: string; environment?: string}): Promise<Freeze[]> {
    const {store} = this.ctx
    if (scope.environment !== undefined && scope.project === undefined) throw invalid('an environment filter needs a project', 'pass --project too')
    if (scope.project !== undefined) {
      const project = await requireProject(store, scope.project)
      if (scope.environment !== undefined) await requireEnvironment(store, project, scope.environment)
    }
    const now = this.ctx.clock()
    const freezes = await store.listFreezes(now.toISOString(), scope.project === undefined ? undefined : {project: scope.project, environment: scope.environment})
    return freezes.map((freeze) => freezeView(freeze, now))
  }

  private async get(id: number): Promise<FreezeRecord> {
    const freeze = await this.ctx.store.getFreeze(id)
    if (!freeze) throw new ControlPlaneError('not_found', `freeze ${id} not found`, {hint: 'list freezes with: relctl freeze list'})
    return freeze
  }

  /** Deletes a freeze; what it held may start at once. */
  async delete(id: number, subject: string): Promise<Freeze> {
    const freeze = await this.get(id)
    const now = this.ctx.clock()
    const at = now.toISOString()
    const deleted = await this.ctx.store.transaction(async (tx) => {
      if (!(await tx.deleteFreeze(id))) return false
      await tx.appendEvents([freezeChanged(freeze, true, subject, at)])
      return true
    })
    if (!deleted) throw new ControlPlaneError('not_found', `freeze ${id} not found`, {hint: 'list freezes with: relctl freeze list'})
    this.ctx.log.info({freeze: id, by: subject}, 'freeze deleted')
    await this.runs.admitEverywhere()
    return freezeView(freeze, now)
  }

  /**
   * The timer's look: admits every environment with queued releases when a window that was in force is
   * no longer; returns when the next window starts or ends. Every replica looks on its own; the lease
   * sweep admits queued releases every few seconds anyway, so a look missed costs at most that.
   */
  private async windowsEnded(): Promise<Date | null> {
    const now = this.ctx.clock()
    const freezes = await this.ctx.store.listFreezes(now.toISOString())
    const inForce = new Set<number>()
    let next: number | null = null
    const soonest = (instant: Date) => {
      if (next === null || instant.getTime() < next) next = instant.getTime()
    }
    for (const freeze of freezes) {
      const window = windowAt(freeze, now)
      if (window) {
        inForce.add(freeze.id)
        soonest(window.endsAt)
      }
      const coming = nextWindow(freeze, now)
      if (coming) soonest(coming.startsAt)
    }
    const ended = [...this.inForce].some((id) => !inForce.has(id))
    this.inForce = inForce
    if (ended) await this.runs.admitEverywhere()
    return next === null ? null : new Date(next)
  }
}

/** A freeze as the API shows it: its rule, and the window in force now and the next one. */
function freezeView(freeze: FreezeRecord, now: Date): Freeze {
  const current = windowAt(freeze, now)
  const next = nextWindow(freeze, now)
  return {
    ...freeze,
    level: levelOf(freeze),
    current: current && {startsAt: current.startsAt.toISOString(), endsAt: current.endsAt.toISOString()},
    next: next && {startsAt: next.startsAt.toISOString(), endsAt: next.endsAt.toISOString()},
  }
}
