import { CodedError } from '../../../common/coded-error.js'

/** Stable codes of the provisioning store's errors. */
export type StoreErrorCode =
  | 'REQUEST_NOT_FOUND'
  | 'REQUEST_NOT_PENDING'
  | 'STORE_UNREADABLE'
  | 'STORE_CORRUPT'
  | 'STORE_FOLDER_MISSING'
  | 'STORE_WRITE_FAILED'
  | 'STORE_LOCKED'
  | 'SEQUENCE_NUMBERS_EXHAUSTED'
  | 'SUBSCRIPTION_CHANGED'
  | 'ITEM_HELD'
  | 'RUN_OWNED'

/**
 * The HTTP status of each code: an unknown request is 404; a commit refused because of the stored
 * CRM state (changed since it was read, an item held by another subscription) or a run batch
 * whose execution another instance took over 409; the store
 * cannot take the change, 503.
 */
const HTTP_STATUS: Readonly<Record<StoreErrorCode, number>> = {
  REQUEST_NOT_FOUND: 404,
  REQUEST_NOT_PENDING: 503,
  STORE_UNREADABLE: 503,
  STORE_CORRUPT: 503,
  STORE_FOLDER_MISSING: 503,
  STORE_WRITE_FAILED: 503,
  STORE_LOCKED: 503,
  SEQUENCE_NUMBERS_EXHAUSTED: 503,
  SUBSCRIPTION_CHANGED: 409,
  ITEM_HELD: 409,
  RUN_OWNED: 409,
}

/** An error of a provisioning store, with a stable code and a message that says what to do. */
export class StoreError extends CodedError<StoreErrorCode> {
  override readonly name = 'StoreError'

  constructor(
    code: StoreErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, HTTP_STATUS[code], message, options)
  }
}
