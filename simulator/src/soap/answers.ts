import type { ServiceName, SoapVersion } from '../contract/namespaces.js'
import { serviceNamespace } from '../contract/namespaces.js'
import type { OperationSpec, ReadObject } from '../contract/schema.js'
import type { StatusCode } from '../model/types.js'
import type { OperationResult } from '../operations/define-operation.js'
import type { JournalEntry } from '../runtime/journal.js'
import { envelope, escapeXml, faultEnvelope, writeElements, type FaultCode } from './xml-output.js'

/**
 * A SOAP call in flight and the answers it can get: a status answer (HTTP 200 with a
 * `TransactionStatus`), a SOAP fault, a bare HTTP status with a text body, or a reset connection.
 */

/** One SOAP call, from its arrival to its answer: what the journal records of it. */
export interface Call {
  readonly started: number
  /** When the call arrived (ISO-8601): the journal's `at` and the operation's "now". */
  readonly at: string
  readonly service: ServiceName
  user: string | null
  operation: string | null
  request: ReadObject | null
  version: SoapVersion
  /** The raw request body as received (absent until it was read), for the journal's requestXml. */
  body?: Buffer
}

/** How an answer is journalled: its StatusCode, or what it was instead of a status answer. */
export type AnswerStatus = StatusCode | `FAULT:${FaultCode}` | `HTTP_${number}` | 'RESET'

export interface Answer {
  /** Already in the journal (writes are journalled before they are stored, so both land together). */
  readonly journalled?: JournalEntry
  /** 0 for a reset connection. */
  readonly httpStatus: number
  readonly body: string
  readonly statusCode: AnswerStatus
  readonly transactionId: string | null
  readonly message: string | null
  readonly replay?: boolean
  /** Applied (and journalled) as usual, but the connection is destroyed instead of answering. */
  readonly dropAnswer?: boolean
  readonly contentType?: string
  readonly headers?: Record<string, string>
}

/** A SOAP fault (HTTP 500 unless said otherwise). */
export function faultAnswer(call: Call, code: FaultCode, reason: string): Answer {
  return {
    httpStatus: 500,
    body: faultEnvelope(call.version, code, reason),
    statusCode: `FAULT:${code}`,
    transactionId: null,
    message: reason,
  }
}

/** `<OpResponse>` with its status block and the payload the operation's `response` describes. */
export function statusAnswer(
  call: Call,
  spec: OperationSpec,
  result: OperationResult,
  transactionId: string,
): Answer {
  const ns = serviceNamespace(spec.service)
  const status = `<TransactionStatus><StatusCode>${result.statusCode}</StatusCode><TransactionId>${transactionId}</TransactionId><Message>${escapeXml(result.message)}</Message></TransactionStatus>`
  const body = `<ns2:${spec.name}Response xmlns:ns2="${ns}">${status}${writeElements(spec.response, result.payload)}</ns2:${spec.name}Response>`
  return {
    httpStatus: 200,
    body: envelope(call.version, body),
    statusCode: result.statusCode,
    transactionId,
    message: result.message,
  }
}

/** A status answer without payload: an error, a replay, a refusal before the operation ran. */
export function statusOnlyAnswer(
  call: Call,
  spec: OperationSpec,
  status: { readonly statusCode: StatusCode; readonly message: string },
  transactionId: string,
): Answer {
  return statusAnswer(call, spec, { ...status, payload: {} }, transactionId)
}

/** A bare HTTP status with a one-line text body (no SOAP): 401, 413, an injected 503. */
export function textAnswer(
  httpStatus: number,
  text: string,
  message: string,
  headers?: Record<string, string>,
): Answer {
  return {
    httpStatus,
    body: `${text}\n`,
    statusCode: `HTTP_${httpStatus}`,
    transactionId: null,
    message,
    contentType: 'text/plain; charset=utf-8',
    ...(headers ? { headers } : {}),
  }
}

/** No answer at all: the connection is destroyed. */
export function resetAnswer(message: string): Answer {
  return { httpStatus: 0, body: '', statusCode: 'RESET', transactionId: null, message }
}
