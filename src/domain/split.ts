import { isSplittable, type ConaxCommand } from './commands.js'

/**
 * A message or fingerprint request names up to 500 smartcards, and the CA answers it all or
 * nothing: one unknown card makes it refuse the whole batch. Sending the batch again unchanged
 * cannot help, and rejecting it loses the message for every valid card. So a batch the CA refused
 * because of its cards is split, and the valid cards get it after all.
 * @module
 */

/**
 * How a refused batch is split (provider `delivery.splitRefusedBatches`):
 * - `named-or-bisect` (default): cards the CA's message names are taken out (they failed with the
 *   CA's status) and the rest is sent again; when no card is named but the status blames a card
 *   (CLIENT_NOT_FOUND, CLIENT_NOT_MANAGED_BY_SMS), the batch is sent again in two halves, and so on
 *   until each bad card stands alone;
 * - `bisect`: never trusts the message's wording (the real CA's is not public): always halves;
 * - `off`: the whole batch is REJECTED (every card fails with the CA's status).
 */
export const SPLIT_MODES = ['named-or-bisect', 'bisect', 'off'] as const
export type SplitMode = (typeof SPLIT_MODES)[number]

/** Statuses that blame a card of the request, not the request itself (contract §3). */
export const CARD_STATUS_CODES: ReadonlySet<string> = new Set([
  'CLIENT_NOT_FOUND',
  'CLIENT_NOT_MANAGED_BY_SMS',
])

/** Statuses after which the cards a message names can be taken out (a card id may be malformed). */
const NAMING_STATUS_CODES: ReadonlySet<string> = new Set([
  ...CARD_STATUS_CODES,
  'INPUT_VALIDATION_ERROR',
])

/** What to do with a refused batch: the cards that failed for good, and the parts to send again. */
export interface SplitPlan {
  /** Cards the CA named: they failed with the batch's status and are not sent again. */
  readonly failed: readonly string[]
  /** New commands for the other cards: one without the named cards, or two halves. */
  readonly parts: readonly ConaxCommand[]
}

/**
 * How to split a batch the CA refused with `errorCode`, or null when it is not split (not a batch,
 * one card left, a status that does not blame a card, or splitting switched off).
 */
export function planSplit(
  command: ConaxCommand,
  failure: { readonly errorCode: string; readonly errorDescription: string },
  mode: SplitMode = 'named-or-bisect',
): SplitPlan | null {
  if (mode === 'off' || !isSplittable(command) || command.smartcardCaIds.length < 2) {
    return null
  }
  const cards = command.smartcardCaIds
  if (mode === 'named-or-bisect' && NAMING_STATUS_CODES.has(failure.errorCode)) {
    const named = namedCards(cards, failure.errorDescription)
    if (named.size > 0) {
      const rest = cards.filter((card) => !named.has(card))
      return {
        failed: cards.filter((card) => named.has(card)),
        parts: rest.length === 0 ? [] : [{ ...command, smartcardCaIds: rest }],
      }
    }
  }
  if (!CARD_STATUS_CODES.has(failure.errorCode)) {
    return null
  }
  const half = Math.ceil(cards.length / 2)
  return {
    failed: [],
    parts: [
      { ...command, smartcardCaIds: cards.slice(0, half) },
      { ...command, smartcardCaIds: cards.slice(half) },
    ],
  }
}

/** The cards of the batch that the CA's message names (as whole 11-digit tokens). */
function namedCards(cards: readonly string[], description: string): Set<string> {
  const inBatch = new Set(cards)
  const named = new Set<string>()
  for (const token of description.match(/(?<!\d)\d{11}(?!\d)/g) ?? []) {
    if (inBatch.has(token)) {
      named.add(token)
    }
  }
  return named
}

/** Cards of a split batch that are in none of its parts: they failed with the batch's own status. */
export function cardsLeftOut(
  command: ConaxCommand,
  parts: readonly ConaxCommand[],
): readonly string[] {
  if (!isSplittable(command)) {
    return []
  }
  const sent = new Set(parts.flatMap((part) => (isSplittable(part) ? part.smartcardCaIds : [])))
  return command.smartcardCaIds.filter((card) => !sent.has(card))
}
