// The largest request body the control plane reads, and how it refuses a larger one.
import type {ErrorBody} from '../../api/schemas.js'

export const BODY_LIMIT_BYTES = 5 * 1024 * 1024

export function tooLargeBody(): ErrorBody {
  return {
    error: {
      code: 'too_large',
      message: `the request is too large: the control plane reads at most ${BODY_LIMIT_BYTES / 1024 / 1024} MiB`,
      hint: 'send less: a blueprint over that size is almost always a mistake (a generated file, an embedded binary)',
    },
  }
}
