import { CodedError } from '../../../common/coded-error.js'
import type {
  ObservedCard,
  RunDefinition,
  RunKind,
  SubscriptionCriteria,
} from '../../domain/runs.js'
import type { ProcessName } from '../../domain/provisioning-request.js'
import type { RunFailure } from '../../domain/run-tally.js'

/** Who a communication is for: named subscriptions, or every subscription a segment takes. */
export interface CommunicationRecipients {
  readonly subscriptionIds?: readonly string[]
  readonly segment?: SubscriptionCriteria
}

/** A communication to enqueue for a communication queue external system. */
export interface CommunicationInput {
  readonly externalSystem: string
  readonly message: string
  readonly recipients: CommunicationRecipients
}

/**
 * PENDING until a run takes it; SENDING once its requests are created and the CA's verdicts are
 * awaited; then PROCESSED (at least one card got it, or it had no card to reach) or FAILED (its
 * text was refused, or the CA refused every card).
 */
export const COMMUNICATION_STATES = ['PENDING', 'SENDING', 'PROCESSED', 'FAILED'] as const
export type CommunicationState = (typeof COMMUNICATION_STATES)[number]

/** A communication in the queue; its number goes on every request a run sends for it. */
export interface Communication extends CommunicationInput {
  readonly number: string
  readonly state: CommunicationState
  readonly createdAt: string
  readonly processedAt: string | null
  /** Why it could not be sent (a text too long for the run's message type...). */
  readonly error: string | null
  /** The run execution that processed it. */
  readonly processedBy: string | null
  /** Once its requests are final: cards the CA accepted and refused, and the first refusals. */
  readonly delivery?: {
    readonly sent: number
    readonly failed: number
    readonly failures: readonly RunFailure[]
  } | null
}

/**
 * RUNNING while it creates requests, DELIVERING while its requests wait for the CA's verdicts,
 * COMPLETED once every one is final (its counts then say what the CA accepted and refused).
 * STOPPING/STOPPED and FAILED (the run itself broke, e.g. the CA could not be read) can be resumed.
 */
export const EXECUTION_STATES = [
  'RUNNING',
  'STOPPING',
  'STOPPED',
  'DELIVERING',
  'COMPLETED',
  'FAILED',
] as const
export type ExecutionState = (typeof EXECUTION_STATES)[number]

/** Where a run goes on after a stop: the next subscription (by offset) or communication and recipient offset. */
export interface RunCursor {
  /** Reset and fingerprinting runs: subscriptions done, in creation order. */
  readonly offset: number
  /** Message runs: the communication being sent (null: the next pending one). */
  readonly communication: string | null
}

/** What an execution did so far. */
export interface RunCounts {
  /** Subscriptions (reset, fingerprinting) or recipients (messages) looked at. */
  readonly processed: number
  /** Reset: subscriptions compared with the CA, and how they came out. */
  readonly checked: number
  readonly inSync: number
  /** Reset: subscriptions whose every repair the CA completed (known once DELIVERING is over). */
  readonly repaired: number
  /**
   * Items that failed: cards the CA refused (messages, fingerprints), or subscriptions that could
   * not be read or whose repair was refused (reset). Each is listed in `failures` (the first 100).
   */
  readonly failed: number
  /** Cards the CA accepted (messages, fingerprints), or repair requests it completed (reset). */
  readonly sent: number
  /** Recipients or subscriptions with no smartcard to reach, or unknown to the CRM. */
  readonly skipped: number
  /** Smartcards addressed (messages, fingerprints) or read (reset). */
  readonly cards: number
  /** Provisioning requests created. */
  readonly requests: number
  /** Message runs: communications taken, and those that failed (text refused, or every card refused). */
  readonly communications: number
  readonly communicationsFailed: number
  /** SOAP calls the run made itself (the reset run's queries). */
  readonly caCalls: number
}

/** One execution of a run definition. */
export interface RunExecution {
  readonly id: string
  readonly runId: string
  readonly kind: RunKind
  readonly processName: ProcessName
  readonly state: ExecutionState
  readonly startedAt: string
  readonly updatedAt: string
  readonly finishedAt: string | null
  /** Time spent running (stops not counted), for the rate and the ETA. */
  readonly activeMs: number
  /** Items to process (subscriptions or recipients), when known. */
  readonly total: number | null
  readonly cursor: RunCursor
  readonly counts: RunCounts
  /** Set when the cursor was saved after requests were created (see the run service). */
  readonly lastError: string | null
  /** What failed and why, the first 100 (`counts.failed` counts them all). */
  readonly failures?: readonly RunFailure[]
  /** The adapter instance that runs (or last ran) it; absent on executions stored before instances. */
  readonly owner?: string | null
  /** Until when the owner holds it (ISO-8601); renewed while it runs, so a dead owner's lease runs out. */
  readonly leaseUntil?: string | null
  /**
   * A stop was asked (on any instance); the owner stops after its current batch. Only
   * {@link RunStore.requestStop} sets it and {@link RunStore.takeExecution} clears it: a save keeps it.
   */
  readonly stopRequested?: boolean
}

/** Who takes an execution over, at what time, and until when. */
export interface ExecutionTake {
  readonly owner: string
  /** The current time (ISO-8601): a lease that ended before it has run out. */
  readonly now: string
  readonly leaseUntil: string
}

/**
 * Whether `owner` may take the execution at `now`: STOPPED and FAILED ones always; RUNNING or
 * STOPPING ones when they are its own, have no owner, or their owner's lease has run out (that
 * instance died). The rule every run store applies atomically in {@link RunStore.takeExecution}.
 */
export function mayTake(execution: RunExecution, take: ExecutionTake): boolean {
  if (execution.state === 'STOPPED' || execution.state === 'FAILED') {
    return true
  }
  if (execution.state !== 'RUNNING' && execution.state !== 'STOPPING') {
    return false
  }
  return (
    execution.owner === undefined ||
    execution.owner === null ||
    execution.owner === take.owner ||
    execution.leaseUntil === undefined ||
    execution.leaseUntil === null ||
    Date.parse(execution.leaseUntil) <= Date.parse(take.now)
  )
}

/** Where run definitions, executions and the communication queue are kept. */
export interface RunStore {
  saveDefinition(definition: RunDefinition): Promise<void>
  getDefinition(idOrCode: string): Promise<RunDefinition | null>
  listDefinitions(): Promise<readonly RunDefinition[]>
  /**
   * Saves an execution; its stored `stopRequested` is kept whatever the given one says. With
   * `ifOwner` (the loop that runs it), saves only while the stored execution, if any, is owned by
   * `ifOwner`, atomically: false, saving nothing, once another instance took it over.
   */
  saveExecution(execution: RunExecution, ifOwner?: string): Promise<boolean>
  /**
   * Atomically takes the execution for `take.owner` when {@link mayTake} allows it: RUNNING, owned
   * by it until `take.leaseUntil`, no stop asked, no last error. Null when it may not (another
   * live instance runs it, or it is DELIVERING or COMPLETED) or does not exist.
   */
  takeExecution(id: string, take: ExecutionTake): Promise<RunExecution | null>
  /** Extends the lease of `owner` on the execution; false when it no longer owns it. */
  renewExecution(id: string, owner: string, leaseUntil: string): Promise<boolean>
  /** Marks the execution as to be stopped (its owner stops after its current batch); null if unknown. */
  requestStop(id: string): Promise<RunExecution | null>
  getExecution(id: string): Promise<RunExecution | null>
  listExecutions(runId?: string): Promise<readonly RunExecution[]>
  /** Adds communications with the next numbers ("1", "2"...), PENDING. */
  addCommunications(
    inputs: readonly CommunicationInput[],
    now: string,
  ): Promise<readonly Communication[]>
  /** Pending communications of an external system with a number above `after`, in number order. */
  pendingCommunications(
    externalSystem: string,
    after: string | null,
    limit: number,
  ): Promise<readonly Communication[]>
  getCommunication(number: string): Promise<Communication | null>
  listCommunications(filter: {
    readonly externalSystem?: string
    readonly state?: CommunicationState
  }): Promise<readonly Communication[]>
  updateCommunication(
    number: string,
    change: Pick<Communication, 'state' | 'processedAt' | 'error' | 'processedBy' | 'delivery'>,
  ): Promise<void>
  close(): Promise<void>
}

/**
 * What a failed card read means for a run: `CARD`, that card fails alone (the CA does not manage
 * it, refused the query, answered something unreadable); `CA`, the CA cannot be asked now (no
 * answer, a timeout, its own failure, or a refusal of every call: wrong credentials or endpoint),
 * so the run stops and can be resumed.
 */
export type CardReadScope = 'CARD' | 'CA'

/**
 * Why a card could not be read, as a {@link CaReader} rejects: `code` is the status a run lists
 * for the card (the CA's StatusCode, or the reader's own code: TIMEOUT, UNAUTHORIZED...), `scope`
 * what it means for the run.
 */
export class CardReadError extends CodedError {
  override readonly name = 'CardReadError'
  readonly scope: CardReadScope
  readonly card: string

  constructor(fields: {
    readonly code: string
    readonly scope: CardReadScope
    readonly card: string
    readonly message: string
    readonly cause?: unknown
  }) {
    // The CA's failure seen through the adapter: a gateway error (502), or unavailable (503).
    super(fields.code, fields.scope === 'CA' ? 503 : 502, fields.message, { cause: fields.cause })
    this.scope = fields.scope
    this.card = fields.card
  }
}

/** Reads a smartcard's state from the CA (GetActiveSubscriptions and GetPairingStatusForCard). */
export interface CaReader {
  /**
   * Rejects with a {@link CardReadError} when the card cannot be read; its scope says whether the
   * run fails that card or stops (the CA cannot be asked: down, timeout) to be resumed.
   */
  readCard(caId: string): Promise<ObservedCard>
  close(): Promise<void>
}
