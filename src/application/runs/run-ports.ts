import type {
  ObservedCard,
  RunDefinition,
  RunKind,
  SubscriptionCriteria,
} from '../../domain/runs.js'
import type { ProcessName } from '../../domain/provisioning-request.js'

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

export const COMMUNICATION_STATES = ['PENDING', 'PROCESSED', 'FAILED'] as const
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
}

export const EXECUTION_STATES = ['RUNNING', 'STOPPING', 'STOPPED', 'COMPLETED', 'FAILED'] as const
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
  readonly repaired: number
  readonly failed: number
  /** Smartcards reached (messages, fingerprints) or read (reset). */
  readonly cards: number
  /** Provisioning requests created. */
  readonly requests: number
  /** Message runs: communications processed. */
  readonly communications: number
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
}

/** Where run definitions, executions and the communication queue are kept. */
export interface RunStore {
  saveDefinition(definition: RunDefinition): Promise<void>
  getDefinition(idOrCode: string): Promise<RunDefinition | null>
  listDefinitions(): Promise<readonly RunDefinition[]>
  saveExecution(execution: RunExecution): Promise<void>
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
    change: Pick<Communication, 'state' | 'processedAt' | 'error' | 'processedBy'>,
  ): Promise<void>
  close(): Promise<void>
}

/** Reads a smartcard's state from the CA (GetActiveSubscriptions and GetPairingStatusForCard). */
export interface CaReader {
  /** Rejects when the CA cannot be asked (down, timeout): the run stops and can be resumed. */
  readCard(caId: string): Promise<ObservedCard>
  close(): Promise<void>
}
