import { cardsOf } from './commands.js'
import type { ProvisioningRequest } from './provisioning-request.js'

/**
 * A run's verdict once every request it created is final: which cards (message and fingerprint
 * runs) or subscriptions (reset runs) the CA accepted, and which it refused and why. A batch the
 * CA refused for some of its cards was split (split.ts): its parts carry the verdict on the cards
 * they hold, and the cards left out of every part failed with the batch's own status.
 * @module
 */

/** One item a run could not do, with the CA's status (or the run's own code) and why. */
export interface RunFailure {
  readonly subscriptionId: string | null
  readonly card: string | null
  /** The communication queue number, for message runs. */
  readonly communication: string | null
  readonly code: string
  readonly message: string
}

/** Failures listed in full on a run or a communication; the counts go on past it. */
export const LISTED_FAILURES = 100

/** What the requests of one communication came to. */
export interface CommunicationVerdict {
  readonly sent: number
  readonly failed: number
  /** The first failures, up to {@link LISTED_FAILURES}. */
  readonly failures: readonly RunFailure[]
}

/** What the requests of a run came to. */
export interface RunVerdict {
  /** Cards the CA accepted (messages, fingerprints), or repair requests it completed (reset). */
  readonly sent: number
  /** Cards refused (messages, fingerprints), or subscriptions whose repair was refused (reset). */
  readonly failed: number
  /** Reset runs: subscriptions whose every repair request completed. */
  readonly repaired: number
  readonly failures: readonly RunFailure[]
  /** Message runs: the verdict per communication queue number. */
  readonly communications: ReadonlyMap<string, CommunicationVerdict>
}

interface SplitBatch {
  readonly request: ProvisioningRequest
  /** Cards of the batch not (yet) seen in one of its parts. */
  readonly leftOut: Set<string>
}

interface Tallies {
  sent: number
  failed: number
  failures: RunFailure[]
}

/**
 * Adds up a run's final requests, given in number order (a part always comes after the batch it
 * was split from). Memory holds the split batches and, for a reset run, one flag per subscription.
 */
export class RunTally {
  private readonly kind: 'CARDS' | 'SUBSCRIPTIONS'
  private readonly total: Tallies = { sent: 0, failed: 0, failures: [] }
  private readonly byCommunication = new Map<string, Tallies>()
  private readonly splitBatches = new Map<string, SplitBatch>()
  /** Reset runs: per subscription, whether any of its repairs was refused. */
  private readonly subscriptions = new Map<string, boolean>()

  /** `CARDS` for message and fingerprint runs, `SUBSCRIPTIONS` for reset runs. */
  constructor(kind: 'CARDS' | 'SUBSCRIPTIONS') {
    this.kind = kind
  }

  /** Takes one final request into account; a PENDING one is a caller's error. */
  add(request: ProvisioningRequest): void {
    if (request.lifeCycleState === 'PENDING') {
      throw new Error(`Failed to tally request ${request.number}: it is still PENDING.`)
    }
    if (request.splitFrom !== null) {
      const batch = this.splitBatches.get(request.splitFrom)
      for (const card of cardsOf(request.command)) {
        batch?.leftOut.delete(card)
      }
    }
    if (request.splitInto !== null) {
      this.splitBatches.set(request.number, {
        request,
        leftOut: new Set(cardsOf(request.command)),
      })
      return
    }
    if (this.kind === 'SUBSCRIPTIONS') {
      this.addRepair(request)
      return
    }
    const cards = cardsOf(request.command)
    if (request.lifeCycleState === 'COMPLETED') {
      this.count(request, cards.length, [])
    } else {
      this.count(request, 0, cards)
    }
  }

  /** The verdict over everything added. */
  verdict(): RunVerdict {
    for (const { request, leftOut } of this.splitBatches.values()) {
      this.count(request, 0, [...leftOut])
    }
    this.splitBatches.clear()
    let repaired = 0
    let failedSubscriptions = 0
    for (const refused of this.subscriptions.values()) {
      if (refused) {
        failedSubscriptions += 1
      } else {
        repaired += 1
      }
    }
    const communications = new Map<string, CommunicationVerdict>()
    for (const [number, tallies] of this.byCommunication) {
      communications.set(number, { ...tallies })
    }
    return {
      sent: this.total.sent,
      failed: this.kind === 'SUBSCRIPTIONS' ? failedSubscriptions : this.total.failed,
      repaired,
      failures: this.total.failures,
      communications,
    }
  }

  private addRepair(request: ProvisioningRequest): void {
    const key = request.subscriptionId ?? `request ${request.number}`
    const refused = request.lifeCycleState === 'REJECTED'
    this.subscriptions.set(key, (this.subscriptions.get(key) ?? false) || refused)
    if (refused) {
      this.count(request, 0, [cardsOf(request.command)[0] ?? null])
    } else {
      this.total.sent += 1
    }
  }

  private count(
    request: ProvisioningRequest,
    sent: number,
    failedCards: readonly (string | null)[],
  ): void {
    const queue =
      'communicationQueueNumber' in request.command
        ? (request.command.communicationQueueNumber ?? null)
        : null
    const targets = [this.total]
    if (queue !== null) {
      const forQueue = this.byCommunication.get(queue) ?? { sent: 0, failed: 0, failures: [] }
      this.byCommunication.set(queue, forQueue)
      targets.push(forQueue)
    }
    for (const tallies of targets) {
      tallies.sent += sent
      tallies.failed += failedCards.length
      for (const card of failedCards) {
        if (tallies.failures.length < LISTED_FAILURES) {
          tallies.failures.push({
            subscriptionId: request.subscriptionId,
            card,
            communication: queue,
            code: request.errorCode ?? 'REJECTED',
            message: request.errorDescription ?? `Request ${request.number} was rejected.`,
          })
        }
      }
    }
  }
}
