/** Stable codes of the provisioning store's errors. */
export type StoreErrorCode =
  | 'REQUEST_NOT_FOUND'
  | 'REQUEST_NOT_PENDING'
  | 'STORE_UNREADABLE'
  | 'STORE_FOLDER_MISSING'
  | 'STORE_WRITE_FAILED'
  | 'STORE_LOCKED'
  | 'SEQUENCE_NUMBERS_EXHAUSTED'

/** An error of a provisioning store, with a stable code and a message that says what to do. */
export class StoreError extends Error {
  override readonly name = 'StoreError'
  readonly code: StoreErrorCode

  constructor(code: StoreErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options)
    this.code = code
  }

  toJSON(): { code: StoreErrorCode; message: string } {
    return { code: this.code, message: this.message }
  }
}
