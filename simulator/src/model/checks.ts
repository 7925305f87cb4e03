import type { CaState } from './ca-state.js'
import { isCaClientId, isPairingModuleId, isProductId, messageLength } from './rules.js'
import type { ErrorCode, ModelRules, OperationContext, Outcome } from './types.js'

/**
 * The checks several operations share: card counts, id formats, existence and ownership of cards
 * and STBs, message lengths. Each answers the first problem (a status code and a message naming
 * the offending item) or null.
 */

/** Why a request is refused: a contract status code and a message naming the offending item. */
export interface Problem {
  readonly code: ErrorCode
  readonly message: string
}

/** The outcome of a refused request. */
export const fail = <T>(problem: Problem): Outcome<T> => ({ ok: false, ...problem })

/** An INPUT_VALIDATION_ERROR problem. */
export const invalid = (message: string): Problem => ({ code: 'INPUT_VALIDATION_ERROR', message })

/** The ids once each, in the order first given. */
export function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)]
}

const PRODUCT_ID_RULE: Readonly<Record<ModelRules['productIdFormat'], string>> = {
  lenient: 'must be 1 to 32 of A-Z, a-z, 0-9, _ and -',
  digits: 'must be 1 to 32 digits (strict digits-only profile)',
}

const LENGTH_UNIT: Readonly<Record<ModelRules['messageLengthUnit'], string>> = {
  characters: 'characters',
  'utf8-bytes': 'UTF-8 bytes',
}

/** Whether an STB's owner is checked (`stbOwnership`). */
const OWNER_CHECKED: Readonly<Record<ModelRules['stbOwnership'], boolean>> = {
  enforce: true,
  off: false,
}

/** The ProductId format of the profile, as a message ends it. */
export function productIdRule(state: CaState): string {
  return PRODUCT_ID_RULE[state.rules.productIdFormat]
}

/** The first problem of a list of items, its message prefixed with the item's label and number. */
export function firstProblem<T>(
  items: readonly T[],
  label: string,
  check: (item: T) => Problem | null,
): Problem | null {
  for (const [index, item] of items.entries()) {
    const problem = check(item)
    if (problem) {
      return { code: problem.code, message: `${label} ${index + 1}: ${problem.message}` }
    }
  }
  return null
}

/** At most `maxCardsPerRequest` distinct cards in one request. */
export function checkCardCount(state: CaState, ids: readonly string[]): Problem | null {
  const count = new Set(ids).size
  const max = state.rules.maxCardsPerRequest
  return count > max
    ? invalid(
        `The request names ${count} cards; at most ${max} are allowed in one request. Split it.`,
      )
    : null
}

/** Format, existence and ownership of one card. */
export function checkCard(
  state: CaState,
  ctx: OperationContext,
  caClientId: string,
  label: string,
): Problem | null {
  if (!isCaClientId(caClientId)) {
    return invalid(`${label} '${caClientId}' must be exactly 11 digits.`)
  }
  const card = state.cards.get(caClientId)
  if (!card) {
    return {
      code: 'CLIENT_NOT_FOUND',
      message: `${label} '${caClientId}' is not known to the CA system.`,
    }
  }
  if (card.sms !== ctx.user) {
    return {
      code: 'CLIENT_NOT_MANAGED_BY_SMS',
      message: `${label} '${caClientId}' is managed by another SMS, not by '${ctx.user}'.`,
    }
  }
  return null
}

/** All formats first, then existence and ownership, so the error reported is the most basic one. */
export function checkCards(
  state: CaState,
  ctx: OperationContext,
  ids: readonly string[],
): Problem | null {
  const count = checkCardCount(state, ids)
  if (count) {
    return count
  }
  for (const id of ids) {
    if (!isCaClientId(id)) {
      return invalid(`CaClientId '${id}' must be exactly 11 digits.`)
    }
  }
  for (const id of ids) {
    const problem = checkCard(state, ctx, id, 'CaClientId')
    if (problem) {
      return problem
    }
  }
  return null
}

/** STB formats, then the cards ({@link checkCards}), then each STB's existence and ownership. */
export function checkCardsAndModules(
  state: CaState,
  ctx: OperationContext,
  cards: readonly string[],
  stbs: readonly string[],
): Problem | null {
  for (const id of stbs) {
    if (!isPairingModuleId(id)) {
      return invalid(`PairingModuleId '${id}' must be 1 to 20 digits.`)
    }
  }
  const cardProblem = checkCards(state, ctx, cards)
  if (cardProblem) {
    return cardProblem
  }
  for (const id of stbs) {
    const problem = checkModule(state, ctx, id)
    if (problem) {
      return problem
    }
  }
  return null
}

/** Existence and (under `stbOwnership: 'enforce'`) ownership of one STB; an unowned STB is anyone's. */
export function checkModule(
  state: CaState,
  ctx: OperationContext,
  pairingModuleId: string,
): Problem | null {
  const stb = state.modules.get(pairingModuleId)
  if (!stb) {
    return {
      code: 'PAIRING_MODULE_NOT_FOUND',
      message: `PairingModuleId '${pairingModuleId}' is not known to the CA system.`,
    }
  }
  if (OWNER_CHECKED[state.rules.stbOwnership] && stb.sms !== null && stb.sms !== ctx.user) {
    return {
      code: 'CLIENT_NOT_MANAGED_BY_SMS',
      message: `PairingModuleId '${pairingModuleId}' is managed by another SMS, not by '${ctx.user}'.`,
    }
  }
  return null
}

/** A ProductId of the profile's format that is in the catalogue. */
export function checkProductId(state: CaState, productId: string): Problem | null {
  return isProductId(productId, state.rules.productIdFormat)
    ? null
    : invalid(`ProductId '${productId}' ${productIdRule(state)}.`)
}

/** A message of 1 to `max` characters (or UTF-8 bytes, as the profile counts). */
export function checkMessage(state: CaState, message: string, max: number): Problem | null {
  const length = messageLength(message, state.rules.messageLengthUnit)
  const unit = LENGTH_UNIT[state.rules.messageLengthUnit]
  if (length < 1) {
    return invalid('Message must not be empty.')
  }
  return length > max
    ? invalid(`Message is ${length} ${unit} long; at most ${max} are allowed.`)
    : null
}
