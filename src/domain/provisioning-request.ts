import { parametersOf, type ConaxCommand, type RequestType } from './commands.js'

/** CRM.COM's provisioning request (docs/domain.md §2.6) as the adapter keeps it. */
export const LIFE_CYCLE_STATES = ['PENDING', 'COMPLETED', 'REJECTED'] as const
export type LifeCycleState = (typeof LIFE_CYCLE_STATES)[number]

export const PRIORITIES = ['REGULAR', 'EXPRESS'] as const
export type Priority = (typeof PRIORITIES)[number]

/**
 * Process names of CRM.COM (`FIINGERPRINTING_UTILITY` keeps the vendor's double I, docs/domain.md
 * §4.2), plus the names of the runs of issue 5.
 */
export const PROCESS_NAMES = [
  'PROVISIONING_REQUEST_PROCESSING',
  'MAIL_BARK_MESSAGE_UTILITY',
  'PAIRING_UTILITY',
  'FIINGERPRINTING_UTILITY',
  'RESET_PIN',
  'MANUAL',
  'CONAX_INFORMATION_UTILITY',
  'RESET_SUBSCRIPTION_RUN',
  'RESET_SINGLE_SUBSCRIPTION',
  'MAIL_BARK_MESSAGE_RUN',
  'FINGERPRINTING_RUN',
] as const
export type ProcessName = (typeof PROCESS_NAMES)[number]

/** What a failed attempt means for a request (see {@link ProvisioningRequest.errorClass}). */
export const ERROR_CLASSES = ['RETRY', 'REJECT'] as const
export type ErrorClass = (typeof ERROR_CLASSES)[number]

export interface ProvisioningRequest {
  /** Internal id (32 hex characters, as CRM.COM's examples). */
  readonly id: string
  /** Request number, "1", "2", ... in creation order. */
  readonly number: string
  readonly type: RequestType
  /** Sending order, and the SequenceNumber sent to Conax with a write (so a retry is a replay). */
  readonly sequenceNumber: number
  readonly priority: Priority
  readonly processImmediately: boolean
  /** Not sent before this time (ISO-8601); null means as soon as possible. */
  readonly scheduledDate: string | null
  /** When it was sent the last time. */
  readonly executedDate: string | null
  readonly lifeCycleState: LifeCycleState
  /** The command and its parameters (CRM.COM's parameters_set). */
  readonly command: ConaxCommand
  /** The SOAP request last sent and the response received. */
  readonly request: string | null
  readonly response: string | null
  /** Conax's TransactionId. */
  readonly referenceNumber: string | null
  readonly errorCode: string | null
  readonly errorDescription: string | null
  readonly processName: ProcessName
  readonly processId: string | null
  readonly subscriptionId: string | null
  /** What a query returned (active subscriptions, pairing status); null for writes. */
  readonly result: unknown
  /** Delivery attempts so far, and when the next may be made after a transient failure. */
  readonly attempts: number
  readonly nextAttemptAt: string | null
  /**
   * What the last failure means: `RETRY` (the CA or the network may recover: it stays PENDING and
   * goes again after its backoff) or `REJECT` (the CA's verdict on the request: final). Null until
   * an attempt fails, and again once it completes.
   */
  readonly errorClass: ErrorClass | null
  /** The sending position it takes: its own sequence number, or the one of the request it was split from. */
  readonly precedence: number
  /** Number of the request this one was split from (a batch the CA refused for some of its cards). */
  readonly splitFrom: string | null
  /**
   * The CRM action (or utility call, or one subscription's repair) the request belongs to: its
   * requests reach the CA in the planned order, across all their devices (make before break).
   */
  readonly actionId: string | null
  /** Numbers of the requests a refused batch was split into; its other cards failed with its error. */
  readonly splitInto: readonly string[] | null
  readonly createdAt: string
  readonly updatedAt: string
}

/** What a caller supplies to create a request; the store assigns id, number and sequence number. */
export interface NewProvisioningRequest {
  readonly command: ConaxCommand
  readonly priority?: Priority
  readonly processImmediately?: boolean
  readonly scheduledDate?: string | null
  readonly processName: ProcessName
  readonly processId?: string | null
  readonly subscriptionId?: string | null
  /** Requests with the same action id are sent one after another, in creation order. */
  readonly actionId?: string | null
  /** Split from this request (its number and precedence): the store sets `splitFrom` and `precedence`. */
  readonly splitOf?: { readonly number: string; readonly precedence: number }
}

/** CRM.COM's parameters_set keys for a command (smartcard_ca_id, service_ca_id, stb_ca_id, ...). */
export function parametersSet(
  command: ConaxCommand,
): Record<string, string | number | string[] | null> {
  return { sub_provisioning_distribution_id: command.distributor, ...parametersOf(command) }
}
