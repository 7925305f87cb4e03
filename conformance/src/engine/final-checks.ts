import type { Adapter, ProvisioningRequest } from '../../../src/index.js'
import type { Simulator } from '../../../simulator/src/index.js'
import type { CheckFailure, CheckResult } from '../result.js'
import type { Scenario } from '../scenario/load.js'
import type { ScenarioData } from '../scenario/schema.js'
import { checkCards, modelProbe } from './card-checks.js'
import { comparableLines } from './effective-calls.js'
import type { ExpectedPlan } from './plan.js'
import { compareRequests } from './sequence-check.js'
import { compareSoapCalls, observedCall } from './soap-calls.js'
import { compareCalls, statusOf, wireLinesOfCommand } from './wire.js'

/*
 * Stage 3 of a scenario run on side A: the checks of `then` once every step has run.
 */

/** The checks of `then`: every request, the SOAP calls of the whole scenario, the CA state, the queue. */
export async function finalChecks(
  scenario: Scenario,
  plan: ExpectedPlan,
  side: {
    readonly sim: Simulator
    readonly adapter: Adapter
    readonly marker: number
    readonly created: readonly ProvisioningRequest[]
  },
): Promise<CheckResult[]> {
  const { sim, adapter, marker, created } = side
  const { then } = scenario.data
  const checks: CheckResult[] = []
  if (plan.overall) {
    // In their state now: a request a step left PENDING may have completed since.
    const now = await Promise.all(
      created.map(async (request) => (await adapter.store.getRequest(request.id)) ?? request),
    )
    const failures = compareRequests(plan.overall, now, 'all steps', 'then.requests')
    checks.push({
      name: 'adapter: then.requests',
      side: 'adapter',
      passed: failures.length === 0,
      failures,
    })
  }
  if (plan.hasRequestExpectations) {
    checks.push(journalCheck(scenario.data, plan, sim, marker))
  }
  if (then.soapCalls) {
    checks.push(soapCallsCheck(then.soapCalls, sim, marker))
  }
  if (then.ca) {
    checks.push(await checkCards(then.ca.cards, modelProbe(sim), 'adapter'))
  }
  if (then.communications) {
    const communications = await adapter.runs.communications()
    const failures: CheckFailure[] = then.communications.flatMap((want, index) => {
      const got = communications.find((c) => c.number === want.number)
      const seen = { state: got?.state, sent: got?.delivery?.sent, failed: got?.delivery?.failed }
      return (['state', 'sent', 'failed'] as const)
        .filter((field) => want[field] !== undefined && want[field] !== seen[field])
        .map((field) => ({
          message: `communication ${want.number} ${field}`,
          path: `then.communications[${index}].${field}`,
          expected: want[field],
          actual: seen[field] ?? null,
        }))
    })
    checks.push({
      name: 'adapter: then.communications',
      side: 'adapter',
      passed: failures.length === 0,
      failures,
    })
  }
  return checks
}

/**
 * The calls the simulator received during the steps, against the expected sequence. A reset run's
 * reads create no request, so they are not in the expected sequence; with faults in the scenario,
 * the calls that changed nothing (a fault, the CA down) and the retries answered as replays are
 * left out too: the check looks at what the CA applied, `soapCalls` and `expect.journal` at every call.
 */
function journalCheck(
  data: ScenarioData,
  plan: ExpectedPlan,
  sim: Simulator,
  marker: number,
): CheckResult {
  const expected = plan.replay.flatMap((item) =>
    wireLinesOfCommand(item.expectation.command, statusOf(item.expectation)),
  )
  const actual = comparableLines(data, expected, sim.journal.list({ since: marker }))
  const diff = compareCalls(expected, actual, plan.replayOrdered)
  return {
    name: 'adapter: SOAP calls the CA received',
    side: 'journal',
    passed: diff === null,
    failures: diff ? [{ message: 'the CA received other calls than expected', diff }] : [],
  }
}

/** `then.soapCalls`: every call the CA answered during the steps, with the parameters given. */
function soapCallsCheck(
  calls: NonNullable<ScenarioData['then']['soapCalls']>,
  sim: Simulator,
  marker: number,
): CheckResult {
  const list = Array.isArray(calls) ? calls : calls.list
  const ordered = Array.isArray(calls) || calls.order === 'strict'
  const diff = compareSoapCalls(
    list,
    sim.journal.list({ since: marker }).map(observedCall),
    ordered,
  )
  return {
    name: 'adapter: then.soapCalls',
    side: 'journal',
    passed: diff === null,
    failures: diff
      ? [
          {
            message: 'the CA answered other calls than then.soapCalls lists',
            path: 'then.soapCalls',
            diff,
          },
        ]
      : [],
  }
}
