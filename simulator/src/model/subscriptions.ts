import { NONE, type CaState } from './ca-state.js'
import {
  checkCard,
  checkCardCount,
  checkProductId,
  fail,
  firstProblem,
  invalid,
  type Problem,
} from './checks.js'
import { isCaClientId, isDistributor } from './rules.js'
import type { ActiveProduct, OperationContext, Outcome } from './types.js'

/**
 * Cards and products (the `subscription` service): which products are active on which card.
 *
 * | operation              | effect                                                            |
 * | ---------------------- | ----------------------------------------------------------------- |
 * | AddSubscriptions       | each product becomes active on its card; active: dates may update |
 * | CancelSubscriptions    | each product stops on its card; not active: no change             |
 * | GetActiveSubscriptions | the products active on a card (expired ones hidden by default)    |
 *
 * and, outside the SOAP flow (admin API), activating and removing a product directly.
 */

export interface AddSubscriptionItem {
  readonly caClientId: string
  readonly productId: string
  readonly distributor: string | null
  readonly startDate: string | null
  readonly endDate: string | null
}

export interface CancelSubscriptionItem {
  readonly caClientId: string
  readonly productId: string
  readonly distributor: string | null
}

/** AddSubscriptions: each product becomes active on its card; an active one keeps going (dates may update). */
export function addSubscriptions(
  state: CaState,
  ctx: OperationContext,
  items: readonly AddSubscriptionItem[],
): Outcome<number> {
  const problem =
    checkItems(state, ctx, items, checkAddItemFormat) ?? checkEffectiveDates(state, ctx, items)
  if (problem) {
    return fail(problem)
  }
  let changed = 0
  for (const item of items) {
    const card = state.existingCard(item.caClientId)
    state.touchCard(item.caClientId, card)
    const active = card.products.find((p) => p.productId === item.productId)
    const distributor =
      item.distributor === null ? null : state.internDistributor(item.distributor, true)
    if (active) {
      active.distributor = distributor ?? active.distributor
      active.startDate = item.startDate ?? active.startDate
      active.endDate = item.endDate ?? active.endDate
    } else {
      card.products = [
        ...card.products,
        {
          productId: item.productId,
          distributor,
          startDate: item.startDate ?? ctx.now,
          endDate: item.endDate,
        },
      ]
      changed++
    }
  }
  return {
    ok: true,
    value: changed,
    message: `${items.length} subscription(s) active, ${changed} newly added.`,
  }
}

/** CancelSubscriptions: each product stops on its card; one that is not active is left as it is. */
export function cancelSubscriptions(
  state: CaState,
  ctx: OperationContext,
  items: readonly CancelSubscriptionItem[],
): Outcome<number> {
  const problem = checkItems(state, ctx, items, checkItemFormat)
  if (problem) {
    return fail(problem)
  }
  let removed = 0
  for (const item of items) {
    const card = state.existingCard(item.caClientId)
    state.touchCard(item.caClientId, card)
    const kept = card.products.filter((p) => p.productId !== item.productId)
    removed += card.products.length - kept.length
    card.products = kept.length === 0 ? NONE : kept
  }
  return { ok: true, value: removed, message: `${removed} subscription(s) cancelled.` }
}

/** GetActiveSubscriptions: the products active on a card. */
export function getActiveSubscriptions(
  state: CaState,
  ctx: OperationContext,
  caClientId: string,
): Outcome<readonly ActiveProduct[]> {
  const problem = checkCard(state, ctx, caClientId, 'CaClientId')
  if (problem) {
    return fail(problem)
  }
  const card = state.existingCard(caClientId)
  const products = state.rules.hideExpiredProducts
    ? card.products.filter((p) => p.endDate === null || p.endDate >= ctx.now)
    : card.products
  return {
    ok: true,
    value: products.map((p) => ({ ...p })),
    message: `${products.length} active subscription(s).`,
  }
}

/** Removes a product from a card outside the SOAP flow (to make a CRM and the CA drift apart). */
export function forceRemoveProduct(state: CaState, caClientId: string, productId: string): boolean {
  const card = state.cards.get(caClientId)
  if (!card?.products.some((p) => p.productId === productId)) {
    return false
  }
  state.touchCard(caClientId, card)
  card.products = card.products.filter((p) => p.productId !== productId)
  return true
}

/** Activates a product on a card outside the SOAP flow; the product must be in the catalogue. */
export function forceAddProduct(
  state: CaState,
  caClientId: string,
  product: ActiveProduct,
): Outcome<ActiveProduct> {
  const card = state.cards.get(caClientId)
  if (!card) {
    return fail({ code: 'CLIENT_NOT_FOUND', message: `Card '${caClientId}' is not known.` })
  }
  if (!state.products.has(product.productId)) {
    return fail({
      code: 'PRODUCT_NOT_FOUND',
      message: `Product '${product.productId}' is not in the catalogue.`,
    })
  }
  state.touchCard(caClientId, card)
  card.products = [
    ...card.products.filter((p) => p.productId !== product.productId),
    { ...product },
  ]
  return { ok: true, value: { ...product }, message: 'Product set.' }
}

/** The card count, then every item's format, then every item's card and product. */
function checkItems<Item extends CancelSubscriptionItem>(
  state: CaState,
  ctx: OperationContext,
  items: readonly Item[],
  checkFormat: (state: CaState, item: Item) => Problem | null,
): Problem | null {
  return (
    checkCardCount(
      state,
      items.map((item) => item.caClientId),
    ) ??
    firstProblem(items, 'Subscription', (item) => checkFormat(state, item)) ??
    firstProblem(items, 'Subscription', (item) => checkItemExists(state, ctx, item))
  )
}

function checkItemFormat(state: CaState, item: CancelSubscriptionItem): Problem | null {
  if (!isCaClientId(item.caClientId)) {
    return invalid(`CaClientId '${item.caClientId}' must be exactly 11 digits.`)
  }
  const product = checkProductId(state, item.productId)
  if (product) {
    return product
  }
  if (item.distributor !== null && !isDistributor(item.distributor)) {
    return invalid(`Distributor '${item.distributor}' must be 1 to 32 characters.`)
  }
  return null
}

function checkAddItemFormat(state: CaState, item: AddSubscriptionItem): Problem | null {
  const problem = checkItemFormat(state, item)
  if (problem) {
    return problem
  }
  if (item.startDate !== null && item.endDate !== null && item.endDate < item.startDate) {
    return invalid(`EndDate ${item.endDate} is before StartDate ${item.startDate}.`)
  }
  return null
}

/**
 * The dates each product would end up with (given, else kept, else now), item after item as the
 * request applies them, must not end before they start.
 */
function checkEffectiveDates(
  state: CaState,
  ctx: OperationContext,
  items: readonly AddSubscriptionItem[],
): Problem | null {
  const dates = new Map<string, { start: string; end: string | null }>()
  for (const [index, item] of items.entries()) {
    const key = `${item.caClientId} ${item.productId}`
    const active = state.cards
      .get(item.caClientId)
      ?.products.find((p) => p.productId === item.productId)
    const before =
      dates.get(key) ?? (active ? { start: active.startDate, end: active.endDate } : null)
    const start = item.startDate ?? before?.start ?? ctx.now
    const end = item.endDate ?? before?.end ?? null
    if (end !== null && end < start) {
      return invalid(
        `Subscription ${index + 1}: EndDate ${end} would be before StartDate ${start} of ProductId '${item.productId}'.`,
      )
    }
    dates.set(key, { start, end })
  }
  return null
}

function checkItemExists(
  state: CaState,
  ctx: OperationContext,
  item: CancelSubscriptionItem,
): Problem | null {
  const cardProblem = checkCard(state, ctx, item.caClientId, 'CaClientId')
  if (cardProblem) {
    return cardProblem
  }
  return state.products.has(item.productId)
    ? null
    : {
        code: 'PRODUCT_NOT_FOUND',
        message: `ProductId '${item.productId}' is not in the CA product catalogue.`,
      }
}
