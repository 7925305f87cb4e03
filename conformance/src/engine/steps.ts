import {
  AdapterError,
  type Adapter,
  type Clock,
  type ProvisioningRequest,
  type RunStatus,
  type SendOptions,
} from '../../../src/index.js'
import type { FaultRuleInput, Simulator } from '../../../simulator/src/index.js'
import type { CaAction, WhenStep } from '../scenario/schema.js'
import type { HarnessClient, SequenceSource } from './given.js'
import { ScenarioRunError } from './run-error.js'
import { expectationOf } from './lines.js'

/**
 * How the in-process engine carries out each step of a scenario (side A: the adapter on a
 * simulator): CRM actions, utilities, API calls, runs and resets through the adapter; faults,
 * drift and direct commands on the simulator; time moved on both clocks at once.
 */

/** A clock the harness moves by hand; the adapter and the simulator both read it. */
export class ScenarioClock implements Clock {
  private current: number

  constructor(start: string) {
    this.current = Date.parse(start)
  }

  now(): Date {
    return new Date(this.current)
  }

  advance(ms: number): void {
    this.current += ms
  }
}

/** Everything a step can act on. */
export interface StepContext {
  readonly adapter: Adapter
  readonly sim: Simulator
  readonly client: HarnessClient
  readonly sequence: SequenceSource
  readonly clock: ScenarioClock
  /** The fault rules `ca: down` added, removed again by `ca: up`. */
  readonly downRules: number[]
  /** The latest run execution a step started, for `expect.run`. */
  lastExecution: string | null
}

/** What one step did. */
export interface StepRecord {
  readonly refusal: { readonly code: string; readonly message: string } | null
  /** The requests the step created (a split batch's parts included). */
  readonly requests: readonly ProvisioningRequest[]
  /** A preview's answer (`run` or `reset` with `preview: true`). */
  readonly preview?: unknown
  /** `deliver: until-idle` that could not get every request final. */
  readonly stillPending?: string
}

/**
 * How long a process-immediately call (a utility, a `crm` step with `processImmediately`) waits
 * for its outcome. The adapter waits up to 30 s of real time, but a scenario's clock only moves
 * when a step says so: with the CA down the request could not become final in that wait, and
 * each such step would hang 30 s. The delivery that follows every step sends it instead, and the
 * step's requests are read from the store afterwards, so nothing observable changes.
 */
const NO_WAIT = 0

/** Longest `deliver: until-idle`: rounds, and clock moved. */
const IDLE_ROUNDS = 100
const IDLE_CLOCK_MS = 7 * 24 * 3_600_000

/** Carries out one step and delivers what is due afterwards. */
export async function runStep(step: WhenStep, context: StepContext): Promise<StepRecord> {
  const { adapter } = context
  const before = (await adapter.store.listRequests({ limit: 0 })).total
  let record: Omit<StepRecord, 'requests'> = { refusal: null }
  if ('ca' in step) {
    await caAction(step.ca, context)
  } else if ('advance' in step) {
    context.clock.advance(step.advance)
  } else if ('deliver' in step) {
    record = step.deliver === 'until-idle' ? await deliverUntilIdle(context) : record
  } else {
    record = await adapterStep(step, context)
  }
  await adapter.deliverDue()
  const created = await adapter.store.listRequests({ offset: before })
  return { ...record, requests: created.items }
}

async function adapterStep(
  step: Exclude<WhenStep, { ca: unknown } | { advance: unknown } | { deliver: unknown }>,
  context: StepContext,
): Promise<Omit<StepRecord, 'requests'>> {
  const { adapter } = context
  try {
    if ('crm' in step) {
      const { priority, processImmediately, scheduledDate, ...action } = step.crm
      const send: SendOptions = {
        ...(priority ? { priority } : {}),
        ...(processImmediately === undefined ? {} : { processImmediately, waitMs: NO_WAIT }),
        ...(scheduledDate === undefined ? {} : { scheduledDate }),
      }
      await adapter.service.applyAction(action, send)
      return { refusal: null }
    }
    if ('utility' in step) {
      await adapter.utilities.run(step.utility, { waitMs: NO_WAIT })
      return { refusal: null }
    }
    if ('run' in step) {
      return await runStepOf(step.run, context)
    }
    if ('reset' in step) {
      const reset = await adapter.runs.resetSubscription(step.reset.subscriptionId, {
        preview: step.reset.preview,
      })
      return { refusal: null, ...(step.reset.preview ? { preview: reset } : {}) }
    }
    return { refusal: await callApi(adapter, step.api.method, step.api.body) }
  } catch (error) {
    if (!(error instanceof AdapterError)) {
      throw error
    }
    return { refusal: { code: error.code, message: error.message } }
  }
}

/**
 * A run: enqueued communications, the definition (or an earlier one by code), then a preview, or
 * an execution delivered until its verdict (or until the CA stops answering: then DELIVERING).
 */
async function runStepOf(
  run: Extract<WhenStep, { run: unknown }>['run'],
  context: StepContext,
): Promise<Omit<StepRecord, 'requests'>> {
  const { adapter } = context
  if (run.communications) {
    await adapter.runs.enqueue(run.communications)
  }
  const code = run.definition
    ? (await adapter.runs.define(run.definition)).id
    : (run.code as string)
  if (run.preview) {
    const preview = await adapter.runs.preview(code, {
      ...(run.checkCards === undefined ? {} : { checkCards: run.checkCards }),
    })
    return { refusal: null, preview }
  }
  const started = await adapter.runs.start(code)
  context.lastExecution = started.id
  let done: RunStatus = await adapter.runs.settled(started.id)
  if (done.state === 'DELIVERING') {
    await adapter.deliverDue()
    done = await adapter.runs.get(started.id)
  }
  return {
    refusal:
      done.state === 'FAILED' || done.state === 'STOPPED'
        ? { code: `RUN_${done.state}`, message: done.lastError ?? `the run ended ${done.state}` }
        : null,
  }
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

/** What a `ca` step does to the in-process simulator. */
async function caAction(action: CaAction, context: StepContext): Promise<void> {
  const { sim } = context
  if (action === 'down') {
    const rule = sim.faults.add({
      kind: 'RESET',
      times: null,
      message: 'the CA is down (scenario step ca: down)',
    })
    context.downRules.push(rule.id)
    return
  }
  if (action === 'up') {
    context.downRules.splice(0).forEach((id) => sim.faults.remove(id))
    return
  }
  if ('fault' in action) {
    // Only the fields given: the simulator fills in its defaults (one call, HTTP 503...).
    sim.faults.add(
      Object.fromEntries(
        Object.entries(action.fault).filter(([, value]) => value !== undefined),
      ) as FaultRuleInput,
    )
    return
  }
  if ('clearFaults' in action) {
    sim.faults.clear()
    context.downRules.length = 0
    return
  }
  if ('removeProduct' in action || 'addProduct' in action || 'unpair' in action) {
    drift(action, sim)
    return
  }
  await context.client.send(expectationOf(action).command, context.sequence.next())
}

/** Drift: the CA's state changed behind the CRM's back (through the simulator's admin side). */
export function drift(
  action: Extract<
    CaAction,
    { removeProduct: unknown } | { addProduct: unknown } | { unpair: unknown }
  >,
  sim: Simulator,
): void {
  if ('removeProduct' in action) {
    const { card, product } = action.removeProduct
    if (!sim.model.forceRemoveProduct(card, product)) {
      throw driftFailed(`card ${card} has no product ${product} to remove`)
    }
    return
  }
  if ('addProduct' in action) {
    const { card, product, distributor } = action.addProduct
    const outcome = sim.model.forceAddProduct(card, {
      productId: product,
      distributor: distributor ?? null,
      startDate: new Date(0).toISOString(),
      endDate: null,
    })
    if (!outcome.ok) {
      throw driftFailed(outcome.message)
    }
    return
  }
  if (!sim.model.forceUnpair(action.unpair)) {
    throw driftFailed(`card ${action.unpair} is unknown or not paired`)
  }
}

function driftFailed(why: string): ScenarioRunError {
  return new ScenarioRunError(
    'CA_DRIFT_FAILED',
    `Failed to make the CA drift: ${why}. Check the step against the CA state the earlier steps leave.`,
  )
}

/**
 * Delivers, then moves both clocks to the next retry or scheduled date, until no request is
 * PENDING; says what is left when it gives up (after 100 rounds or 7 days of clock).
 */
async function deliverUntilIdle(context: StepContext): Promise<Omit<StepRecord, 'requests'>> {
  const { adapter, clock } = context
  let moved = 0
  for (let round = 0; round < IDLE_ROUNDS; round++) {
    await adapter.deliverDue()
    const pending = await adapter.store.pendingRequests()
    if (pending.length === 0) {
      return { refusal: null }
    }
    const now = clock.now().getTime()
    const next = Math.min(
      ...pending.flatMap((request) =>
        [request.nextAttemptAt, request.scheduledDate]
          .map((at) => (at === null ? Number.NaN : Date.parse(at)))
          .filter((at) => at > now),
      ),
    )
    // Nothing waits for a time: they wait behind each other, and the next pass sends them.
    const step = Number.isFinite(next) ? next - now : 0
    if (moved + step > IDLE_CLOCK_MS) {
      break
    }
    clock.advance(step)
    moved += step
  }
  const left = await adapter.store.pendingRequests()
  return {
    refusal: null,
    stillPending: `${left.length} request(s) still PENDING after delivering until idle (${IDLE_ROUNDS} rounds or 7 days of clock): ${left
      .slice(0, 5)
      .map((r) => `${r.number} ${r.type} (${r.errorCode ?? 'not sent'})`)
      .join(', ')}${left.length > 5 ? ', ...' : ''}`,
  }
}
