// Schedules: one per environment, a rule (every N or cron) that fires a release. Firing a due slot is
// claimed by moving next_run_at past it, in the same transaction that records the run and its release,
// so a slot fires once; a run that cannot release is recorded as skipped, with the reason.
import type {Schedule, ScheduleRun, SetScheduleRequest} from '../../api/schemas.js'
import {ControlPlaneError, notFound} from '../errors.js'
import type {ScheduleRecord} from '../store/store.js'
import type {EngineContext} from './context.js'
import {nowOf} from './context.js'
import {scheduleRan} from './rules/events.js'
import {freezeHoldOf, requireProject, requireProjectEnvironment} from './lookups.js'
import {describeFreeze} from './rules/freeze-rules.js'
import {describePauses} from './rules/pauses.js'
import {compileRule, dueRuns, nextRunAfter} from './rules/schedule-rules.js'
import {refuseImpossibleSchedule} from './rules/schedule-types.js'
import type {RunCoordinator} from './runs/coordinator.js'
import {ScheduleTimer} from './schedule-timer.js'
import type {Triggers} from './triggers.js'
import type {Views} from './views.js'

export class Schedules {
  private readonly timer: ScheduleTimer

  constructor(
    private readonly ctx: EngineContext,
    private readonly runs: RunCoordinator,
    private readonly views: Views,
    private readonly triggers: Triggers,
  ) {
    this.timer = new ScheduleTimer(() => this.fireDueSchedules(), ctx.clock, ctx.log)
  }

  startTimer(): void {
    this.timer.start()
  }

  stopTimer(): Promise<void> {
    return this.timer.stop()
  }

  async setSchedule(projectName: string, environment: string, request: SetScheduleRequest, subject: string): Promise<Schedule> {
    const {store} = this.ctx
    const project = await requireProjectEnvironment(store, projectName, environment)
    const now = this.ctx.clock()
    const rule = compileRule(request, now)
    const resources = [...new Set(request.resources ?? [])]
    refuseImpossibleSchedule(request.type, resources, project.blueprint)
    if (resources.length > 0) {
      const known = (await store.listApps(project.name, environment)).map((app) => app.name)
      const unknown = resources.find((name) => !known.includes(name))
      if (unknown) throw notFound('app', unknown, known, undefined, `${project.name}/${environment}`)
    }
    const at = now.toISOString()
    await store.upsertSchedule({
      project: project.name,
      environment,
      rule: {...(request.every && {every: request.every}), ...(request.cron && {cron: rule.kind === 'cron' ? rule.expression : request.cron, timezone: rule.kind === 'cron' ? rule.timezone : 'UTC'})},
      type: request.type,
      resources,
      paused: false,
      nextRunAt: nextRunAfter(rule, now).toISOString(),
      createdBy: subject,
      createdAt: at,
      updatedAt: at,
    })
    this.ctx.log.info({project: project.name, environment, rule: request, by: subject}, 'schedule set')
    this.timer.wake()
    return (await this.views.scheduleView(project.name, environment)) as Schedule
  }

  async getSchedule(projectName: string, environment: string): Promise<Schedule> {
    const project = await requireProjectEnvironment(this.ctx.store, projectName, environment)
    const view = await this.views.scheduleView(project.name, environment)
    if (!view) throw new ControlPlaneError('not_found', `${project.name}/${environment} has no schedule`, {hint: `set one with: relctl schedule set -p ${project.name} -e ${environment} --every 6h --type full`})
    return view
  }

  async pauseSchedule(projectName: string, environment: string, paused: boolean): Promise<Schedule> {
    const view = await this.getSchedule(projectName, environment)
    await this.ctx.store.setSchedulePaused(view.project, view.environment, paused, nowOf(this.ctx))
    return (await this.views.scheduleView(view.project, view.environment)) as Schedule
  }

  async deleteSchedule(projectName: string, environment: string): Promise<Schedule> {
    const view = await this.getSchedule(projectName, environment)
    await this.ctx.store.deleteSchedule(view.project, view.environment)
    return view
  }

  /** Fires every schedule that is due; returns when the next one is due, for the timer. */
  async fireDueSchedules(): Promise<Date | null> {
    let earliest: Date | null = null
    for (const schedule of await this.ctx.store.listSchedules()) {
      const now = this.ctx.clock()
      try {
        if (Date.parse(schedule.nextRunAt) <= now.getTime() && this.runs.isAdmitting) await this.fireSchedule(schedule, now)
      } catch (error) {
        this.ctx.log.error({err: error, project: schedule.project, environment: schedule.environment}, 'schedule could not fire')
      }
      const current = await this.ctx.store.getSchedule(schedule.project, schedule.environment)
      if (current && (!earliest || Date.parse(current.nextRunAt) < earliest.getTime())) earliest = new Date(current.nextRunAt)
    }
    return earliest
  }

  private async fireSchedule(schedule: ScheduleRecord, now: Date): Promise<void> {
    const {project: projectName, environment} = schedule
    const rule = compileRule(schedule.rule, new Date(schedule.createdAt))
    const due = dueRuns(rule, new Date(schedule.nextRunAt), now)
    if (due.length === 0) return
    const project = await requireProject(this.ctx.store, projectName)
    const recordedAt = now.toISOString()
    const outcome = await this.runs.turn(projectName, environment, async (tx) => {
        // Moving next_run_at past the due runs is the claim: whoever does it records and fires them, once.
        if (!(await tx.advanceSchedule(projectName, environment, schedule.nextRunAt, nextRunAfter(rule, now).toISOString()))) return null
        const missed: ScheduleRun[] = due.slice(0, -1).map((slot) => ({
          slotAt: slot.toISOString(),
          recordedAt,
          outcome: 'missed',
          releaseId: null,
          reason: 'the control plane was not running at this time; only the latest due run fires',
        }))
        const slotAt = due[due.length - 1].toISOString()
        const skip = (reason: string): ScheduleRun => ({slotAt, recordedAt, outcome: 'skipped', releaseId: null, reason})
        const active = await tx.activeLocks(projectName, environment)
        const pauses = await tx.listPauses(projectName, environment)
        const hold = await freezeHoldOf(tx, projectName, environment, now)
        let run: ScheduleRun
        if (schedule.paused) run = skip('the schedule is paused')
        else if (pauses.length > 0) run = skip(describePauses(pauses))
        else if (hold) run = skip(`releases are frozen: ${describeFreeze(hold)}`)
        else if (active.length > 0) run = skip(`release ${active[0].id} is ${active[0].status.replace('_', ' ')} in ${environment}; scheduled releases never queue`)
        else {
          try {
            const {release} = await this.triggers.createRelease(
              tx,
              project,
              environment,
              {type: schedule.type, ...(schedule.type === 'selective' && {resources: schedule.resources.map((name) => ({name}))}), comment: `scheduled run of ${slotAt}`},
              {subject: 'schedule', idempotencyKey: `schedule:${projectName}/${environment}@${slotAt}`, source: 'schedule'},
            )
            run = {slotAt, recordedAt, outcome: 'released', releaseId: release.id, reason: null}
          } catch (error) {
            if (!(error instanceof ControlPlaneError)) throw error
            run = skip(error.message)
          }
        }
        await tx.insertScheduleRuns(projectName, environment, [...missed, run])
        await tx.appendEvents([...missed, run].map((recorded) => scheduleRan(projectName, environment, recorded)))
        return run
    })
    if (!outcome) return
    this.ctx.log.info({project: projectName, environment, slotAt: outcome.slotAt, outcome: outcome.outcome, releaseId: outcome.releaseId, reason: outcome.reason}, 'schedule fired')
  }
}
