// Task log lines of every running release, buffered and written in batches: a chatty deploy, or fifty
// of them at once, cost one insert per batch instead of one per line, and one log event per release.
import type {Store} from '../../store/store.js'
import {appendLogLines, type ReleaseLogLine} from './transitions.js'

const FLUSH_MS = 100
const FLUSH_LINES = 500

export class LogWriter {
  private buffer: ReleaseLogLine[] = []
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> = Promise.resolve()

  constructor(
    private readonly store: Store,
    private readonly onError: (error: unknown) => void,
  ) {}

  add(line: ReleaseLogLine) {
    this.buffer.push(line)
    if (this.buffer.length >= FLUSH_LINES) void this.flush()
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS)
  }

  /** Writes everything buffered so far; resolves when it is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    const batch = this.buffer
    this.buffer = []
    if (batch.length > 0) this.writing = this.writing.then(() => appendLogLines(this.store, batch)).catch(this.onError)
    return this.writing
  }
}
