/** Stable codes of the simulator's own errors (start-up, store, admin API, the HTTP guard). */
export type SimulatorErrorCode =
  | 'STORE_UNREADABLE'
  | 'STORE_FOLDER_MISSING'
  | 'STORE_WRITE_FAILED'
  | 'INVALID_OPTION'
  | 'INVALID_INVENTORY'
  | 'INVALID_REQUEST'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_FOUND'
  | 'LISTEN_FAILED'
  | 'PORT_IN_USE'
  | 'INSECURE_BIND'
  | 'UNAUTHORIZED'
  | 'HOST_NOT_ALLOWED'
  | 'CROSS_ORIGIN_REFUSED'
  | 'PAYLOAD_TOO_LARGE'
  | 'LIMIT_EXCEEDED'
  | 'INTERNAL'

/** An error of the simulator itself, with a stable code and a message that says what to do. */
export class SimulatorError extends Error {
  override readonly name = 'SimulatorError'
  readonly code: SimulatorErrorCode

  constructor(code: SimulatorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options)
    this.code = code
  }

  toJSON(): { code: SimulatorErrorCode; message: string } {
    return { code: this.code, message: this.message }
  }
}
