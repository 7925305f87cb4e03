import {
  startAdapter,
  type Adapter,
  type AdapterOptions,
  type ProvisioningRequest,
} from '../../../src/index.js'
import { SERVICE_BASE_PATH, startSimulator, type Simulator } from '../../../simulator/src/index.js'
import type { CheckResult } from '../result.js'
import type { Scenario } from '../scenario/load.js'
import { modelProbe } from './card-checks.js'
import { finalChecks } from './final-checks.js'
import {
  clientFor,
  givenCrm,
  inventoryOf,
  preStateOf,
  SequenceSource,
  setUpCa,
  type HarnessClient,
} from './given.js'
import { planOf, type ExpectedPlan } from './plan.js'
import { replayToCa } from './side-b.js'
import { checkStep } from './step-checks.js'
import { drift, runStep, ScenarioClock, type StepContext, type StepRecord } from './steps.js'

/*
 * The one path of a scenario run in process. Side A: start a simulator and set up `given`
 * (given.ts), start the adapter, run each `when` step (steps.ts) and check its `expect` right
 * after (step-checks.ts), then check `then` (final-checks.ts). Side B: the expected sequence sent
 * straight to a fresh simulator (side-b.ts). Every check reads cards through card-checks.ts.
 */

export { modelProbe } from './card-checks.js'

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
