import type { Subscription } from '../domain/crm.js'
import type {
  LifeCycleState,
  NewProvisioningRequest,
  ProcessName,
  ProvisioningRequest,
} from '../domain/provisioning-request.js'
import type { ConaxCommand, RequestType } from '../domain/commands.js'

/** The fields of a request that delivery changes. */
export type RequestUpdate = Partial<
  Pick<
    ProvisioningRequest,
    | 'lifeCycleState'
    | 'executedDate'
    | 'request'
    | 'response'
    | 'referenceNumber'
    | 'errorCode'
    | 'errorDescription'
    | 'result'
    | 'attempts'
    | 'nextAttemptAt'
    | 'errorClass'
  >
>

export interface RequestFilter {
  readonly type?: RequestType | undefined
  readonly lifeCycleState?: LifeCycleState | undefined
  readonly referenceNumber?: string | undefined
  readonly subscriptionId?: string | undefined
  readonly processName?: ProcessName | undefined
  readonly processId?: string | undefined
  /** Requests whose command names this smartcard or STB CA ID. */
  readonly caId?: string | undefined
  /** Results to skip (CRM.COM's offset: 0 skips nothing). */
  readonly offset?: number | undefined
  /** At most this many results (CRM.COM's number_of_results). */
  readonly limit?: number | undefined
}

export interface SubscriptionFilter {
  readonly createdFrom?: string | undefined
  readonly createdTo?: string | undefined
  readonly types?: readonly string[] | undefined
  readonly ids?: readonly string[] | undefined
  readonly offset?: number | undefined
  readonly limit?: number | undefined
}

/** A page of results and the total that matched. */
export interface Page<T> {
  readonly total: number
  readonly items: readonly T[]
}

/** What one {@link ProvisioningStore.commit} applies. */
export interface CommitChange {
  /** The subscription's new state, if the change has one. */
  readonly subscription?: Subscription
  /**
   * The subscription as the plan read it (null: there was none). When given, the commit is refused
   * with SUBSCRIPTION_CHANGED if the stored one differs, and with ITEM_HELD if another subscription
   * holds one of `subscription`'s items; absent: no check.
   */
  readonly basedOn?: Subscription | null
  readonly requests: readonly NewProvisioningRequest[]
  /**
   * A run execution's batch: the commit is refused with RUN_OWNED, changing nothing, when the
   * execution is no longer owned by `fence.owner` (another instance took it over meanwhile).
   */
  readonly fence?: RunFence
}

/** The run execution a commit belongs to, and the adapter instance that must still own it. */
export interface RunFence {
  readonly executionId: string
  readonly owner: string
}

/**
 * Where the adapter keeps CRM subscriptions and provisioning requests. Every method resolves only
 * once its change is durable, so an acknowledged action or request survives a restart.
 */
export interface ProvisioningStore {
  /** Human description for logs: `memory` or a file path. */
  readonly description: string
  /**
   * Applies the outcome of one action atomically: the subscription's new state (if any) and its new
   * requests, which get their id, number ("1", "2"...) and sequence number (strictly increasing).
   * A planned commit (`basedOn` given) is refused, changing nothing, with SUBSCRIPTION_CHANGED
   * when the stored subscription is no longer `basedOn` (another adapter instance committed it in
   * between), and with ITEM_HELD when an installed item of `subscription` is held by another
   * subscription. A fenced commit (`fence` given) is refused, changing nothing, with RUN_OWNED
   * when the run execution's owner is no longer `fence.owner`, checked in the commit's transaction
   * against a takeover. Single-process stores (memory, file) store it unchecked: their run store
   * is that process's own, so no other instance can take an execution over.
   */
  commit(change: CommitChange, now: string): Promise<readonly ProvisioningRequest[]>
  /** Changes delivery fields of a request; rejects when the id is unknown. */
  updateRequest(id: string, update: RequestUpdate, now: string): Promise<ProvisioningRequest>
  /**
   * Makes a PENDING request REJECTED with `update` and creates the requests it is split into
   * (each with `splitFrom` and the parent's `precedence`; the parent's `splitInto` lists their
   * numbers) in one atomic, durable change. Rejects REQUEST_NOT_FOUND or REQUEST_NOT_PENDING.
   */
  splitRequest(
    id: string,
    update: RequestUpdate,
    parts: readonly NewProvisioningRequest[],
    now: string,
  ): Promise<{
    readonly parent: ProvisioningRequest
    readonly children: readonly ProvisioningRequest[]
  }>
  /**
   * Claims PENDING requests for sending by `owner` (one adapter instance) for `leaseMs`, and
   * resolves to the ids it got, in the order given. A request is not given while another owner's
   * lease on it runs; `updateRequest` and `splitRequest` end a claim (the attempt is over), and so
   * does the lease running out (its owner died: another instance sends it again, with the same
   * SequenceNumber, which the CA takes as a replay). Single-process stores grant any PENDING request
   * not claimed by another owner.
   */
  claimRequests(ids: readonly string[], owner: string, leaseMs: number): Promise<readonly string[]>
  /** Ends `owner`'s claims on requests it did not send after all (delivery stopped). */
  releaseRequests(ids: readonly string[], owner: string): Promise<void>
  /** A request by id or number, or null. */
  getRequest(idOrNumber: string): Promise<ProvisioningRequest | null>
  /** Requests matching the filter, in sequence order. */
  listRequests(filter: RequestFilter): Promise<Page<ProvisioningRequest>>
  /**
   * Every PENDING request, in sequence order. A store shared by several instances may return only
   * the first ones of a long queue in sending order (precedence, then sequence number): a prefix
   * of that order is all delivery needs, since a request waits only for requests before it.
   */
  pendingRequests(): Promise<readonly ProvisioningRequest[]>
  /** How many requests of a process id (a run execution) are PENDING, without listing them. */
  countPending(processId: string): Promise<number>
  getSubscription(id: string): Promise<Subscription | null>
  /**
   * Optional, for stores whose reads are round trips: the subscription as this store last
   * committed it, or null when it committed none with this id. A guess (another instance may have
   * changed it since) that a plan may start from, since its commit checks it (`basedOn`); a plan
   * refused on a guess is planned again on {@link getSubscription}.
   */
  guessSubscription?(id: string): Subscription | null
  /** The id of the subscription holding an installed item with this CA ID, or null. */
  subscriptionHolding(caId: string): Promise<string | null>
  /** Subscriptions matching the filter, in creation order. */
  listSubscriptions(filter: SubscriptionFilter): Promise<Page<Subscription>>
  /**
   * Optional, for stores several adapter instances share: calls `listener` soon after another
   * instance created requests or stored an outcome, so that delivery looks at once rather than at
   * its next timer. A wake-up that is lost costs that wait, nothing else. Returns the removal.
   */
  watch?(listener: () => void): () => void
  /** Waits for pending writes and releases the store. */
  close(): Promise<void>
}

/** The clock, injected so that tests and scenarios control time. */
export interface Clock {
  now(): Date
}

/** What Conax answered to one command, classified for delivery. */
export type DeliveryOutcome =
  | {
      readonly kind: 'COMPLETED'
      readonly referenceNumber: string
      readonly message: string
      readonly request: string
      readonly response: string
      readonly result: unknown
    }
  | {
      readonly kind: 'REJECTED'
      readonly errorCode: string
      readonly errorDescription: string
      readonly referenceNumber: string | null
      readonly request: string | null
      readonly response: string | null
    }
  | {
      readonly kind: 'TRANSIENT'
      readonly errorCode: string
      readonly errorDescription: string
      readonly request: string | null
      readonly response: string | null
    }

/** The CA system as delivery sees it: one command in, one classified outcome out; never throws for CA failures. */
export interface CaGateway {
  send(command: ConaxCommand, sequenceNumber: number): Promise<DeliveryOutcome>
}
