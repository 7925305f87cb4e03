import {
  expectedCaState,
  type ProvisioningProvider,
  type ProvisioningRequest,
  type Subscription,
} from '../../../src/index.js'
import type { CardView, JournalEntry } from '../../../simulator/src/index.js'
import { commandFields } from '../engine/wire-types.js'

/**
 * The invariants the explorer checks once a history is quiescent (faults cleared, the CA up,
 * everything delivered). Pure functions over what the adapter's store and the simulator's journal
 * and model hold, so that each can be tested on hand-made data. Each violation names the request
 * numbers, cards and products involved.
 */

export const INVARIANTS = [
  'every-request-final',
  'ca-state-matches-crm',
  'nothing-applied-twice',
  'nothing-lost',
  'per-action-order',
  'no-rejection-without-cause',
  'runs-completed',
  'step-accepted',
] as const
export type InvariantName = (typeof INVARIANTS)[number]

/** One broken invariant. */
export interface Violation {
  readonly invariant: InvariantName
  readonly message: string
  /** The cards it concerns (for the scenario's expectations). */
  readonly cards?: readonly string[]
  /** The action whose order broke (per-action-order). */
  readonly actionId?: string
  /** The requests it concerns, by number. */
  readonly requests?: readonly string[]
}

/** A journal entry as the invariants read it (a subset of the simulator's JournalEntry). */
export type JournalView = Pick<
  JournalEntry,
  'seq' | 'user' | 'operation' | 'request' | 'statusCode' | 'transactionId' | 'replay'
>

/** A request as the invariants read it. */
export type RequestView = Pick<
  ProvisioningRequest,
  | 'number'
  | 'type'
  | 'command'
  | 'sequenceNumber'
  | 'precedence'
  | 'lifeCycleState'
  | 'referenceNumber'
  | 'errorCode'
  | 'errorDescription'
  | 'actionId'
>

const READS = new Set([
  'GET_ACTIVE_SUBSCRIPTIONS',
  'GET_PAIRING_STATUS_FOR_CARD',
  'GET_PAIRING_STATUS_FOR_PAIRING_MODULE',
])

/** Whether a request changes the CA (and carries a SequenceNumber). */
export function isWrite(request: Pick<RequestView, 'type'>): boolean {
  return !READS.has(request.type)
}

/** The SequenceNumber a journal entry's request carried, or null. */
export function sequenceOf(entry: Pick<JournalView, 'request'>): number | null {
  const value = (entry.request as Record<string, unknown> | null)?.SequenceNumber
  const number = typeof value === 'number' || typeof value === 'string' ? Number(value) : NaN
  return Number.isFinite(number) ? number : null
}

/** A parameter as text (the commands hold strings, numbers, lists of strings and null). */
function text(value: unknown): string {
  if (Array.isArray(value)) {
    return value.map(text).join(',')
  }
  return typeof value === 'string' || typeof value === 'number' ? String(value) : 'none'
}

/** A request in one line: `#3 CANCEL_SUBSCRIPTIONS card 01460000001 product GFA1 (Main)`. */
export function describeRequest(request: Pick<RequestView, 'number' | 'command'>): string {
  const c = commandFields(request.command)
  const parts = [`#${request.number}`, String(c.type)]
  const cards = c.smartcardCaId ?? c.smartcardCaIds
  if (cards !== undefined) {
    parts.push(`card ${text(cards)}`)
  }
  if (c.stbCaIds !== undefined) {
    parts.push(`stb ${text(c.stbCaIds)}`)
  }
  if (c.serviceCaId !== undefined) {
    parts.push(`product ${text(c.serviceCaId)}`)
  }
  return `${parts.join(' ')} (${c.distributor === null ? 'no distributor' : text(c.distributor)})`
}

/** (1) Every request is COMPLETED or REJECTED once the history is quiescent. */
export function everyRequestFinal(requests: readonly RequestView[]): Violation[] {
  const pending = requests.filter((r) => r.lifeCycleState === 'PENDING')
  if (pending.length === 0) {
    return []
  }
  return [
    {
      invariant: 'every-request-final',
      message: `${pending.length} request(s) still PENDING after the CA came up and delivery ran until idle: ${pending
        .slice(0, 5)
        .map((r) => `${describeRequest(r)} (last error ${r.errorCode ?? 'none'})`)
        .join('; ')}${pending.length > 5 ? '; ...' : ''}`,
      requests: pending.map((r) => r.number),
    },
  ]
}

/** What the CRM expects of one card: products (`product@distributor`) and, when active, its pairing. */
export interface CardExpectation {
  readonly products: readonly string[]
  /** The STBs and cards it is paired with; null: not checked (no unpair operation exists). */
  readonly pairing: { readonly stbs: readonly string[]; readonly cards: readonly string[] } | null
}

/**
 * What the CRM expects of every card: the entitlements and pairings `expectedCaState` derives from
 * each subscription. A card in no active subscription must hold no product; its pairing is not
 * checked, since the contract has no operation to dissolve one.
 */
export function expectedCards(
  provider: ProvisioningProvider,
  subscriptions: readonly Subscription[],
  cards: readonly string[],
): Map<string, CardExpectation> {
  const expected = new Map<string, CardExpectation>(
    cards.map((card) => [card, { products: [], pairing: null }]),
  )
  for (const subscription of subscriptions) {
    const state = expectedCaState(provider, subscription)
    for (const pairing of state.pairings.values()) {
      for (const card of pairing.smartcardCaIds) {
        const known = expected.get(card) ?? { products: [], pairing: null }
        expected.set(card, {
          ...known,
          pairing: { stbs: [...pairing.stbCaIds], cards: [...pairing.smartcardCaIds] },
        })
      }
    }
    for (const entitlement of state.entitlements.values()) {
      const known = expected.get(entitlement.smartcardCaId) ?? { products: [], pairing: null }
      expected.set(entitlement.smartcardCaId, {
        ...known,
        products: [...known.products, `${entitlement.serviceCaId}@${entitlement.distributor}`],
      })
    }
  }
  return expected
}

const sorted = (values: readonly string[]): string[] => [...values].sort()
const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  sorted(a).join(' ') === sorted(b).join(' ')

/** (2) Every card holds in the CA what the CRM expects of it. */
export function caStateMatches(
  expected: ReadonlyMap<string, CardExpectation>,
  actual: (card: string) => Pick<CardView, 'subscriptions' | 'pairing'> | null,
): Violation[] {
  const violations: Violation[] = []
  for (const [card, want] of expected) {
    const view = actual(card)
    const products = (view?.subscriptions ?? []).map(
      (p) => `${p.productId}@${p.distributor ?? 'none'}`,
    )
    const problems: string[] = []
    if (!sameSet(products, want.products)) {
      problems.push(
        `holds products [${sorted(products).join(', ')}], the CRM expects [${sorted(want.products).join(', ')}]`,
      )
    }
    if (want.pairing) {
      const stbs = view?.pairing?.pairingModuleIds ?? []
      const cards = view?.pairing?.caClientIds ?? []
      if (!sameSet(stbs, want.pairing.stbs) || !sameSet(cards, want.pairing.cards)) {
        problems.push(
          `is paired with STBs [${sorted(stbs).join(', ')}] and cards [${sorted(cards).join(', ')}], the CRM expects STBs [${sorted(want.pairing.stbs).join(', ')}] and cards [${sorted(want.pairing.cards).join(', ')}]`,
        )
      }
    }
    if (problems.length > 0) {
      violations.push({
        invariant: 'ca-state-matches-crm',
        message: `card ${card} ${problems.join('; ')}`,
        cards: [card],
      })
    }
  }
  return violations
}

/** (3) At most one OK write that is not a replay per user, operation and SequenceNumber. */
export function nothingAppliedTwice(journal: readonly JournalView[]): Violation[] {
  const seen = new Map<string, JournalView>()
  const violations: Violation[] = []
  for (const entry of journal) {
    const sequence = sequenceOf(entry)
    if (sequence === null || entry.statusCode !== 'OK' || entry.replay) {
      continue
    }
    const key = `${entry.user ?? ''} ${entry.operation ?? ''} ${sequence}`
    const first = seen.get(key)
    if (first) {
      violations.push({
        invariant: 'nothing-applied-twice',
        message: `${entry.operation ?? '?'} with SequenceNumber ${sequence} was applied twice (journal #${first.seq} and #${entry.seq}); the second should have been answered as a replay`,
      })
    } else {
      seen.set(key, entry)
    }
  }
  return violations
}

/** (4) Every COMPLETED write reached the CA: an OK entry with its SequenceNumber or TransactionId. */
export function nothingLost(
  requests: readonly RequestView[],
  journal: readonly JournalView[],
): Violation[] {
  const okSequences = new Set<number>()
  const okTransactions = new Set<string>()
  for (const entry of journal) {
    if (entry.statusCode !== 'OK') {
      continue
    }
    const sequence = sequenceOf(entry)
    if (sequence !== null) {
      okSequences.add(sequence)
    }
    if (entry.transactionId) {
      okTransactions.add(entry.transactionId)
    }
  }
  return requests
    .filter(
      (r) =>
        isWrite(r) &&
        r.lifeCycleState === 'COMPLETED' &&
        !okSequences.has(r.sequenceNumber) &&
        !(r.referenceNumber !== null && okTransactions.has(r.referenceNumber)),
    )
    .map((r) => ({
      invariant: 'nothing-lost' as const,
      message: `${describeRequest(r)} is COMPLETED (reference ${r.referenceNumber ?? 'none'}) but the CA never applied a write with its SequenceNumber ${r.sequenceNumber}`,
      requests: [r.number],
    }))
}

/** The position in the journal of the first OK answer to each SequenceNumber. */
function firstApplied(journal: readonly JournalView[]): Map<number, JournalView> {
  const first = new Map<number, JournalView>()
  for (const entry of journal) {
    const sequence = sequenceOf(entry)
    if (sequence !== null && entry.statusCode === 'OK' && !first.has(sequence)) {
      first.set(sequence, entry)
    }
  }
  return first
}

/** (5) The writes of one action reached the CA in their planned order, across all their devices. */
export function perActionOrder(
  requests: readonly RequestView[],
  journal: readonly JournalView[],
): Violation[] {
  const applied = firstApplied(journal)
  const actions = new Map<string, RequestView[]>()
  for (const request of requests) {
    if (request.actionId !== null && isWrite(request)) {
      actions.set(request.actionId, [...(actions.get(request.actionId) ?? []), request])
    }
  }
  const violations: Violation[] = []
  for (const [actionId, members] of actions) {
    const planned = [...members].sort(
      (a, b) => a.precedence - b.precedence || a.sequenceNumber - b.sequenceNumber,
    )
    const earlier: { request: RequestView; entry: JournalView }[] = []
    for (const request of planned) {
      const entry = applied.get(request.sequenceNumber)
      if (!entry) {
        continue
      }
      // The first request of the plan that this one overtook.
      const overtaken = earlier.find((e) => e.entry.seq > entry.seq)
      if (overtaken) {
        violations.push({
          invariant: 'per-action-order',
          message: `the action's ${describeRequest(request)} reached the CA (journal #${entry.seq}) before its earlier ${describeRequest(overtaken.request)} (journal #${overtaken.entry.seq}); the planned order is ${planned.map((r) => `#${r.number}`).join(', ')}`,
          actionId,
          requests: planned.map((r) => r.number),
          cards: [...new Set(planned.flatMap((r) => cardsOfCommand(commandFields(r.command))))],
        })
        break
      }
      earlier.push({ request, entry })
    }
  }
  return violations
}

function cardsOfCommand(command: Readonly<Record<string, unknown>>): string[] {
  const value = command.smartcardCaId ?? command.smartcardCaIds
  return value === undefined ? [] : text(value).split(',')
}

/**
 * (6) A REJECTED request says why (error code and description), and a REJECTED write was either
 * refused before it was sent or answered with an error by the CA, never applied.
 */
export function noRejectionWithoutCause(
  requests: readonly RequestView[],
  journal: readonly JournalView[],
): Violation[] {
  const bySequence = new Map<number, JournalView[]>()
  for (const entry of journal) {
    const sequence = sequenceOf(entry)
    if (sequence !== null) {
      bySequence.set(sequence, [...(bySequence.get(sequence) ?? []), entry])
    }
  }
  const violations: Violation[] = []
  for (const request of requests) {
    if (request.lifeCycleState !== 'REJECTED') {
      continue
    }
    if (!request.errorCode || !request.errorDescription) {
      violations.push({
        invariant: 'no-rejection-without-cause',
        message: `${describeRequest(request)} is REJECTED without ${request.errorCode ? 'an error description' : 'an error code'}`,
        requests: [request.number],
      })
      continue
    }
    const answers = isWrite(request) ? (bySequence.get(request.sequenceNumber) ?? []) : []
    const applied = answers.find((entry) => entry.statusCode === 'OK')
    if (applied) {
      violations.push({
        invariant: 'no-rejection-without-cause',
        message: `${describeRequest(request)} is REJECTED (${request.errorCode}) but the CA applied it (journal #${applied.seq} answered OK)`,
        requests: [request.number],
      })
    }
  }
  return violations
}
