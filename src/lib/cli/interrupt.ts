// Ctrl-C (SIGINT) or SIGTERM during a wait ends the wait at once, never the release: the release
// runs on the control plane, so the command says so and how to wait for it again, and exits 130 / 143.
import {SIGNAL_EXIT_CODES} from '../api/domain.js'
import {CliError} from '../client/errors.js'

type WaitSignal = keyof typeof SIGNAL_EXIT_CODES

/** A wait ended by a signal; BaseCommand.catch reports it and exits at once. */
export class InterruptedError extends CliError {
  constructor(signal: WaitSignal, resume: string) {
    super(
      `${signal === 'SIGINT' ? 'interrupted' : 'terminated'} (${signal}): stopped waiting; the release goes on on the control plane`,
      SIGNAL_EXIT_CODES[signal],
      'interrupted',
      `wait again with: ${resume}`,
    )
  }
}

/**
 * Awaits a wait until it settles or SIGINT/SIGTERM arrives. On a signal, `onSignal` runs first (to stop
 * a spinner) and the result rejects with an InterruptedError naming `resume`, the command that waits
 * again; the abandoned wait's own outcome is ignored.
 */
export async function untilInterrupted<T>(work: Promise<T>, resume: string, onSignal: () => void = () => {}): Promise<T> {
  const offs: (() => void)[] = []
  const interrupted = new Promise<never>((_resolve, reject) => {
    for (const signal of Object.keys(SIGNAL_EXIT_CODES) as WaitSignal[]) {
      const handler = () => {
        onSignal()
        reject(new InterruptedError(signal, resume))
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
