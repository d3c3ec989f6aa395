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

/** TLS did not work out with the control plane (an untrusted certificate, no HTTPS there): trying again will not help. */
export class TlsError extends CliError {
  constructor(url: string, cause: string, hint: string) {
    super(`cannot reach the control plane at ${url}: ${cause}`, EXIT.unreachable, 'tls', hint)
  }
}

/** The error code an answer without a relctl error body stands for (a proxy in front, say). */
export function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'unauthorized'
  if (status === 403) return 'forbidden'
  if (status === 429) return 'throttled'
  if (status === 404) return 'not_found'
  if (status === 400 || status === 422) return 'invalid_input'
  if (status === 409) return 'state_lock'
  if (status === 413) return 'too_large'
  if (status === 423) return 'paused'
  if (status === 410) return 'gone'
  if (status === 503) return 'unavailable'
  return 'internal'
}

function exitCodeFor(status: number, code: string): number {
  return code in ERROR_EXIT_CODES ? ERROR_EXIT_CODES[code as ErrorCode] : ERROR_EXIT_CODES[codeForStatus(status)]
}
