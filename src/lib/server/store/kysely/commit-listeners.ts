// CommitListeners: the in-process side of the events wakeup. KyselyStore.listen registers its handler
// here, and a transaction that appended events calls every listener once it has committed.
/** Who hears, in this process, that a commit appended events. */
export class CommitListeners {
  private readonly listeners = new Set<() => void>()

  add(listener: () => void) {
    this.listeners.add(listener)
  }

  eventsCommitted() {
    for (const listener of this.listeners) {
      try {
        listener()
      } catch {
        // A wakeup is a hint: a listener that throws loses this one, its next read catches up.
      }
    }
  }
}
