// Environment turns. Every change that may let a release start (a trigger, an approval, a cancel, the
// end of a run, a lease that expired) is made in its environment's turn: one database transaction that
// locks the environment (row lock on PostgreSQL; SQLite's one writer), makes the change, decides
// admission on what the database holds and claims what may start, so that no two replicas ever decide
// for one environment at once. Changes that arrive while a turn is under way share the next one: one
// transaction and one commit for all of them (a burst of triggers costs one fsync, not one each), up to
// MAX_CHANGES_PER_TURN: what the turn admits starts only after all of its changes, so a burst of 200
// triggers in one turn would start the first release only once the 200th was recorded. A change that
// fails is undone alone and the others still commit (the turn is made again with a savepoint around
// each change: see make).
import type {Store} from '../../store/store.js'

/**
 * The most changes one turn makes before it admits. In bench/parallel (200 triggers at once, 50 start)
 * one turn for the whole burst gave makespan/ideal 1.13 and 1.15, a turn of at most 16 changes 1.10
 * and 1.09, at the same triggers per second.
 */
export const MAX_CHANGES_PER_TURN = 16

/** The key of an environment. */
export function environmentKey(project: string, environment: string): string {
  return `${project}\u0000${environment}`
}

export interface Turn {
  project: string
  environment: string
}

/**
 * What a turn does after its changes, inside its transaction: decide admission and claim what starts;
 * the report says what the decision left behind (the queue), for the changes made in the turn.
 */
export interface Admission<Claim, Report> {
  /**
   * The reads the turn will make whatever its changes (the policy its admission decides by), asked for
   * together with its lock: on PostgreSQL they go out with it, and their answers are remembered by the
   * transaction (a change that writes a policy table makes them read again).
   */
  readAhead(tx: Store, turn: Turn): Promise<unknown>
  admit(tx: Store, turn: Turn, isolated: boolean): Promise<{claims: Claim[]; report: Report}>
  /** after the commit, with what the turn claimed: the caller starts those runs */
  committed(claims: Claim[]): void
  /** the transaction failed after claims were made: none of them holds */
  aborted(claims: Claim[]): void
}

/**
 * Changes of one kind that a turn makes with the same statements (the ends of runs): the turn hands it
 * all of its items at once, in their order, and it answers each.
 */
export type Together<Item, Result> = (tx: Store, items: Item[]) => Promise<Result[]>

interface Pending<Report> {
  change: ((tx: Store) => Promise<unknown>) | undefined
  together?: {run: Together<unknown, unknown>; item: unknown}
  resolve(value: unknown, report: Report): void
  reject(error: unknown): void
}

/** A change made without a savepoint failed: the turn is rolled back, and made again isolated unless the change was its only one. */
class ChangeFailed extends Error {
  constructor(cause: unknown) {
    super('a change of the turn failed', {cause})
  }
}

interface Outcome {
  ok: boolean
  value: unknown
}

interface Made<Claim, Report> {
  outcomes: Outcome[]
  claims: Claim[]
  report: Report
}

interface Queue<Report> {
  pending: Pending<Report>[]
  draining: boolean
}

export class EnvironmentTurns<Claim, Report> {
  private readonly queues = new Map<string, Queue<Report>>()

  constructor(
    private readonly store: Store,
    private readonly admission: Admission<Claim, Report>,
  ) {}

  /**
   * Makes the change (or none: a plain admission) in the environment's next turn; resolves after the
   * commit with the change's result. The releases the turn claimed are handed on before it resolves.
   */
  async take<T>(project: string, environment: string, change?: (tx: Store) => Promise<T>): Promise<T> {
    return (await this.enqueue<T>(project, environment, {change})).value
  }

  /**
   * Makes the change in the environment's next turn together with the others of its kind in that turn;
   * resolves with its answer and the report of the admission that ended the turn.
   */
  takeTogether<Item, Result>(project: string, environment: string, run: Together<Item, Result>, item: Item): Promise<{value: Result; report: Report}> {
    const together = {run: run as Together<unknown, unknown>, item}
    return this.enqueue<Result>(project, environment, {change: (tx) => run(tx, [item]).then(([result]) => result), together})
  }

  private enqueue<T>(project: string, environment: string, what: Pick<Pending<Report>, 'change' | 'together'>): Promise<{value: T; report: Report}> {
    const key = environmentKey(project, environment)
    let queue = this.queues.get(key)
    if (!queue) {
      queue = {pending: [], draining: false}
      this.queues.set(key, queue)
    }
    const result = new Promise<{value: T; report: Report}>((resolve, reject) => {
      ;(queue as Queue<Report>).pending.push({...what, resolve: (value, report) => resolve({value: value as T, report}), reject})
    })
    if (!queue.draining) void this.drain(key, queue, {project, environment})
    return result
  }

  private async drain(key: string, queue: Queue<Report>, turn: Turn): Promise<void> {
    queue.draining = true
    try {
      while (queue.pending.length > 0) {
        const batch = queue.pending.splice(0, MAX_CHANGES_PER_TURN)
        let made: Made<Claim, Report>
        try {
          made = await this.make(batch, turn, false).catch((error) => {
            // A lone change that fails rolls the whole turn back: nothing of it is kept.
            if (error instanceof ChangeFailed && batch.length === 1) throw error.cause
            return this.make(batch, turn, true)
          })
        } catch (error) {
          for (const item of batch) item.reject(error)
          continue
        }
        const {outcomes, claims, report} = made
        if (claims.length > 0) this.admission.committed(claims)
        batch.forEach((item, index) => (outcomes[index].ok ? item.resolve(outcomes[index].value, report) : item.reject(outcomes[index].value)))
      }
    } finally {
      queue.draining = false
      if (this.queues.get(key) === queue && queue.pending.length === 0) this.queues.delete(key)
    }
  }

  /**
   * One transaction for the batch: its changes, then admission. Without savepoints the first time (on
   * PostgreSQL each is two more round trips, and a wave's end or a burst of triggers is many changes
   * whose round trips the environment's lock waits for): a change that fails there rolls the whole
   * transaction back, and the batch is made again with a savepoint around each change, so that the one
   * that fails is undone alone and the others still commit.
   */
  private async make(batch: Pending<Report>[], turn: Turn, isolated: boolean): Promise<Made<Claim, Report>> {
    const outcomes: Outcome[] = []
    let claims: Claim[] = []
    try {
      // A turn can be long (its claims plan and insert tasks); like every transaction, it writes its
      // events at its end, so that it holds the event-order lock only for that last write.
      return await this.store.transaction(async (tx) => {
        await Promise.all([tx.lockEnvironment(turn.project, turn.environment), this.admission.readAhead(tx, turn)])
        for (const [index, {change, together}] of batch.entries()) {
          if (index in outcomes) continue
          if (!change) {
            outcomes[index] = {ok: true, value: undefined}
          } else if (isolated) {
            try {
              outcomes[index] = {ok: true, value: await tx.savepoint(() => change(tx))}
            } catch (error) {
              outcomes[index] = {ok: false, value: error}
            }
          } else if (together) {
            // This change and those of its kind after it in the batch, at once.
            const members = [...batch.entries()].filter(([, pending]) => pending.together?.run === together.run)
            const results = await together.run(tx, members.map(([, pending]) => pending.together?.item)).catch((error: unknown) => Promise.reject(new ChangeFailed(error)))
            members.forEach(([member], position) => (outcomes[member] = {ok: true, value: results[position]}))
          } else {
            outcomes[index] = {ok: true, value: await change(tx).catch((error: unknown) => Promise.reject(new ChangeFailed(error)))}
          }
        }
        const admitted = await this.admission.admit(tx, turn, isolated)
        claims = admitted.claims
        return {outcomes, ...admitted}
      })
    } catch (error) {
      if (claims.length > 0) this.admission.aborted(claims)
      throw error
    }
  }
}
