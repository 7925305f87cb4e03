import type { ConaxCommand } from './commands.js'
import type { InstalledItem, ProvisioningProvider, Subscription } from './crm.js'
import { err, ok } from './result.js'
import { devices, namedSubscription } from './utility-cards.js'
import { reject, type Checked, type UtilityRejection } from './utility-rules.js'

/**
 * Pairings: the Pairing utility pairs smartcards with STBs, as a new pairing (CREATE_PAIRING) or
 * by adding devices to an existing one (ADD_TO_EXISTING_PAIRING).
 * @module
 */

/** PAIR_DEVICES: a NEW pairing, or an UPDATE of the pair a smartcard is in. */
export interface PairDevicesRequest {
  readonly utility: 'PAIR_DEVICES'
  readonly mode: 'NEW' | 'UPDATE'
  readonly subscriptionId?: string | null
  /** UPDATE only: the smartcard that identifies the existing pair */
  readonly pairedSmartcard?: string
  readonly smartcards: readonly string[]
  readonly stbs: readonly string[]
}

function checkPairingShape(
  provider: ProvisioningProvider,
  request: PairDevicesRequest,
): UtilityRejection | null {
  const invalid = (field: string, message: string): UtilityRejection => ({
    code: 'INVALID_FIELD',
    field,
    message: `${field}: ${message}`,
  })
  const max = provider.delivery.maxCardsPerRequest
  if (request.mode === 'NEW') {
    if (request.pairedSmartcard !== undefined) {
      return invalid('pairedSmartcard', 'only an UPDATE names the pair to add to; leave it out.')
    }
    if (request.smartcards.length === 0) {
      return invalid('smartcards', 'a NEW pairing needs at least one smartcard.')
    }
    if (request.stbs.length === 0) {
      return invalid('stbs', 'a NEW pairing needs at least one STB.')
    }
  } else {
    if (request.pairedSmartcard === undefined) {
      return invalid('pairedSmartcard', 'an UPDATE names the smartcard of the existing pair.')
    }
    if (request.smartcards.length + request.stbs.length === 0) {
      return invalid('stbs', 'an UPDATE adds at least one STB or smartcard to the pair.')
    }
  }
  return request.smartcards.length > max
    ? invalid('smartcards', `at most ${max} smartcards fit in one pairing request.`)
    : null
}

/** PAIR_DEVICES: one CREATE_PAIRING or ADD_TO_EXISTING_PAIRING of devices of one viewing point. */
export function planPairing(
  provider: ProvisioningProvider,
  current: Subscription | null,
  request: PairDevicesRequest,
): Checked<readonly ConaxCommand[]> {
  const subscription = namedSubscription(current, request.subscriptionId)
  if (!subscription.ok) {
    return subscription
  }
  const shape = checkPairingShape(provider, request)
  if (shape) {
    return err(shape)
  }
  const sub = subscription.value
  const paired =
    request.pairedSmartcard === undefined
      ? ok([])
      : devices(sub, 'SMARTCARD', [request.pairedSmartcard], 'pairedSmartcard')
  if (!paired.ok) {
    // The list helper names the field `pairedSmartcard[0]`; the request has a single value.
    return err({ ...paired.error, field: 'pairedSmartcard' })
  }
  const cards = devices(sub, 'SMARTCARD', request.smartcards, 'smartcards')
  if (!cards.ok) {
    return cards
  }
  const stbs = devices(sub, 'STB', request.stbs, 'stbs')
  if (!stbs.ok) {
    return stbs
  }
  const distributor = pairingDistributor([
    ...paired.value.map((d) => ({ ...d, field: 'pairedSmartcard' })),
    ...cards.value.map((d) => ({
      ...d,
      field: `smartcards[${request.smartcards.indexOf(d.caId)}]`,
    })),
    ...stbs.value.map((d) => ({ ...d, field: `stbs[${request.stbs.indexOf(d.caId)}]` })),
  ])
  if (!distributor.ok) {
    return distributor
  }
  const smartcardCaIds = cards.value.map((d) => d.caId)
  const stbCaIds = stbs.value.map((d) => d.caId)
  return ok([
    request.pairedSmartcard === undefined
      ? { type: 'CREATE_PAIRING', smartcardCaIds, stbCaIds, distributor: distributor.value }
      : {
          type: 'ADD_TO_EXISTING_PAIRING',
          pairedSmartcardCaId: request.pairedSmartcard,
          smartcardCaIds,
          stbCaIds,
          distributor: distributor.value,
        },
  ])
}

/**
 * A pairing belongs to one viewing point, so its devices must share a distributor (a pairing
 * across two would be undone by the next action on the subscription). Null without a subscription.
 */
function pairingDistributor(
  members: readonly { caId: string; item: InstalledItem | null; field: string }[],
): Checked<string | null> {
  const first = members[0]
  if (!first?.item) {
    return ok(null)
  }
  const distributor = first.item.distributor
  const other = members.find((m) => m.item?.distributor !== distributor)
  if (other) {
    return reject(
      'INVALID_FIELD',
      other.field,
      `${other.field}: ${other.caId} is on distributor '${other.item?.distributor ?? 'none'}', but ${first.caId} is on '${distributor ?? 'none'}'; a pairing joins the devices of one viewing point.`,
    )
  }
  return ok(distributor)
}
