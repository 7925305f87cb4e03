/**
 * The {@link CaReader} port on top of the delivery gateway (the Conax client, or a custom
 * gateway), for when the fast reader is not wanted. It fails as the fast reader does: same
 * validation, same error codes, same messages.
 * @module
 */
import type { CaGateway, DeliveryOutcome } from '../../application/ports.js'
import type { CaReader } from '../../application/runs/run-ports.js'
import type { ObservedCard } from '../../domain/runs.js'
import { malformedAnswer } from './fault-classification.js'
import {
  caReadErrorOf,
  checkCardCaId,
  observedCardOf,
  readerClosed,
  type ReadOperation,
} from './fast-reader.js'

type Products = ObservedCard['products']

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The products of an ActiveSubscriptionsResult, or null when it is not one. */
function productsOf(result: unknown): Products | null {
  const list = isRecord(result) ? result.subscriptions : undefined
  if (!Array.isArray(list)) {
    return null
  }
  const products: { productId: string; distributor: string | null }[] = []
  for (const item of list as readonly unknown[]) {
    if (!isRecord(item) || typeof item.serviceCaId !== 'string') {
      return null
    }
    const distributor = typeof item.distributor === 'string' ? item.distributor.trim() : ''
    products.push({ productId: item.serviceCaId.trim(), distributor: distributor || null })
  }
  return products
}

/** The paired STBs of a PairingStatusResult ([] when not paired), or null when it is not one. */
function pairedStbsOf(result: unknown): readonly string[] | null {
  if (!isRecord(result) || typeof result.paired !== 'boolean' || !Array.isArray(result.stbs)) {
    return null
  }
  if (!result.paired) {
    return []
  }
  const stbs: string[] = []
  for (const item of result.stbs as readonly unknown[]) {
    if (!isRecord(item) || typeof item.stbCaId !== 'string') {
      return null
    }
    stbs.push(item.stbCaId.trim())
  }
  return stbs
}

/** The payload of a query's outcome, null for CLIENT_NOT_FOUND; throws the reader's error. */
function payloadOf<T>(
  operation: ReadOperation,
  caId: string,
  outcome: DeliveryOutcome,
  read: (result: unknown) => T | null,
): T | null {
  if (outcome.kind !== 'COMPLETED') {
    if (outcome.kind === 'REJECTED' && outcome.errorCode === 'CLIENT_NOT_FOUND') {
      return null
    }
    throw caReadErrorOf(operation, caId, outcome)
  }
  const value = read(outcome.result)
  if (value === null) {
    throw caReadErrorOf(
      operation,
      caId,
      malformedAnswer(`The ${operation} answer is OK but its payload is missing or invalid.`),
    )
  }
  return value
}

/** A CA reader that sends the two queries through `gateway`; `close()` leaves the gateway open. */
export function gatewayCaReader(gateway: CaGateway): CaReader {
  let closed = false
  return {
    readCard: async (caId) => {
      const invalid = checkCardCaId(caId)
      if (invalid) {
        throw invalid
      }
      if (closed) {
        throw readerClosed(caId)
      }
      // Queries carry no SequenceNumber, so any number will do.
      const [active, pairing] = await Promise.all([
        gateway.send(
          { type: 'GET_ACTIVE_SUBSCRIPTIONS', smartcardCaId: caId, distributor: null },
          0,
        ),
        gateway.send(
          { type: 'GET_PAIRING_STATUS_FOR_CARD', smartcardCaId: caId, distributor: null },
          0,
        ),
      ])
      return observedCardOf(
        payloadOf('GetActiveSubscriptions', caId, active, productsOf),
        payloadOf('GetPairingStatusForCard', caId, pairing, pairedStbsOf),
      )
    },
    close: () => {
      closed = true
      return Promise.resolve()
    },
  }
}
