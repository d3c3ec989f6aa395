// What every part of the engine shares: the store, the clock, the log, and the limits the server was
// started with. One small object, built by the Engine facade and handed to each part.
import type {Store} from '../store/store.js'

export interface Logger {
  info(object: object, message?: string): void
  warn(object: object, message?: string): void
  error(object: object, message?: string): void
}

export interface EngineContext {
  readonly store: Store
  readonly log: Logger
  /** how many releases may run at once across all environments */
  readonly capacity: number
  readonly clock: () => Date
  /** names of the server's variables every deploy sees, besides the basics (server start --pass-env) */
  readonly passEnv: readonly string[]
}

/** The context's clock as the ISO timestamp the store records. */
export function nowOf(ctx: Pick<EngineContext, 'clock'>): string {
  return ctx.clock().toISOString()
}
