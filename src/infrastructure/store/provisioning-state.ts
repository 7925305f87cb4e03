import { randomInt, randomUUID } from 'node:crypto'
import type {
  Page,
  RequestFilter,
  RequestUpdate,
  SubscriptionFilter,
} from '../../application/ports.js'
import type { Subscription } from '../../domain/crm.js'
import type {
  NewProvisioningRequest,
  ProvisioningRequest,
} from '../../domain/provisioning-request.js'
import { StoreError } from './store-error.js'

/** The request fields `updateRequest` may change; anything else in an update is ignored. */
export const UPDATABLE_FIELDS = [
  'lifeCycleState',
  'executedDate',
  'request',
  'response',
  'referenceNumber',
  'errorCode',
  'errorDescription',
  'result',
  'attempts',
  'nextAttemptAt',
  'errorClass',
] as const satisfies readonly (keyof RequestUpdate)[]

/** A subscription and its place in creation order. */
export interface PlacedSubscription {
  readonly ordinal: number
  readonly subscription: Subscription
}

/** What splitting a request changed: the parent, now final, and the requests it was split into. */
export interface SplitOutcome {
  readonly parent: ProvisioningRequest
  readonly children: readonly ProvisioningRequest[]
}

/** What one commit changed, as the records the state now holds. */
export interface CommitOutcome {
  readonly subscription: PlacedSubscription | null
  readonly requests: readonly ProvisioningRequest[]
}

/**
 * A deep copy through JSON. JSON rather than structuredClone because the file store keeps JSON:
 * both stores then hand back exactly what a reopened file store would (no Dates, no undefined).
 */
/** Freezes a JSON-like value and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) {
      deepFreeze(child)
    }
    Object.freeze(value)
  }
  return value
}

export function copyJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}

/**
 * The indexed in-memory state that both stores share. Records held here are never mutated: a
 * change replaces the record with a new object. The file store relies on that to journal a
 * reference to the version it captured without copying it; callers only ever get deep copies.
 *
 * Requests sit in an array at index `number - 1`. Numbers and sequence numbers are assigned
 * together, so array order is also sequence order and no read has to sort.
 */
/** The highest SequenceNumber the wire contract can carry (an xs:int). */
export const MAX_SEQUENCE_NUMBER = 2 ** 31 - 1

/** New stores start somewhere in [1, 2^30]: at least 2^30 numbers stay above any origin. */
const ORIGIN_RANGE = 2 ** 30

/**
 * Where the sequence numbers of a new store start: a random point in [1, 2^30], so that two
 * stores made independently (a replaced file, a second adapter, a memory store) count in ranges
 * far apart. Conax takes a repeated SequenceNumber with the same payload as a replay and applies
 * nothing, so numbers must not repeat across stores; docs/decisions/0004 explains the choice and
 * the odds.
 */
export function freshSequenceOrigin(): number {
  return randomInt(1, ORIGIN_RANGE + 1)
}

export class ProvisioningState {
  private readonly requests: ProvisioningRequest[] = []
  private readonly requestIndexById = new Map<string, number>()
  private readonly requestIndexesBySubscription = new Map<string, number[]>()
  /** Requests of each process id (a run execution's requests, for its tally). */
  private readonly requestIndexesByProcess = new Map<string, number[]>()
  /** PENDING requests per process id, kept as requests change state. */
  private readonly pendingByProcess = new Map<string, number>()
  /** Indexes of PENDING requests; insertion order is sequence order unless `pendingSorted` is false. */
  private pending = new Set<number>()
  private pendingSorted = true
  private pendingMax = -1
  private readonly subscriptions: Subscription[] = []
  private readonly subscriptionOrdinalById = new Map<string, number>()
  /** Which subscription holds each installed item's CA ID (a card or STB is on one subscription). */
  private readonly holderByCaId = new Map<string, string>()
  private sequence: number

  /** A fresh state starts its sequence numbers at {@link freshSequenceOrigin}; a restored one where it left off. */
  constructor(firstSequence = freshSequenceOrigin()) {
    this.sequence = firstSequence
  }

  /** The next sequence number to assign (persisted by the file store, so it is never reused). */
  get nextSequence(): number {
    return this.sequence
  }

  get requestCount(): number {
    return this.requests.length
  }

  get subscriptionCount(): number {
    return this.subscriptions.length
  }

  /**
   * Rebuilds a state from persisted records. `requests[i]` must hold number `i + 1` and
   * `subscriptions[i]` ordinal `i`; a hole means the files were not a consistent set.
   */
  static restore(
    requests: readonly (ProvisioningRequest | undefined)[],
    subscriptions: readonly (Subscription | undefined)[],
    nextSequence: number,
  ): ProvisioningState {
    const state = new ProvisioningState()
    let maxSequence = 0
    for (let index = 0; index < requests.length; index++) {
      const request = requests[index]
      if (request?.number !== String(index + 1)) {
        throw new Error(`request number ${String(index + 1)} is missing`)
      }
      state.addRequest(withDefaults(request))
      maxSequence = Math.max(maxSequence, request.sequenceNumber)
    }
    for (let ordinal = 0; ordinal < subscriptions.length; ordinal++) {
      const subscription = subscriptions[ordinal]
      if (subscription === undefined) {
        throw new Error(`subscription number ${String(ordinal + 1)} in creation order is missing`)
      }
      state.subscriptions.push(subscription)
      state.subscriptionOrdinalById.set(subscription.id, ordinal)
      state.indexItems(undefined, subscription)
    }
    // Never go below what was handed out: a counter that moved back would reuse sequence numbers.
    state.sequence = Math.max(nextSequence, maxSequence + 1)
    return state
  }

  commit(
    change: {
      readonly subscription?: Subscription
      readonly requests: readonly NewProvisioningRequest[]
    },
    now: string,
  ): CommitOutcome {
    this.checkSequenceRoom(change.requests.length)
    const subscription =
      change.subscription === undefined ? null : this.upsertSubscription(change.subscription)
    return { subscription, requests: this.create(change.requests, now) }
  }

  /**
   * Resolves a PENDING request (REJECTED, with `splitInto` set to the new numbers) and creates the
   * requests it is split into, in one step: a store makes both durable together, so a crash can
   * neither send the parent again nor lose its parts.
   */
  split(
    id: string,
    update: RequestUpdate,
    parts: readonly NewProvisioningRequest[],
    now: string,
  ): SplitOutcome {
    const current = this.findRequest(id)
    if (current?.id !== id) {
      return this.notFound(id)
    }
    if (current.lifeCycleState !== 'PENDING') {
      throw new StoreError(
        'REQUEST_NOT_PENDING',
        `Failed to split provisioning request ${current.number}: it is ${current.lifeCycleState}, and only a PENDING request can be split. Nothing was changed.`,
      )
    }
    this.checkSequenceRoom(parts.length)
    const first = this.requests.length + 1
    const numbers = parts.map((_part, offset) => String(first + offset))
    const parent = this.update(id, { ...update, lifeCycleState: 'REJECTED' }, now, numbers)
    const children = this.create(
      parts.map((part) => ({
        ...part,
        splitOf: { number: parent.number, precedence: parent.precedence },
      })),
      now,
    )
    return { parent, children }
  }

  private create(requests: readonly NewProvisioningRequest[], now: string): ProvisioningRequest[] {
    return requests.map((request) => {
      const created = newRequest(request, String(this.requests.length + 1), this.sequence, now)
      this.sequence += 1
      this.addRequest(created)
      return created
    })
  }

  /** Refuses, before anything changes, a commit that would go past the largest SequenceNumber. */
  private checkSequenceRoom(count: number): void {
    if (this.sequence + count - 1 > MAX_SEQUENCE_NUMBER) {
      throw new StoreError(
        'SEQUENCE_NUMBERS_EXHAUSTED',
        `Failed to create ${count} provisioning request(s): this store has used its SequenceNumbers up to ${this.sequence - 1}, and the next would pass ${MAX_SEQUENCE_NUMBER}, the largest the Conax contract carries (xs:int). Nothing was stored. Start a new store (it takes a new random origin; see docs/decisions/0004).`,
      )
    }
  }

  private notFound(id: string): never {
    throw new StoreError(
      'REQUEST_NOT_FOUND',
      `Failed to update provisioning request ${JSON.stringify(id)}: no request has this id. Pass the request's 32-hex id (not its number), as returned by commit or getRequest.`,
    )
  }

  /** Replaces a request with its updated version; throws REQUEST_NOT_FOUND for an unknown id. */
  update(
    id: string,
    update: RequestUpdate,
    now: string,
    splitInto?: readonly string[],
  ): ProvisioningRequest {
    const index = this.requestIndexById.get(id)
    const current = index === undefined ? undefined : this.requests[index]
    if (index === undefined || current === undefined) {
      return this.notFound(id)
    }
    const changes: Record<string, unknown> = {}
    for (const field of UPDATABLE_FIELDS) {
      // undefined means "not given": exactOptionalPropertyTypes keeps it out of every field but
      // `result` (unknown), and JSON could not keep it anyway.
      if (update[field] !== undefined) {
        changes[field] = field === 'result' ? copyJson(update[field]) : update[field]
      }
    }
    if (splitInto !== undefined) {
      changes.splitInto = [...splitInto]
    }
    const updated = deepFreeze({ ...current, ...changes, updatedAt: now })
    this.requests[index] = updated
    if (current.lifeCycleState === 'PENDING' && updated.lifeCycleState !== 'PENDING') {
      this.pending.delete(index)
      this.countProcess(updated, -1)
    } else if (current.lifeCycleState !== 'PENDING' && updated.lifeCycleState === 'PENDING') {
      this.addPending(index)
      this.countProcess(updated, 1)
    }
    return updated
  }

  /** The record itself (not a copy): callers of the state copy before handing it out. */
  findRequest(idOrNumber: string): ProvisioningRequest | undefined {
    const index = this.requestIndexById.get(idOrNumber) ?? numberIndex(idOrNumber)
    return index === undefined ? undefined : this.requests[index]
  }

  findSubscription(id: string): Subscription | undefined {
    const ordinal = this.subscriptionOrdinalById.get(id)
    return ordinal === undefined ? undefined : this.subscriptions[ordinal]
  }

  listRequests(filter: RequestFilter): Page<ProvisioningRequest> {
    let candidates: Iterable<number> | null = null
    if (filter.subscriptionId !== undefined) {
      candidates = this.requestIndexesBySubscription.get(filter.subscriptionId) ?? []
    } else if (filter.processId !== undefined) {
      candidates = this.requestIndexesByProcess.get(filter.processId) ?? []
    } else if (filter.lifeCycleState === 'PENDING') {
      candidates = this.pendingIndexes()
    }
    const matches = (request: ProvisioningRequest): boolean =>
      (filter.type === undefined || request.type === filter.type) &&
      (filter.lifeCycleState === undefined || request.lifeCycleState === filter.lifeCycleState) &&
      (filter.referenceNumber === undefined ||
        request.referenceNumber === filter.referenceNumber) &&
      (filter.subscriptionId === undefined || request.subscriptionId === filter.subscriptionId) &&
      (filter.processName === undefined || request.processName === filter.processName) &&
      (filter.processId === undefined || request.processId === filter.processId)
    return pageOf(
      candidates === null ? this.requests : indexed(this.requests, candidates),
      matches,
      filter,
    )
  }

  /**
   * PENDING requests in sequence order, without copying: delivery reads them on every pass, so
   * they are the stored records themselves, frozen (records are replaced, never changed in place).
   */
  pendingRequests(): readonly ProvisioningRequest[] {
    return [...indexed(this.requests, this.pendingIndexes())]
  }

  /**
   * Subscriptions in creation order (the order of their first commit). `createdFrom`/`createdTo`
   * compare instants, so `...Z` and `...+00:00` spellings agree. An empty `types` or `ids` list
   * matches nothing: a given list is a constraint; leave it out to match any.
   */
  listSubscriptions(filter: SubscriptionFilter): Page<Subscription> {
    const from = filter.createdFrom === undefined ? undefined : Date.parse(filter.createdFrom)
    const to = filter.createdTo === undefined ? undefined : Date.parse(filter.createdTo)
    const types = filter.types === undefined ? undefined : new Set(filter.types)
    const dated = from !== undefined || to !== undefined
    if (!dated && types === undefined && filter.ids === undefined) {
      // Every subscription: a page is a slice, so a run paging through the whole base is linear.
      const offset = Math.max(0, Math.trunc(filter.offset ?? 0))
      const end =
        filter.limit === undefined ? undefined : offset + Math.max(0, Math.trunc(filter.limit))
      return {
        total: this.subscriptions.length,
        items: this.subscriptions.slice(offset, end).map((subscription) => copyJson(subscription)),
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
      const ordinal = this.subscriptionOrdinalById.get(id)
      if (ordinal !== undefined) {
        ordinals.add(ordinal)
      }
    }
    const sorted = [...ordinals].sort((a, b) => a - b)
    return pageOf(indexed(this.subscriptions, sorted), matches, filter)
  }

  /** Requests with numbers `first`..`first + count - 1` that exist, for a file segment. */
  requestRange(first: number, count: number): readonly ProvisioningRequest[] {
    return this.requests.slice(first - 1, first - 1 + count)
  }

  /** Subscriptions with ordinals `first`..`first + count - 1` that exist, for a file segment. */
  subscriptionRange(first: number, count: number): readonly Subscription[] {
    return this.subscriptions.slice(first, first + count)
  }

  /** The subscription holding an installed item with this CA ID, if any. */
  holderOf(caId: string): string | undefined {
    return this.holderByCaId.get(caId)
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

  private upsertSubscription(given: Subscription): PlacedSubscription {
    const subscription = copyJson(given)
    const known = this.subscriptionOrdinalById.get(subscription.id)
    const ordinal = known ?? this.subscriptions.length
    this.indexItems(known === undefined ? undefined : this.subscriptions[known], subscription)
    if (known === undefined) {
      this.subscriptions.push(subscription)
      this.subscriptionOrdinalById.set(subscription.id, ordinal)
    } else {
      this.subscriptions[ordinal] = subscription
    }
    return { ordinal, subscription }
  }

  private addRequest(request: ProvisioningRequest): void {
    const index = this.requests.length
    this.requests.push(deepFreeze(request))
    this.requestIndexById.set(request.id, index)
    if (request.subscriptionId !== null) {
      indexUnder(this.requestIndexesBySubscription, request.subscriptionId, index)
    }
    if (request.processId !== null) {
      indexUnder(this.requestIndexesByProcess, request.processId, index)
    }
    if (request.lifeCycleState === 'PENDING') {
      this.addPending(index)
      this.countProcess(request, 1)
    }
  }

  /** PENDING requests of a process id. */
  pendingOf(processId: string): number {
    return this.pendingByProcess.get(processId) ?? 0
  }

  private countProcess(request: ProvisioningRequest, change: 1 | -1): void {
    if (request.processId === null) {
      return
    }
    const count = (this.pendingByProcess.get(request.processId) ?? 0) + change
    if (count === 0) {
      this.pendingByProcess.delete(request.processId)
    } else {
      this.pendingByProcess.set(request.processId, count)
    }
  }

  private addPending(index: number): void {
    // A request put back to PENDING lands after later ones; sort lazily on the next read.
    if (index < this.pendingMax) {
      this.pendingSorted = false
    }
    this.pendingMax = Math.max(this.pendingMax, index)
    this.pending.add(index)
  }

  private pendingIndexes(): ReadonlySet<number> {
    if (!this.pendingSorted) {
      this.pending = new Set([...this.pending].sort((a, b) => a - b))
      this.pendingSorted = true
    }
    return this.pending
  }
}

function indexUnder(index: Map<string, number[]>, key: string, position: number): void {
  const positions = index.get(key)
  if (positions === undefined) {
    index.set(key, [position])
  } else {
    positions.push(position)
  }
}

/** A request as stored by an earlier version, with the fields added since at their defaults. */
function withDefaults(request: ProvisioningRequest): ProvisioningRequest {
  const stored: Partial<ProvisioningRequest> = request
  return 'precedence' in stored && 'errorClass' in stored && 'actionId' in stored
    ? request
    : {
        ...request,
        errorClass: stored.errorClass ?? null,
        precedence: stored.precedence ?? request.sequenceNumber,
        splitFrom: stored.splitFrom ?? null,
        splitInto: stored.splitInto ?? null,
        actionId: stored.actionId ?? null,
      }
}

export function newRequest(
  given: NewProvisioningRequest,
  number: string,
  sequenceNumber: number,
  now: string,
): ProvisioningRequest {
  return {
    id: randomUUID().replaceAll('-', ''),
    number,
    type: given.command.type,
    sequenceNumber,
    priority: given.priority ?? 'REGULAR',
    processImmediately: given.processImmediately ?? false,
    scheduledDate: given.scheduledDate ?? null,
    executedDate: null,
    lifeCycleState: 'PENDING',
    command: copyJson(given.command),
    request: null,
    response: null,
    referenceNumber: null,
    errorCode: null,
    errorDescription: null,
    processName: given.processName,
    processId: given.processId ?? null,
    subscriptionId: given.subscriptionId ?? null,
    result: null,
    attempts: 0,
    nextAttemptAt: null,
    errorClass: null,
    precedence: given.splitOf?.precedence ?? sequenceNumber,
    splitFrom: given.splitOf?.number ?? null,
    splitInto: null,
    actionId: given.actionId ?? null,
    createdAt: now,
    updatedAt: now,
  }
}

/** The array index of a request number ("1" is index 0), or undefined if it is not one. */
function numberIndex(value: string): number | undefined {
  return /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) - 1 : undefined
}

function* indexed<T>(items: readonly T[], indexes: Iterable<number>): Generator<T> {
  for (const index of indexes) {
    const item = items[index]
    if (item !== undefined) {
      yield item
    }
  }
}

/** Counts every match and copies only the page, so a large total costs no copying. */
function pageOf<T>(
  candidates: Iterable<T>,
  matches: (item: T) => boolean,
  paging: { readonly offset?: number | undefined; readonly limit?: number | undefined },
): Page<T> {
  const offset = Math.max(0, Math.trunc(paging.offset ?? 0))
  const end = paging.limit === undefined ? Infinity : offset + Math.max(0, Math.trunc(paging.limit))
  const items: T[] = []
  let total = 0
  for (const candidate of candidates) {
    if (matches(candidate)) {
      if (total >= offset && total < end) {
        items.push(copyJson(candidate))
      }
      total += 1
    }
  }
  return { total, items }
}
