import {
  AdapterError,
  startAdapter,
  type Adapter,
  type Clock,
  type CrmAction,
  type ProvisioningRequest,
  type SendOptions,
} from '../../../src/index.js'
import { SERVICE_BASE_PATH, startSimulator, type Simulator } from '../../../simulator/src/index.js'
import { diffSequences, sequenceFailed } from '../compare.js'
import type { CheckFailure, CheckResult } from '../result.js'
import type { Scenario } from '../scenario/load.js'
import type { WhenStep } from '../scenario/schema.js'
import {
  checkCards,
  inventoryOf,
  observedFromView,
  preStateOf,
  subscriptionOf,
  type CaProbe,
} from './ca-state.js'
import { clientFor, replayToCa, SequenceSource, setUpCa, type HarnessClient } from './ca-side.js'
import { expectationOf } from './lines.js'
import type { ExpectedPlan } from './plan.js'
import { planOf } from './plan.js'
import { compareRequests } from './sequence-check.js'
import { compareCalls, statusOf, wireLinesOfCommand, wireLinesOfJournal } from './wire.js'

/** The adapter's clock in a scenario: fixed at the scenario's `now`. */
const DEFAULT_NOW = '2026-11-26T10:00:00.000Z'

function fixedClock(now: string): Clock {
  const at = new Date(now)
  return { now: () => new Date(at) }
}

/** A fresh in-process simulator holding the scenario's inventory, with the provider's user. */
function startCa(scenario: Scenario): Promise<Simulator> {
  const { username, password } = scenario.provider.connection
  return startSimulator({
    inventory: inventoryOf(scenario),
    users: { [username]: password },
    logger: 'silent',
  })
}

function endpointOf(sim: Simulator): string {
  return `${sim.url}${SERVICE_BASE_PATH.replace(/\/$/, '')}`
}

/** Reads cards straight from an in-process simulator's model. */
export function modelProbe(sim: Simulator): CaProbe {
  return {
    card: (id) => {
      const view = sim.model.card(id)
      return Promise.resolve(view ? observedFromView(view) : null)
    },
  }
}

/**
 * Runs one scenario in one process, both sides: the adapter (given CRM state, each step applied
 * and delivered to a simulator) against the expectations, then the expected sequence sent straight
 * to a fresh simulator.
 */
export async function runInProcess(scenario: Scenario): Promise<CheckResult[]> {
  const plan = planOf(scenario.data)
  const adapterChecks = await adapterSide(scenario, plan)
  const caChecks = await freshCaSide(scenario, plan)
  return [...adapterChecks, ...caChecks]
}

async function freshCaSide(scenario: Scenario, plan: ExpectedPlan): Promise<CheckResult[]> {
  const sim = await startCa(scenario)
  let client: HarnessClient | null = null
  try {
    client = await clientFor(scenario.provider, endpointOf(sim))
    const sequence = new SequenceSource()
    await setUpCa(client, preStateOf(scenario, scenario.data.now ?? DEFAULT_NOW), sequence)
    return await replayToCa({ scenario, plan, client, probe: modelProbe(sim), sequence })
  } finally {
    await client?.close()
    await sim.close()
  }
}

interface StepRecord {
  readonly refusal: { code: string; message: string } | null
  readonly requests: readonly ProvisioningRequest[]
}

async function adapterSide(scenario: Scenario, plan: ExpectedPlan): Promise<CheckResult[]> {
  const now = scenario.data.now ?? DEFAULT_NOW
  const sim = await startCa(scenario)
  let client: HarnessClient | null = null
  let adapter: Adapter | null = null
  try {
    client = await clientFor(scenario.provider, endpointOf(sim))
    const sequence = new SequenceSource()
    await setUpCa(client, preStateOf(scenario, now), sequence)
    adapter = await startAdapter({
      provider: {
        ...scenario.provider,
        connection: { ...scenario.provider.connection, endpoint: endpointOf(sim) },
        delivery: { ...scenario.provider.delivery, retryInitialDelayMs: 10, retryMaxDelayMs: 50 },
      },
      clock: fixedClock(now),
      port: 0,
      autoDeliver: false,
      logger: 'silent',
    })
    for (const given of scenario.data.given.crm.subscriptions) {
      await adapter.store.commit(
        { subscription: subscriptionOf(given, scenario.provider, now), requests: [] },
        now,
      )
    }
    const marker = sim.journal.list().at(-1)?.seq ?? 0
    const records: StepRecord[] = []
    for (const step of scenario.data.when) {
      records.push(await runStep(step, adapter, client, sequence))
    }
    const checks = [stepChecks(scenario, plan, records)]
    if (plan.hasRequestExpectations) {
      checks.push(journalCheck(scenario, plan, sim, marker))
    }
    const calls = scenario.data.then.soapCalls
    if (calls) {
      checks.push(soapCallsCheck(calls, sim, marker))
    }
    const cards = scenario.data.then.ca?.cards
    if (cards) {
      checks.push(await checkCards(cards, modelProbe(sim), 'adapter'))
    }
    return checks
  } finally {
    await adapter?.close()
    await client?.close()
    await sim.close()
  }
}

/** Applies one step, delivers what it created, and records the refusal or the requests. */
async function runStep(
  step: WhenStep,
  adapter: Adapter,
  client: HarnessClient,
  sequence: SequenceSource,
): Promise<StepRecord> {
  if ('ca' in step) {
    await client.send(expectationOf(step.ca).command, sequence.next())
    return { refusal: null, requests: [] }
  }
  const before = (await adapter.store.listRequests({ limit: 1 })).total
  let refusal: StepRecord['refusal'] = null
  try {
    if ('crm' in step) {
      const { priority, processImmediately, scheduledDate, ...action } = step.crm
      const send: SendOptions = {
        ...(priority ? { priority } : {}),
        ...(processImmediately === undefined ? {} : { processImmediately }),
        ...(scheduledDate === undefined ? {} : { scheduledDate }),
      }
      await adapter.service.applyAction(action as CrmAction, send)
    } else if ('utility' in step) {
      await adapter.utilities.run(step.utility)
    } else if ('run' in step) {
      refusal = await executeRun(adapter, step.run)
    } else {
      refusal = await callApi(adapter, step.api.method, step.api.body)
    }
  } catch (error) {
    if (!(error instanceof AdapterError)) {
      throw error
    }
    refusal = { code: error.code, message: error.message }
  }
  await adapter.deliverDue()
  const created = await adapter.store.listRequests({ offset: before })
  return { refusal, requests: created.items }
}

/** Enqueues the communications, defines the run, runs it to its end; a failed execution is a refusal. */
async function executeRun(
  adapter: Adapter,
  run: Extract<WhenStep, { run: unknown }>['run'],
): Promise<StepRecord['refusal']> {
  if (run.communications) {
    await adapter.runs.enqueue(run.communications)
  }
  const definition = await adapter.runs.define(run.definition)
  const started = await adapter.runs.start(definition.id)
  let done = await adapter.runs.settled(started.id)
  if (done.state === 'DELIVERING') {
    // Its requests are created: once delivered, the execution has its verdict.
    await adapter.deliverDue()
    done = await adapter.runs.get(started.id)
  }
  return done.state === 'COMPLETED' || done.state === 'DELIVERING'
    ? null
    : { code: `RUN_${done.state}`, message: done.lastError ?? `the run ended ${done.state}` }
}

/** Calls a Conax Contego Web API method over the adapter's HTTP API; an error answer is a refusal. */
async function callApi(
  adapter: Adapter,
  method: string,
  body: Record<string, unknown>,
): Promise<StepRecord['refusal']> {
  const response = await fetch(
    `${adapter.url}/conax_web_services/provisioning_requests/${method}`,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${adapter.apiToken}`,
      },
      body: JSON.stringify(body),
    },
  )
  if (response.ok) {
    await response.arrayBuffer()
    return null
  }
  const answer = (await response.json().catch(() => ({}))) as {
    error?: { code?: string; message?: string }
  }
  return {
    code: answer.error?.code ?? `HTTP_${response.status}`,
    message: answer.error?.message ?? response.statusText,
  }
}

function describeStep(step: WhenStep, index: number): string {
  if ('crm' in step) {
    return `step ${index + 1} (${step.crm.action})`
  }
  if ('utility' in step) {
    return `step ${index + 1} (utility ${step.utility.utility})`
  }
  if ('api' in step) {
    return `step ${index + 1} (api ${step.api.method})`
  }
  if ('run' in step) {
    return `step ${index + 1} (run ${step.run.definition.kind})`
  }
  return `step ${index + 1} (CA ${step.ca.type})`
}

/** Refusals and requests, step by step, then `then.requests` over all steps. */
function stepChecks(
  scenario: Scenario,
  plan: ExpectedPlan,
  records: readonly StepRecord[],
): CheckResult {
  const failures: CheckFailure[] = []
  scenario.data.when.forEach((step, index) => {
    const record = records[index] as StepRecord
    const label = describeStep(step, index)
    const wanted = 'ca' in step ? undefined : step.expect?.refusal
    if (wanted !== undefined && record.refusal?.code !== wanted) {
      failures.push({
        message: record.refusal
          ? `${label}: refused with ${record.refusal.code} instead of ${wanted}`
          : `${label}: was accepted, but a refusal ${wanted} was expected`,
        path: `when[${index}].expect.refusal`,
        expected: wanted,
        actual: record.refusal?.code ?? `accepted, ${record.requests.length} request(s)`,
      })
    } else if (wanted === undefined && record.refusal) {
      failures.push({
        message: `${label}: refused with ${record.refusal.code}: ${record.refusal.message}`,
        path: `when[${index}]`,
        expected: 'accepted',
        actual: record.refusal.code,
      })
    }
    const list = plan.perStep[index]
    if (list) {
      failures.push(
        ...compareRequests(list, record.requests, label, `when[${index}].expect.requests`),
      )
    }
  })
  if (plan.overall) {
    failures.push(
      ...compareRequests(
        plan.overall,
        records.flatMap((r) => r.requests),
        'all steps',
        'then.requests',
      ),
    )
  }
  return {
    name: 'adapter: refusals and requests',
    side: 'adapter',
    passed: failures.length === 0,
    failures,
  }
}

/** The SOAP calls the simulator received during the steps, against the expected sequence. */
function journalCheck(
  scenario: Scenario,
  plan: ExpectedPlan,
  sim: Simulator,
  marker: number,
): CheckResult {
  const expected = plan.replay.flatMap((item) =>
    wireLinesOfCommand(item.expectation.command, statusOf(item.expectation)),
  )
  // A reset run reads every card (GetActiveSubscriptions, GetPairingStatusForCard) without
  // creating requests for it: those reads are not part of the expected sequence.
  const resetRun = scenario.data.when.some(
    (step) => 'run' in step && step.run.definition.kind === 'RESET_SUBSCRIPTION',
  )
  const reads = (line: string): boolean =>
    resetRun &&
    /^(GetActiveSubscriptions|GetPairingStatusForCard) /.test(line) &&
    !expected.some((e) => e.startsWith(line.split(' ')[0] ?? ''))
  const actual = sim.journal
    .list({ since: marker })
    .flatMap(wireLinesOfJournal)
    .filter((line) => !reads(line))
  const diff = compareCalls(expected, actual, plan.replayOrdered)
  return {
    name: 'adapter: SOAP calls the CA received',
    side: 'journal',
    passed: diff === null,
    failures: diff ? [{ message: 'the CA received other calls than expected', diff }] : [],
  }
}

/** `then.soapCalls`: the operations and StatusCodes the CA answered, in order. */
function soapCallsCheck(
  calls: readonly { readonly operation: string; readonly status: string }[],
  sim: Simulator,
  marker: number,
): CheckResult {
  const expected = calls.map((call) => `${call.operation} → ${call.status}`)
  const actual = sim.journal
    .list({ since: marker })
    .map((entry) => `${entry.operation ?? `(${entry.service})`} → ${entry.statusCode}`)
  const diff = diffSequences(expected, actual, true)
  const failed = sequenceFailed(diff)
  return {
    name: 'adapter: then.soapCalls',
    side: 'journal',
    passed: !failed,
    failures: failed
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
