import { CodedError, type CodedErrorOptions } from '../../common/coded-error.js'
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
  | 'RUN_OWNED'
  | 'SUBSCRIPTION_CHANGED'
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
  | 'INTERNAL'

/**
 * The HTTP status of every code: bad input 400, the guard's 401 and 403, unknown ids 404, refusals
 * of the CRM state or of the provider 409, bounds 413 and 422, a CA that cannot be asked 503.
 * A new code must be given its status here.
 */
const HTTP_STATUS: Readonly<Record<AdapterErrorCode, number>> = {
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
  SUBSCRIPTION_EXISTS: 409,
  ACTION_NOT_ALLOWED: 409,
  SERVICE_NOT_ALLOWED: 409,
  SERVICE_EXISTS: 409,
  SERVICE_AMBIGUOUS: 409,
  TOO_MANY_VIEWING_POINTS: 409,
  ITEM_EXISTS: 409,
  ITEM_KIND_MISMATCH: 409,
  NO_SWAP_TO_REGRET: 409,
  NO_SMARTCARD: 409,
  PROVIDER_NOT_EFFECTIVE: 409,
  RUN_EXISTS: 409,
  RUN_NOT_RESUMABLE: 409,
  RUN_RUNNING: 409,
  RUN_OWNED: 409,
  SUBSCRIPTION_CHANGED: 409,
  PAYLOAD_TOO_LARGE: 413,
  LIMIT_EXCEEDED: 422,
  CA_UNAVAILABLE: 503,
  INTERNAL: 500,
  // Start-up codes: they never reach HTTP.
  INVALID_OPTION: 500,
  INSECURE_BIND: 500,
  PORT_IN_USE: 500,
  LISTEN_FAILED: 500,
}

/** The HTTP status an error of this code answers with. */
export function httpStatusOf(code: AdapterErrorCode): number {
  return HTTP_STATUS[code]
}

/**
 * An error of the adapter with a stable code, the HTTP status of that code, and a message that
 * says what failed, why and what to do. Its `details` (e.g. `field`) are always present.
 */
export class AdapterError extends CodedError<AdapterErrorCode> {
  override readonly name = 'AdapterError'
  declare readonly details: Readonly<Record<string, unknown>>

  constructor(code: AdapterErrorCode, message: string, options: CodedErrorOptions = {}) {
    super(code, httpStatusOf(code), message, { ...options, details: options.details ?? {} })
  }
}
