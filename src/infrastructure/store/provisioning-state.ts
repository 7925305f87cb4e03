import { randomInt, randomUUID } from 'node:crypto'
import type {
  CommitChange,
  Page,
  RequestFilter,
  RequestUpdate,
  SubscriptionFilter,
} from '../../application/ports.js'
import { cardsOf, stbsOf } from '../../domain/commands.js'
import type { Subscription } from '../../domain/crm.js'
import type {
  NewProvisioningRequest,
  ProvisioningRequest,
} from '../../domain/provisioning-request.js'
import { copyJson, deepFreeze, indexed, pageOf } from './records.js'
import { StoreError } from './store-error.js'
import { SubscriptionTable, type PlacedSubscription } from './subscription-table.js'

export { copyJson, deepFreeze } from './records.js'
export type { PlacedSubscription } from './subscription-table.js'

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
  private readonly subscriptions = new SubscriptionTable()
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
    return this.subscriptions.count
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
    state.subscriptions.restore(subscriptions)
    // Never go below what was handed out: a counter that moved back would reuse sequence numbers.
    state.sequence = Math.max(nextSequence, maxSequence + 1)
    return state
  }

  commit(change: CommitChange, now: string): CommitOutcome {
    this.subscriptions.checkCommit(change)
    checkSequenceRoom(this.sequence, change.requests.length)
    const subscription =
      change.subscription === undefined ? null : this.subscriptions.upsert(change.subscription)
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
      throw requestNotFound(id)
    }
    if (current.lifeCycleState !== 'PENDING') {
      throw requestNotPending(current)
    }
    checkSequenceRoom(this.sequence, parts.length)
    const first = this.requests.length + 1
    const numbers = parts.map((_part, offset) => String(first + offset))
    const parent = this.update(id, { ...update, lifeCycleState: 'REJECTED' }, now, numbers)
    const children = this.create(partsOf(parent, parts), now)
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
      throw requestNotFound(id)
    }
    const updated = updatedRequest(current, update, now, splitInto)
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
    return this.subscriptions.find(id)
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
      (filter.processId === undefined || request.processId === filter.processId) &&
      (filter.caId === undefined ||
        cardsOf(request.command).includes(filter.caId) ||
        stbsOf(request.command).includes(filter.caId))
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

  /** Subscriptions in creation order (see {@link SubscriptionTable.list}). */
  listSubscriptions(filter: SubscriptionFilter): Page<Subscription> {
    return this.subscriptions.list(filter)
  }

  /** Requests with numbers `first`..`first + count - 1` that exist, for a file segment. */
  requestRange(first: number, count: number): readonly ProvisioningRequest[] {
    return this.requests.slice(first - 1, first - 1 + count)
  }

  /** Subscriptions with ordinals `first`..`first + count - 1` that exist, for a file segment. */
  subscriptionRange(first: number, count: number): readonly Subscription[] {
    return this.subscriptions.range(first, count)
  }

  /** The subscription holding an installed item with this CA ID, if any. */
  holderOf(caId: string): string | undefined {
    return this.subscriptions.holderOf(caId)
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
export function withDefaults(request: ProvisioningRequest): ProvisioningRequest {
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

/** A new PENDING request with its number and sequence number. */
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

/** REQUEST_NOT_FOUND for an update or split of an id no request has. */
export function requestNotFound(id: string): StoreError {
  return new StoreError(
    'REQUEST_NOT_FOUND',
    `Failed to update provisioning request ${JSON.stringify(id)}: no request has this id. Pass the request's 32-hex id (not its number), as returned by commit or getRequest.`,
  )
}

/** REQUEST_NOT_PENDING for a split of a request that is already final. */
export function requestNotPending(current: ProvisioningRequest): StoreError {
  return new StoreError(
    'REQUEST_NOT_PENDING',
    `Failed to split provisioning request ${current.number}: it is ${current.lifeCycleState}, and only a PENDING request can be split. Nothing was changed.`,
  )
}

/** Refuses, before anything changes, a commit that would go past the largest SequenceNumber. */
export function checkSequenceRoom(next: number, count: number): void {
  if (next + count - 1 > MAX_SEQUENCE_NUMBER) {
    throw new StoreError(
      'SEQUENCE_NUMBERS_EXHAUSTED',
      `Failed to create ${count} provisioning request(s): this store has used its SequenceNumbers up to ${next - 1}, and the next would pass ${MAX_SEQUENCE_NUMBER}, the largest the Conax contract carries (xs:int). Nothing was stored. Start a new store (it takes a new random origin; see docs/decisions/0004).`,
    )
  }
}

/** The new version of `current` with the delivery fields of `update` (frozen: records are never changed in place). */
export function updatedRequest(
  current: ProvisioningRequest,
  update: RequestUpdate,
  now: string,
  splitInto?: readonly string[],
): ProvisioningRequest {
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
  return deepFreeze({ ...current, ...changes, updatedAt: now })
}

/** The requests a split creates: each takes the parent's number as `splitFrom` and its precedence. */
export function partsOf(
  parent: ProvisioningRequest,
  parts: readonly NewProvisioningRequest[],
): NewProvisioningRequest[] {
  return parts.map((part) => ({
    ...part,
    splitOf: { number: parent.number, precedence: parent.precedence },
  }))
}
