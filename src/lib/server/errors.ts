// Errors the control plane answers with: a code from the API contract, an HTTP status, a message that
// says what went wrong and a hint that says what to do.
import type {ErrorCode} from '../api/domain.js'
import type {ErrorBody} from '../api/schemas.js'

const STATUS: Record<ErrorCode, number> = {
  invalid_input: 422,
  invalid_blueprint: 422,
  plan_too_large: 400,
  too_large: 413,
  not_found: 404,
  unauthorized: 401,
  forbidden: 403,
  throttled: 429,
  state_lock: 409,
  paused: 423,
  frozen: 423,
  blocked_version: 422,
  gone: 410,
  unavailable: 503,
  internal: 500,
}

type Extra = Omit<ErrorBody['error'], 'code' | 'message'>

export class ControlPlaneError extends Error {
  readonly status: number

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Extra = {},
  ) {
    super(message)
    this.status = STATUS[code]
  }

  toBody(): ErrorBody {
    return {error: {code: this.code, message: this.message, ...this.extra}}
  }
}

export const invalid = (message: string, hint?: string) => new ControlPlaneError('invalid_input', message, hint ? {hint} : {})

/** The caller is known but may not do this (403, exit 7). */
export const forbidden = (message: string, hint?: string) => new ControlPlaneError('forbidden', message, hint ? {hint} : {})

export function notFound(what: string, name: string, validNames: string[], hint?: string, scope = ''): ControlPlaneError {
  const known = validNames.length > 0 ? `; known: ${validNames.join(', ')}` : ''
  return new ControlPlaneError('not_found', `${what} "${name}" not found${scope ? ` in ${scope}` : ''}${known}`, {validNames, ...(hint && {hint})})
}

/** The control plane refuses to start because of how it was asked to (exit 2 in `server start`). */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message)
  }
}
