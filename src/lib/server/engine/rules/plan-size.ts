// The cap on the size of one release's plan. Every task is a row, a place in the runner and a line in
// `release show`: past this many, a release is better split (a selective release, fewer targets).
import {ControlPlaneError} from '../../errors.js'
import {type PlanInput, plannedTaskCount} from './planner.js'

export const MAX_PLAN_TASKS = 10_000

/** Refuses a plan over the cap, with its numbers and what to do; checked at trigger, dry run and start. */
export function checkPlanSize(input: PlanInput): void {
  const {tasks, resources, targets} = plannedTaskCount(input)
  if (tasks <= MAX_PLAN_TASKS) return
  const shape = targets > 1 ? `${resources} resource(s) × ${targets} targets` : `${resources} resource(s)`
  throw new ControlPlaneError(
    'plan_too_large',
    `this release would plan ${tasks} tasks (${shape}); a release may plan at most ${MAX_PLAN_TASKS} tasks; nothing was queued`,
    {
      hint: `release fewer resources at once (--type selective --resources a,b, at most ${Math.floor(MAX_PLAN_TASKS / targets)} with ${targets} target(s)), or give the environment fewer targets`,
      planTasks: tasks,
      maxPlanTasks: MAX_PLAN_TASKS,
    },
  )
}
