import type { ConaxCommand } from './commands.js'
import type { InstalledItem, ItemKind, Subscription } from './crm.js'
import { err, ok } from './result.js'
import { reject, type Checked, type UtilityRejection } from './utility-rules.js'

/**
 * Cards and products: how a utility names the subscription and its devices (CA IDs, installed
 * items, the cards a message reaches), and the Conax Information utility, which asks the CA what
 * products a card holds and what it is paired with.
 * @module
 */

/** GET_CONAX_INFORMATION: one query about one smartcard or STB. */
export interface ConaxInformationRequest {
  readonly utility: 'GET_CONAX_INFORMATION'
  readonly query: 'ACTIVE_SUBSCRIPTIONS' | 'SMARTCARD_PAIRING' | 'STB_PAIRING'
  readonly smartcard?: string
  readonly stb?: string
  readonly subscriptionId?: string | null
}

/** The same CA ID rules the planner applies to installed items (INVALID_CA_ID). */
const CA_ID_RULES: Readonly<Record<ItemKind, { pattern: RegExp; text: string }>> = {
  SMARTCARD: { pattern: /^\d{11}$/, text: 'exactly 11 digits' },
  STB: { pattern: /^\d{1,20}$/, text: '1 to 20 digits' },
}

const KIND_NAME: Readonly<Record<ItemKind, string>> = { SMARTCARD: 'Smartcard', STB: 'STB' }

/** The subscription the request names, which must be `subscription` (a subscription of another id counts as not found). */
export function requiredSubscription(
  subscription: Subscription | null,
  id: string,
): Checked<Subscription> {
  return subscription?.id === id
    ? ok(subscription)
    : reject(
        'SUBSCRIPTION_NOT_FOUND',
        'subscriptionId',
        `Subscription '${id}' does not exist. Check the id, or create it with BECOME_SUBSCRIBER.`,
      )
}

/** The subscription the request may name: null when it names none, else as {@link requiredSubscription}. */
export function namedSubscription(
  subscription: Subscription | null,
  id: string | null | undefined,
): Checked<Subscription | null> {
  return id === undefined || id === null ? ok(null) : requiredSubscription(subscription, id)
}

function checkCaId(kind: ItemKind, caId: string, field: string): UtilityRejection | null {
  const rule = CA_ID_RULES[kind]
  return rule.pattern.test(caId)
    ? null
    : {
        code: 'INVALID_CA_ID',
        field,
        message: `${field}: ${KIND_NAME[kind]} CA ID '${caId}' must be ${rule.text}.`,
      }
}

/** The installed item of this kind and CA ID on the subscription. */
function installed(
  subscription: Subscription,
  kind: ItemKind,
  caId: string,
  field: string,
): Checked<InstalledItem> {
  const item = subscription.installedItems.find((i) => i.kind === kind && i.caId === caId)
  if (item) {
    return ok(item)
  }
  const present = subscription.installedItems.filter((i) => i.kind === kind).map((i) => i.caId)
  return reject(
    'ITEM_NOT_FOUND',
    field,
    `${field}: ${KIND_NAME[kind]} ${caId} is not installed on subscription '${subscription.id}'; its ${kind === 'SMARTCARD' ? 'smartcards' : 'STBs'} are ${present.length > 0 ? present.join(', ') : 'none'}.`,
  )
}

/**
 * Checks a list of CA IDs (format, and when a subscription is given, that each is installed on
 * it) and returns the distinct ones in order with their items (null without a subscription).
 */
export function devices(
  subscription: Subscription | null,
  kind: ItemKind,
  caIds: readonly string[],
  field: string,
): Checked<readonly { caId: string; item: InstalledItem | null }[]> {
  const found = new Map<string, InstalledItem | null>()
  for (const [index, caId] of caIds.entries()) {
    const where = `${field}[${index}]`
    const invalid = checkCaId(kind, caId, where)
    if (invalid) {
      return err(invalid)
    }
    const item = subscription ? installed(subscription, kind, caId, where) : ok(null)
    if (!item.ok) {
      return item
    }
    found.set(caId, item.value)
  }
  return ok([...found].map(([caId, item]) => ({ caId, item })))
}

/** One device named by a single field: its format, and its distributor on the subscription. */
export function oneDevice(
  subscription: Subscription | null,
  kind: ItemKind,
  caId: string,
  field: string,
): Checked<string | null> {
  const invalid = checkCaId(kind, caId, field)
  if (invalid) {
    return err(invalid)
  }
  if (!subscription) {
    return ok(null)
  }
  const item = installed(subscription, kind, caId, field)
  return item.ok ? ok(item.value.distributor) : item
}

/** The cards a message or fingerprint goes to: the named ones, or every card of the subscription. */
export function targetCards(
  subscription: Subscription,
  named: readonly string[] | undefined,
): Checked<readonly InstalledItem[]> {
  const cards = subscription.installedItems.filter((i) => i.kind === 'SMARTCARD')
  if (cards.length === 0) {
    return reject(
      'NO_SMARTCARD',
      'subscriptionId',
      `Subscription '${subscription.id}' has no smartcard installed, so there is no card to reach. Add one with ADD_INSTALLED_ITEM first.`,
    )
  }
  if (named === undefined) {
    return ok(cards)
  }
  if (named.length === 0) {
    return reject(
      'INVALID_FIELD',
      'smartcards',
      'smartcards: name at least one smartcard, or leave the field out to reach every smartcard of the subscription.',
    )
  }
  const found = devices(subscription, 'SMARTCARD', named, 'smartcards')
  if (!found.ok) {
    return found
  }
  // With a subscription every device comes with its installed item.
  return ok(found.value.flatMap((device) => (device.item ? [device.item] : [])))
}

/** GET_CONAX_INFORMATION: GetActiveSubscriptions, or the pairing status of a card or an STB. */
export function planInformation(
  current: Subscription | null,
  request: ConaxInformationRequest,
): Checked<readonly ConaxCommand[]> {
  const subscription = namedSubscription(current, request.subscriptionId)
  if (!subscription.ok) {
    return subscription
  }
  const [needed, unused] =
    request.query === 'STB_PAIRING'
      ? (['stb', 'smartcard'] as const)
      : (['smartcard', 'stb'] as const)
  const caId = request[needed]
  if (request[unused] !== undefined) {
    return reject(
      'INVALID_FIELD',
      unused,
      `${unused}: the ${request.query} query reads one ${needed}; leave ${unused} out.`,
    )
  }
  if (caId === undefined) {
    return reject('INVALID_FIELD', needed, `${needed}: required for the ${request.query} query.`)
  }
  const kind = needed === 'stb' ? 'STB' : 'SMARTCARD'
  const distributor = oneDevice(subscription.value, kind, caId, needed)
  if (!distributor.ok) {
    return distributor
  }
  switch (request.query) {
    case 'ACTIVE_SUBSCRIPTIONS':
      return ok([
        { type: 'GET_ACTIVE_SUBSCRIPTIONS', smartcardCaId: caId, distributor: distributor.value },
      ])
    case 'SMARTCARD_PAIRING':
      return ok([
        {
          type: 'GET_PAIRING_STATUS_FOR_CARD',
          smartcardCaId: caId,
          distributor: distributor.value,
        },
      ])
    case 'STB_PAIRING':
      return ok([
        {
          type: 'GET_PAIRING_STATUS_FOR_PAIRING_MODULE',
          stbCaId: caId,
          distributor: distributor.value,
        },
      ])
  }
}
