import type { InstalledItem, ProvisioningProvider, Subscription } from '../../domain/crm.js'
import { LISTED_FAILURES, type RunFailure, type RunVerdict } from '../../domain/run-tally.js'
import type { RunDefinition, SubscriptionCriteria } from '../../domain/runs.js'
import type { ProvisioningStore, RunFence, SubscriptionFilter } from '../ports.js'
import type { ProvisioningService } from '../provisioning-service.js'
import type { CardCheck } from './card-check.js'
import type { PreviewOptions, RunPreview } from './run-previews.js'
import type { RunCounts, RunExecution, RunStore } from './run-ports.js'

/**
 * What one kind of run (reset, mail and bark messages, fingerprinting) does, bound to one
 * definition. The execution engine (run-engine.ts) drives it page by page and knows no kind:
 * batching, stop and resume, progress, counts and the CA's verdicts are the engine's; what a page
 * holds, what it sends and what a preview says are the strategy's.
 */
export interface RunStrategy {
  /**
   * What a running execution holds, so two never run at once on it: its run, or for a message
   * run its communication queue. `busy` says why a second execution is refused.
   */
  readonly lane: { readonly key: string; busy(holder: string): string }
  /** What the CA's verdicts are counted in: cards (messages, fingerprints) or subscriptions (reset). */
  readonly tally: 'CARDS' | 'SUBSCRIPTIONS'
  /** Items a new execution will process (subscriptions or recipients), when known. */
  total(): Promise<number | null>
  /** Refuses a new execution (an AdapterError) when the run's state forbids one now. */
  beforeStart(): Promise<void>
  /** What the run would do, sending nothing. */
  preview(options: PreviewOptions): Promise<RunPreview>
  /** The pages of one execution's loop (from start or resume until it stops or ends). */
  pages(): RunPages
  /** Once every request is final: what the strategy adds to the counts (message runs settle their communications). */
  settle(execution: RunExecution, verdict: RunVerdict): Promise<Partial<RunCounts>>
}

/** One loop of an execution over its pages; it may remember what it did between pages. */
export interface RunPages {
  /** Creates the requests of the next page from the execution's cursor. */
  next(execution: RunExecution, covered: Covered | null): Promise<PageStep>
}

/** What one page of a run did. */
export interface PageStep {
  readonly finished: boolean
  readonly cursor: RunExecution['cursor']
  readonly counts: RunCounts
  /** What failed on this page already (unreadable cards, refused texts, skipped recipients...). */
  readonly failures: readonly RunFailure[]
}

/** What an interrupted execution had already created requests for. */
export interface Covered {
  readonly subscriptions: ReadonlySet<string>
  /** `${communicationQueueNumber}|${card}` ('' for fingerprints). */
  readonly cards: ReadonlySet<string>
}

/** What a strategy works with. */
export interface RunContext {
  readonly provider: ProvisioningProvider
  readonly store: ProvisioningStore
  readonly runs: RunStore
  readonly provisioning: ProvisioningService
  readonly cards: CardCheck
  /** Subscriptions (or recipients) per page. */
  readonly pageSize: number
  /** The current time as an ISO-8601 instant. */
  now(): string
}

/** The lane of a run that holds only itself (reset, fingerprinting): its own executions run one at a time. */
export function runLane(definition: RunDefinition): RunStrategy['lane'] {
  return {
    key: `run ${definition.id}`,
    busy: (holder) =>
      `Execution ${holder} of run '${definition.alternativeCode}' is running. Wait for it, or stop it first.`,
  }
}

/** Counts of nothing done yet. */
export const ZERO_COUNTS: RunCounts = {
  processed: 0,
  checked: 0,
  inSync: 0,
  repaired: 0,
  failed: 0,
  sent: 0,
  skipped: 0,
  cards: 0,
  requests: 0,
  communications: 0,
  communicationsFailed: 0,
  caCalls: 0,
}

/** Counts added key by key (a count stored before a key existed counts as 0). */
export function addCounts(a: RunCounts, b: RunCounts): RunCounts {
  const sum = { ...ZERO_COUNTS }
  for (const key of Object.keys(sum) as (keyof RunCounts)[]) {
    sum[key] = (a[key] ?? 0) + (b[key] ?? 0)
  }
  return sum
}

/** The page that ends the run: nothing more to do. */
export function lastPage(execution: RunExecution): PageStep {
  return { finished: true, cursor: execution.cursor, counts: ZERO_COUNTS, failures: [] }
}

/**
 * The fence of a batch's commit: the execution and its owner as this loop took it. The store
 * refuses the commit if another instance took the execution over meanwhile (this one was paused
 * past its lease), so a batch is never stored by two owners.
 */
export function fenceOf(execution: RunExecution): { readonly fence?: RunFence } {
  return typeof execution.owner === 'string'
    ? { fence: { executionId: execution.id, owner: execution.owner } }
    : {}
}

/** Appends failures to a list kept to the first {@link LISTED_FAILURES}. */
export function keepListed(
  listed: readonly RunFailure[],
  more: readonly RunFailure[],
  limit = LISTED_FAILURES,
): RunFailure[] {
  return listed.length >= limit ? [...listed] : [...listed, ...more].slice(0, limit)
}

/** The store's filter for run criteria. */
export function filterOf(criteria: SubscriptionCriteria): SubscriptionFilter {
  return {
    ...(criteria.createdFrom ? { createdFrom: criteria.createdFrom } : {}),
    ...(criteria.createdTo ? { createdTo: criteria.createdTo } : {}),
    ...(criteria.types ? { types: criteria.types } : {}),
    ...(criteria.ids ? { ids: criteria.ids } : {}),
  }
}

/** A recipient skipped: unknown to the CRM, or with no smartcard to reach. */
export function skippedRecipient(
  subscriptionId: string,
  communication: string | null,
  code: 'SUBSCRIPTION_NOT_FOUND' | 'NO_SMARTCARD',
): RunFailure {
  return {
    subscriptionId,
    card: null,
    communication,
    code,
    message:
      code === 'NO_SMARTCARD'
        ? `Subscription '${subscriptionId}' has no smartcard installed: nothing to send it to (skipped).`
        : `Subscription '${subscriptionId}' is not known to the CRM (skipped).`,
  }
}

/** The subscriptions among `subscriptions` with no smartcard, as skipped recipients. */
export function withoutCard(
  subscriptions: readonly Subscription[],
  communication: string | null,
): RunFailure[] {
  return subscriptions
    .filter((s) => !s.installedItems.some((item) => item.kind === 'SMARTCARD'))
    .map((s) => skippedRecipient(s.id, communication, 'NO_SMARTCARD'))
}

/** The cards an interrupted execution has not sent to yet (all of them when nothing is covered). */
export function uncovered(
  cards: readonly InstalledItem[],
  covered: Covered | null,
  queue: string,
): InstalledItem[] {
  return covered ? cards.filter((card) => !covered.cards.has(`${queue}|${card.caId}`)) : [...cards]
}

/** Failures with the subscription of their card filled in (a batch holds many subscriptions). */
export function withSubscriptions(
  store: ProvisioningStore,
  failures: readonly RunFailure[],
): Promise<RunFailure[]> {
  return Promise.all(
    failures.map(async (failure) =>
      failure.subscriptionId !== null || failure.card === null
        ? failure
        : { ...failure, subscriptionId: await store.subscriptionHolding(failure.card) },
    ),
  )
}
