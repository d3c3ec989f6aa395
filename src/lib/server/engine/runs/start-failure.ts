// A release that cannot start ends failed with the reason, instead of staying queued: a queued release
// that can never start would hold its environment's queue, and fail every admission there again.
import type {Store} from '../../store/store.js'

/** Records a failed start; true when the release has ended (so admission may go on past it). */
export async function recordStartFailure(store: Store, log: {error(object: object, message?: string): void}, id: number, error: unknown, now: string): Promise<boolean> {
  const reason = `could not start: ${error instanceof Error ? error.message : String(error)}`
  try {
    const ended = await store.transitionRelease(id, ['queued', 'running'], 'failed', {finishedAt: now, error: reason})
    log.error({releaseId: id, err: error}, 'release could not start; recorded as failed')
    return ended !== null
  } catch (recordError) {
    log.error({releaseId: id, err: error, recordError}, 'release could not start, and its failure could not be recorded')
    return false
  }
}
