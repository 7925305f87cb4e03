import type { ProvisioningProvider, Subscription } from '../../domain/crm.js'
import type { RunFailure } from '../../domain/run-tally.js'
import { planReset, type ObservedCard, type ResetPlan } from '../../domain/runs.js'
import { AdapterError } from '../adapter-error.js'
import { CardReadError, type CaReader } from './run-ports.js'

/** One subscription compared with the CA: its repair (cards that failed left out) and its failures. */
export interface Checked {
  readonly subscription: Subscription
  readonly plan: ResetPlan
  readonly failures: readonly RunFailure[]
  /** SOAP calls made to read its cards (two per card). */
  readonly calls: number
}

/** A card that could not be read, with the CA's status when there is one (CLIENT_NOT_MANAGED_BY_SMS). */
function readFailure(subscriptionId: string, card: string, error: CardReadError): RunFailure {
  return {
    subscriptionId,
    card,
    communication: null,
    code: error.code,
    message: error.message,
  }
}

/** A rejection of a reader that does not classify its failures: the card fails. */
function unclassified(card: string, error: unknown): CardReadError {
  return error instanceof CardReadError
    ? error
    : new CardReadError({
        code: 'READ_FAILED',
        scope: 'CARD',
        card,
        message: error instanceof Error ? error.message : String(error),
        cause: error,
      })
}

/** The failure of a card the CA does not know. */
function unknownCard(subscriptionId: string, card: string): RunFailure {
  return {
    subscriptionId,
    card,
    communication: null,
    code: 'CLIENT_NOT_FOUND',
    message: `Card ${card} is not known to the CA (CLIENT_NOT_FOUND). Check the smartcard's CA ID in the subscription, or register the card at the CA.`,
  }
}

/**
 * Runs `work` over `items` with at most `limit` in flight; resolves in input order. Once `halted()`
 * says so, no further item is started (their results stay undefined).
 */
async function pool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
  halted: () => boolean = () => false,
): Promise<(R | undefined)[]> {
  const results = new Array<R | undefined>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length && !halted()) {
      const index = next++
      results[index] = await work(items[index] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

/**
 * Compares subscriptions with what the CA reports for their smartcards: the reset run, reset
 * single subscription and the `checkCards` previews of message and fingerprinting runs.
 */
export class CardCheck {
  private readonly provider: ProvisioningProvider
  private readonly reader: CaReader
  private readonly concurrency: number

  constructor(provider: ProvisioningProvider, reader: CaReader, concurrency: number) {
    this.provider = provider
    this.reader = reader
    this.concurrency = concurrency
  }

  /**
   * Reads every smartcard of the subscriptions from the CA and plans each one's repair. A card the
   * CA does not know, manages for another SMS or refuses to read is a failure of that card only:
   * the subscription's other cards are still planned (commands touching a failed card are left
   * out). Only a CA that cannot be asked at all (down, timing out, refusing every call) stops.
   */
  async check(subscriptions: readonly Subscription[]): Promise<Checked[]> {
    const cards = subscriptions.flatMap((s) =>
      s.installedItems.filter((item) => item.kind === 'SMARTCARD').map((item) => item.caId),
    )
    const observed = new Map<string, ObservedCard | CardReadError>()
    // Once the CA cannot be asked, no further card is read: with a CA that times out, reading the
    // rest of the batch would only hold the failure (and a stop) for many more timeouts.
    const halt: { unreachable: CardReadError | null } = { unreachable: null }
    await pool(
      cards,
      this.concurrency,
      async (caId) => {
        const seen = await this.reader
          .readCard(caId)
          .catch((error: unknown) => unclassified(caId, error))
        if (seen instanceof CardReadError && seen.scope === 'CA') {
          halt.unreachable ??= seen
        }
        observed.set(caId, seen)
      },
      () => halt.unreachable !== null,
    )
    if (halt.unreachable) {
      // The CA cannot be asked: stop here rather than count every subscription as failed.
      const { card, code, message } = halt.unreachable
      throw new AdapterError('CA_UNAVAILABLE', message, {
        cause: halt.unreachable,
        details: { card, status: code },
      })
    }
    return subscriptions.map((subscription) => this.planOne(subscription, observed))
  }

  /**
   * The cards of these subscriptions that the CA would refuse (unknown, another SMS's, refused to
   * read), for a message or fingerprinting preview. A CA that cannot be asked stops the preview.
   */
  async refusedCards(
    subscriptions: readonly Subscription[],
    communication: string | null,
  ): Promise<RunFailure[]> {
    const checked = await this.check(subscriptions)
    return checked.flatMap((result) =>
      result.failures.map((failure) => ({ ...failure, communication })),
    )
  }

  private planOne(
    subscription: Subscription,
    observed: ReadonlyMap<string, ObservedCard | CardReadError>,
  ): Checked {
    const mine = subscription.installedItems.filter((item) => item.kind === 'SMARTCARD')
    const failures: RunFailure[] = []
    const views = new Map<string, ObservedCard>()
    const unreadable = new Set<string>()
    for (const item of mine) {
      const seen = observed.get(item.caId)
      if (seen instanceof CardReadError || !seen?.known) {
        failures.push(
          seen instanceof CardReadError
            ? readFailure(subscription.id, item.caId, seen)
            : unknownCard(subscription.id, item.caId),
        )
        unreadable.add(item.caId)
      } else {
        views.set(item.caId, seen)
      }
    }
    return {
      subscription,
      plan: planReset(this.provider, subscription, views, unreadable),
      failures,
      calls: mine.length * 2,
    }
  }
}
