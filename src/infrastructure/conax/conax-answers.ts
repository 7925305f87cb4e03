import type { ActiveSubscriptionsResult, PairingStatusResult } from './conax-outcome.js'

/**
 * Reading an `<OpResponse>` as soap-answer.ts hands it over (elements by local name, leaves as text,
 * repeats as lists): the parsing boundary. Values arrive untyped; here they are checked and turned
 * into typed values, or null when the answer is not what the contract promises (the client then
 * reports MALFORMED_ANSWER). CA IDs must arrive as strings: a number would mean that leading zeros
 * were lost on the way.
 */

/** `<TransactionStatus>` of an answer. */
export interface TransactionStatus {
  readonly statusCode: string
  readonly transactionId: string | null
  readonly message: string
}

type Parsed = Readonly<Record<string, unknown>>

function isRecord(value: unknown): value is Parsed {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A leaf's text, or null when the value is not text. */
function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null
}

/** An optional leaf: absent (or empty, or nil) is null; anything else that is not text is invalid. */
function optionalText(value: unknown): string | null | undefined {
  if (
    value === undefined ||
    value === null ||
    (isRecord(value) && Object.keys(value).length === 0)
  ) {
    return null
  }
  return text(value) ?? undefined
}

/** A list element's items: an array for repeats, a bare value for a single item. */
function items(value: unknown): readonly unknown[] {
  if (value === undefined || value === null) {
    return []
  }
  return Array.isArray(value) ? (value as readonly unknown[]) : [value]
}

/** Every item as text, or null if one is not text. */
function texts(list: readonly unknown[]): string[] | null {
  const out: string[] = []
  for (const item of list) {
    const value = text(item)
    if (value === null) {
      return null
    }
    out.push(value)
  }
  return out
}

/** The TransactionStatus of a parsed `<OpResponse>`, or null when there is none. */
export function readTransactionStatus(result: unknown): TransactionStatus | null {
  if (!isRecord(result) || !isRecord(result.TransactionStatus)) {
    return null
  }
  const status = result.TransactionStatus
  const statusCode = text(status.StatusCode)?.trim()
  const transactionId = optionalText(status.TransactionId)
  const message = optionalText(status.Message)
  if (!statusCode || transactionId === undefined || message === undefined) {
    return null
  }
  return { statusCode, transactionId: transactionId?.trim() || null, message: message ?? '' }
}

/** The payload of a GetActiveSubscriptionsResponse, or null when it is malformed. */
export function readActiveSubscriptions(result: unknown): ActiveSubscriptionsResult | null {
  if (!isRecord(result)) {
    return null
  }
  const list = result.Subscriptions
  const subscriptions: ActiveSubscriptionsResult['subscriptions'][number][] = []
  for (const item of items(isRecord(list) ? list.Subscription : undefined)) {
    if (!isRecord(item)) {
      return null
    }
    const serviceCaId = text(item.ProductId)
    const startDate = text(item.StartDate)
    const distributor = optionalText(item.Distributor)
    const endDate = optionalText(item.EndDate)
    if (
      serviceCaId === null ||
      startDate === null ||
      distributor === undefined ||
      endDate === undefined
    ) {
      return null
    }
    subscriptions.push({ serviceCaId, distributor, startDate, endDate })
  }
  if (list !== undefined && list !== null && !isRecord(list)) {
    return null
  }
  return { subscriptions }
}

/** The payload of a GetPairingStatusFor...Response, or null when it is malformed. */
export function readPairingStatus(result: unknown): PairingStatusResult | null {
  if (!isRecord(result)) {
    return null
  }
  const paired = result.Paired === true || result.Paired === 'true'
  if (!paired && result.Paired !== false && result.Paired !== 'false') {
    return null
  }
  const cards = result.CaClientIds
  const modules = result.PairingModules
  const smartcardCaIds = texts(items(isRecord(cards) ? cards.CaClientId : undefined))
  if (smartcardCaIds === null) {
    return null
  }
  const stbs: PairingStatusResult['stbs'][number][] = []
  for (const item of items(isRecord(modules) ? modules.PairingModule : undefined)) {
    if (!isRecord(item)) {
      return null
    }
    // Only the id is essential; the descriptive fields may come empty or nil.
    const stbCaId = text(item.PairingModuleId)
    if (stbCaId === null) {
      return null
    }
    stbs.push({
      stbCaId,
      serialNumber: text(item.SerialNumber) ?? '',
      productCode: text(item.ProductCode) ?? '',
      productDescription: text(item.ProductDescription) ?? '',
    })
  }
  return { paired, smartcardCaIds, stbs }
}
