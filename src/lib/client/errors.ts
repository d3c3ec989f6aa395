// The CLI's errors: every failure carries the exit code that scripts rely on, a code and a hint.
import {ERROR_EXIT_CODES, EXIT, type ErrorCode} from '../api/domain.js'
import type {ErrorBody} from '../api/schemas.js'

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly code: string,
    readonly hint?: string,
    readonly data?: unknown,
  ) {
    super(message)
  }
}

/** An error the control plane answered with; built from its error body. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly body: ErrorBody['error'],
  ) {
    super(body.message, exitCodeFor(status, body.code), body.code, body.hint, body)
  }
}

export class UnreachableError extends CliError {
  constructor(url: string, cause: string) {
    super(`cannot reach the control plane at ${url}: ${cause}`, EXIT.unreachable, 'unreachable', 'start one with "relctl server start", or point at yours with --url / RELCTL_URL / relctl login')
  }
}

function exitCodeFor(status: number, code: string): number {
  if (code in ERROR_EXIT_CODES) return ERROR_EXIT_CODES[code as ErrorCode]
  if (status === 401 || status === 403) return EXIT.auth
  if (status === 404) return EXIT.notFound
  if (status === 400 || status === 422) return EXIT.usage
  if (status === 409) return EXIT.stateLock
  if (status === 423) return EXIT.paused
  return EXIT.unexpected
}
