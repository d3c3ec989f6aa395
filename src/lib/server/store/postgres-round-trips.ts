// Fewer round trips per transaction on PostgreSQL. node-postgres sends one statement and waits for its
// answer before the next, so a transaction's BEGIN and COMMIT, and the event-order lock and event insert
// every writing transaction ends with, are each a round trip of their own; under load (a wave of ends
// and claims on a 2-core machine) a round trip costs about a millisecond, and an environment's turn
// holds its lock for all of them. Here a pool connection sends BEGIN together with the statement that
// follows it, and the statements marked AT_COMMIT together with the COMMIT, as one simple-protocol
// query (several statements in one message, their values written in as quoted literals, which
// PostgreSQL types from their context exactly as it types bound parameters).
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

const LITERAL_TYPES = new Set(['string', 'number', 'bigint', 'boolean'])
/** A `$n` placeholder outside quoted literals and identifiers (the only places Kysely writes a `$`). */
const PLACEHOLDER = /'(?:[^']|'')*'|"(?:[^"]|"")*"|\$(\d+)/g

/** The statement with its values written in, or null when one is of a kind not written as text here. */
export function withLiterals(client: pg.ClientBase, {text, values = []}: Sent): string | null {
  // A statement without values is sent as it is (a migration's function body may hold `$1`).
  if (values.length === 0) return text
  if (!values.every((value) => value === null || value === undefined || LITERAL_TYPES.has(typeof value))) return null
  return text.replace(PLACEHOLDER, (token, index: string | undefined) => {
    if (index === undefined) return token
    const value = values[Number(index) - 1]
    return value === null || value === undefined ? 'NULL' : client.escapeLiteral(String(value))
  })
}

/**
 * Makes the pool connection send BEGIN with the statement after it and AT_COMMIT statements with the
 * COMMIT. A statement that does not end the transaction sends the held-back ones before it, so their
 * order is always kept. Kysely runs a transaction's statements one after the other on its connection.
 */
export function fewerRoundTrips(client: pg.PoolClient): void {
  const send = client.query.bind(client) as Query
  let beginHeld = false
  let inTransaction = false
  let atCommit: Sent[] = []

  /** The held-back statements and `last`, in one message when all can be written as literals; the answer to `last`. */
  async function sendAlong(last: Sent): Promise<pg.QueryResult> {
    const statements = [...(beginHeld ? [{text: 'begin'}] : []), ...atCommit, last]
    beginHeld = false
    atCommit = []
    if (statements.length === 1) return (await send(last.text, last.values)) as pg.QueryResult
    const texts = statements.map((statement) => withLiterals(client, statement))
    if (texts.every((text): text is string => text !== null)) {
      const answers = (await send(texts.join(';\n'))) as pg.QueryResult[]
      return answers[answers.length - 1]
    }
    let answer!: pg.QueryResult
    for (const statement of statements) answer = (await send(statement.text, statement.values)) as pg.QueryResult
    return answer
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
