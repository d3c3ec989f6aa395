// Fewer round trips per transaction on PostgreSQL. The pool's connections run in node-postgres's
// pipeline mode: a statement goes out without waiting for the answer to the one before, and PostgreSQL
// runs them in the order sent. On top of it, a connection here sends everything asked of it in one tick
// of the event loop in one write, holds a transaction's BEGIN back until the statement after it, and
// the statements marked AT_COMMIT (the event-order lock and the event insert every writing transaction
// ends with) until the COMMIT. So BEGIN and the event insert cost no round trip of their own, and reads
// that a caller asks for at once (Promise.all) share one. Under load (a wave of ends and claims on a
// 2-core machine) a round trip costs about a millisecond, and an environment's turn holds its lock for
// all of them; each write is also a system call in both processes.
import type {Duplex} from 'node:stream'

import type pg from 'pg'

/** Ends a statement whose answer its transaction does not read: it is sent together with the COMMIT. */
export const AT_COMMIT = ' /* at commit */'

interface Sent {
  text: string
  values?: unknown[]
}

type Query = (text: unknown, values?: unknown, ...rest: unknown[]) => unknown

/** What a statement that was held back answers: no rows (its caller does not read them). */
function heldBack(command: string): pg.QueryResult {
  return {command, rowCount: 0, rows: [], oid: 0, fields: []}
}

/** The socket under a node-postgres connection. */
function socketOf(client: pg.PoolClient): Duplex {
  return (client as unknown as {connection: {stream: Duplex}}).connection.stream
}

/**
 * Makes a pool connection (in pipeline mode) write what it sends in one tick at once, send BEGIN with
 * the statement after it and AT_COMMIT statements with the COMMIT. A statement that does not end the
 * transaction sends the held-back ones before it, so their order is always kept.
 */
export function fewerRoundTrips(client: pg.PoolClient): void {
  if (!client.pipeline) throw new Error('fewerRoundTrips wants a connection in pipeline mode (pg.Pool {pipeline: true})')
  const send = client.query.bind(client) as Query
  const socket = socketOf(client)
  let corked = false
  let beginHeld = false
  let inTransaction = false
  let atCommit: Sent[] = []

  /** Sends the statement now; what is sent until the end of this tick leaves in one write. */
  function sendInThisTick({text, values}: Sent): Promise<pg.QueryResult> {
    if (!corked) {
      corked = true
      socket.cork()
      process.nextTick(() => {
        corked = false
        socket.uncork()
      })
    }
    return send(text, values) as Promise<pg.QueryResult>
  }

  /**
   * The held-back statements and `last`, sent together; the answer to `last`, or the first failure
   * among them (after which PostgreSQL refuses the rest of the transaction, and answers its COMMIT
   * with a ROLLBACK).
   */
  async function sendAlong(last: Sent): Promise<pg.QueryResult> {
    const statements = [...(beginHeld ? [{text: 'begin'}] : []), ...atCommit, last]
    beginHeld = false
    atCommit = []
    if (statements.length === 1) return sendInThisTick(last)
    const answers = await Promise.allSettled(statements.map(sendInThisTick))
    for (const answer of answers) if (answer.status === 'rejected') throw answer.reason
    return (answers[answers.length - 1] as PromiseFulfilledResult<pg.QueryResult>).value
  }

  const query = (text: unknown, values?: unknown, ...rest: unknown[]): unknown => {
    if (typeof text !== 'string' || rest.length > 0 || (values !== undefined && !Array.isArray(values))) return send(text, values, ...rest)
    const command = text.trim().toLowerCase()
    if (command === 'begin') {
      beginHeld = true
      inTransaction = true
      return Promise.resolve(heldBack('BEGIN'))
    }
    if (inTransaction && text.endsWith(AT_COMMIT)) {
      atCommit.push({text, values})
      return Promise.resolve(heldBack(command.startsWith('insert') ? 'INSERT' : 'SELECT'))
    }
    if (command === 'rollback' || command === 'commit') inTransaction = false
    if (command === 'rollback') {
      atCommit = []
      // Nothing was sent: there is no transaction to roll back.
      if (beginHeld) {
        beginHeld = false
        return Promise.resolve(heldBack('ROLLBACK'))
      }
    } else if (command === 'commit' && beginHeld && atCommit.length === 0) {
      beginHeld = false
      return Promise.resolve(heldBack('COMMIT'))
    }
    return sendAlong({text, values: values as unknown[] | undefined})
  }
  Object.assign(client, {query})
}
