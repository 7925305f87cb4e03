import type { Communication, ProvisioningRequest, RunStatus } from '../../../src/index.js'
import type { Simulator } from '../../../simulator/src/index.js'
import { partialMismatches } from '../compare.js'
import type { CheckFailure, CheckResult } from '../result.js'
import type { StepExpectation, WhenStep } from '../scenario/schema.js'
import { checkCards, modelProbe } from './card-checks.js'
import { listOf } from './plan.js'
import { compareRequests } from './sequence-check.js'
import { compareSoapCalls, observedCall } from './soap-calls.js'
import type { StepRecord } from './steps.js'

/**
 * The checks of one step's `expect`, made right after the step and the delivery that follows it:
 * its refusal, the requests it created, every request so far with its state, the SOAP calls the
 * CA received during the step, the CA state, a run's verdict, a preview and the communications.
 */

/** What the checks of one step look at. */
export interface StepView {
  readonly index: number
  readonly step: WhenStep
  readonly record: StepRecord
  /** Every request of the scenario so far. */
  readonly allRequests: readonly ProvisioningRequest[]
  /** The simulator, and the journal position before the step. */
  readonly sim: Simulator
  readonly journalMark: number
  /** The latest run execution, if a step started one. */
  readonly execution: RunStatus | null
  readonly communications: readonly Communication[]
}

/** A short label for a step: `step 3 (advance 90s)`. */
export function stepLabel(step: WhenStep, index: number): string {
  const n = index + 1
  if ('crm' in step) {
    return `step ${n} (${step.crm.action})`
  }
  if ('utility' in step) {
    return `step ${n} (utility ${step.utility.utility})`
  }
  if ('api' in step) {
    return `step ${n} (api ${step.api.method})`
  }
  if ('run' in step) {
    const what = step.run.definition?.kind ?? step.run.code ?? 'run'
    return `step ${n} (run ${what}${step.run.preview ? ' preview' : ''})`
  }
  if ('reset' in step) {
    return `step ${n} (reset ${step.reset.subscriptionId}${step.reset.preview ? ' preview' : ''})`
  }
  if ('advance' in step) {
    return `step ${n} (advance ${step.advance / 1000}s)`
  }
  if ('deliver' in step) {
    return `step ${n} (deliver ${step.deliver})`
  }
  const action = step.ca
  if (typeof action === 'string') {
    return `step ${n} (CA ${action})`
  }
  if ('type' in action) {
    return `step ${n} (CA ${action.type})`
  }
  return `step ${n} (CA ${Object.keys(action)[0] ?? ''})`
}

/** Whether a refusal code is what the expectation accepts (one code, or any of several). */
export function refusalAccepted(wanted: string | readonly string[], code: string): boolean {
  return typeof wanted === 'string' ? wanted === code : wanted.includes(code)
}

/** The checks of one step: one result carrying every failure, or null when the step expects nothing. */
export async function checkStep(view: StepView): Promise<CheckResult | null> {
  const { step, index, record } = view
  const label = stepLabel(step, index)
  const expect: StepExpectation = ('expect' in step ? step.expect : undefined) ?? {}
  const base = `when[${index}].expect`
  const failures: CheckFailure[] = [
    ...refusalFailures(expect, record, label, index),
    ...(record.stillPending
      ? [{ message: `${label}: ${record.stillPending}`, path: `when[${index}]` }]
      : []),
  ]
  const created = listOf(expect.requests)
  if (created) {
    failures.push(...compareRequests(created, record.requests, label, `${base}.requests`))
  }
  const all = listOf(expect.allRequests)
  if (all) {
    failures.push(
      ...compareRequests(
        all,
        view.allRequests,
        `${label}, every request so far`,
        `${base}.allRequests`,
      ),
    )
  }
  if (expect.journal) {
    const list = Array.isArray(expect.journal) ? expect.journal : expect.journal.list
    const ordered = Array.isArray(expect.journal) || expect.journal.order === 'strict'
    const calls = view.sim.journal.list({ since: view.journalMark }).map(observedCall)
    const diff = compareSoapCalls(list, calls, ordered)
    if (diff) {
      failures.push({
        message: `${label}: the CA received other calls than expect.journal lists`,
        path: `${base}.journal`,
        diff,
      })
    }
  }
  if (expect.ca) {
    const cards = await checkCards(
      expect.ca.cards,
      modelProbe(view.sim),
      'adapter',
      `${base}.ca.cards`,
    )
    failures.push(...cards.failures.map((f) => ({ ...f, message: `${label}: ${f.message}` })))
  }
  failures.push(...runFailures(expect, view, label, base))
  if (expect.preview) {
    failures.push(
      ...partialMismatches(expect.preview, record.preview ?? null, 'preview').map((m) => ({
        message: `${label}: ${m.path}`,
        path: `${base}.${m.path}`,
        expected: m.expected,
        actual: m.actual,
      })),
    )
  }
  if (expect.communications) {
    failures.push(
      ...communicationFailures(
        expect.communications,
        view.communications,
        label,
        `${base}.communications`,
      ),
    )
  }
  if (failures.length === 0 && Object.keys(expect).length === 0) {
    return null
  }
  return {
    name: label,
    side: 'adapter',
    step: { index, label },
    passed: failures.length === 0,
    failures,
  }
}

function refusalFailures(
  expect: StepExpectation,
  record: StepRecord,
  label: string,
  index: number,
): CheckFailure[] {
  const wanted = expect.refusal
  const got = record.refusal
  if (wanted !== undefined && (got === null || !refusalAccepted(wanted, got.code))) {
    const shown = typeof wanted === 'string' ? wanted : wanted.join(' or ')
    return [
      {
        message: got
          ? `${label}: refused with ${got.code} instead of ${shown}`
          : `${label}: was accepted, but a refusal ${shown} was expected`,
        path: `when[${index}].expect.refusal`,
        expected: wanted,
        actual: got?.code ?? `accepted, ${record.requests.length} request(s)`,
      },
    ]
  }
  if (wanted === undefined && got) {
    return [
      {
        message: `${label}: refused with ${got.code}: ${got.message}`,
        path: `when[${index}]`,
        expected: 'accepted',
        actual: got.code,
      },
    ]
  }
  return []
}

function runFailures(
  expect: StepExpectation,
  view: StepView,
  label: string,
  base: string,
): CheckFailure[] {
  const wanted = expect.run
  if (!wanted) {
    return []
  }
  const execution = view.execution
  if (!execution) {
    return [{ message: `${label}: expect.run, but no step has started a run`, path: `${base}.run` }]
  }
  const failures: CheckFailure[] = []
  if (wanted.state !== undefined && wanted.state !== execution.state) {
    failures.push({
      message: `${label}: the run is ${execution.state}`,
      path: `${base}.run.state`,
      expected: wanted.state,
      actual: execution.state,
    })
  }
  for (const [name, value] of Object.entries(wanted.counts ?? {})) {
    const actual = (execution.counts as unknown as Record<string, number | undefined>)[name]
    if (actual !== value) {
      failures.push({
        message: `${label}: run count ${name}`,
        path: `${base}.run.counts.${name}`,
        expected: value,
        actual: actual ?? 'no such count',
      })
    }
  }
  if (wanted.failures) {
    const remaining = [...execution.failures]
    const missing = wanted.failures.filter((want) => {
      const at = remaining.findIndex((got) => partialMismatches(want, got, '').length === 0)
      if (at === -1) {
        return true
      }
      remaining.splice(at, 1)
      return false
    })
    if (missing.length > 0 || remaining.length > 0) {
      failures.push({
        message: `${label}: the run's failures differ`,
        path: `${base}.run.failures`,
        expected: wanted.failures,
        actual: execution.failures.map(({ subscriptionId, card, communication, code }) => ({
          subscriptionId,
          card,
          communication,
          code,
        })),
      })
    }
  }
  return failures
}

function communicationFailures(
  wanted: NonNullable<StepExpectation['communications']>,
  actual: readonly Communication[],
  label: string,
  path: string,
): CheckFailure[] {
  return wanted.flatMap((want, index) => {
    const got = actual.find((c) => c.number === want.number)
    if (!got) {
      return [{ message: `${label}: no communication ${want.number}`, path: `${path}[${index}]` }]
    }
    const fields = [
      ['state', want.state, got.state],
      ['sent', want.sent, got.delivery?.sent],
      ['failed', want.failed, got.delivery?.failed],
    ] as const
    return fields
      .filter(([, expected, seen]) => expected !== undefined && expected !== seen)
      .map(([field, expected, seen]) => ({
        message: `${label}: communication ${want.number} ${field}`,
        path: `${path}[${index}].${field}`,
        expected,
        actual: seen ?? null,
      }))
  })
}
