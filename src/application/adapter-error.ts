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
  | 'LIMIT_EXCEEDED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNAUTHORIZED'
  | 'HOST_NOT_ALLOWED'
  | 'CROSS_ORIGIN_REFUSED'
  | 'INVALID_OPTION'
  | 'INSECURE_BIND'
  | 'PORT_IN_USE'
  | 'LISTEN_FAILED'

/** The HTTP status of every code that is not a refusal of the CRM state (409). */
const HTTP_STATUS: Partial<Record<AdapterErrorCode, number>> = {
  INVALID_REQUEST: 400,
  INVALID_FIELD: 400,
  MESSAGE_TOO_LONG: 400,
  SERVICE_NOT_MAPPED: 400,
  PHYSICAL_GOOD_NOT_MAPPED: 400,
  INVALID_CA_ID: 400,
  DISTRIBUTOR_UNKNOWN: 400,
  UNAUTHORIZED: 401,
  HOST_NOT_ALLOWED: 403,
  CROSS_ORIGIN_REFUSED: 403,
  SUBSCRIPTION_NOT_FOUND: 404,
  REQUEST_NOT_FOUND: 404,
  SERVICE_NOT_FOUND: 404,
  ITEM_NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  EXECUTION_NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  LIMIT_EXCEEDED: 422,
  CA_UNAVAILABLE: 503,
  // Start-up codes: they never reach HTTP.
  INVALID_OPTION: 500,
  INSECURE_BIND: 500,
  PORT_IN_USE: 500,
  LISTEN_FAILED: 500,
}

/**
 * HTTP status for each code family: refusals of the CRM state are 409, bad input 400, unknown ids
 * 404, the guard's 401 and 403, bounds 413 and 422.
 */
export function httpStatusOf(code: AdapterErrorCode): number {
  return HTTP_STATUS[code] ?? 409
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
