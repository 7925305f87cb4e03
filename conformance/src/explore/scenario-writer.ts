import type { ProvisioningRequest } from '../../../src/index.js'
import type { JournalEntry } from '../../../simulator/src/index.js'
import { observedCall, type ObservedCall } from '../engine/soap-calls.js'
import type { WhenStep } from '../scenario/schema.js'
import { sequenceOf, type CardExpectation, type Violation } from './invariants.js'
import type { LoggedStep } from './system.js'

/**
 * Writes a failing history as a scenario file of format v2 that fails the same way: its `when` is
 * the steps the history ran (they went through the scenario engine's own `runStep`), its
 * expectations encode the invariant that broke, so that the file fails against the adapter that
 * broke it and passes against one that keeps the invariant.
 *
 * - The CA state the CRM expects (every card of the history) is the last step's `expect.ca`, not
 *   `then.ca`: the harness's side B would check `then.ca` on a fresh CA that it sent only
 *   `then.requests` to, and the explorer writes none.
 * - An order broken within one action, or a write applied twice, pins every SOAP call
 *   (`then.soapCalls`, strict order): the calls the history made, with the broken action's writes
 *   put back into their planned order, or the doubled write expected as a replay.
 * - A request left PENDING fails the final `deliver: until-idle` by itself; a REJECTED request
 *   that the CA applied is expected COMPLETED in the last step's `expect.allRequests`.
 */

/** What the writer needs of a failed history. */
export interface FailedHistory {
  readonly seed: number
  readonly path: string
  readonly command: string
  readonly log: readonly LoggedStep[]
  readonly violations: readonly Violation[]
  readonly requests: readonly ProvisioningRequest[]
  readonly journal: readonly JournalEntry[]
  /** What the CRM expects of every card of the history (null: the history did not get that far). */
  readonly expected: ReadonlyMap<string, CardExpectation> | null
  readonly cards: readonly string[]
  readonly stbs: readonly string[]
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** A step as a scenario file writes it (`advance` goes back to a duration). */
function stepInput(step: WhenStep): Record<string, Json> {
  const plain = JSON.parse(JSON.stringify(step)) as Record<string, Json>
  if ('advance' in step) {
    const ms = step.advance
    plain.advance = ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
  }
  return plain
}

/** The steps, with each adapter restart said in a comment on the step after it. */
function whenOf(log: readonly LoggedStep[]): Record<string, Json>[] {
  const steps: Record<string, Json>[] = []
  let restarts = 0
  for (const entry of log) {
    if (entry.kind === 'restart') {
      restarts += 1
      continue
    }
    const step = stepInput(entry.step)
    if (restarts > 0) {
      step.comment = `The explorer restarted the adapter ${restarts === 1 ? 'once' : `${restarts} times`} before this step (on the same store file); format v2 cannot express a restart.`
      restarts = 0
    }
    steps.push(step)
  }
  return steps
}

/** The expected SOAP call of a journal entry: operation, status and the parameters it carries. */
function callOf(call: ObservedCall, replay: boolean): Record<string, Json> {
  return {
    operation: call.operation,
    ...(call.status === 'OK' ? {} : { status: call.status }),
    ...(call.cards.length > 0 ? { cards: [...call.cards] } : {}),
    ...(call.products.length > 0 ? { products: [...call.products] } : {}),
    ...(call.stbs.length > 0 ? { stbs: [...call.stbs] } : {}),
    ...(replay ? { replay: true } : {}),
  }
}

/**
 * The calls a correct adapter would have made: the history's own, with the broken action's first
 * applied writes put back into their planned order (in the positions they took), and a write
 * applied twice expected as a replay the second time.
 */
function expectedCalls(history: FailedHistory): Record<string, Json>[] {
  const entries = [...history.journal]
  const replays = new Set<number>()
  for (const violation of history.violations) {
    if (violation.invariant === 'per-action-order' && violation.actionId) {
      const planned = history.requests
        .filter((r) => r.actionId === violation.actionId)
        .sort((a, b) => a.precedence - b.precedence || a.sequenceNumber - b.sequenceNumber)
      const firstOk = new Map<number, number>()
      entries.forEach((entry, index) => {
        const sequence = sequenceOf(entry)
        if (sequence !== null && entry.statusCode === 'OK' && !firstOk.has(sequence)) {
          firstOk.set(sequence, index)
        }
      })
      const positions = planned.flatMap((r) => {
        const at = firstOk.get(r.sequenceNumber)
        return at === undefined ? [] : [at]
      })
      const inPlannedOrder = positions.map((at) => entries[at] as JournalEntry)
      ;[...positions]
        .sort((a, b) => a - b)
        .forEach((at, i) => {
          entries[at] = inPlannedOrder[i] as JournalEntry
        })
    }
    if (violation.invariant === 'nothing-applied-twice') {
      const seen = new Set<string>()
      entries.forEach((entry, index) => {
        const sequence = sequenceOf(entry)
        if (sequence === null || entry.statusCode !== 'OK' || entry.replay) {
          return
        }
        const key = `${entry.user ?? ''} ${entry.operation ?? ''} ${sequence}`
        if (seen.has(key)) {
          replays.add(index)
        }
        seen.add(key)
      })
    }
  }
  return entries.map((entry, index) =>
    callOf(observedCall(entry), entry.replay || replays.has(index)),
  )
}

/** The CA state the CRM expects, as `expect.ca.cards`. */
function cardsOf(expected: ReadonlyMap<string, CardExpectation>): Record<string, Json> {
  const cards: Record<string, Json> = {}
  for (const [card, want] of [...expected].sort(([a], [b]) => a.localeCompare(b))) {
    cards[card] = {
      products: [...new Set(want.products.map((p) => p.split('@')[0] as string))].sort(),
      ...(want.pairing ? { pairedWith: [...want.pairing.stbs].sort() } : {}),
    }
  }
  return cards
}

/** Every request in its expected final state (a REJECTED one the CA applied: COMPLETED). */
function requestsOf(history: FailedHistory): Record<string, Json>[] {
  const wronglyRejected = new Set(
    history.violations
      .filter((v) => v.invariant === 'no-rejection-without-cause')
      .flatMap((v) => v.requests ?? []),
  )
  return history.requests.map((request) => {
    const command = JSON.parse(JSON.stringify(request.command)) as Record<string, Json>
    const rejected = request.lifeCycleState === 'REJECTED' && !wronglyRejected.has(request.number)
    return {
      ...command,
      ...(rejected ? { state: 'REJECTED', errorCode: request.errorCode ?? 'UNKNOWN' } : {}),
    }
  })
}

/** The scenario document (plain data) for a failed history; paths relative to the file's folder. */
export function failureScenario(
  history: FailedHistory,
  paths: { readonly provider: string; readonly schema: string | null },
): { readonly header: string; readonly document: Record<string, Json> } {
  const first = history.violations[0] as Violation
  const when = whenOf(history.log)
  const restarts = history.log.filter((e) => e.kind === 'restart').length
  const orderLike = history.violations.some(
    (v) => v.invariant === 'per-action-order' || v.invariant === 'nothing-applied-twice',
  )
  const last = when.at(-1)
  if (last) {
    const expect: Record<string, Json> = {
      ca: { cards: history.expected ? cardsOf(history.expected) : {} },
    }
    if (history.violations.some((v) => v.invariant === 'no-rejection-without-cause')) {
      expect.allRequests = { order: 'any', list: requestsOf(history) }
    }
    last.expect = expect
  }
  const description = [
    `Found by the model-based explorer (seed ${history.seed}, path ${history.path}) and shrunk to ${history.log.filter((e) => e.kind === 'step').length} steps.`,
    `Invariant broken: ${first.invariant}: ${first.message}.`,
    ...history.violations.slice(1, 4).map((v) => `Also: ${v.invariant}: ${v.message}.`),
    'The last step expects the CA state the CRM expects of every card of the history' +
      (orderLike
        ? "; then.soapCalls lists every call a correct adapter makes, in order (the history's own calls, with the broken action's writes in their planned order or the doubled write as a replay)."
        : '.'),
    restarts > 0
      ? `The history restarted the adapter ${restarts} time(s); format v2 cannot express a restart, so the steps after one carry a comment, and the file runs without the restarts.`
      : '',
    `Replay the history: ${history.command}`,
  ]
    .filter((line) => line.length > 0)
    .join('\n')
  const document: Record<string, Json> = {
    name: `Explorer seed ${history.seed}: ${first.invariant}`,
    source: `conax-conformance explore (seed ${history.seed}, path ${history.path})`,
    description,
    tags: ['explore', first.invariant],
    provider: paths.provider,
    given: { ca: { smartcards: [...history.cards], stbs: [...history.stbs] } },
    when,
    ...(orderLike
      ? { then: { soapCalls: { order: 'strict', list: expectedCalls(history) } } }
      : {}),
  }
  const header = paths.schema ? `# yaml-language-server: $schema=${paths.schema}\n` : ''
  return { header, document }
}
