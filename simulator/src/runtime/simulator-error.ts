import { CodedError, type CodedErrorOptions } from '../../../common/coded-error.js'

/**
 * Every code of the simulator's own errors (start-up, store, admin API, the HTTP guard) and the
 * HTTP status it answers with. Start-up errors never reach a client; they are 500 for
 * completeness.
 */
const HTTP_STATUS = {
  STORE_UNREADABLE: 500,
  STORE_FOLDER_MISSING: 500,
  STORE_WRITE_FAILED: 500,
  STORE_LOCKED: 500,
  STORE_LOG_CORRUPT: 500,
  JOURNAL_ENTRIES_DROPPED: 410,
  JOURNAL_UNREADABLE: 500,
  TOO_MANY_STREAMS: 503,
  STREAM_TOO_SLOW: 503,
  INVALID_OPTION: 400,
  INVALID_INVENTORY: 400,
  INVALID_REQUEST: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  LISTEN_FAILED: 500,
  PORT_IN_USE: 500,
  INSECURE_BIND: 500,
  UNAUTHORIZED: 401,
  HOST_NOT_ALLOWED: 403,
  CROSS_ORIGIN_REFUSED: 403,
  PAYLOAD_TOO_LARGE: 413,
  LIMIT_EXCEEDED: 422,
  INTERNAL: 500,
} as const satisfies Record<string, number>

/** Stable codes of the simulator's own errors (start-up, store, admin API, the HTTP guard). */
export type SimulatorErrorCode = keyof typeof HTTP_STATUS

/** An error of the simulator itself, with a stable code and a message that says what to do. */
export class SimulatorError extends CodedError<SimulatorErrorCode> {
  override readonly name = 'SimulatorError'

  constructor(code: SimulatorErrorCode, message: string, options: CodedErrorOptions = {}) {
    super(code, HTTP_STATUS[code], message, options)
  }
}
