// Ctrl-C (SIGINT) or SIGTERM during a wait ends the wait at once, never the release: the release
// runs on the control plane, so the command says so and how to wait for it again, and exits 130 / 143.
import {SIGNAL_EXIT_CODES} from '../api/domain.js'
import {CliError} from '../client/errors.js'

type WaitSignal = keyof typeof SIGNAL_EXIT_CODES

/** A wait ended by a signal; BaseCommand.catch reports it and exits at once. */
export class InterruptedError extends CliError {
  constructor(signal: WaitSignal, resume: string, words: StopWords) {
    super(`${signal === 'SIGINT' ? 'interrupted' : 'terminated'} (${signal}): ${words.stopped}`, SIGNAL_EXIT_CODES[signal], 'interrupted', `${words.again} with: ${resume}`)
  }
}

/** What a stopped command says it stopped, and how to do it again. */
export interface StopWords {
  stopped: string
  again: string
}

const STOPPED_WAITING: StopWords = {stopped: 'stopped waiting; the release goes on on the control plane', again: 'wait again'}

/**
 * Awaits a wait until it settles or SIGINT/SIGTERM arrives. On a signal, `onSignal` runs first (to stop
 * a spinner) and the result rejects with an InterruptedError naming `resume`, the command that waits
 * again (worked out when the signal comes, where it depends on progress); the abandoned wait's own
 * outcome is ignored.
 */
export async function untilInterrupted<T>(
  work: Promise<T>,
  resume: string | (() => string),
  onSignal: () => void = () => {},
  words = STOPPED_WAITING,
): Promise<T> {
  const offs: (() => void)[] = []
  const interrupted = new Promise<never>((_resolve, reject) => {
    for (const signal of Object.keys(SIGNAL_EXIT_CODES) as WaitSignal[]) {
      const handler = () => {
        onSignal()
        reject(new InterruptedError(signal, typeof resume === 'string' ? resume : resume(), words))
      }
      process.once(signal, handler)
      offs.push(() => process.off(signal, handler))
    }
  })
  work.catch(() => {}) // once interrupted, nobody awaits it
  try {
    return await Promise.race([work, interrupted])
  } finally {
    for (const off of offs) off()
  }
}
