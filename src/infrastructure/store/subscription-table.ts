import { isDeepStrictEqual } from 'node:util'
import type { CommitChange, Page, SubscriptionFilter } from '../../application/ports.js'
import type { Subscription } from '../../domain/crm.js'
import { copyJson, indexed, pageBounds, pageOf } from './records.js'
import { StoreError } from './store-error.js'

/** A subscription and its place in creation order. */
export interface PlacedSubscription {
  readonly ordinal: number
  readonly subscription: Subscription
}

/**
 * The subscriptions both stores keep in memory (they are the CRM model the planner works on), in
 * creation order, with the index of which subscription holds each installed item's CA ID.
 * Records are replaced on change, never changed in place.
 */
export class SubscriptionTable {
  private readonly subscriptions: Subscription[] = []
  private readonly ordinalById = new Map<string, number>()
  /** Which subscription holds each installed item's CA ID (a card or STB is on one subscription). */
  private readonly holderByCaId = new Map<string, string>()

  get count(): number {
    return this.subscriptions.length
  }

  /** Loads persisted subscriptions: `subscriptions[i]` must hold ordinal `i`. */
  restore(subscriptions: readonly (Subscription | undefined)[]): void {
    for (let ordinal = 0; ordinal < subscriptions.length; ordinal++) {
      const subscription = subscriptions[ordinal]
      if (subscription === undefined) {
        throw new Error(`subscription number ${String(ordinal + 1)} in creation order is missing`)
      }
      this.put(ordinal, subscription)
    }
  }

  /** Puts a subscription at its ordinal (a new one must take the next ordinal). */
  put(ordinal: number, subscription: Subscription): void {
    if (ordinal > this.subscriptions.length) {
      throw new Error(`subscription number ${String(ordinal + 1)} in creation order is missing`)
    }
    const before = this.subscriptions[ordinal]
    if (before !== undefined && before.id !== subscription.id) {
      this.ordinalById.delete(before.id)
    }
    this.indexItems(before, subscription)
    this.subscriptions[ordinal] = subscription
    this.ordinalById.set(subscription.id, ordinal)
  }

  /** Stores a copy of `given`, in its place if known, else last; answers where it went. */
  upsert(given: Subscription): PlacedSubscription {
    const subscription = copyJson(given)
    const ordinal = this.ordinalById.get(subscription.id) ?? this.subscriptions.length
    this.put(ordinal, subscription)
    return { ordinal, subscription }
  }

  /** The record itself (not a copy). */
  find(id: string): Subscription | undefined {
    const ordinal = this.ordinalById.get(id)
    return ordinal === undefined ? undefined : this.subscriptions[ordinal]
  }

  /**
   * Refuses a planned commit (one with `basedOn`), before anything is changed, whose plan read a
   * subscription that is no longer the stored one (SUBSCRIPTION_CHANGED), or whose subscription
   * holds an item another subscription holds (ITEM_HELD): the checks the PostgreSQL store makes
   * inside its commit. Other commits (runs, direct requests, imports) are taken as they are.
   */
  checkCommit(change: CommitChange): void {
    const subscription = change.subscription
    if (subscription === undefined || change.basedOn === undefined) {
      return
    }
    const stored = this.find(subscription.id) ?? null
    // Stored records are JSON copies: compare the plan's read as one too (no undefined members).
    const read = change.basedOn === null ? null : copyJson(change.basedOn)
    if (!isDeepStrictEqual(stored, read)) {
      throw subscriptionChanged(subscription.id)
    }
    for (const item of subscription.installedItems) {
      const holder = this.holderByCaId.get(item.caId)
      if (holder !== undefined && holder !== subscription.id) {
        throw itemHeld(item.caId, holder, subscription.id)
      }
    }
  }

  /** The subscription holding an installed item with this CA ID, if any. */
  holderOf(caId: string): string | undefined {
    return this.holderByCaId.get(caId)
  }

  /** Subscriptions with ordinals `first`..`first + count - 1` that exist (the records themselves). */
  range(first: number, count: number): readonly Subscription[] {
    return this.subscriptions.slice(first, first + count)
  }

  /**
   * Subscriptions in creation order (the order of their first commit). `createdFrom`/`createdTo`
   * compare instants, so `...Z` and `...+00:00` spellings agree. An empty `types` or `ids` list
   * matches nothing: a given list is a constraint; leave it out to match any.
   */
  list(filter: SubscriptionFilter): Page<Subscription> {
    const from = filter.createdFrom === undefined ? undefined : Date.parse(filter.createdFrom)
    const to = filter.createdTo === undefined ? undefined : Date.parse(filter.createdTo)
    const types = filter.types === undefined ? undefined : new Set(filter.types)
    const dated = from !== undefined || to !== undefined
    if (!dated && types === undefined && filter.ids === undefined) {
      // Every subscription: a page is a slice, so a run paging through the whole base is linear.
      const { offset, end } = pageBounds(filter)
      return {
        total: this.subscriptions.length,
        items: this.subscriptions
          .slice(offset, end === Infinity ? undefined : end)
          .map((subscription) => copyJson(subscription)),
      }
    }
    const matches = (subscription: Subscription): boolean => {
      const created = dated ? Date.parse(subscription.createdAt) : 0
      return (
        (from === undefined || created >= from) &&
        (to === undefined || created <= to) &&
        (types === undefined || (subscription.type !== null && types.has(subscription.type)))
      )
    }
    if (filter.ids === undefined) {
      return pageOf(this.subscriptions, matches, filter)
    }
    const ordinals = new Set<number>()
    for (const id of filter.ids) {
      const ordinal = this.ordinalById.get(id)
      if (ordinal !== undefined) {
        ordinals.add(ordinal)
      }
    }
    const sorted = [...ordinals].sort((a, b) => a - b)
    return pageOf(indexed(this.subscriptions, sorted), matches, filter)
  }

  private indexItems(before: Subscription | undefined, after: Subscription): void {
    for (const item of before?.installedItems ?? []) {
      if (this.holderByCaId.get(item.caId) === before?.id) {
        this.holderByCaId.delete(item.caId)
      }
    }
    for (const item of after.installedItems) {
      this.holderByCaId.set(item.caId, after.id)
    }
  }
}

/** SUBSCRIPTION_CHANGED: the subscription was committed by someone else since the plan read it. */
export function subscriptionChanged(id: string): StoreError {
  return new StoreError(
    'SUBSCRIPTION_CHANGED',
    `Failed to commit subscription '${id}': it changed after this change was planned (another adapter instance committed an action on it in between). Nothing was stored; read it again and plan again.`,
    { details: { subscriptionId: id } },
  )
}

/** ITEM_HELD: an installed item of the commit's subscription is on another subscription. */
export function itemHeld(caId: string, holder: string, subscriptionId: string): StoreError {
  return new StoreError(
    'ITEM_HELD',
    `Failed to commit subscription '${subscriptionId}': its installed item ${caId} is held by subscription '${holder}'. Nothing was stored; remove it there first.`,
    { details: { caId, subscriptionId: holder } },
  )
}
