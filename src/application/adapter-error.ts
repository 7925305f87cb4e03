import type { PlanErrorCode } from '../domain/planner.js'
import type { UtilityErrorCode } from '../domain/utilities.js'

/** Stable codes of the adapter's errors: the planner's refusals, the utilities' rejections and the application's own. */
export type AdapterErrorCode =
  | PlanErrorCode
  | UtilityErrorCode
  | 'PROVIDER_NOT_EFFECTIVE'
  | 'INVALID_REQUEST'
  | 'REQUEST_NOT_FOUND'
  | 'RUN_EXISTS'
  | 'RUN_NOT_FOUND'
  | 'EXECUTION_NOT_FOUND'
  | 'RUN_NOT_RESUMABLE'
  | 'RUN_RUNNING'
  | 'CA_UNAVAILABLE'

/** HTTP status for each code family: refusals of the CRM state are 409, bad input 400, unknown ids 404. */
export function httpStatusOf(code: AdapterErrorCode): number {
  switch (code) {
    case 'INVALID_REQUEST':
    case 'INVALID_FIELD':
    case 'MESSAGE_TOO_LONG':
    case 'SERVICE_NOT_MAPPED':
    case 'PHYSICAL_GOOD_NOT_MAPPED':
    case 'INVALID_CA_ID':
    case 'DISTRIBUTOR_UNKNOWN':
      return 400
    case 'SUBSCRIPTION_NOT_FOUND':
    case 'REQUEST_NOT_FOUND':
    case 'SERVICE_NOT_FOUND':
    case 'ITEM_NOT_FOUND':
    case 'RUN_NOT_FOUND':
    case 'EXECUTION_NOT_FOUND':
      return 404
    case 'CA_UNAVAILABLE':
      return 503
    default:
      return 409
  }
}

/** An error of the adapter with a stable code and a message that says what failed, why and what to do. */
export class AdapterError extends Error {
  override readonly name = 'AdapterError'
  readonly code: AdapterErrorCode
  readonly details: Readonly<Record<string, unknown>>

  constructor(
    code: AdapterErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
    this.code = code
    this.details = options.details ?? {}
  }

  toJSON(): {
    code: AdapterErrorCode
    message: string
    details: Readonly<Record<string, unknown>>
  } {
    return { code: this.code, message: this.message, details: this.details }
  }
}
