import {
  expectedCaState,
  type ConaxCommand,
  type ProvisioningProvider,
  type Subscription,
} from '../../../src/index.js'
import type { InventoryInput } from '../../../simulator/src/index.js'
import type { Scenario } from '../scenario/load.js'
import type { CardState, GivenSubscription, WhenStep } from '../scenario/schema.js'
import type { CheckFailure, CheckResult } from '../result.js'

/** A card's CA state before the steps run: what `given` sets up over the wire. */
export interface CardSetup {
  readonly products: Map<string, string | null>
  pairing: { readonly stbs: readonly string[]; readonly distributor: string | null } | null
  pin: string | null
}

/** A given subscription as the adapter keeps it (the item kinds come from the provider's goods). */
export function subscriptionOf(
  given: GivenSubscription,
  provider: ProvisioningProvider,
  now: string,
): Subscription {
  const kinds = new Map(provider.physicalGoods.map((good) => [good.product, good.kind]))
  return {
    id: given.id,
    type: given.type ?? null,
    state: given.state,
    services: given.services.map((s) => ({ ...s })),
    installedItems: given.installedItems.map((item) => ({
      ...item,
      kind: kinds.get(item.product) ?? 'SMARTCARD',
    })),
    swaps: [],
    createdAt: now,
    updatedAt: now,
  }
}

const STB_DEFAULTS = {
  serialNumber: 'SCENARIO-STB',
  productCode: 'KSTB5043',
  productDescription: 'Kaon KSTB5043 HD Conax Zapper',
}

/**
 * The CA inventory a scenario needs: what `given.ca` lists, every device of the given
 * subscriptions and of the CRM steps, and every product the provider maps. Devices named only in
 * expectations or direct CA calls are not added, so a scenario can test an unknown card.
 */
export function inventoryOf(scenario: Scenario): InventoryInput {
  const { data, provider } = scenario
  const kinds = new Map(provider.physicalGoods.map((good) => [good.product, good.kind]))
  const cards = new Map<string, { caClientId: string; sms?: string }>()
  const stbs = new Map<string, typeof STB_DEFAULTS & { pairingModuleId: string }>()
  for (const card of data.given.ca.smartcards) {
    const entry = typeof card === 'string' ? { caClientId: card } : card
    cards.set(
      entry.caClientId,
      entry.sms
        ? { caClientId: entry.caClientId, sms: entry.sms }
        : { caClientId: entry.caClientId },
    )
  }
  for (const stb of data.given.ca.stbs) {
    const entry = typeof stb === 'string' ? { pairingModuleId: stb } : stb
    stbs.set(entry.pairingModuleId, {
      pairingModuleId: entry.pairingModuleId,
      serialNumber: entry.serialNumber ?? `SN-${entry.pairingModuleId}`,
      productCode: entry.productCode ?? STB_DEFAULTS.productCode,
      productDescription: entry.productDescription ?? STB_DEFAULTS.productDescription,
    })
  }
  const addItem = (item: { product: string; caId: string }): void => {
    if (kinds.get(item.product) === 'STB') {
      if (!stbs.has(item.caId)) {
        stbs.set(item.caId, {
          ...STB_DEFAULTS,
          serialNumber: `SN-${item.caId}`,
          pairingModuleId: item.caId,
        })
      }
    } else if (/^\d{11}$/.test(item.caId) && !cards.has(item.caId)) {
      cards.set(item.caId, { caClientId: item.caId })
    }
  }
  data.given.crm.subscriptions.forEach((s) => s.installedItems.forEach(addItem))
  for (const step of data.when) {
    stepItems(step).forEach(addItem)
  }
  const products = new Set([...provider.services.map((s) => s.caId), ...data.given.ca.products])
  const unknown = new Set(data.given.ca.unknownDevices)
  return {
    smartcards: [...cards.values()].filter((card) => !unknown.has(card.caClientId)),
    pairingModules: [...stbs.values()].filter((stb) => !unknown.has(stb.pairingModuleId)),
    products: [...products].map((productId) => ({ productId })),
  }
}

function stepItems(step: WhenStep): { product: string; caId: string }[] {
  if (!('crm' in step)) {
    return []
  }
  const action = step.crm
  switch (action.action) {
    case 'BECOME_SUBSCRIBER':
      return [...action.installedItems]
    case 'ADD_INSTALLED_ITEM':
    case 'SWAP_INSTALLED_ITEM':
      return [action.item]
    default:
      return []
  }
}

/** The CA state before the steps: the given subscriptions' (when `caInSync`), then `given.ca.cards` on top. */
export function preStateOf(scenario: Scenario, now: string): Map<string, CardSetup> {
  const { data, provider } = scenario
  const cards = new Map<string, CardSetup>()
  const cardOf = (id: string): CardSetup => {
    let card = cards.get(id)
    if (!card) {
      card = { products: new Map(), pairing: null, pin: null }
      cards.set(id, card)
    }
    return card
  }
  if (data.given.crm.caInSync) {
    for (const given of data.given.crm.subscriptions) {
      applyExpected(cardOf, expectedCaState(provider, subscriptionOf(given, provider, now)))
    }
  }
  // The CA cannot hold state for a device it does not know.
  const unknown = new Set(data.given.ca.unknownDevices)
  for (const id of unknown) {
    cards.delete(id)
  }
  for (const card of cards.values()) {
    if (card.pairing?.stbs.some((stb) => unknown.has(stb))) {
      card.pairing = null
    }
  }
  for (const [id, state] of Object.entries(data.given.ca.cards)) {
    const card = cardOf(id)
    const distributor = state.distributor ?? null
    if (state.products) {
      card.products.clear()
      state.products.forEach((product) => card.products.set(product, distributor))
    }
    if (state.pairedWith) {
      card.pairing = state.pairedWith.length > 0 ? { stbs: state.pairedWith, distributor } : null
    }
    if (state.pin) {
      card.pin = state.pin
    }
  }
  return cards
}

/** Adds what one subscription should hold in the CA to the cards. */
function applyExpected(
  cardOf: (id: string) => CardSetup,
  expected: ReturnType<typeof expectedCaState>,
): void {
  for (const pairing of expected.pairings.values()) {
    for (const id of pairing.smartcardCaIds) {
      cardOf(id).pairing = { stbs: pairing.stbCaIds, distributor: pairing.distributor }
    }
  }
  for (const entitlement of expected.entitlements.values()) {
    cardOf(entitlement.smartcardCaId).products.set(entitlement.serviceCaId, entitlement.distributor)
  }
}

/** The commands that build a pre-state on a CA that knows the inventory (pairings first). */
export function setupCommands(pre: ReadonlyMap<string, CardSetup>): ConaxCommand[] {
  const pairings = new Map<
    string,
    { cards: string[]; stbs: readonly string[]; distributor: string | null }
  >()
  for (const [id, card] of pre) {
    if (card.pairing) {
      const key = `${card.pairing.stbs.join(',')}|${card.pairing.distributor ?? ''}`
      const group = pairings.get(key) ?? {
        cards: [],
        stbs: card.pairing.stbs,
        distributor: card.pairing.distributor,
      }
      group.cards.push(id)
      pairings.set(key, group)
    }
  }
  const commands: ConaxCommand[] = [...pairings.values()].map((group) => ({
    type: 'CREATE_PAIRING',
    smartcardCaIds: group.cards,
    stbCaIds: group.stbs,
    distributor: group.distributor,
  }))
  for (const [id, card] of pre) {
    for (const [product, distributor] of card.products) {
      commands.push({
        type: 'ADD_SUBSCRIPTIONS',
        smartcardCaId: id,
        serviceCaId: product,
        distributor,
      })
    }
    if (card.pin) {
      commands.push({
        type: 'UPDATE_CA_PIN_TO_GIVEN_VALUE',
        smartcardCaId: id,
        pin: card.pin,
        distributor: null,
      })
    }
  }
  return commands
}

/** A card as a target shows it; fields a target cannot show are absent. */
export interface ObservedCard {
  readonly products: readonly string[]
  readonly pairedWith: readonly string[]
  readonly pin?: string
  readonly inbox?: readonly string[]
  readonly screen?: readonly string[]
  readonly fingerprints?: number
}

/** How a check reads a card's CA state: the in-process model, the simulator's admin API, or the query operations. */
export interface CaProbe {
  /** The card, or null when the CA does not know it; `reason` says why a read failed. */
  card(caClientId: string): Promise<ObservedCard | null>
}

/** Compares each expected card with what the probe shows. */
export async function checkCards(
  expected: Readonly<Record<string, CardState>>,
  probe: CaProbe,
  side: CheckResult['side'],
  where = 'then.ca.cards',
): Promise<CheckResult> {
  const failures: CheckFailure[] = []
  const skipped: string[] = []
  for (const [id, want] of Object.entries(expected)) {
    const seen = await probe.card(id)
    const path = `${where}.${id}`
    if (!seen) {
      failures.push({ message: `card ${id}: the CA does not know it`, path })
      continue
    }
    const compare = (field: keyof CardState, wanted: unknown, actual: unknown): void => {
      if (wanted === undefined) {
        return
      }
      if (actual === undefined) {
        skipped.push(`card ${id} ${field}: not observable on this target`)
        return
      }
      if (JSON.stringify(wanted) !== JSON.stringify(actual)) {
        failures.push({
          message: `card ${id}: ${field}`,
          path: `${path}.${field}`,
          expected: wanted,
          actual,
        })
      }
    }
    compare('products', want.products && [...want.products].sort(), [...seen.products].sort())
    compare(
      'pairedWith',
      want.pairedWith && [...want.pairedWith].sort(),
      [...seen.pairedWith].sort(),
    )
    compare('pin', want.pin, seen.pin)
    compare('inbox', want.inbox, seen.inbox)
    compare('screen', want.screen, seen.screen)
    compare('fingerprints', want.fingerprints, seen.fingerprints)
  }
  return {
    name: `${side}: CA state`,
    side,
    passed: failures.length === 0,
    failures,
    ...(skipped.length > 0 ? { skipped } : {}),
  }
}

/** An inbox, screen or fingerprint entry of a card view; the simulator gives each its TransactionId. */
export interface CardEntryLike {
  readonly transactionId?: string
}

/** The card view the simulator's model and admin API give (`GET /admin/cards/:id`). */
export interface CardViewLike {
  readonly subscriptions: readonly { readonly productId: string }[]
  readonly pairing: { readonly pairingModuleIds: readonly string[] } | null
  readonly pin: string
  readonly inbox: readonly (CardEntryLike & { readonly message: string })[]
  readonly screen: readonly (CardEntryLike & { readonly message: string })[]
  readonly fingerprints: readonly CardEntryLike[]
}

/** The TransactionIds of a card view's inbox, screen and fingerprint entries. */
export function entryIdsOf(view: CardViewLike): Set<string> {
  const ids = new Set<string>()
  for (const entry of [...view.inbox, ...view.screen, ...view.fingerprints]) {
    if (entry.transactionId !== undefined) {
      ids.add(entry.transactionId)
    }
  }
  return ids
}

/**
 * The card view without the inbox, screen and fingerprint entries whose TransactionId is in
 * `earlier`: what a scenario added on a simulator whose cards kept entries of earlier scenarios
 * (no operation clears them).
 */
export function withoutEntries(view: CardViewLike, earlier: ReadonlySet<string>): CardViewLike {
  const fresh = <T extends CardEntryLike>(list: readonly T[]): T[] =>
    list.filter((entry) => entry.transactionId === undefined || !earlier.has(entry.transactionId))
  return {
    ...view,
    inbox: fresh(view.inbox),
    screen: fresh(view.screen),
    fingerprints: fresh(view.fingerprints),
  }
}

/** A card view as an observed card (everything is observable). */
export function observedFromView(view: CardViewLike): ObservedCard {
  return {
    products: view.subscriptions.map((s) => s.productId),
    pairedWith: view.pairing?.pairingModuleIds ?? [],
    pin: view.pin,
    inbox: view.inbox.map((m) => m.message),
    screen: view.screen.map((m) => m.message),
    fingerprints: view.fingerprints.length,
  }
}
