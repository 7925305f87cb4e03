import {
  startAdapter,
  type Adapter,
  type AdapterOptions,
  type ProvisioningRequest,
} from '../../../src/index.js'
import { SERVICE_BASE_PATH, startSimulator, type Simulator } from '../../../simulator/src/index.js'
import type { CheckFailure, CheckResult } from '../result.js'
import type { Scenario } from '../scenario/load.js'
import type { ScenarioData } from '../scenario/schema.js'
import { checkCards, inventoryOf, preStateOf, subscriptionOf } from './ca-state.js'
import { clientFor, replayToCa, SequenceSource, setUpCa, type HarnessClient } from './ca-side.js'
import type { ExpectedPlan } from './plan.js'
import { planOf } from './plan.js'
import { compareRequests } from './sequence-check.js'
import { comparableLines } from './effective-calls.js'
import { compareSoapCalls, observedCall } from './soap-calls.js'
import { checkStep, modelProbe } from './step-checks.js'
import { drift, runStep, ScenarioClock, type StepContext, type StepRecord } from './steps.js'
import { compareCalls, statusOf, wireLinesOfCommand } from './wire.js'

export { modelProbe } from './step-checks.js'

/** The adapter's clock in a scenario starts at the scenario's `now`; `advance` steps move it. */
const DEFAULT_NOW = '2026-11-26T10:00:00.000Z'

/** A fresh in-process simulator holding the scenario's inventory, with the provider's user. */
function startCa(scenario: Scenario, clock: ScenarioClock): Promise<Simulator> {
  const { username, password } = scenario.provider.connection
  return startSimulator({
    inventory: inventoryOf(scenario),
    users: { [username]: password },
    logger: 'silent',
    now: () => clock.now(),
  })
}

function endpointOf(sim: Simulator): string {
  return `${sim.url}${SERVICE_BASE_PATH.replace(/\/$/, '')}`
}

/**
 * Runs one scenario in one process, both sides: the adapter (given CRM state, each step applied
 * and delivered to a simulator, its `expect` checked right after) against the expectations, then
 * the expected sequence sent straight to a fresh simulator.
 */
export async function runInProcess(
  scenario: Scenario,
  adapterOptions: Partial<AdapterOptions> = {},
): Promise<CheckResult[]> {
  const plan = planOf(scenario.data)
  const adapterChecks = await adapterSide(scenario, plan, adapterOptions)
  const caChecks = await freshCaSide(scenario, plan)
  return [...adapterChecks, ...caChecks]
}

async function freshCaSide(scenario: Scenario, plan: ExpectedPlan): Promise<CheckResult[]> {
  const now = scenario.data.now ?? DEFAULT_NOW
  const clock = new ScenarioClock(now)
  const sim = await startCa(scenario, clock)
  let client: HarnessClient | null = null
  try {
    client = await clientFor(scenario.provider, endpointOf(sim))
    const sequence = new SequenceSource()
    await setUpCa(client, preStateOf(scenario, now), sequence)
    return await replayToCa({
      scenario,
      plan,
      client,
      probe: modelProbe(sim),
      sequence,
      // Side B makes each drift, and moves its clock, where side A did.
      applyDrift: (action) => {
        drift(action, sim)
        return Promise.resolve()
      },
      applyAdvance: (ms) => {
        clock.advance(ms)
        return Promise.resolve()
      },
    })
  } finally {
    await client?.close()
    await sim.close()
  }
}

async function adapterSide(
  scenario: Scenario,
  plan: ExpectedPlan,
  adapterOptions: Partial<AdapterOptions>,
): Promise<CheckResult[]> {
  const now = scenario.data.now ?? DEFAULT_NOW
  const clock = new ScenarioClock(now)
  const sim = await startCa(scenario, clock)
  let client: HarnessClient | null = null
  let adapter: Adapter | null = null
  try {
    client = await clientFor(scenario.provider, endpointOf(sim))
    const sequence = new SequenceSource()
    await setUpCa(client, preStateOf(scenario, now), sequence)
    adapter = await startAdapter({
      ...adapterOptions,
      provider: {
        ...scenario.provider,
        connection: { ...scenario.provider.connection, endpoint: endpointOf(sim) },
      },
      clock,
      port: 0,
      autoDeliver: false,
      logger: 'silent',
    })
    await givenCrm(scenario, adapter, now)
    const marker = sim.journal.list().at(-1)?.seq ?? 0
    const context: StepContext = {
      adapter,
      sim,
      client,
      sequence,
      clock,
      downRules: [],
      lastExecution: null,
    }
    const checks: CheckResult[] = []
    const created: ProvisioningRequest[] = []
    for (const [index, step] of scenario.data.when.entries()) {
      const journalMark = sim.journal.list().at(-1)?.seq ?? 0
      const record: StepRecord = await runStep(step, context)
      created.push(...record.requests)
      const check = await checkStep({
        index,
        step,
        record,
        allRequests: (await adapter.store.listRequests({})).items,
        sim,
        journalMark,
        execution: context.lastExecution ? await adapter.runs.get(context.lastExecution) : null,
        communications: await adapter.runs.communications(),
      })
      if (check) {
        checks.push(check)
      }
    }
    checks.push(...(await finalChecks(scenario, plan, { sim, adapter, marker, created })))
    return checks
  } finally {
    await adapter?.close()
    await client?.close()
    await sim.close()
  }
}

/** The CRM state before the steps: subscriptions, and the communication queue. */
async function givenCrm(scenario: Scenario, adapter: Adapter, now: string): Promise<void> {
  for (const given of scenario.data.given.crm.subscriptions) {
    await adapter.store.commit(
      { subscription: subscriptionOf(given, scenario.provider, now), requests: [] },
      now,
    )
  }
  if (scenario.data.given.crm.communications.length > 0) {
    await adapter.runs.enqueue(scenario.data.given.crm.communications)
  }
}

/** The checks of `then`: every request, the SOAP calls of the whole scenario, the CA state, the queue. */
async function finalChecks(
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
