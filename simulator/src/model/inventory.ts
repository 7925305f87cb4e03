import type { CaState } from './ca-state.js'
import { fail, invalid, productIdRule, type Problem } from './checks.js'
import { isCaClientId, isPairingModuleId, isProductId } from './rules.js'
import type {
  ActiveProduct,
  Fingerprint,
  MailMessage,
  Outcome,
  Pairing,
  PairingModule,
  Product,
  ScreenMessage,
} from './types.js'

/**
 * The inventory: registering smartcards, pairing modules (STBs) and products (the admin API's
 * `POST /admin/inventory`, a start-up inventory), and looking at what is registered.
 */

export interface SmartcardRegistration {
  readonly caClientId: string
  /** The SMS user the card belongs to; absent or null: unchanged for a known card, else the default user. */
  readonly sms?: string | null | undefined
}

export interface PairingModuleRegistration {
  readonly pairingModuleId: string
  readonly serialNumber: string
  readonly productCode: string
  readonly productDescription: string
  /** The SMS user the STB belongs to; absent: unchanged for a known STB, else owned once paired. */
  readonly sms?: string | null | undefined
}

export interface ProductRegistration {
  readonly productId: string
  readonly name?: string | null | undefined
}

export interface InventoryInput {
  readonly smartcards?: readonly SmartcardRegistration[]
  readonly pairingModules?: readonly PairingModuleRegistration[]
  readonly products?: readonly ProductRegistration[]
}

export interface InventoryCounts {
  readonly smartcards: number
  readonly pairingModules: number
  readonly products: number
}

/** A card's whole state as the admin surface shows it (contract section 4). */
export interface CardView {
  readonly caClientId: string
  readonly sms: string
  readonly pin: string
  readonly subscriptions: readonly ActiveProduct[]
  readonly pairing: {
    readonly caClientIds: readonly string[]
    readonly pairingModuleIds: readonly string[]
    readonly distributor: string | null
  } | null
  readonly inbox: readonly MailMessage[]
  readonly screen: readonly ScreenMessage[]
  readonly fingerprints: readonly Fingerprint[]
}

/** Registers cards, STBs and products; known ones keep their state (only descriptive fields change). */
export function registerInventory(state: CaState, input: InventoryInput): Outcome<InventoryCounts> {
  const problem = checkInventory(state, input)
  if (problem) {
    return fail(problem)
  }
  applyInventory(state, input)
  const counts = {
    smartcards: input.smartcards?.length ?? 0,
    pairingModules: input.pairingModules?.length ?? 0,
    products: input.products?.length ?? 0,
  }
  return { ok: true, value: counts, message: 'Inventory registered.' }
}

function checkInventory(state: CaState, input: InventoryInput): Problem | null {
  for (const [index, card] of (input.smartcards ?? []).entries()) {
    if (!isCaClientId(card.caClientId)) {
      return invalid(
        `smartcards[${index}].caClientId '${card.caClientId}' must be exactly 11 digits.`,
      )
    }
  }
  for (const [index, stb] of (input.pairingModules ?? []).entries()) {
    if (!isPairingModuleId(stb.pairingModuleId)) {
      return invalid(
        `pairingModules[${index}].pairingModuleId '${stb.pairingModuleId}' must be 1 to 20 digits.`,
      )
    }
  }
  for (const [index, product] of (input.products ?? []).entries()) {
    if (!isProductId(product.productId, state.rules.productIdFormat)) {
      return invalid(`products[${index}].productId '${product.productId}' ${productIdRule(state)}.`)
    }
  }
  return null
}

function applyInventory(state: CaState, input: InventoryInput): void {
  for (const card of input.smartcards ?? []) {
    const known = state.cards.get(card.caClientId)
    if (known) {
      state.touchCard(card.caClientId, known)
      known.sms = card.sms ?? known.sms
    } else {
      state.addCard(state.newCard(card.caClientId, card.sms ?? state.defaultSms))
    }
  }
  for (const stb of input.pairingModules ?? []) {
    const known = state.modules.get(stb.pairingModuleId)
    state.putModule({
      pairingModuleId: stb.pairingModuleId,
      serialNumber: stb.serialNumber,
      productCode: stb.productCode,
      productDescription: stb.productDescription,
      sms: stb.sms ?? known?.sms ?? null,
      pairingId: known?.pairingId ?? null,
    })
  }
  for (const product of input.products ?? []) {
    const known = state.products.get(product.productId)
    const name = product.name ?? known?.name ?? null
    state.putProduct({ productId: product.productId, name })
  }
}

/** A card's whole state, or null when unknown. */
export function cardView(state: CaState, caClientId: string): CardView | null {
  const card = state.cards.get(caClientId)
  if (!card) {
    return null
  }
  const pairing = card.pairingId === null ? undefined : state.pairings.get(card.pairingId)
  return {
    caClientId: card.caClientId,
    sms: card.sms,
    pin: card.pin,
    subscriptions: card.products.map((p) => ({ ...p })),
    pairing: pairing
      ? {
          caClientIds: [...pairing.caClientIds],
          pairingModuleIds: [...pairing.pairingModuleIds],
          distributor: pairing.distributor,
        }
      : null,
    inbox: [...card.inbox],
    screen: [...card.screen],
    fingerprints: [...card.fingerprints],
  }
}

/** A pairing module with its owner and the id of its pairing, or null when unknown. */
export function pairingModuleView(state: CaState, pairingModuleId: string): PairingModule | null {
  const stb = state.modules.get(pairingModuleId)
  return stb ? { ...stb } : null
}

/** A pairing: its cards, STBs, distributor and creation time, or null when unknown. */
export function pairingView(state: CaState, pairingId: string): Pairing | null {
  const pairing = state.pairings.get(pairingId)
  return pairing
    ? {
        ...pairing,
        caClientIds: [...pairing.caClientIds],
        pairingModuleIds: [...pairing.pairingModuleIds],
      }
    : null
}

/** Every product of the catalogue. */
export function catalogue(state: CaState): readonly Product[] {
  return [...state.products.values()].map((p) => ({ ...p }))
}

/** Ids of known cards (those containing `contains` when given), in registration order, with paging. */
export function cardIds(
  state: CaState,
  offset: number,
  limit: number,
  contains?: string,
): { total: number; ids: string[] } {
  const ids: string[] = []
  if (contains === undefined || contains === '') {
    let index = 0
    for (const id of state.cards.keys()) {
      if (index >= offset + limit) {
        break
      }
      if (index >= offset) {
        ids.push(id)
      }
      index++
    }
    return { total: state.cards.size, ids }
  }
  // A search reads every id once to count the matches, so a pager knows its last page.
  let matches = 0
  for (const id of state.cards.keys()) {
    if (id.includes(contains)) {
      if (matches >= offset && matches < offset + limit) {
        ids.push(id)
      }
      matches++
    }
  }
  return { total: matches, ids }
}
