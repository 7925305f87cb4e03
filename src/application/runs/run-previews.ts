import type { ConaxCommand } from '../../domain/commands.js'
import type { ProvisioningRequest } from '../../domain/provisioning-request.js'
import type { RunFailure } from '../../domain/run-tally.js'
import type { ResetPlan } from '../../domain/runs.js'

/** One subscription a reset preview or run found out of sync. */
export interface OutOfSync {
  readonly subscriptionId: string
  readonly differences: readonly string[]
  readonly commands: readonly ConaxCommand[]
}

/** What a reset preview found: counts over every subscription checked, and the first out-of-sync ones. */
export interface ResetPreview {
  readonly kind: 'RESET_SUBSCRIPTION'
  readonly checked: number
  readonly inSync: number
  readonly outOfSync: number
  readonly failed: number
  readonly subscriptions: readonly OutOfSync[]
  /** True when more were out of sync than `limit` lists. */
  readonly truncated: boolean
  /** Each card that could not be checked, and why (the first `limit`). */
  readonly failures: readonly RunFailure[]
}

/** What a message or fingerprinting run would send. */
export interface SendPreview {
  readonly kind: 'MAIL_BARK_MESSAGE' | 'FINGERPRINTING'
  readonly subscriptions: number
  readonly cards: number
  readonly requests: number
  /** Message runs: pending communications, and those a run would refuse (text too long...). */
  readonly communications?: number
  readonly refused?: readonly { readonly number: string; readonly error: string }[]
  /** Recipients that would be skipped (no smartcard, unknown to the CRM). */
  readonly skipped: number
  /**
   * What would fail and why: refused communications, skipped recipients and, with `checkCards`,
   * the cards the CA does not know or manages for another SMS (the first `limit`).
   */
  readonly failures: readonly RunFailure[]
  /** Whether the cards were asked of the CA (`checkCards`). */
  readonly cardsChecked: boolean
}

/** What a run would do, by kind. */
export type RunPreview = ResetPreview | SendPreview

/** What a preview lists and whether it asks the CA about the cards. */
export interface PreviewOptions {
  readonly limit: number
  readonly checkCards: boolean
}

/**
 * What reset single subscription did: the repair of the cards that could be read, the requests it
 * created (none for a preview), and each card that could not be checked, with the CA's status.
 */
export type ResetSingle = ResetPlan & {
  readonly requests: readonly ProvisioningRequest[]
  readonly failures: readonly RunFailure[]
}
