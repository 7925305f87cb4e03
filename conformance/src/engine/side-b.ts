import type { ConaxCommand } from '../../../src/index.js'
import { diffSequences, partialMismatches, sequenceFailed } from '../compare.js'
import type { CheckFailure, CheckResult } from '../result.js'
import type { Scenario } from '../scenario/load.js'
import { checkCards, type CaProbe } from './card-checks.js'
import { sendOrFail, type HarnessClient, type Outcome, type SequenceSource } from './given.js'
import { commandLine, type RequestExpectation } from './lines.js'
import type { DriftAction, ExpectedPlan } from './plan.js'
import { ScenarioRunError } from './run-error.js'

/*
 * Side B of a scenario run: the expected sequence sent straight to a fresh CA, each answer
 * against the expectation, then the CA state against `then.ca`.
 */

function outcomeLine(expectation: RequestExpectation, outcome: Outcome): string {
  const state =
    outcome.kind === 'COMPLETED'
      ? 'COMPLETED'
      : outcome.kind === 'REJECTED'
        ? 'REJECTED'
        : 'PENDING'
  const error = outcome.kind === 'REJECTED' ? ` (${outcome.errorCode})` : ''
  return `${commandLine(expectation.command)} → ${state}${error}`
}

function expectedAnswerLine(expectation: RequestExpectation): string {
  const error =
    expectation.state === 'REJECTED' && expectation.errorCode ? ` (${expectation.errorCode})` : ''
  return `${commandLine(expectation.command)} → ${expectation.state}${error}`
}

/** What a replay needs: the scenario and its plan, a client to the CA, and a way to read cards. */
export interface Replay {
  readonly scenario: Scenario
  readonly plan: ExpectedPlan
  readonly client: HarnessClient
  readonly probe: CaProbe
  readonly sequence: SequenceSource
  /**
   * Makes a drift step on the CA (its admin side). Without it, a removed or added product is sent
   * over the wire (CancelSubscriptions, AddSubscriptions), and an unpair cannot be made.
   */
  readonly applyDrift?: (drift: DriftAction) => Promise<void>
  /** Moves the CA's clock for an `advance` step; without it, `advance` steps are not replayed. */
  readonly applyAdvance?: (ms: number) => Promise<void>
}

/** The index of the step an origin such as `when[3]` names. */
function stepIndexOf(origin: string): number {
  return Number(/^when\[(\d+)\]/.exec(origin)?.[1] ?? 0)
}

/** A drift step over the wire, for a CA without an admin side (a real Conax). */
async function driftOverTheWire(replay: Replay, drift: DriftAction): Promise<void> {
  if ('unpair' in drift) {
    throw new ScenarioRunError(
      'CA_DRIFT_UNSUPPORTED',
      `The scenario dissolves the pairing of card ${drift.unpair} behind the CRM's back, which the contract cannot do (it has no unpair operation). Run it against a conax-sim with --sim-admin, or in-process.`,
    )
  }
  const command: ConaxCommand =
    'removeProduct' in drift
      ? {
          type: 'CANCEL_SUBSCRIPTIONS',
          smartcardCaId: drift.removeProduct.card,
          serviceCaId: drift.removeProduct.product,
          distributor: null,
        }
      : {
          type: 'ADD_SUBSCRIPTIONS',
          smartcardCaId: drift.addProduct.card,
          serviceCaId: drift.addProduct.product,
          distributor: drift.addProduct.distributor ?? null,
        }
  await sendOrFail(replay.client, command, replay.sequence, 'make the CA drift')
}

/**
 * Sends the expected sequence straight to a CA (after `given`), and checks each answer against the
 * expected life cycle state (COMPLETED is OK, REJECTED a business code) and query results, then
 * each expected card's state through `probe`. PENDING expectations (the adapter has not sent
 * them) are not in the replay; a direct `ca` step expected PENDING is sent, its answer not judged.
 */
export async function replayToCa(replay: Replay): Promise<CheckResult[]> {
  const { scenario, plan, probe } = replay
  const checks: CheckResult[] = []
  if (plan.replay.length > 0 || plan.drifts.length > 0) {
    checks.push(await answersCheck(replay))
  }
  const cards = scenario.data.then.ca?.cards
  if (cards) {
    checks.push(await checkCards(cards, probe, 'ca'))
  }
  return checks
}

async function answersCheck(replay: Replay): Promise<CheckResult> {
  const { plan, client, sequence } = replay
  const expectedLines: string[] = []
  const actualLines: string[] = []
  const failures: CheckFailure[] = []
  // The drift and advance steps due before an item, in the order the scenario wrote them.
  const driftsBefore = async (position: number): Promise<void> => {
    const changes = [
      ...plan.drifts
        .filter((d) => d.before === position)
        .map(({ drift, origin }) => ({
          origin,
          apply: () =>
            replay.applyDrift ? replay.applyDrift(drift) : driftOverTheWire(replay, drift),
        })),
      ...plan.advances
        .filter((a) => a.before === position)
        .map(({ ms, origin }) => ({
          origin,
          apply: () => replay.applyAdvance?.(ms) ?? Promise.resolve(),
        })),
    ].sort((a, b) => stepIndexOf(a.origin) - stepIndexOf(b.origin))
    for (const change of changes) {
      await change.apply()
    }
  }
  for (const [position, item] of plan.replay.entries()) {
    await driftsBefore(position)
    const outcome = await client.send(item.expectation.command, sequence.next())
    if (outcome.kind === 'TRANSIENT') {
      throw new ScenarioRunError(
        'CA_UNREACHABLE',
        `The CA did not answer ${commandLine(item.expectation.command)} (${item.origin}): ${outcome.errorCode} ${outcome.errorDescription}. Check that it runs and is reachable.`,
      )
    }
    const judged = item.expectation.state !== 'PENDING'
    expectedLines.push(expectedAnswerLine(item.expectation))
    actualLines.push(
      judged ? outcomeLine(item.expectation, outcome) : expectedAnswerLine(item.expectation),
    )
    if (judged && outcome.kind === 'COMPLETED' && item.expectation.result !== undefined) {
      failures.push(
        ...partialMismatches(item.expectation.result, outcome.result, 'result').map((m) => ({
          message: `${item.origin}: ${m.path}`,
          path: `${item.origin}.${m.path}`,
          expected: m.expected,
          actual: m.actual,
        })),
      )
    }
  }
  await driftsBefore(plan.replay.length)
  const diff = diffSequences(expectedLines, actualLines, true)
  if (sequenceFailed(diff)) {
    failures.unshift({ message: 'the CA answered the expected sequence differently', diff })
  }
  return {
    name: 'ca: answers to the expected sequence',
    side: 'ca',
    passed: failures.length === 0,
    failures,
  }
}
