// The one table of exit codes (code -> meaning), as Salesforce's errorCodes.ts keeps it. Every EXIT
// CODES help section is rendered from it by toHelpSection, and docs/exit-codes.md is generated from it
// (npm run docs:exit-codes; CI fails when the page is stale).
import {EXIT} from '../api/domain.js'

export type ExitName = keyof typeof EXIT

/** Every exit code relctl uses, in order, with its general meaning. */
export const EXIT_CODES: ReadonlyArray<{name: ExitName; code: number; meaning: string}> = [
  {name: 'ok', code: EXIT.ok, meaning: 'success'},
  {name: 'unexpected', code: EXIT.unexpected, meaning: 'unexpected error: run again with DEBUG=1 for details, and report it'},
  {name: 'usage', code: EXIT.usage, meaning: 'usage error or invalid input: an unknown command or flag, a bad value, an invalid blueprint'},
  {name: 'releaseFailed', code: EXIT.releaseFailed, meaning: 'a release (or pipeline run) failed, was cancelled or rejected, or an app is Degraded'},
  {name: 'timeout', code: EXIT.timeout, meaning: 'timed out (--timeout); the release goes on'},
  {name: 'stateLock', code: EXIT.stateLock, meaning: 'state-lock conflict: a conflicting release holds the lock'},
  {name: 'paused', code: EXIT.paused, meaning: 'blocked by a pause or a freeze'},
  {name: 'auth', code: EXIT.auth, meaning: 'authentication failed (no token, or one unknown, revoked or expired; or too many failures: throttled) or permission denied'},
  {name: 'unreachable', code: EXIT.unreachable, meaning: 'the control plane is unreachable'},
  {name: 'notFound', code: EXIT.notFound, meaning: 'not found: project, environment, app or release'},
  {name: 'interrupted', code: EXIT.interrupted, meaning: 'interrupted by SIGINT (Ctrl+C); a release already accepted goes on'},
  {name: 'terminated', code: EXIT.terminated, meaning: 'stopped by SIGTERM; a release already accepted goes on'},
]

/**
 * An EXIT CODES help section: the codes a command can end with, each with what it means for that
 * command (or the table's general meaning when given true).
 */
export function toHelpSection(codes: Partial<Record<ExitName, string | true>>): string {
  const lines = EXIT_CODES.filter(({name}) => codes[name] !== undefined).map(({name, code, meaning}) => {
    const text = codes[name]
    return `  ${code}  ${text === true ? meaning : text}`
  })
  return `EXIT CODES\n${lines.join('\n')}`
}
