import type { Simulator } from '../../../simulator/src/index.js'
import type { CheckFailure, CheckResult } from '../result.js'
import type { CardState } from '../scenario/schema.js'

/*
 * How every stage reads and checks a card's CA state: the in-process model, the simulator's admin
 * API or the query operations, all seen as an ObservedCard.
 */

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

/** Reads cards straight from an in-process simulator's model. */
export function modelProbe(sim: Simulator): CaProbe {
  return {
    card: (id) => {
      const view = sim.model.card(id)
      return Promise.resolve(view ? observedFromView(view) : null)
    },
  }
}
