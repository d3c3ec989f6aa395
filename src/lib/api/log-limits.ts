// What a task's log and the audit log keep, stated once: the server applies these, the CLI's help describes them.

/** a longer output line is cut, with a marker that says how many bytes were cut */
export const MAX_LINE_BYTES = 16 * 1024
/** past HEAD_LINES lines a task's log keeps only its last TAIL_LINES, with a line saying how much was left out */
export const HEAD_LINES = 5000
export const TAIL_LINES = 1000
/** log lines of releases that ended longer ago are deleted (server start --log-retention) */
export const DEFAULT_LOG_RETENTION_MS = 30 * 86_400_000
export const DEFAULT_LOG_RETENTION = '30d'
/** audit entries older than this are deleted (server start --audit-retention) */
export const DEFAULT_AUDIT_RETENTION_MS = 365 * 86_400_000
export const DEFAULT_AUDIT_RETENTION = '365d'
