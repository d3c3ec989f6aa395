// PolicyReads: one transaction's cache of what it has read of the policy tables, which KyselyStore
// consults and clears (on a write to a policy table, and on a savepoint's rollback).

/**
 * In a transaction, a read of the policy tables (projects, environments, settings, pauses, freezes,
 * blocked versions) is made once and its answer given again, until the transaction writes one of
 * them: a turn of 16 triggers read the same project, settings, pauses and freezes for each trigger and
 * again for the admission. Outside a transaction every read goes to the database. The answers are
 * shared: callers do not change them.
 */
export class PolicyReads {
  private readonly answers = new Map<string, Promise<unknown>>()

  /** The answer remembered under the key; else the read's, remembered unless it fails. */
  remembered<T>(key: string, read: () => Promise<T>): Promise<T> {
    let answer = this.answers.get(key) as Promise<T> | undefined
    if (!answer) {
      answer = read()
      this.answers.set(key, answer)
      answer.catch(() => this.answers.delete(key))
    }
    return answer
  }

  get(key: string): Promise<unknown> | undefined {
    return this.answers.get(key)
  }

  delete(key: string): void {
    this.answers.delete(key)
  }

  /** Forgets every answer: they are read again. */
  clear(): void {
    this.answers.clear()
  }
}

/**
 * The key of one read: the table and the scope it was read for. JSON keeps a null scope (the control
 * plane, the whole project) apart from a project or environment that is named "null".
 */
export function policyKey(table: string, ...scope: (string | null | undefined)[]): string {
  return `${table}${JSON.stringify(scope)}`
}
