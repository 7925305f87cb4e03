/** Business status codes of the contract (section 3). */
export const STATUS_CODES = [
  'OK',
  'INPUT_VALIDATION_ERROR',
  'CLIENT_NOT_FOUND',
  'CLIENT_NOT_MANAGED_BY_SMS',
  'PAIRING_MODULE_NOT_FOUND',
  'PRODUCT_NOT_FOUND',
  'NOT_PAIRED',
  'FEATURE_NOT_AVAILABLE',
  'SYSTEM_ERROR',
] as const

export type StatusCode = (typeof STATUS_CODES)[number]
export type ErrorCode = Exclude<StatusCode, 'OK'>

/** What an operation did: a value and a human message, or an error code naming the offending item. */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T; readonly message: string }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string }

export interface ActiveProduct {
  productId: string
  distributor: string | null
  startDate: string
  endDate: string | null
}

export interface MailMessage {
  readonly message: string
  readonly startIndicationTime: string | null
  readonly receivedAt: string
  readonly transactionId: string
  readonly sequenceNumber: number | null
}

export interface ScreenMessage {
  readonly kind: 'BARK' | 'REPEATING_BARK'
  readonly message: string
  readonly displayDurationInSeconds: number
  readonly startIndicationTime: string | null
  readonly repetitionCount: number | null
  readonly repetitionIntervalInSeconds: number | null
  readonly receivedAt: string
  readonly transactionId: string
  readonly sequenceNumber: number | null
}

export interface Fingerprint {
  readonly displayTime: string
  readonly durationInSeconds: number
  readonly positionX: number | null
  readonly positionY: number | null
  readonly height: number
  readonly slot: 'A' | 'B'
  readonly receivedAt: string
  readonly transactionId: string
  readonly sequenceNumber: number | null
}

export interface Smartcard {
  readonly caClientId: string
  sms: string
  pin: string
  // New cards share one frozen empty array; a card's list becomes its own on its first entry.
  products: readonly ActiveProduct[]
  pairingId: string | null
  inbox: readonly MailMessage[]
  screen: readonly ScreenMessage[]
  fingerprints: readonly Fingerprint[]
}

export interface PairingModule {
  readonly pairingModuleId: string
  serialNumber: string
  productCode: string
  productDescription: string
  /** The SMS user the STB belongs to: given by the inventory, else whoever paired it first; null until then. */
  sms: string | null
  pairingId: string | null
}

export interface Pairing {
  readonly id: string
  readonly caClientIds: string[]
  readonly pairingModuleIds: string[]
  distributor: string | null
  readonly createdAt: string
}

export interface Product {
  readonly productId: string
  name: string | null
}

/** Who is calling and when: the model never reads a clock or makes ids itself. */
export interface OperationContext {
  readonly user: string
  readonly now: string
  readonly transactionId: string
}

/** Where the real system is unknown, the simulator's behaviour is a setting (see simulator/README.md). */
export interface ModelRules {
  /** Distinct cards allowed in one request (contract: 500). */
  readonly maxCardsPerRequest: number
  /** `lenient`: 1..32 of [A-Za-z0-9_-] (the seed's GFA1, EFA2...); `digits`: 1..32 digits only. */
  readonly productIdFormat: 'lenient' | 'digits'
  /** How message length limits (141 mail, 129 bark) are counted. */
  readonly messageLengthUnit: 'characters' | 'utf8-bytes'
  /** Inbox, screen and fingerprint entries kept per card; the oldest go first. */
  readonly maxMessagesPerCard: number
  /** CreatePairing cancels the whole earlier pairing of a named device (`whole`) or only detaches the device (`detach`). */
  readonly pairingReplace: 'whole' | 'detach'
  /** The PIN a new card has and UpdateCaPinToDefaultValue sets. */
  readonly defaultPin: string
  /** GetActiveSubscriptions leaves out products whose EndDate has passed. */
  readonly hideExpiredProducts: boolean
  /**
   * `enforce`: pairing operations and GetPairingStatusForPairingModule refuse an STB that belongs
   * to another SMS user with CLIENT_NOT_MANAGED_BY_SMS; `off`: STB owners are recorded, not checked.
   */
  readonly stbOwnership: 'enforce' | 'off'
  /**
   * The answer to a write whose SequenceNumber was already used (same user and operation) by a
   * write with another payload: an error status (nothing applied), or `apply` (treat it as a new
   * write, which can lose a client's write silently). Applied by the SOAP endpoint, not the model.
   */
  readonly reusedSequenceNumber: ErrorCode | 'apply'
}

export const DEFAULT_RULES: ModelRules = {
  maxCardsPerRequest: 500,
  productIdFormat: 'lenient',
  messageLengthUnit: 'characters',
  maxMessagesPerCard: 20,
  pairingReplace: 'whole',
  defaultPin: '1234',
  hideExpiredProducts: true,
  stbOwnership: 'enforce',
  reusedSequenceNumber: 'INPUT_VALIDATION_ERROR',
}
