import type { CaAction, ExpectedRequest, ScenarioData, WhenStep } from '../scenario/schema.js'
import { expectationOf, type RequestExpectation } from './lines.js'

/** Expected requests with their ordering rule. */
export interface ExpectedList {
  readonly ordered: boolean
  readonly list: readonly RequestExpectation[]
}

/** One command the CA side replays, and where it comes from. */
export interface ReplayItem {
  readonly expectation: RequestExpectation
  /** `when[2]` for a direct CA call, `when[2].expect.requests[0]` or `then.requests[0]` otherwise. */
  readonly origin: string
  readonly direct: boolean
}

/** A drift step to make before the replay's item `before` (after every earlier item). */
export interface ReplayDrift {
  readonly before: number
  readonly drift: DriftAction
  readonly origin: string
}

/** An `advance` step to make before the replay's item `before` (after every earlier item). */
export interface ReplayAdvance {
  readonly before: number
  /** How far the step moves the clocks, in milliseconds. */
  readonly ms: number
  readonly origin: string
}

/** A `ca` step that changes the CA's state behind the CRM's back. */
export type DriftAction = Extract<
  CaAction,
  { removeProduct: unknown } | { addProduct: unknown } | { unpair: unknown }
>

/** Whether a step is carried out by the adapter (and so creates requests) rather than on the CA or the clock. */
export function isAdapterStep(step: WhenStep): boolean {
  return !('ca' in step) && !('advance' in step) && !('deliver' in step)
}

/** The drift a `ca` step makes, if it is one. */
export function driftOf(step: WhenStep): DriftAction | null {
  if (!('ca' in step) || typeof step.ca === 'string') {
    return null
  }
  const action = step.ca
  return 'removeProduct' in action || 'addProduct' in action || 'unpair' in action ? action : null
}

/** What a scenario expects, arranged for the checks and for the replay to a CA. */
export interface ExpectedPlan {
  /** Per step: the requests it must create (null when the step names none). */
  readonly perStep: readonly (ExpectedList | null)[]
  /** `then.requests`, if given. */
  readonly overall: ExpectedList | null
  /** The sequence a CA must receive, in order, with the answers expected (no PENDING request). */
  readonly replay: readonly ReplayItem[]
  /** The drift steps, in order, each with its place in the replay. */
  readonly drifts: readonly ReplayDrift[]
  /** The `advance` steps, in order, each with its place in the replay. */
  readonly advances: readonly ReplayAdvance[]
  /** False when some list in the replay said order does not matter. */
  readonly replayOrdered: boolean
  /** True when the scenario expects any request at all (else the sequence checks are skipped). */
  readonly hasRequestExpectations: boolean
}

type RequestListInput = ExpectedRequest[] | { order: 'strict' | 'any'; list: ExpectedRequest[] }

/** An expected request list (a list, or `{ order, list }`) in the form the comparison takes. */
export function listOf(input: RequestListInput | undefined): ExpectedList | null {
  if (input === undefined) {
    return null
  }
  const items = Array.isArray(input) ? input : input.list
  return {
    ordered: Array.isArray(input) || input.order === 'strict',
    list: items.map(expectationOf),
  }
}

function stepExpectation(step: WhenStep): ExpectedList | null {
  return isAdapterStep(step) ? listOf(step.expect?.requests) : null
}

/** The command a `ca` step sends straight to the CA, if it is one (not down/up, a fault or drift). */
function directCommand(step: WhenStep): ExpectedRequest | null {
  if (!('ca' in step) || typeof step.ca === 'string' || !('type' in step.ca)) {
    return null
  }
  return step.ca
}

/**
 * The last `expect.allRequests` of the scenario: every request so far, the whole sequence when no
 * adapter step follows it (a v2 scenario may list requests only there).
 */
function latestAllRequests(data: ScenarioData): ExpectedList | null {
  const index = data.when.findLastIndex((step) => step.expect?.allRequests !== undefined)
  const later = data.when.slice(index + 1).some(isAdapterStep)
  return index === -1 || later ? null : listOf(data.when[index]?.expect?.allRequests)
}

/**
 * Arranges a scenario's expectations. The replay keeps the steps' order when the steps carry their
 * own `expect.requests` (every adapter step, or there is no `then.requests`); otherwise, direct CA
 * calls written before the first adapter step are replayed first, then `then.requests` (or the
 * last `expect.allRequests`, when no adapter step follows it), then the remaining direct calls.
 */
export function planOf(data: ScenarioData): ExpectedPlan {
  const perStep = data.when.map(stepExpectation)
  const overall = listOf(data.then.requests)
  // The last `expect.allRequests` says how every request ended (a step's own list may show a
  // request still PENDING that completes later): when there is one, it gives the sequence.
  const latest = latestAllRequests(data)
  const sequence = latest ?? overall
  const replay: ReplayItem[] = []
  const drifts: ReplayDrift[] = []
  const advances: ReplayAdvance[] = []
  let replayOrdered = true
  const direct = (step: WhenStep, index: number): ReplayItem | null => {
    const command = directCommand(step)
    if (command) {
      return { expectation: expectationOf(command), origin: `when[${index}]`, direct: true }
    }
    const drift = driftOf(step)
    if (drift) {
      drifts.push({ before: replay.length, drift, origin: `when[${index}]` })
    }
    if ('advance' in step) {
      advances.push({ before: replay.length, ms: step.advance, origin: `when[${index}]` })
    }
    return null
  }
  const pushList = (list: ExpectedList, origin: string): void => {
    replayOrdered &&= list.ordered
    list.list.forEach((expectation, i) => {
      // A PENDING request has not reached the CA (scheduled for later, or still being retried):
      // no call is expected for it, and a CA sent it would end in another state than the adapter's.
      if (expectation.state !== 'PENDING') {
        replay.push({ expectation, origin: `${origin}[${i}]`, direct: false })
      }
    })
  }
  // The steps give the sequence when each adapter step says what it creates (a refusal creates
  // nothing); when some do not, `then.requests` (every request of every step) gives it, if there.
  const everyStepSays = data.when.every(
    (step) =>
      !isAdapterStep(step) ||
      step.expect?.requests !== undefined ||
      step.expect?.refusal !== undefined,
  )
  if (
    latest === null &&
    perStep.some((list) => list !== null) &&
    (everyStepSays || overall === null)
  ) {
    data.when.forEach((step, index) => {
      const call = direct(step, index)
      const list = perStep[index]
      if (call) {
        replay.push(call)
      } else if (list) {
        pushList(list, `when[${index}].expect.requests`)
      }
    })
  } else {
    const firstAdapterStep = data.when.findIndex(isAdapterStep)
    const cut = firstAdapterStep === -1 ? data.when.length : firstAdapterStep
    data.when.slice(0, cut).forEach((step, index) => {
      const call = direct(step, index)
      if (call) {
        replay.push(call)
      }
    })
    if (sequence) {
      pushList(sequence, latest ? 'expect.allRequests' : 'then.requests')
    }
    data.when.slice(cut).forEach((step, index) => {
      const call = direct(step, cut + index)
      if (call) {
        replay.push(call)
      }
    })
  }
  return {
    perStep,
    overall,
    replay,
    drifts,
    advances,
    replayOrdered,
    hasRequestExpectations: sequence !== null || perStep.some((list) => list !== null),
  }
}
