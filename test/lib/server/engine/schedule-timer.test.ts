import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {ScheduleTimer} from '../../../../src/lib/server/engine/schedule-timer.js'

// Fake timers drive both setTimeout and the clock the timer reads, so "the second check came 80 ms
// after the first" is exact and does not depend on how busy the machine is.
const START = new Date('2026-03-02T10:00:00.000Z')
const clock = () => new Date(Date.now())
const inMs = (ms: number) => new Date(Date.now() + ms)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** Moves the fake clock on and runs every timer and promise due by then. */
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms)

interface Probe {
  /** fake-clock time (ms since START) when each check began */
  calls: number[]
  /** fake-clock time when each check ended */
  ends: number[]
  errors: unknown[]
  timer: ScheduleTimer
}

const since = () => Date.now() - START.getTime()

/** A timer whose check answers from `plan` (call index -> due date or null, or throws), recording when each check began. */
function probe(plan: (call: number) => Date | null | Error, options: {checkMs?: number} = {}): Probe {
  const calls: number[] = []
  const ends: number[] = []
  const errors: unknown[] = []
  const timer = new ScheduleTimer(
    async () => {
      const call = calls.length
      calls.push(since())
      try {
        if (options.checkMs) await sleep(options.checkMs)
        const answer = plan(call)
        if (answer instanceof Error) throw answer
        return answer
      } finally {
        ends.push(since())
      }
    },
    clock,
    {error: (object) => errors.push(object)},
  )
  return {calls, ends, errors, timer}
}

const started: ScheduleTimer[] = []
beforeEach(() => {
  vi.useFakeTimers({now: START})
})
afterEach(async () => {
  for (const timer of started.splice(0)) await timer.stop()
  vi.useRealTimers()
})
const run = (p: Probe) => {
  started.push(p.timer)
  p.timer.start()
  return p
}

describe('ScheduleTimer', () => {
  it('checks at once on start, then again at the due time the check returned', async () => {
    const p = run(probe((call) => (call === 0 ? inMs(80) : null)))
    await advance(0)
    expect(p.calls).toEqual([0])
    await advance(79)
    expect(p.calls).toEqual([0])
    await advance(1)
    expect(p.calls).toEqual([0, 80])
    // null: nothing due; the next check is a minute away
    await advance(59_999)
    expect(p.calls).toEqual([0, 80])
    await advance(1)
    expect(p.calls).toEqual([0, 80, 60_080])
  })

  it('keeps following the due times it is given', async () => {
    const p = run(probe((call) => (call < 4 ? inMs(40) : null)))
    await advance(1000)
    expect(p.calls).toEqual([0, 40, 80, 120, 160])
  })

  it('checks again at once when the due time has already passed', async () => {
    // the clock says the run was due 5 s ago: no waiting at all (a timer ignoring the clock would wait)
    const p = run(probe((call) => (call < 3 ? inMs(-5000) : null)))
    // a 0 ms timer fires on the next millisecond (as in Node), so three checks take 3 ms
    for (let ms = 0; ms < 3; ms++) await advance(1)
    expect(p.calls).toHaveLength(4)
    expect(p.calls[3]).toBeLessThanOrEqual(3)
  })

  it('stop() prevents any further check', async () => {
    const p = run(probe(() => inMs(30)))
    await advance(30)
    expect(p.calls).toEqual([0, 30])
    await p.timer.stop()
    await advance(150)
    expect(p.calls).toEqual([0, 30])
    // and a wake after stop does nothing
    p.timer.wake()
    await advance(50)
    expect(p.calls).toEqual([0, 30])
  })

  it('stop() waits for a check under way and schedules nothing after it', async () => {
    const p = run(probe(() => inMs(10), {checkMs: 80}))
    await advance(0)
    expect(p.calls).toHaveLength(1)
    expect(p.ends).toHaveLength(0)
    let stopped = false
    const stopping = p.timer.stop().then(() => {
      stopped = true
    })
    await advance(79)
    expect(stopped).toBe(false) // the check is still under way
    await advance(1)
    await stopping
    // the check under way had ended when stop() resolved
    expect(p.ends).toEqual([80])
    await advance(120)
    expect(p.calls).toHaveLength(1)
  })

  it('wake() checks early, one check at a time', async () => {
    let active = 0
    let most = 0
    const calls: number[] = []
    const timer = new ScheduleTimer(
      async () => {
        calls.push(since())
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
    await advance(50)
    expect(calls).toEqual([0])
    // three wakes while nothing runs: each queues a check after the one before; never two at once
    timer.wake()
    timer.wake()
    timer.wake()
    await advance(200)
    expect(calls).toEqual([0, 50, 80, 110])
    expect(most).toBe(1)
    // and after the last check, the next is a minute away (nothing due)
    await advance(60_000)
    expect(calls).toEqual([0, 50, 80, 110, 60_140])
  })

  it('logs a failed check and keeps going', async () => {
    const failure = new Error('database is locked')
    const p = run(probe((call) => (call === 0 ? failure : null)))
    await advance(0)
    expect(p.errors).toEqual([{err: failure}])
    p.timer.wake()
    await advance(0)
    expect(p.calls).toEqual([0, 0])
  })

  it('sleeps at most a minute, even when the next run is further away', async () => {
    const p = run(probe(() => inMs(10 * 60_000)))
    await advance(0)
    expect(p.calls).toHaveLength(1)
    await advance(59_999)
    expect(p.calls).toHaveLength(1)
    await advance(1)
    expect(p.calls).toHaveLength(2)
  })
})
