import type { SequenceDiff } from '../result.js'
import type { SoapCallExpectation } from '../scenario/schema.js'
import type { JournalEntryLike } from './wire-types.js'

/**
 * SOAP calls as `then.soapCalls` and a step's `expect.journal` name them: operation and answered
 * StatusCode, and only the parameters a scenario gives (cards, products, stbs, distributor,
 * replay). Comparing only what is given lets a scenario pin the order of calls across devices
 * without spelling out every field.
 */

/** What a journal entry says about a call, in the terms of a {@link SoapCallExpectation}. */
export interface ObservedCall {
  readonly operation: string
  readonly status: string
  readonly cards: readonly string[]
  readonly products: readonly string[]
  readonly stbs: readonly string[]
  readonly distributor: string | null
  readonly replay: boolean
}

type Record_ = Readonly<Record<string, unknown>>

function record(value: unknown): Record_ {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record_)
    : {}
}

/** A scalar of a parsed request as text (ids are kept as the strings they were sent as). */
function scalar(value: unknown): string | null {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : null
}

function strings(value: unknown): string[] {
  if (Array.isArray(value)) {
    return value.flatMap(strings)
  }
  const text = scalar(value)
  return text === null ? [] : [text]
}

/** The call a journal entry records. */
export function observedCall(entry: JournalEntryLike): ObservedCall {
  const request = record(entry.request)
  const items = subscriptionItems(request)
  const single = request.CaClientId ?? request.PairedCaClientId
  const cards =
    items.length > 0
      ? items.map((item) => scalar(item.CaClientId) ?? '')
      : [...strings(single), ...strings(record(request.CaClientIds).CaClientId)]
  const distributors = [
    ...new Set(
      (items.length > 0 ? items.map((item) => item.Distributor) : [request.Distributor]).map(
        (value) => scalar(value),
      ),
    ),
  ]
  return {
    operation: entry.operation ?? `(${entry.service})`,
    status: entry.statusCode,
    cards,
    products: items.map((item) => scalar(item.ProductId) ?? ''),
    stbs: [
      ...strings(request.PairingModuleId),
      ...strings(record(request.PairingModuleIds).PairingModuleId),
    ],
    distributor: distributors.length === 1 ? (distributors[0] ?? null) : null,
    replay: entry.replay === true,
  }
}

function subscriptionItems(request: Record_): Record_[] {
  const items = record(request.Subscriptions).Subscription
  return (Array.isArray(items) ? items : items === undefined ? [] : [items]).map(record)
}

/** Whether a call is what the expectation names (every given field equal). */
export function callMatches(want: SoapCallExpectation, got: ObservedCall): boolean {
  return (
    want.operation === got.operation &&
    want.status === got.status &&
    (want.cards === undefined || same(want.cards, got.cards)) &&
    (want.products === undefined || same(want.products, got.products)) &&
    (want.stbs === undefined || same(want.stbs, got.stbs)) &&
    (want.distributor === undefined || want.distributor === got.distributor) &&
    (want.replay === undefined || want.replay === got.replay)
  )
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index])
}

const FIELDS = ['cards', 'products', 'stbs', 'distributor', 'replay'] as const

/** `CancelSubscriptions cards=01450250001 products=GFA1 → OK`, with the fields `shown` only. */
export function callLine(
  call: SoapCallExpectation | ObservedCall,
  shown: ReadonlySet<(typeof FIELDS)[number]>,
): string {
  const parts = [call.operation]
  for (const field of FIELDS) {
    const value = call[field]
    if (!shown.has(field) || value === undefined) {
      continue
    }
    parts.push(`${field}=${Array.isArray(value) ? value.join(',') : String(value)}`)
  }
  return `${parts.join(' ')} → ${call.status}`
}

function fieldsOf(call: SoapCallExpectation): Set<(typeof FIELDS)[number]> {
  return new Set(FIELDS.filter((field) => call[field] !== undefined))
}

/**
 * Compares the calls a CA received with the expected ones: in order (`ordered`), or as a multiset.
 * Each actual line shows the fields its expectation names (every field for an unexpected call),
 * so the diff reads like the scenario. Returns null when they agree.
 */
export function compareSoapCalls(
  expected: readonly SoapCallExpectation[],
  actual: readonly ObservedCall[],
  ordered: boolean,
): SequenceDiff | null {
  const all = new Set(FIELDS)
  const expectedLines = expected.map((call) => callLine(call, fieldsOf(call)))
  if (ordered) {
    let firstDivergence: number | null = null
    const actualLines = actual.map((call, index) => {
      const want = expected[index]
      if (firstDivergence === null && (!want || !callMatches(want, call))) {
        firstDivergence = index
      }
      return callLine(call, want ? fieldsOf(want) : all)
    })
    if (firstDivergence === null && expected.length > actual.length) {
      firstDivergence = actual.length
    }
    return firstDivergence === null
      ? null
      : {
          expected: expectedLines,
          actual: actualLines,
          firstDivergence,
          ordered: true,
          missing: expectedLines.slice(firstDivergence),
          unexpected: actualLines.slice(firstDivergence),
        }
  }
  const used = new Set<number>()
  const missing: string[] = []
  expected.forEach((want, index) => {
    const match = actual.findIndex((call, i) => !used.has(i) && callMatches(want, call))
    if (match === -1) {
      missing.push(expectedLines[index] ?? '')
    } else {
      used.add(match)
    }
  })
  const unexpected = actual.flatMap((call, index) => (used.has(index) ? [] : [callLine(call, all)]))
  if (missing.length === 0 && unexpected.length === 0) {
    return null
  }
  return {
    expected: expectedLines,
    actual: actual.map((call) => callLine(call, all)),
    firstDivergence: null,
    ordered: false,
    missing,
    unexpected,
  }
}
