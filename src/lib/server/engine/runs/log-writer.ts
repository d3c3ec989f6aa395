// Task log lines of every running release, buffered and written in batches: a chatty deploy, or fifty
// of them at once, cost one insert per batch instead of one per line, and one log event per release.
// A release's last lines are written by the turn that records its end (takeLinesOf), not in a
// transaction of their own that the end would wait for.
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

  /** Resolves once the lines handed to the store so far are stored. */
  written(): Promise<void> {
    return this.writing
  }

  /** Takes the buffered lines of one release out of the buffer, for its caller to write. */
  takeLinesOf(releaseId: number): ReleaseLogLine[] {
    const taken = this.buffer.filter((line) => line.releaseId === releaseId)
    if (taken.length > 0) this.buffer = this.buffer.filter((line) => line.releaseId !== releaseId)
    return taken
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
