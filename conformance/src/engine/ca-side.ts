import {
  createConaxClient,
  type ConaxCommand,
  type ProvisioningProvider,
} from '../../../src/index.js'
import { diffSequences, partialMismatches, sequenceFailed } from '../compare.js'
import type { CheckFailure, CheckResult } from '../result.js'
import type { Scenario } from '../scenario/load.js'
import { checkCards, setupCommands, type CaProbe, type CardSetup } from './ca-state.js'
import { commandLine, type RequestExpectation } from './lines.js'
import type { DriftAction, ExpectedPlan } from './plan.js'

/** The CA client the harness sends with (the adapter's SOAP client, used as a plain client). */
export type HarnessClient = Awaited<ReturnType<typeof createConaxClient>>
export type Outcome = Awaited<ReturnType<HarnessClient['send']>>

/** An error that stops one scenario (the CA could not be set up or reached): verdict `error`. */
export class ScenarioRunError extends Error {
  override readonly name = 'ScenarioRunError'
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.code = code
  }
}

/** The harness's SequenceNumbers lie in [FLOOR, FLOOR + SPAN), below xs:int's 2,147,483,647. */
const SEQUENCE_FLOOR = 1_500_000_000
const SEQUENCE_SPAN = 600_000_000

/**
 * SequenceNumbers for the harness's own writes. A CA answers a write that repeats an earlier
 * write's SequenceNumber and payload as a replay and changes nothing, and scenarios repeat the
 * same writes (AddSubscriptions GFA1 on 01450250001...) over and over, so no two writes of the
 * harness may share a number:
 * - within a process, every source continues from the last number any source handed out (each
 *   scenario has its own source, and scenarios follow each other within milliseconds);
 * - across runs, a source starts from the clock in milliseconds, faster than a run uses numbers,
 *   so a run starts above the numbers of any run before it (the span wraps every 6.9 days).
 * They lie above the adapter's: a new adapter store starts at a random origin of at most 2^30
 * (1,073,741,824; docs/decisions/0004) and would need 400 million requests to reach this range.
 */
export class SequenceSource {
  /** The last number handed out in this process, by any source. */
  private static last = 0
  private value: number
  constructor(now = Date.now()) {
    const fromClock = SEQUENCE_FLOOR + ((now - Date.UTC(2024, 0, 1)) % SEQUENCE_SPAN)
    this.value = Math.max(fromClock, SequenceSource.last)
  }
  next(): number {
    const next = Math.max(this.value, SequenceSource.last) + 1
    this.value = next >= SEQUENCE_FLOOR + SEQUENCE_SPAN ? SEQUENCE_FLOOR : next
    SequenceSource.last = this.value
    return this.value
  }
}

/** A client for `endpoint` with the provider's credentials and character set. */
export function clientFor(
  provider: ProvisioningProvider,
  endpoint: string,
  credentials?: { username: string; password: string },
): Promise<HarnessClient> {
  return createConaxClient({
    endpoint,
    username: credentials?.username ?? provider.connection.username,
    password: credentials?.password ?? provider.connection.password,
    characterSet: provider.connection.characterSet,
    timeoutMs: Math.max(provider.connection.timeoutMs, 5000),
  })
}

/** Sends the `given` CA state; any answer but OK stops the scenario (its premise does not hold). */
export async function setUpCa(
  client: HarnessClient,
  pre: ReadonlyMap<string, CardSetup>,
  sequence: SequenceSource,
): Promise<void> {
  for (const command of setupCommands(pre)) {
    await sendOrFail(client, command, sequence, 'set up the given CA state')
  }
}

/** Sends one command and throws a {@link ScenarioRunError} unless the CA answers OK. */
export async function sendOrFail(
  client: HarnessClient,
  command: ConaxCommand,
  sequence: SequenceSource,
  purpose: string,
): Promise<Extract<Outcome, { kind: 'COMPLETED' }>> {
  const outcome = await client.send(command, sequence.next())
  if (outcome.kind !== 'COMPLETED') {
    throw new ScenarioRunError(
      outcome.kind === 'TRANSIENT' ? 'CA_UNREACHABLE' : 'CA_SETUP_REFUSED',
      `Failed to ${purpose}: ${commandLine(command)} was answered ${outcome.errorCode} (${outcome.errorDescription}). ${
        outcome.kind === 'TRANSIENT'
          ? 'Check that the CA is running and reachable, and the credentials.'
          : 'Check that the CA knows every smartcard, STB and product the scenario names (given.ca).'
      }`,
    )
  }
  return outcome
}

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
