import {performance} from 'node:perf_hooks'

import {afterEach, describe, expect, it, vi} from 'vitest'

import {ScheduleTimer} from '../../../../src/lib/server/engine/schedule-timer.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
// The timer sleeps until next - clock(): with a fixed injected clock, "due in 50 ms" is FIXED + 50 ms.
const FIXED = new Date('2026-03-02T10:00:00.000Z')
const clock = () => FIXED
const inMs = (ms: number) => new Date(FIXED.getTime() + ms)

interface Probe {
  /** when each check began */
  calls: number[]
  /** when each check ended */
  ends: number[]
  errors: unknown[]
  timer: ScheduleTimer
}

/** Polls until cond() holds; fails after ms. For lower bounds use plain sleeps; this keeps upper bounds lenient on a busy machine. */
async function until(cond: () => boolean, what: string, ms = 2000) {
  const deadline = performance.now() + ms
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

/** A timer whose check answers from `plan` (call index -> due date or null, or throws), recording when each check began. */
function probe(plan: (call: number) => Date | null | Error, options: {checkMs?: number} = {}): Probe {
  const calls: number[] = []
  const ends: number[] = []
  const errors: unknown[] = []
  const timer = new ScheduleTimer(
    async () => {
      const call = calls.length
      calls.push(performance.now())
      try {
        if (options.checkMs) await sleep(options.checkMs)
        const answer = plan(call)
        if (answer instanceof Error) throw answer
        return answer
      } finally {
        ends.push(performance.now())
      }
    },
    clock,
    {error: (object) => errors.push(object)},
  )
  return {calls, ends, errors, timer}
}

const started: ScheduleTimer[] = []
afterEach(async () => {
  vi.useRealTimers()
  for (const timer of started.splice(0)) await timer.stop()
})
const run = (p: Probe) => {
  started.push(p.timer)
  p.timer.start()
  return p
}

describe('ScheduleTimer', () => {
  it('checks at once on start, then again at about the due time the check returned', async () => {
    const p = run(probe((call) => (call === 0 ? inMs(80) : null)))
    await until(() => p.calls.length === 1, 'the first check')
    await sleep(40)
    expect(p.calls).toHaveLength(1)
    await until(() => p.calls.length === 2, 'the second check')
    const gap = p.calls[1] - p.calls[0]
    expect(gap).toBeGreaterThanOrEqual(75)
    expect(gap).toBeLessThan(1000)
    // null: nothing due; the next check is a minute away
    await sleep(100)
    expect(p.calls).toHaveLength(2)
  })

  it('keeps following the due times it is given', async () => {
    const p = run(probe((call) => (call < 4 ? inMs(40) : null)))
    await until(() => p.calls.length === 5, 'five checks')
    for (let i = 1; i < 5; i++) expect(p.calls[i] - p.calls[i - 1]).toBeGreaterThanOrEqual(35)
    await sleep(100)
    expect(p.calls).toHaveLength(5)
  })

  it('checks again at once when the due time has already passed', async () => {
    // the clock says the run was due 5 s ago: no waiting at all (a timer ignoring the clock would wait)
    const p = run(probe((call) => (call < 3 ? inMs(-5000) : null)))
    await until(() => p.calls.length === 4, 'four checks', 1000)
    expect(p.calls[3] - p.calls[0]).toBeLessThan(1000)
  })

  it('stop() prevents any further check', async () => {
    const p = run(probe(() => inMs(30)))
    await until(() => p.calls.length >= 2, 'two checks')
    await p.timer.stop()
    const count = p.calls.length
    await sleep(150)
    expect(p.calls).toHaveLength(count)
    // and a wake after stop does nothing
    p.timer.wake()
    await sleep(50)
    expect(p.calls).toHaveLength(count)
  })

  it('stop() waits for a check under way and schedules nothing after it', async () => {
    const p = run(probe(() => inMs(10), {checkMs: 80}))
    await until(() => p.calls.length === 1, 'the first check')
    expect(p.ends).toHaveLength(0)
    await p.timer.stop()
    // the check under way had ended when stop() resolved
    expect(p.ends).toHaveLength(1)
    await sleep(120)
    expect(p.calls).toHaveLength(1)
  })

  it('wake() checks early, one check at a time', async () => {
    let active = 0
    let most = 0
    const calls: number[] = []
    const timer = new ScheduleTimer(
      async () => {
        calls.push(performance.now())
        active++
        most = Math.max(most, active)
        await sleep(30)
        active--
        return null
      },
      clock,
      {error() {}},
    )
    started.push(timer)
    timer.start()
    await until(() => calls.length === 1 && active === 0, 'the first check to end')
    await sleep(20)
    expect(calls).toHaveLength(1)
    timer.wake()
    timer.wake()
    timer.wake()
    await until(() => calls.length >= 2 && active === 0, 'a check after wake()')
    await sleep(100)
    expect(calls.length).toBeLessThanOrEqual(4)
    expect(most).toBe(1)
  })

  it('logs a failed check and keeps going', async () => {
    const failure = new Error('database is locked')
    const p = run(probe((call) => (call === 0 ? failure : null)))
    await until(() => p.errors.length === 1, 'the failure to be logged')
    expect(p.errors).toEqual([{err: failure}])
    p.timer.wake()
    await until(() => p.calls.length === 2, 'a check after the failure')
  })

  it('sleeps at most a minute, even when the next run is further away', async () => {
    vi.useFakeTimers()
    const p = probe(() => inMs(10 * 60_000))
    started.push(p.timer)
    p.timer.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(p.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(59_999)
    expect(p.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(p.calls).toHaveLength(2)
  })
})
