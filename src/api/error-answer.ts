import { CodedError, type CodedErrorJson } from '../../common/coded-error.js'
import { AdapterError } from '../application/adapter-error.js'

/**
 * The one place the API turns an error into its answer. Every error of the adapter is a
 * {@link CodedError} carrying its HTTP status (AdapterError, StoreError...), so the API renders any
 * of them without knowing which layer threw it; express's own refusals (a body too large, not
 * JSON) get their code here, and anything else is a bug, answered 500 INTERNAL.
 * @module
 */

/** The JSON body of an error answer: `{ error: { code, message, details } }`, `details` always there. */
export function errorAnswer(error: CodedError): {
  readonly error: CodedErrorJson & { readonly details: Readonly<Record<string, unknown>> }
} {
  return { error: { ...error.toJSON(), details: error.details ?? {} } }
}

/** Whether `error` is one of express's or body-parser's refusals, which carry an HTTP status. */
function httpRefusal(error: unknown): { status: number; type: unknown; message: string } | null {
  if (typeof error !== 'object' || error === null || !('status' in error)) {
    return null
  }
  const { status } = error
  return typeof status === 'number' && status >= 400 && status < 500
    ? {
        status,
        type: 'type' in error ? error.type : undefined,
        message: error instanceof Error ? error.message : 'refused',
      }
    : null
}

/** Whether `error` is a {@link CodedError} (of any code). */
export function isCodedError(error: unknown): error is CodedError {
  return error instanceof CodedError
}

/** The coded error an API call fails with. */
export function codedErrorOf(error: unknown, bodyLimitBytes: number): CodedError {
  if (isCodedError(error)) {
    return error
  }
  const refusal = httpRefusal(error)
  if (refusal?.status === 413) {
    return new AdapterError(
      'PAYLOAD_TOO_LARGE',
      `The JSON body is larger than the limit of ${bodyLimitBytes} bytes (bodyLimitBytes); nothing was stored. Split the call, or raise --body-limit.`,
      { details: { limit: bodyLimitBytes } },
    )
  }
  if (refusal) {
    // body-parser's refusals carry a `type`; express's own (a path that is not valid
    // percent-encoding) do not. Their status (400, 415...) is kept.
    return new CodedError(
      'INVALID_REQUEST',
      refusal.status,
      refusal.type === undefined
        ? `The request cannot be read: ${refusal.message}.`
        : `The request body is not valid JSON: ${refusal.message}`,
      { details: {} },
    )
  }
  return new AdapterError(
    'INTERNAL',
    `Internal adapter error: ${error instanceof Error ? error.message : String(error)}`,
  )
}
