// Deadlines in the tests scale with the machine: an idle machine fails fast, a loaded one (few cores,
// other processes busy) gets longer deadlines instead of failing a test that would have passed.
import {cpus, loadavg} from 'node:os'

/** The variable that fixes the factor, e.g. RELCTL_TEST_TIMEOUT_SCALE=3 on a slow CI runner. */
export const TIMEOUT_SCALE_ENV = 'RELCTL_TEST_TIMEOUT_SCALE'

const MAX_AUTOMATIC_SCALE = 4

/**
 * The factor by which every test deadline is multiplied: RELCTL_TEST_TIMEOUT_SCALE when set to a
 * positive number, otherwise the 1-minute load per core (at least 1, at most 4). The base deadlines are
 * sized for 2 cores with one of them busy, which is a load per core of about 0.5 to 1.
 */
export function timeoutScale(env: NodeJS.ProcessEnv = process.env): number {
  const fixed = Number(env[TIMEOUT_SCALE_ENV])
  if (Number.isFinite(fixed) && fixed > 0) return fixed
  const loadPerCore = loadavg()[0] / Math.max(1, cpus().length)
  return Math.min(MAX_AUTOMATIC_SCALE, Math.max(1, loadPerCore))
}

// Computed once per process; vitest.config.ts passes its value to the workers through the variable, so
// that the runner and every test file use the same factor.
const SCALE = timeoutScale()

/** A deadline of `ms` on an idle machine, longer on a loaded one. */
export function scaled(ms: number): number {
  return Math.round(ms * SCALE)
}
