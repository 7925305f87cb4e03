/** What GET_ACTIVE_SUBSCRIPTIONS returns: the products active on the card, as the CA echoes them. */
export interface ActiveSubscriptionsResult {
  readonly subscriptions: readonly {
    readonly serviceCaId: string
    readonly distributor: string | null
    readonly startDate: string
    readonly endDate: string | null
  }[]
}

/** What the two GET_PAIRING_STATUS types return; an unpaired device has empty lists. */
export interface PairingStatusResult {
  readonly paired: boolean
  readonly smartcardCaIds: readonly string[]
  readonly stbs: readonly {
    readonly stbCaId: string
    readonly serialNumber: string
    readonly productCode: string
    readonly productDescription: string
  }[]
}

/** The CA did it (StatusCode OK); `referenceNumber` is its TransactionId, `result` a query's answer. */
export interface CompletedOutcome {
  readonly kind: 'COMPLETED'
  readonly referenceNumber: string
  readonly message: string
  readonly request: string
  readonly response: string
  readonly result: ActiveSubscriptionsResult | PairingStatusResult | null
}

/**
 * The CA refused the request for good (a business StatusCode, a `soap:Client` fault, HTTP 401...).
 * `request` is null only when the client refused to send it (nothing went on the wire).
 */
export interface RejectedOutcome {
  readonly kind: 'REJECTED'
  readonly errorCode: string
  readonly errorDescription: string
  /** The TransactionId of a business rejection; null for faults and HTTP errors. */
  readonly referenceNumber: string | null
  readonly request: string | null
  readonly response: string | null
}

/** It may work later (SYSTEM_ERROR, `soap:Server`, 5xx, network, TIMEOUT, MALFORMED_ANSWER). */
export interface TransientOutcome {
  readonly kind: 'TRANSIENT'
  readonly errorCode: string
  readonly errorDescription: string
  readonly request: string | null
  readonly response: string | null
}

/** What sending one command to the CA came to. Expected failures are values, never throws. */
export type ConaxOutcome = CompletedOutcome | RejectedOutcome | TransientOutcome
