/**
 * The one place that decides what a Conax answer or a failed exchange means for a provisioning
 * request: done (COMPLETED), final (REJECTED: sending it again cannot help) or worth retrying
 * (TRANSIENT: the CA or the network may recover, and a retried write is a SequenceNumber replay).
 * @module
 */

/** What an exchange with the CA means for the request that caused it. */
export type OutcomeKind = 'COMPLETED' | 'REJECTED' | 'TRANSIENT'

/** A failed exchange, classified: its kind and a stable code with a human description. */
export interface Failure {
  readonly kind: 'REJECTED' | 'TRANSIENT'
  readonly errorCode: string
  readonly errorDescription: string
}

interface Rule {
  readonly kind: 'REJECTED' | 'TRANSIENT'
  readonly errorCode: string
}

const rejected = (errorCode: string): Rule => ({ kind: 'REJECTED', errorCode })
const transient = (errorCode: string): Rule => ({ kind: 'TRANSIENT', errorCode })

/**
 * The classification table (docs/contract.md §3). Business StatusCodes are the CA's verdict on
 * the request itself, so only SYSTEM_ERROR (the CA's own failure) is worth a retry; an unknown
 * code is REJECTED because retrying a verdict we do not understand would loop forever.
 */
export const CLASSIFICATION_TABLE = {
  statusCodes: {
    OK: 'COMPLETED',
    SYSTEM_ERROR: 'TRANSIENT',
    INPUT_VALIDATION_ERROR: 'REJECTED',
    CLIENT_NOT_FOUND: 'REJECTED',
    CLIENT_NOT_MANAGED_BY_SMS: 'REJECTED',
    PAIRING_MODULE_NOT_FOUND: 'REJECTED',
    PRODUCT_NOT_FOUND: 'REJECTED',
    NOT_PAIRED: 'REJECTED',
    FEATURE_NOT_AVAILABLE: 'REJECTED',
  } as Readonly<Record<string, OutcomeKind>>,
  unknownStatusCode: 'REJECTED' as OutcomeKind,

  /** SOAP fault codes by local name (1.1 and 1.2); a dotted subcode (`Client.Auth`) counts as its head. */
  faultCodes: {
    Client: rejected('SOAP_CLIENT_FAULT'),
    Sender: rejected('SOAP_CLIENT_FAULT'),
    VersionMismatch: rejected('SOAP_CLIENT_FAULT'),
    MustUnderstand: rejected('SOAP_CLIENT_FAULT'),
    DataEncodingUnknown: rejected('SOAP_CLIENT_FAULT'),
    // Includes "Couldn't parse stream." (contract §3): the CA blames itself, so we retry.
    Server: transient('SOAP_SERVER_FAULT'),
    Receiver: transient('SOAP_SERVER_FAULT'),
  } as Readonly<Record<string, Rule>>,
  unknownFaultCode: transient('SOAP_SERVER_FAULT'),

  /**
   * HTTP statuses of answers that are not SOAP; other 4xx are REJECTED, 3xx and 5xx TRANSIENT.
   * Wrong credentials, a wrong endpoint path or a redirect are configuration problems, not the
   * request's: they stay PENDING (retried with backoff, logged) so fixing the configuration loses
   * nothing.
   */
  httpStatuses: {
    401: transient('UNAUTHORIZED'),
    403: transient('FORBIDDEN'),
    404: transient('HTTP_404'),
    // The body limit is the CA's: the same request will be refused again.
    413: rejected('REQUEST_TOO_LARGE'),
    408: transient('HTTP_408'),
    425: transient('HTTP_425'),
    429: transient('HTTP_429'),
  } as Readonly<Record<number, Rule>>,

  /** Node error codes of exchanges that got no answer. */
  networkCodes: {
    ECONNREFUSED: transient('CONNECTION_REFUSED'),
    ECONNRESET: transient('CONNECTION_RESET'),
    EPIPE: transient('CONNECTION_RESET'),
    ENOTFOUND: transient('HOST_NOT_FOUND'),
    EAI_AGAIN: transient('HOST_NOT_FOUND'),
    ETIMEDOUT: transient('TIMEOUT'),
    ESOCKETTIMEDOUT: transient('TIMEOUT'),
    ECONNABORTED: transient('TIMEOUT'),
    EHOSTUNREACH: transient('NETWORK_UNREACHABLE'),
    EHOSTDOWN: transient('NETWORK_UNREACHABLE'),
    ENETUNREACH: transient('NETWORK_UNREACHABLE'),
    ENETDOWN: transient('NETWORK_UNREACHABLE'),
  } as Readonly<Record<string, Rule>>,
  tlsCode: transient('TLS_ERROR'),
  otherNetworkCode: transient('NETWORK_ERROR'),
  /** An answer came, but it is not a SOAP answer of the operation (HTML, text, a truncated envelope). */
  malformedAnswer: transient('MALFORMED_ANSWER'),
} as const

/**
 * Failure codes that refuse the call itself, whatever it asks: wrong credentials (UNAUTHORIZED,
 * FORBIDDEN), an answer that is not SOAP (`HTTP_<status>`: a wrong endpoint path, a proxy), a CA
 * that does not take our SOAP (SOAP_CLIENT_FAULT). No card can be read until the configuration is
 * fixed, so a run stops on them rather than failing every card.
 */
export type CallRefusalCode = 'UNAUTHORIZED' | 'FORBIDDEN' | 'SOAP_CLIENT_FAULT' | `HTTP_${number}`

const CALL_REFUSALS: ReadonlySet<string> = new Set([
  'UNAUTHORIZED',
  'FORBIDDEN',
  'SOAP_CLIENT_FAULT',
])

/** Whether a classified failure's `errorCode` is a {@link CallRefusalCode}. */
export function isCallRefusal(errorCode: string): errorCode is CallRefusalCode {
  return (
    CALL_REFUSALS.has(errorCode) ||
    (errorCode.startsWith('HTTP_') && /^\d+$/.test(errorCode.slice('HTTP_'.length)))
  )
}

/** Codes that say the request could not even be built: bugs or bad configuration, never retried. */
const PROGRAMMING_ERROR_CODES = new Set([
  'ERR_INVALID_URL',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_UNESCAPED_CHARACTERS',
])

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_)|SELF_SIGNED|^EPROTO$/

/** The kind of outcome a `TransactionStatus/StatusCode` means. */
export function classifyStatusCode(code: string): OutcomeKind {
  return Object.hasOwn(CLASSIFICATION_TABLE.statusCodes, code)
    ? (CLASSIFICATION_TABLE.statusCodes[code] as OutcomeKind)
    : CLASSIFICATION_TABLE.unknownStatusCode
}

/** Classifies a SOAP faultcode (`soap:Client`, `env:Receiver`, `Client.Authentication`...). */
export function classifyFaultCode(faultcode: string, faultstring: string): Failure {
  const local = faultcode.slice(faultcode.lastIndexOf(':') + 1).split('.')[0] ?? ''
  const rule = Object.hasOwn(CLASSIFICATION_TABLE.faultCodes, local)
    ? (CLASSIFICATION_TABLE.faultCodes[local] as Rule)
    : CLASSIFICATION_TABLE.unknownFaultCode
  return { ...rule, errorDescription: faultstring || faultcode }
}

/** Classifies the HTTP status of an answer that is not a SOAP envelope (2xx: a malformed answer). */
export function classifyHttpStatus(status: number, body: string | null): Failure {
  const excerpt = body?.trim().slice(0, 200) ?? ''
  const errorDescription = `HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`
  const listed = CLASSIFICATION_TABLE.httpStatuses[status]
  if (listed) {
    return { ...listed, errorDescription }
  }
  if (status >= 200 && status < 300) {
    return {
      ...CLASSIFICATION_TABLE.malformedAnswer,
      errorDescription: `The answer is not a SOAP envelope of the operation (${errorDescription}).`,
    }
  }
  // 3xx: we do not follow redirects (a redirected POST becomes a GET), so the endpoint is wrong:
  // a configuration problem, kept PENDING like 401 and 404.
  const kind = status >= 500 || status < 400 ? 'TRANSIENT' : 'REJECTED'
  return { kind, errorCode: `HTTP_${status}`, errorDescription }
}

/** A malformed answer (HTTP 2xx, but not the SOAP answer the operation promises). */
export function malformedAnswer(errorDescription: string): Failure {
  return { ...CLASSIFICATION_TABLE.malformedAnswer, errorDescription }
}

/**
 * Classifies the error an HTTP exchange that got no answer failed with, by its Node code
 * (`ECONNREFUSED`, `ENOTFOUND`, a TLS code...). Returns null for an error without a code or with
 * the code of a request that could not even be built: a programming error, which must propagate.
 */
export function classifyNetworkError(error: unknown): Failure | null {
  const code = stringProperty(error, 'code')
  if (code === null || PROGRAMMING_ERROR_CODES.has(code)) {
    return null
  }
  const message = stringProperty(error, 'message') ?? 'network error'
  const rule = Object.hasOwn(CLASSIFICATION_TABLE.networkCodes, code)
    ? (CLASSIFICATION_TABLE.networkCodes[code] as Rule)
    : TLS_CODE.test(code)
      ? CLASSIFICATION_TABLE.tlsCode
      : CLASSIFICATION_TABLE.otherNetworkCode
  return { ...rule, errorDescription: `${message} (${code})` }
}

function stringProperty(value: unknown, key: string): string | null {
  const found =
    typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)[key]
      : undefined
  return typeof found === 'string' ? found : null
}
