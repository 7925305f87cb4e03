import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { ConaxCommand } from '../../domain/commands.js'
import type { InstalledItem, ProvisioningProvider, Subscription } from '../../domain/crm.js'
import { cardsOf } from '../../domain/commands.js'
import type { ProvisioningRequest } from '../../domain/provisioning-request.js'
import { LISTED_FAILURES, RunTally, type RunFailure } from '../../domain/run-tally.js'
import {
  checkCriteria,
  checkMessageText,
  checkRunDefinition,
  fingerprintCommands,
  inSegments,
  messageCommands,
  planReset,
  RUN_PROCESS_NAMES,
  smartcardsOf,
  type FingerprintRunSettings,
  type MessageRunSettings,
  type ObservedCard,
  type ResetPlan,
  type RunDefinition,
  type RunDefinitionInput,
  type SubscriptionCriteria,
} from '../../domain/runs.js'
import { AdapterError } from '../adapter-error.js'
import type { Clock, Page, ProvisioningStore, SubscriptionFilter } from '../ports.js'
import type { ProvisioningService } from '../provisioning-service.js'
import type {
  CaReader,
  Communication,
  CommunicationInput,
  RunCounts,
  RunExecution,
  RunStore,
} from './run-ports.js'

/** How the run service is wired. */
export interface RunServiceOptions {
  readonly provider: ProvisioningProvider
  readonly store: ProvisioningStore
  readonly runs: RunStore
  readonly provisioning: ProvisioningService
  readonly reader: CaReader
  readonly clock: Clock
  /** Subscriptions per batch (default 500): the memory bound of a run. */
  readonly pageSize?: number
  /** Cards read from the CA at once by a reset run (default 64). */
  readonly readConcurrency?: number
  /** Told when a run fails (the execution records it too). */
  readonly onError?: (error: unknown, execution: RunExecution) => void
}

/** An execution with its progress, as the status endpoint and the CLI show it. */
export interface RunStatus extends RunExecution {
  readonly progress: {
    /** 0..1 when the total is known. */
    readonly fraction: number | null
    /** Items per second while running. */
    readonly rate: number | null
    readonly etaSeconds: number | null
    /** Requests of the execution still waiting for the CA's verdict. */
    readonly pendingRequests: number
  }
  /** The same as `failures`, never absent. */
  readonly failures: readonly RunFailure[]
}

/** One subscription a reset preview or run found out of sync. */
export interface OutOfSync {
  readonly subscriptionId: string
  readonly differences: readonly string[]
  readonly commands: readonly ConaxCommand[]
}

/** What a reset preview found: counts over every subscription checked, and the first out-of-sync ones. */
export interface ResetPreview {
  readonly kind: 'RESET_SUBSCRIPTION'
  readonly checked: number
  readonly inSync: number
  readonly outOfSync: number
  readonly failed: number
  readonly subscriptions: readonly OutOfSync[]
  /** True when more were out of sync than `limit` lists. */
  readonly truncated: boolean
  /** Each card that could not be checked, and why (the first `limit`). */
  readonly failures: readonly RunFailure[]
}

/** What a message or fingerprinting run would send. */
export interface SendPreview {
  readonly kind: 'MAIL_BARK_MESSAGE' | 'FINGERPRINTING'
  readonly subscriptions: number
  readonly cards: number
  readonly requests: number
  /** Message runs: pending communications, and those a run would refuse (text too long...). */
  readonly communications?: number
  readonly refused?: readonly { readonly number: string; readonly error: string }[]
  /** Recipients that would be skipped (no smartcard, unknown to the CRM). */
  readonly skipped: number
  /**
   * What would fail and why: refused communications, skipped recipients and, with `checkCards`,
   * the cards the CA does not know or manages for another SMS (the first `limit`).
   */
  readonly failures: readonly RunFailure[]
  /** Whether the cards were asked of the CA (`checkCards`). */
  readonly cardsChecked: boolean
}

export type RunPreview = ResetPreview | SendPreview

/**
 * What reset single subscription did: the repair of the cards that could be read, the requests it
 * created (none for a preview), and each card that could not be checked, with the CA's status.
 */
export type ResetSingle = ResetPlan & {
  readonly requests: readonly ProvisioningRequest[]
  readonly failures: readonly RunFailure[]
}

/** One subscription compared with the CA: its repair (cards that failed left out) and its failures. */
interface Checked {
  readonly subscription: Subscription
  readonly plan: ResetPlan
  readonly failures: readonly RunFailure[]
  /** SOAP calls made to read its cards (two per card). */
  readonly calls: number
}

const ZERO_COUNTS: RunCounts = {
  processed: 0,
  checked: 0,
  inSync: 0,
  repaired: 0,
  failed: 0,
  sent: 0,
  skipped: 0,
  cards: 0,
  requests: 0,
  communications: 0,
  communicationsFailed: 0,
  caCalls: 0,
}

/** Reader codes that mean "the CA cannot be asked now" rather than "this card failed". */
const UNREACHABLE = new Set(['CA_UNREACHABLE', 'CA_TIMEOUT', 'CA_FAILED', 'READER_CLOSED'])
/** Refusals of the whole call, not of the card: wrong credentials, wrong endpoint. */
const REFUSED_CALL = /^(UNAUTHORIZED|FORBIDDEN|NOT_FOUND|HTTP_\d+|SOAP_CLIENT_FAULT)$/

/** Whether a read failure should stop the run (resumable) rather than fail one card. */
function stopsTheRun(error: Error): boolean {
  const { code, detail } = error as { code?: unknown; detail?: unknown }
  return (
    (typeof code === 'string' && UNREACHABLE.has(code)) ||
    (code === 'CA_REFUSED' && typeof detail === 'string' && REFUSED_CALL.test(detail))
  )
}

/** A card that could not be read, with the CA's status when there is one (CLIENT_NOT_MANAGED_BY_SMS). */
function readFailure(subscriptionId: string, card: string, error: Error): RunFailure {
  const { code, detail } = error as { code?: unknown; detail?: unknown }
  return {
    subscriptionId,
    card,
    communication: null,
    code: typeof detail === 'string' ? detail : typeof code === 'string' ? code : 'READ_FAILED',
    message: error.message,
  }
}

/** The failure of a card the CA does not know. */
function unknownCard(subscriptionId: string, card: string): RunFailure {
  return {
    subscriptionId,
    card,
    communication: null,
    code: 'CLIENT_NOT_FOUND',
    message: `Card ${card} is not known to the CA (CLIENT_NOT_FOUND). Check the smartcard's CA ID in the subscription, or register the card at the CA.`,
  }
}

/** Appends failures to a list kept to the first {@link LISTED_FAILURES}. */
function keepListed(
  listed: readonly RunFailure[],
  more: readonly RunFailure[],
  limit = LISTED_FAILURES,
): RunFailure[] {
  return listed.length >= limit ? [...listed] : [...listed, ...more].slice(0, limit)
}

function filterOf(criteria: SubscriptionCriteria): SubscriptionFilter {
  return {
    ...(criteria.createdFrom ? { createdFrom: criteria.createdFrom } : {}),
    ...(criteria.createdTo ? { createdTo: criteria.createdTo } : {}),
    ...(criteria.types ? { types: criteria.types } : {}),
    ...(criteria.ids ? { ids: criteria.ids } : {}),
  }
}

/**
 * Runs `work` over `items` with at most `limit` in flight; resolves in input order. Once `halted()`
 * says so, no further item is started (their results stay undefined).
 */
async function pool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
  halted: () => boolean = () => false,
): Promise<(R | undefined)[]> {
  const results = new Array<R | undefined>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length && !halted()) {
      const index = next++
      results[index] = await work(items[index] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

interface Live {
  stopRequested: boolean
  done: Promise<RunExecution>
}

/**
 * What a running execution holds: its run, or for a message run its communication queue, since
 * two executions on one queue would both take the same pending communication and send it twice.
 */
function laneOf(definition: RunDefinition): string {
  return definition.kind === 'MAIL_BARK_MESSAGE'
    ? `queue ${definition.externalSystem}`
    : `run ${definition.id}`
}

/**
 * The batch runs: definitions, previews, executions that can be watched, stopped and resumed.
 * A run walks its subscriptions (or communications) in pages of `pageSize`; after each page's
 * requests are durably created, the execution's cursor is saved, so a stop, or a crash, loses at
 * most that page's bookkeeping — and a resume first looks at the requests the execution already
 * created, so nothing is sent twice.
 */
export class RunService {
  private readonly options: RunServiceOptions
  private readonly live = new Map<string, Live>()
  /** The last communication each running message execution finished (so the queue is not rescanned). */
  private readonly lastCommunication = new Map<string, string>()
  /** Lane (see laneOf) → the execution holding it, from the moment it is claimed until its loop ends. */
  private readonly lanes = new Map<string, string>()
  /** DELIVERING executions this process watches, and the tally of each running at most once at a time. */
  private readonly delivering = new Set<string>()
  private readonly finishing = new Map<string, Promise<void>>()
  /** Callers of {@link finished} waiting for an execution to end. */
  private readonly finishWaiters = new Map<string, ((status: RunStatus) => void)[]>()
  private readonly unsubscribe: () => void

  constructor(options: RunServiceOptions) {
    this.options = options
    this.unsubscribe = options.provisioning.onFinal((request) => this.requestFinal(request))
  }

  private get pageSize(): number {
    return this.options.pageSize ?? 500
  }

  private now(): string {
    return this.options.clock.now().toISOString()
  }

  /** Checks and saves a run definition; its alternative code must be unique. */
  async define(input: RunDefinitionInput): Promise<RunDefinition> {
    const checked = checkRunDefinition(this.options.provider, input, this.now())
    if (!checked.ok) {
      throw new AdapterError(checked.error.code, checked.error.message, {
        details: { field: checked.error.field },
      })
    }
    if (await this.options.runs.getDefinition(input.alternativeCode)) {
      throw new AdapterError(
        'RUN_EXISTS',
        `A run with alternative code '${input.alternativeCode}' exists. Choose another code.`,
        { details: { field: 'alternativeCode' } },
      )
    }
    // As checked: periods as UTC instants.
    const definition: RunDefinition = {
      ...checked.value,
      id: randomUUID(),
      createdAt: this.now(),
    }
    await this.options.runs.saveDefinition(definition)
    return definition
  }

  /** A definition by id or alternative code; RUN_NOT_FOUND otherwise. */
  async definition(idOrCode: string): Promise<RunDefinition> {
    const found = await this.options.runs.getDefinition(idOrCode)
    if (!found) {
      throw new AdapterError(
        'RUN_NOT_FOUND',
        `No run definition has id or alternative code '${idOrCode}'. List them with GET /runs.`,
      )
    }
    return found
  }

  /** Enqueues communications for message runs (checked: external system, text, recipients). */
  async enqueue(inputs: readonly CommunicationInput[]): Promise<readonly Communication[]> {
    // Every communication is checked before any is added: a bad one leaves the queue unchanged.
    const checked = inputs.map((input, index): CommunicationInput => {
      const field = `communications[${index}]`
      if (input.externalSystem.trim() === '' || input.message === '') {
        throw new AdapterError(
          'INVALID_FIELD',
          `${field}: externalSystem and message must not be empty.`,
          { details: { field } },
        )
      }
      const { subscriptionIds, segment } = input.recipients
      if ((subscriptionIds === undefined) === (segment === undefined)) {
        throw new AdapterError(
          'INVALID_FIELD',
          `${field}.recipients: name either subscriptionIds or a segment (use segment: {} for every subscriber).`,
          { details: { field: `${field}.recipients` } },
        )
      }
      if (subscriptionIds?.length === 0) {
        throw new AdapterError(
          'INVALID_FIELD',
          `${field}.recipients.subscriptionIds: name at least one subscription (or use segment: {} for every subscriber).`,
          { details: { field: `${field}.recipients.subscriptionIds` } },
        )
      }
      if (segment === undefined) {
        return input
      }
      // A period the store cannot compare would match nobody: the communication would be
      // marked PROCESSED without reaching anyone.
      const criteria = checkCriteria(segment, `${field}.recipients.segment`)
      if (!criteria.ok) {
        throw new AdapterError(criteria.error.code, criteria.error.message, {
          details: { field: criteria.error.field },
        })
      }
      return { ...input, recipients: { segment: criteria.value } }
    })
    return this.options.runs.addCommunications(checked, this.now())
  }

  /** Communications of the queue, by external system and state. */
  communications(
    filter: { readonly externalSystem?: string; readonly state?: Communication['state'] } = {},
  ): Promise<readonly Communication[]> {
    return this.options.runs.listCommunications(filter)
  }

  /** One communication by its number, or null. */
  communication(number: string): Promise<Communication | null> {
    return this.options.runs.getCommunication(number)
  }

  /**
   * What a run would do, without sending anything: its counts and each item that would fail or be
   * skipped, and why (the first `limit`). A reset preview reads the CA; a message or fingerprinting
   * preview asks the CA about every card only with `checkCards` (two reads per card).
   */
  async preview(
    idOrCode: string,
    options: { readonly limit?: number; readonly checkCards?: boolean } = {},
  ): Promise<RunPreview> {
    const definition = await this.definition(idOrCode)
    const settings = { limit: options.limit ?? 100, checkCards: options.checkCards ?? false }
    switch (definition.kind) {
      case 'RESET_SUBSCRIPTION':
        return this.previewReset(definition.criteria, settings.limit)
      case 'MAIL_BARK_MESSAGE':
        return this.previewMessages(definition, settings)
      case 'FINGERPRINTING':
        return this.previewFingerprints(definition, settings)
    }
  }

  /** Starts an execution in the background and answers at once. */
  async start(idOrCode: string): Promise<RunStatus> {
    const definition = await this.definition(idOrCode)
    this.options.provisioning.requireEffective()
    const id = randomUUID().replaceAll('-', '')
    this.claim(definition, id)
    try {
      if (definition.kind === 'MAIL_BARK_MESSAGE') {
        await this.refuseHalfSent(definition)
      }
      const execution = await this.created(definition, id)
      this.launch(definition, execution, false)
      return this.status(execution)
    } catch (error) {
      this.release(definition, id)
      throw error
    }
  }

  private async created(definition: RunDefinition, id: string): Promise<RunExecution> {
    const now = this.now()
    const execution: RunExecution = {
      id,
      runId: definition.id,
      kind: definition.kind,
      processName: RUN_PROCESS_NAMES[definition.kind],
      state: 'RUNNING',
      startedAt: now,
      updatedAt: now,
      finishedAt: null,
      activeMs: 0,
      total: await this.totalOf(definition),
      cursor: { offset: 0, communication: null },
      counts: ZERO_COUNTS,
      lastError: null,
    }
    await this.options.runs.saveExecution(execution)
    return execution
  }

  /** Takes the definition's lane for the execution, or refuses (RUN_RUNNING) naming the holder. */
  private claim(definition: RunDefinition, executionId: string): void {
    const lane = laneOf(definition)
    const holder = this.lanes.get(lane)
    if (holder !== undefined) {
      throw new AdapterError(
        'RUN_RUNNING',
        definition.kind === 'MAIL_BARK_MESSAGE'
          ? `Execution ${holder} is sending the communications of '${definition.externalSystem}'; a second one would send them twice. Wait for it, or stop it first.`
          : `Execution ${holder} of run '${definition.alternativeCode}' is running. Wait for it, or stop it first.`,
        { details: { executionId: holder } },
      )
    }
    this.lanes.set(lane, executionId)
  }

  private release(definition: RunDefinition, executionId: string): void {
    const lane = laneOf(definition)
    if (this.lanes.get(lane) === executionId) {
      this.lanes.delete(lane)
    }
  }

  /**
   * A message execution stopped (or failed) in the middle of a communication still has to send it
   * to the rest of its recipients; a new execution would start that communication over and send it
   * twice to those already reached. Refuses (RUN_RUNNING) while there is one: resume it instead.
   */
  private async refuseHalfSent(definition: RunDefinition & MessageRunSettings): Promise<void> {
    for (const execution of await this.options.runs.listExecutions()) {
      if (
        execution.kind !== 'MAIL_BARK_MESSAGE' ||
        execution.state === 'COMPLETED' ||
        execution.cursor.communication === null
      ) {
        continue
      }
      const other = await this.options.runs.getDefinition(execution.runId)
      const communication = await this.options.runs.getCommunication(execution.cursor.communication)
      if (
        other?.kind === 'MAIL_BARK_MESSAGE' &&
        other.externalSystem === definition.externalSystem &&
        communication?.state === 'PENDING'
      ) {
        throw new AdapterError(
          'RUN_RUNNING',
          `Execution ${execution.id} (${execution.state}) stopped half-way through communication ${communication.number} of '${definition.externalSystem}'; a new execution would send it again to the recipients already reached. Resume that execution instead.`,
          { details: { executionId: execution.id } },
        )
      }
    }
  }

  /** Asks a running execution to stop after its current page; resolves once it has stopped. */
  async stop(executionId: string): Promise<RunStatus> {
    const execution = await this.execution(executionId)
    const live = this.live.get(executionId)
    if (!live) {
      if (execution.state === 'RUNNING' || execution.state === 'STOPPING') {
        // Interrupted by a restart: nothing runs it, so it is stopped already.
        return this.status(await this.save(execution, { state: 'STOPPED' }))
      }
      // DELIVERING: its requests are stored and go to the CA whatever happens; nothing to stop.
      return this.status(execution)
    }
    // Only the loop saves the execution, so a stop never overwrites its newer counts or cursor.
    live.stopRequested = true
    return this.status(await live.done)
  }

  /** Resumes a stopped (or failed) execution from its cursor. */
  async resume(executionId: string): Promise<RunStatus> {
    const execution = await this.execution(executionId)
    if (this.live.has(executionId)) {
      return this.status(execution)
    }
    if (execution.state === 'COMPLETED' || execution.state === 'DELIVERING') {
      throw new AdapterError(
        'RUN_NOT_RESUMABLE',
        execution.state === 'COMPLETED'
          ? `Execution ${executionId} is COMPLETED; start the run again for a new execution.`
          : `Execution ${executionId} is DELIVERING: every request is created and waits for the CA's verdict; it completes by itself.`,
      )
    }
    this.options.provisioning.requireEffective()
    const definition = await this.definition(execution.runId)
    if (this.live.has(executionId) || this.lanes.get(laneOf(definition)) === executionId) {
      // Resumed meanwhile by a concurrent call: one loop only.
      return this.status(await this.execution(executionId))
    }
    this.claim(definition, executionId)
    try {
      const resumed = await this.save(execution, { state: 'RUNNING', lastError: null })
      this.launch(definition, resumed, true)
      return this.status(resumed)
    } catch (error) {
      this.release(definition, executionId)
      throw error
    }
  }

  /** An execution with its progress; EXECUTION_NOT_FOUND otherwise. */
  async get(executionId: string): Promise<RunStatus> {
    return this.status(await this.execution(executionId))
  }

  /** The executions of a run (or of every run), newest last. */
  async executions(runIdOrCode?: string): Promise<readonly RunStatus[]> {
    const runId = runIdOrCode === undefined ? undefined : (await this.definition(runIdOrCode)).id
    return Promise.all((await this.options.runs.listExecutions(runId)).map((e) => this.status(e)))
  }

  /**
   * Resolves when the execution no longer creates requests (at once if it does not): DELIVERING
   * (its requests wait for the CA), or STOPPED, FAILED, COMPLETED.
   */
  async settled(executionId: string): Promise<RunStatus> {
    const live = this.live.get(executionId)
    return this.status(live ? await live.done : await this.execution(executionId))
  }

  /**
   * Resolves when the execution has ended: COMPLETED (every request final and tallied), STOPPED or
   * FAILED. A DELIVERING execution ends when the CA has answered its last request.
   */
  async finished(executionId: string): Promise<RunStatus> {
    const ended = await this.settled(executionId)
    if (ended.state !== 'DELIVERING') {
      return ended
    }
    const waited = new Promise<RunStatus>((resolve) => {
      const list = this.finishWaiters.get(executionId) ?? []
      list.push(resolve)
      this.finishWaiters.set(executionId, list)
    })
    // Registered first, then checked: a tally that ended in between is not missed.
    const now = await this.get(executionId)
    return now.state === 'DELIVERING' ? waited : now
  }

  /** The provisioning requests an execution created (CRM.COM's process id is the execution id). */
  async requests(
    executionId: string,
    paging: { readonly offset?: number; readonly limit?: number } = {},
  ): Promise<Page<ProvisioningRequest>> {
    await this.execution(executionId)
    return this.options.store.listRequests({ processId: executionId, ...paging })
  }

  /** Every run definition, in creation order. */
  definitions(): Promise<readonly RunDefinition[]> {
    return this.options.runs.listDefinitions()
  }

  /**
   * Reset single subscription: compares one subscription with the CA and, unless `preview`,
   * creates the requests that repair it (process name RESET_SINGLE_SUBSCRIPTION).
   */
  async resetSubscription(
    subscriptionId: string,
    options: { readonly preview?: boolean } = {},
  ): Promise<ResetSingle> {
    const subscription = await this.options.store.getSubscription(subscriptionId)
    if (!subscription) {
      throw new AdapterError(
        'SUBSCRIPTION_NOT_FOUND',
        `Subscription '${subscriptionId}' does not exist.`,
        { details: { field: 'subscriptionId' } },
      )
    }
    if (!options.preview) {
      this.options.provisioning.requireEffective()
    }
    const [checked] = await this.check([subscription])
    if (!checked) {
      throw new Error('unreachable: one subscription checked')
    }
    const { plan, failures } = checked
    const requests =
      options.preview || plan.inSync
        ? []
        : await this.options.provisioning.createBatch(
            plan.commands.map((command) => ({ command, subscriptionId })),
            { processName: 'RESET_SINGLE_SUBSCRIPTION', processId: subscriptionId, inOrder: true },
          )
    return { ...plan, requests, failures }
  }

  /**
   * Marks executions a previous process left RUNNING as STOPPED (resume them explicitly), and
   * watches the DELIVERING ones again (finishing those whose requests are all final).
   */
  async recover(): Promise<number> {
    let count = 0
    for (const execution of await this.options.runs.listExecutions()) {
      if (execution.state === 'DELIVERING') {
        this.delivering.add(execution.id)
        await this.maybeFinish(execution.id)
        continue
      }
      if (
        (execution.state === 'RUNNING' || execution.state === 'STOPPING') &&
        !this.live.has(execution.id)
      ) {
        await this.save(execution, {
          state: 'STOPPED',
          lastError: 'interrupted: the adapter stopped while the run was going; resume it',
        })
        count += 1
      }
    }
    return count
  }

  /** Stops every running execution (after its current page) and waits for them. */
  async close(): Promise<void> {
    const running = [...this.live.values()]
    running.forEach((live) => (live.stopRequested = true))
    await Promise.allSettled(running.map((live) => live.done))
    this.unsubscribe()
    await Promise.allSettled([...this.finishing.values()])
  }

  // ----- executions ----------------------------------------------------------------------

  private async execution(executionId: string): Promise<RunExecution> {
    const found = await this.options.runs.getExecution(executionId)
    if (!found) {
      throw new AdapterError(
        'EXECUTION_NOT_FOUND',
        `No run execution has id '${executionId}'. List them with GET /runs/executions.`,
      )
    }
    return found
  }

  private async save(
    execution: RunExecution,
    change: Partial<RunExecution>,
  ): Promise<RunExecution> {
    const next = { ...execution, ...change, updatedAt: this.now() }
    await this.options.runs.saveExecution(next)
    return next
  }

  private async status(stored: RunExecution): Promise<RunStatus> {
    // A stop is asked of the loop, which finishes its batch first: meanwhile the run is STOPPING.
    const execution: RunExecution =
      stored.state === 'RUNNING' && this.live.get(stored.id)?.stopRequested
        ? { ...stored, state: 'STOPPING' }
        : stored
    const pendingRequests =
      execution.state === 'COMPLETED' ? 0 : await this.options.store.countPending(execution.id)
    const done = execution.counts.processed
    const rate = execution.activeMs > 0 ? done / (execution.activeMs / 1000) : null
    const remaining = execution.total === null ? null : Math.max(0, execution.total - done)
    return {
      ...execution,
      progress: {
        fraction:
          execution.total === null
            ? null
            : execution.total === 0
              ? 1
              : Math.min(1, done / execution.total),
        rate,
        etaSeconds:
          execution.state !== 'RUNNING' || remaining === null || !rate
            ? null
            : Math.round(remaining / rate),
        pendingRequests,
      },
      // Executions stored before failures were listed have none.
      failures: execution.failures ?? [],
      counts: { ...ZERO_COUNTS, ...execution.counts },
    }
  }

  private launch(definition: RunDefinition, execution: RunExecution, resumed: boolean): void {
    const live: Live = { stopRequested: false, done: Promise.resolve(execution) }
    live.done = this.loop(definition, execution, resumed, live).finally(() => {
      this.live.delete(execution.id)
      this.lastCommunication.delete(execution.id)
      this.release(definition, execution.id)
    })
    this.live.set(execution.id, live)
    void live.done.then(async (ended) => {
      if (ended.state === 'DELIVERING') {
        await this.maybeFinish(ended.id)
      } else {
        await this.wakeFinished(ended)
      }
    })
  }

  // ----- delivery verdicts ---------------------------------------------------------------

  /** A request became final: its execution may now have its verdict. */
  private async requestFinal(request: ProvisioningRequest): Promise<void> {
    if (request.processId !== null && this.delivering.has(request.processId)) {
      await this.maybeFinish(request.processId)
    }
  }

  /** Completes a DELIVERING execution once none of its requests is PENDING; one tally at a time. */
  private maybeFinish(executionId: string): Promise<void> {
    const previous = this.finishing.get(executionId) ?? Promise.resolve()
    const next = previous.then(async () => {
      if ((await this.options.store.countPending(executionId)) > 0) {
        return
      }
      const execution = await this.options.runs.getExecution(executionId)
      if (execution?.state !== 'DELIVERING') {
        this.delivering.delete(executionId)
        return
      }
      const completed = await this.complete(execution)
      this.delivering.delete(executionId)
      await this.wakeFinished(completed)
    })
    const tail = next.catch((error: unknown) => {
      const execution = { id: executionId } as RunExecution
      this.options.onError?.(error, execution)
    })
    this.finishing.set(executionId, tail)
    void tail.then(() => {
      if (this.finishing.get(executionId) === tail) {
        this.finishing.delete(executionId)
      }
    })
    return tail
  }

  /**
   * Tallies the execution's final requests (what the CA accepted and refused, per card or per
   * subscription), gives each communication of a message run its verdict, and saves it COMPLETED.
   */
  private async complete(execution: RunExecution): Promise<RunExecution> {
    const tally = new RunTally(execution.kind === 'RESET_SUBSCRIPTION' ? 'SUBSCRIPTIONS' : 'CARDS')
    const page = 1000
    for (let offset = 0; ; offset += page) {
      const requests = await this.options.store.listRequests({
        processId: execution.id,
        offset,
        limit: page,
      })
      requests.items.forEach((request) => tally.add(request))
      if (requests.items.length < page) {
        break
      }
    }
    const verdict = tally.verdict()
    let communicationsFailed = 0
    for (const [number, delivery] of verdict.communications) {
      const communication = await this.options.runs.getCommunication(number)
      if (communication?.state !== 'SENDING') {
        continue
      }
      const failed = delivery.sent === 0 && delivery.failed > 0
      communicationsFailed += failed ? 1 : 0
      const failures = await this.named(delivery.failures)
      await this.options.runs.updateCommunication(number, {
        state: failed ? 'FAILED' : 'PROCESSED',
        processedAt: this.now(),
        error: delivery.failed === 0 ? null : summary(delivery),
        processedBy: communication.processedBy,
        delivery: { ...delivery, failures },
      })
    }
    // A communication taken but with no card to reach (every recipient skipped) has no request.
    for (const communication of await this.options.runs.listCommunications({ state: 'SENDING' })) {
      if (
        communication.processedBy === execution.id &&
        !verdict.communications.has(communication.number)
      ) {
        await this.options.runs.updateCommunication(communication.number, {
          state: 'PROCESSED',
          processedAt: this.now(),
          error: null,
          processedBy: execution.id,
          delivery: { sent: 0, failed: 0, failures: [] },
        })
      }
    }
    const counts = { ...ZERO_COUNTS, ...execution.counts }
    return this.save(execution, {
      state: 'COMPLETED',
      finishedAt: this.now(),
      counts: {
        ...counts,
        sent: verdict.sent,
        failed: counts.failed + verdict.failed,
        repaired: execution.kind === 'RESET_SUBSCRIPTION' ? verdict.repaired : counts.repaired,
        communicationsFailed: counts.communicationsFailed + communicationsFailed,
      },
      failures: keepListed(execution.failures ?? [], await this.named(verdict.failures)),
    })
  }

  /** Failures with the subscription of their card filled in (a batch holds many subscriptions). */
  private named(failures: readonly RunFailure[]): Promise<RunFailure[]> {
    return Promise.all(
      failures.map(async (failure) =>
        failure.subscriptionId !== null || failure.card === null
          ? failure
          : {
              ...failure,
              subscriptionId: await this.options.store.subscriptionHolding(failure.card),
            },
      ),
    )
  }

  private async wakeFinished(execution: RunExecution): Promise<void> {
    const waiters = this.finishWaiters.get(execution.id)
    if (!waiters) {
      return
    }
    this.finishWaiters.delete(execution.id)
    const status = await this.status(execution)
    waiters.forEach((resolve) => resolve(status))
  }

  private async loop(
    definition: RunDefinition,
    start: RunExecution,
    resumed: boolean,
    live: Live,
  ): Promise<RunExecution> {
    let execution = start
    // Running time counts everything from here (reads, requests, saves), not stops.
    const launched = performance.now()
    const activeMs = (): number => start.activeMs + (performance.now() - launched)
    try {
      let covered = resumed ? await this.coveredBy(execution) : null
      for (;;) {
        if (live.stopRequested) {
          return (execution = await this.save(execution, {
            state: 'STOPPED',
            activeMs: activeMs(),
          }))
        }
        const step = await this.page(definition, execution, covered)
        covered = null
        execution = await this.save(execution, {
          cursor: step.cursor,
          counts: add(execution.counts, step.counts),
          activeMs: activeMs(),
          ...(step.failures.length > 0
            ? { failures: keepListed(execution.failures ?? [], step.failures) }
            : {}),
        })
        if (step.finished) {
          // Every request is created; the execution completes when the CA has answered them all.
          execution = await this.save(execution, { state: 'DELIVERING' })
          this.delivering.add(execution.id)
          return execution
        }
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      const failed: RunExecution = {
        ...execution,
        state: 'FAILED',
        activeMs: activeMs(),
        updatedAt: this.now(),
        lastError: `${message} Resume the execution when the cause is fixed: nothing is sent twice.`,
      }
      // Never rejects: nobody may be waiting on this loop, and a rejection would end the process.
      // If even this save fails (the store is broken), the store still says RUNNING: the next
      // start of the adapter marks it STOPPED, and a stop or resume here works on it as it is.
      await this.options.runs.saveExecution(failed).catch((saveError: unknown) => {
        this.options.onError?.(saveError, failed)
      })
      this.options.onError?.(error, failed)
      return failed
    }
  }

  /**
   * Subscriptions and cards of the batch that was going when the execution stopped (a crash between
   * storing its requests and saving its cursor). The requests counted in the saved counts belong
   * to batches before the cursor, so only those after them are read: memory stays bounded by one
   * batch however many requests the execution created.
   */
  private async coveredBy(execution: RunExecution): Promise<Covered> {
    const created = await this.options.store.listRequests({
      processId: execution.id,
      offset: execution.counts.requests,
    })
    const subscriptions = new Set<string>()
    const cards = new Set<string>()
    for (const request of created.items) {
      if (request.subscriptionId) {
        subscriptions.add(request.subscriptionId)
      }
      const command = request.command
      if ('smartcardCaIds' in command && command.type !== 'CREATE_PAIRING') {
        const queue =
          'communicationQueueNumber' in command ? (command.communicationQueueNumber ?? '') : ''
        command.smartcardCaIds.forEach((card) => cards.add(`${queue}|${card}`))
      }
    }
    return { subscriptions, cards }
  }

  private page(
    definition: RunDefinition,
    execution: RunExecution,
    covered: Covered | null,
  ): Promise<PageStep> {
    switch (definition.kind) {
      case 'RESET_SUBSCRIPTION':
        return this.resetPage(definition.criteria, execution, covered)
      case 'MAIL_BARK_MESSAGE':
        return this.messagePage(definition, execution, covered)
      case 'FINGERPRINTING':
        return this.fingerprintPage(definition, execution, covered)
    }
  }

  private async totalOf(definition: RunDefinition): Promise<number | null> {
    const { store, runs } = this.options
    switch (definition.kind) {
      case 'RESET_SUBSCRIPTION':
        return (await store.listSubscriptions({ ...filterOf(definition.criteria), limit: 0 })).total
      case 'FINGERPRINTING':
        return (await store.listSubscriptions({ limit: 0 })).total
      case 'MAIL_BARK_MESSAGE': {
        let total = 0
        for (const communication of await runs.listCommunications({
          externalSystem: definition.externalSystem,
          state: 'PENDING',
        })) {
          total += await this.recipientCount(communication)
        }
        return total
      }
    }
  }

  // ----- reset ---------------------------------------------------------------------------

  /**
   * Reads every smartcard of the subscriptions from the CA and plans each one's repair. A card the
   * CA does not know, manages for another SMS or refuses to read is a failure of that card only:
   * the subscription's other cards are still planned (commands touching a failed card are left
   * out). Only a CA that cannot be asked at all (down, timing out, refusing every call) stops.
   */
  private async check(subscriptions: readonly Subscription[]): Promise<Checked[]> {
    const cards = subscriptions.flatMap((s) =>
      s.installedItems.filter((item) => item.kind === 'SMARTCARD').map((item) => item.caId),
    )
    const observed = new Map<string, ObservedCard | Error>()
    // Once the CA cannot be asked, no further card is read: with a CA that times out, reading the
    // rest of the batch would only hold the failure (and a stop) for many more timeouts.
    const halt: { unreachable: Error | null } = { unreachable: null }
    await pool(
      cards,
      this.options.readConcurrency ?? 64,
      async (caId) => {
        const seen = await this.options.reader
          .readCard(caId)
          .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
        if (seen instanceof Error && stopsTheRun(seen)) {
          halt.unreachable ??= seen
        }
        observed.set(caId, seen)
      },
      () => halt.unreachable !== null,
    )
    if (halt.unreachable) {
      // The CA cannot be asked: stop here rather than count every subscription as failed.
      throw halt.unreachable
    }
    return subscriptions.map((subscription) => this.planOne(subscription, observed))
  }

  private planOne(
    subscription: Subscription,
    observed: ReadonlyMap<string, ObservedCard | Error>,
  ): Checked {
    const mine = subscription.installedItems.filter((item) => item.kind === 'SMARTCARD')
    const failures: RunFailure[] = []
    const views = new Map<string, ObservedCard>()
    for (const item of mine) {
      const seen = observed.get(item.caId)
      if (seen instanceof Error) {
        failures.push(readFailure(subscription.id, item.caId, seen))
      } else if (!seen || !seen.known) {
        failures.push(unknownCard(subscription.id, item.caId))
      } else {
        views.set(item.caId, seen)
      }
    }
    const calls = mine.length * 2
    const planned = planReset(this.options.provider, subscription, views)
    if (failures.length === 0) {
      return { subscription, plan: planned, failures, calls }
    }
    const failed = new Set(failures.map((f) => f.card))
    const commands = planned.commands.filter((c) => !cardsOf(c).some((card) => failed.has(card)))
    const differences = planned.differences.filter(
      (d) => ![...failed].some((card) => d.startsWith(`card ${String(card)}:`)),
    )
    return {
      subscription,
      plan: { inSync: commands.length === 0, commands, differences },
      failures,
      calls,
    }
  }

  private async resetPage(
    criteria: SubscriptionCriteria,
    execution: RunExecution,
    covered: Covered | null,
  ): Promise<PageStep> {
    const page = await this.options.store.listSubscriptions({
      ...filterOf(criteria),
      offset: execution.cursor.offset,
      limit: this.pageSize,
    })
    if (page.items.length === 0) {
      return { finished: true, cursor: execution.cursor, counts: ZERO_COUNTS, failures: [] }
    }
    const todo = page.items.filter((s) => !covered?.subscriptions.has(s.id))
    const results = await this.check(todo)
    const repairs = results.filter((r) => !r.plan.inSync)
    const created = await this.options.provisioning.createBatch(
      repairs.flatMap((r) =>
        r.plan.commands.map((command) => ({ command, subscriptionId: r.subscription.id })),
      ),
      { processName: 'RESET_SUBSCRIPTION_RUN', processId: execution.id, inOrder: true },
    )
    const skipped = page.items.length - todo.length
    const failed = results.filter((r) => r.failures.length > 0)
    return {
      finished: false,
      cursor: { offset: execution.cursor.offset + page.items.length, communication: null },
      counts: {
        ...ZERO_COUNTS,
        processed: page.items.length,
        checked: results.length + skipped,
        inSync: results.filter((r) => r.plan.inSync && r.failures.length === 0).length,
        failed: failed.length,
        cards: results.reduce((n, r) => n + r.calls / 2, 0),
        caCalls: results.reduce((n, r) => n + r.calls, 0),
        requests: created.length,
      },
      failures: failed.flatMap((r) => r.failures).slice(0, LISTED_FAILURES),
    }
  }

  private async previewReset(criteria: SubscriptionCriteria, limit: number): Promise<ResetPreview> {
    let offset = 0
    let checked = 0
    let inSync = 0
    let failed = 0
    let outOfSync = 0
    const listed: OutOfSync[] = []
    let failures: RunFailure[] = []
    for (;;) {
      const page = await this.options.store.listSubscriptions({
        ...filterOf(criteria),
        offset,
        limit: this.pageSize,
      })
      if (page.items.length === 0) {
        break
      }
      offset += page.items.length
      for (const result of await this.check(page.items)) {
        checked += 1
        if (result.failures.length > 0) {
          failed += 1
          failures = keepListed(failures, result.failures, limit)
        }
        if (result.plan.inSync) {
          inSync += result.failures.length === 0 ? 1 : 0
        } else {
          outOfSync += 1
          listed.push({
            subscriptionId: result.subscription.id,
            differences: result.plan.differences,
            commands: result.plan.commands,
          })
          // Keep memory bounded: only the first `limit` are listed.
          listed.length = Math.min(listed.length, limit)
        }
      }
    }
    return {
      kind: 'RESET_SUBSCRIPTION',
      checked,
      inSync,
      outOfSync,
      failed,
      subscriptions: listed,
      truncated: outOfSync > listed.length,
      failures,
    }
  }

  // ----- messages ------------------------------------------------------------------------

  private async recipientCount(communication: Communication): Promise<number> {
    const { subscriptionIds, segment } = communication.recipients
    if (subscriptionIds) {
      return subscriptionIds.length
    }
    return (await this.options.store.listSubscriptions({ ...filterOf(segment ?? {}), limit: 0 }))
      .total
  }

  /**
   * One page of a communication's recipients, from `offset`: the subscriptions found, how many
   * recipients the page covers, and the recipients skipped (unknown to the CRM, or with no
   * smartcard) with the reason.
   */
  private async recipients(communication: Communication, offset: number): Promise<Recipients> {
    const { subscriptionIds, segment } = communication.recipients
    if (subscriptionIds) {
      const ids = subscriptionIds.slice(offset, offset + this.pageSize)
      if (ids.length === 0) {
        return { found: [], length: 0, skipped: [] }
      }
      const found = (await this.options.store.listSubscriptions({ ids })).items
      const known = new Set(found.map((s) => s.id))
      const unknown = ids
        .filter((id) => !known.has(id))
        .map((id) => skippedRecipient(id, communication.number, 'SUBSCRIPTION_NOT_FOUND'))
      return {
        found,
        length: ids.length,
        skipped: [...unknown, ...withoutCard(found, communication.number)],
      }
    }
    const found = (
      await this.options.store.listSubscriptions({
        ...filterOf(segment ?? {}),
        offset,
        limit: this.pageSize,
      })
    ).items
    return { found, length: found.length, skipped: withoutCard(found, communication.number) }
  }

  private async messagePage(
    definition: RunDefinition & MessageRunSettings,
    execution: RunExecution,
    covered: Covered | null,
  ): Promise<PageStep> {
    const { runs, provider } = this.options
    if (!execution.cursor.communication) {
      const grouped = await this.personalCommunications(definition, execution, covered)
      if (grouped) {
        return grouped
      }
    }
    const after = this.lastCommunication.get(execution.id) ?? null
    const current = execution.cursor.communication
      ? await runs.getCommunication(execution.cursor.communication)
      : ((await runs.pendingCommunications(definition.externalSystem, after, 1))[0] ?? null)
    if (!current || current.state !== 'PENDING') {
      // Finished by an earlier pass whose cursor was not saved: go on with the next one.
      return current
        ? { finished: false, cursor: NEXT_COMMUNICATION, counts: ZERO_COUNTS, failures: [] }
        : { finished: true, cursor: execution.cursor, counts: ZERO_COUNTS, failures: [] }
    }
    const offset = execution.cursor.communication ? execution.cursor.offset : 0
    const refused = checkMessageText(provider, definition, current.message, this.now())
    if (refused) {
      await this.markCommunication(current.number, execution.id, refused.message)
      return {
        finished: false,
        cursor: NEXT_COMMUNICATION,
        counts: {
          ...ZERO_COUNTS,
          processed: await this.recipientCount(current),
          communications: 1,
          communicationsFailed: 1,
        },
        failures: [refusedCommunication(current.number, refused)],
      }
    }
    const page = await this.recipients(current, offset)
    if (page.length <= 0) {
      this.lastCommunication.set(execution.id, current.number)
      await this.markCommunication(current.number, execution.id, null)
      return {
        finished: false,
        cursor: NEXT_COMMUNICATION,
        counts: { ...ZERO_COUNTS, communications: 1 },
        failures: [],
      }
    }
    const cards = uncovered(smartcardsOf(page.found), covered, current.number)
    const commands =
      cards.length === 0
        ? { ok: true as const, value: [] }
        : messageCommands(provider, definition, {
            text: current.message,
            cards,
            now: this.now(),
            communicationQueueNumber: current.number,
          })
    if (!commands.ok) {
      throw new AdapterError(commands.error.code, commands.error.message)
    }
    const only = page.found.length === 1 ? (page.found[0]?.id ?? null) : null
    const created = await this.options.provisioning.createBatch(
      commands.value.map((command) => ({ command, subscriptionId: only })),
      { processName: 'MAIL_BARK_MESSAGE_RUN', processId: execution.id },
    )
    return {
      finished: false,
      cursor: { offset: offset + page.length, communication: current.number },
      counts: {
        ...ZERO_COUNTS,
        processed: page.length,
        cards: cards.length,
        skipped: page.skipped.length,
        requests: created.length,
      },
      failures: page.skipped,
    }
  }

  /**
   * A communication taken by a run: SENDING while its requests wait for the CA (the verdict comes
   * when the execution completes), or FAILED with `refusal` when its text cannot be sent.
   */
  private markCommunication(
    number: string,
    executionId: string,
    refusal: string | null,
  ): Promise<void> {
    return this.options.runs.updateCommunication(number, {
      state: refusal === null ? 'SENDING' : 'FAILED',
      processedAt: this.now(),
      error: refusal,
      processedBy: executionId,
    })
  }

  /**
   * Several small communications (named recipients, together at most a batch) in one batch: one
   * commit of their requests, their states saved together and one cursor save, so a queue of
   * many personal messages costs a few store writes per batch, not three per message. Null when
   * the next communication is large (a segment, or more recipients than a batch): it goes alone.
   */
  private async personalCommunications(
    definition: RunDefinition & MessageRunSettings,
    execution: RunExecution,
    covered: Covered | null,
  ): Promise<PageStep | null> {
    const { runs, provider } = this.options
    const after = this.lastCommunication.get(execution.id) ?? null
    const pending = await runs.pendingCommunications(
      definition.externalSystem,
      after,
      this.pageSize,
    )
    const group: Communication[] = []
    let size = 0
    for (const communication of pending) {
      const count = communication.recipients.subscriptionIds?.length
      if (count === undefined || size + count > this.pageSize) {
        break
      }
      group.push(communication)
      size += count
    }
    if (group.length < 2) {
      return null
    }
    const items: { command: ConaxCommand; subscriptionId: string | null }[] = []
    const outcomes: { number: string; refusal: string | null }[] = []
    const failures: RunFailure[] = []
    let counts: RunCounts = { ...ZERO_COUNTS, processed: size }
    for (const communication of group) {
      const refused = checkMessageText(provider, definition, communication.message, this.now())
      if (refused) {
        outcomes.push({ number: communication.number, refusal: refused.message })
        failures.push(refusedCommunication(communication.number, refused))
        counts = add(counts, { ...ZERO_COUNTS, communications: 1, communicationsFailed: 1 })
        continue
      }
      const page = await this.recipients(communication, 0)
      const cards = uncovered(smartcardsOf(page.found), covered, communication.number)
      const commands = messageCommands(provider, definition, {
        text: communication.message,
        cards,
        now: this.now(),
        communicationQueueNumber: communication.number,
      })
      const subscriptionId = page.found.length === 1 ? (page.found[0]?.id ?? null) : null
      if (commands.ok) {
        items.push(...commands.value.map((command) => ({ command, subscriptionId })))
      }
      outcomes.push({ number: communication.number, refusal: null })
      failures.push(...page.skipped)
      counts = add(counts, {
        ...ZERO_COUNTS,
        cards: cards.length,
        skipped: page.skipped.length,
        communications: 1,
      })
    }
    const created = await this.options.provisioning.createBatch(items, {
      processName: 'MAIL_BARK_MESSAGE_RUN',
      processId: execution.id,
    })
    // Saved together: the store's group commit writes them in one go.
    await Promise.all(
      outcomes.map((outcome) =>
        this.markCommunication(outcome.number, execution.id, outcome.refusal),
      ),
    )
    this.lastCommunication.set(execution.id, group[group.length - 1]?.number ?? '')
    return {
      finished: false,
      cursor: NEXT_COMMUNICATION,
      counts: { ...counts, requests: created.length },
      failures,
    }
  }

  private async previewMessages(
    definition: RunDefinition & MessageRunSettings,
    options: PreviewOptions,
  ): Promise<SendPreview> {
    const { runs, provider } = this.options
    const pending = await runs.listCommunications({
      externalSystem: definition.externalSystem,
      state: 'PENDING',
    })
    let subscriptions = 0
    let cards = 0
    let requests = 0
    let skipped = 0
    let failures: RunFailure[] = []
    const refused: { number: string; error: string }[] = []
    for (const communication of pending) {
      const problem = checkMessageText(provider, definition, communication.message, this.now())
      if (problem) {
        refused.push({ number: communication.number, error: problem.message })
        failures = keepListed(
          failures,
          [refusedCommunication(communication.number, problem)],
          options.limit,
        )
        continue
      }
      for (let offset = 0; ; offset += this.pageSize) {
        const page = await this.recipients(communication, offset)
        if (page.length === 0) {
          break
        }
        const pageCards = smartcardsOf(page.found)
        subscriptions += page.found.length
        cards += pageCards.length
        skipped += page.skipped.length
        failures = keepListed(failures, page.skipped, options.limit)
        if (options.checkCards) {
          failures = keepListed(
            failures,
            await this.probeCards(page.found, communication.number),
            options.limit,
          )
        }
        const planned = messageCommands(provider, definition, {
          text: communication.message,
          cards: pageCards,
          now: this.now(),
        })
        requests += planned.ok ? planned.value.length : 0
      }
    }
    return {
      kind: 'MAIL_BARK_MESSAGE',
      subscriptions,
      cards,
      requests,
      communications: pending.length,
      refused,
      skipped,
      failures,
      cardsChecked: options.checkCards,
    }
  }

  /**
   * The cards of these subscriptions that the CA would refuse (unknown, another SMS's, refused to
   * read), asking it with the reset run's reader. A CA that cannot be asked stops the preview.
   */
  private async probeCards(
    subscriptions: readonly Subscription[],
    communication: string | null,
  ): Promise<RunFailure[]> {
    const checked = await this.check(subscriptions)
    return checked.flatMap((result) =>
      result.failures.map((failure) => ({ ...failure, communication })),
    )
  }

  // ----- fingerprints --------------------------------------------------------------------

  private async fingerprintPage(
    definition: RunDefinition & FingerprintRunSettings,
    execution: RunExecution,
    covered: Covered | null,
  ): Promise<PageStep> {
    const page = await this.options.store.listSubscriptions({
      offset: execution.cursor.offset,
      limit: this.pageSize,
    })
    if (page.items.length === 0) {
      return { finished: true, cursor: execution.cursor, counts: ZERO_COUNTS, failures: [] }
    }
    const taken = page.items.filter((s) => inSegments(s, definition.included, definition.excluded))
    const cards = uncovered(smartcardsOf(taken), covered, '')
    const commands =
      cards.length === 0
        ? { ok: true as const, value: [] }
        : fingerprintCommands(this.options.provider, definition, cards, execution.startedAt)
    if (!commands.ok) {
      throw new AdapterError(commands.error.code, commands.error.message)
    }
    const created = await this.options.provisioning.createBatch(
      commands.value.map((command) => ({ command, subscriptionId: null })),
      { processName: 'FINGERPRINTING_RUN', processId: execution.id },
    )
    const skipped = withoutCard(taken, null)
    return {
      finished: false,
      cursor: { offset: execution.cursor.offset + page.items.length, communication: null },
      counts: {
        ...ZERO_COUNTS,
        processed: page.items.length,
        cards: cards.length,
        skipped: skipped.length,
        requests: created.length,
      },
      failures: skipped,
    }
  }

  private async previewFingerprints(
    definition: RunDefinition & FingerprintRunSettings,
    options: PreviewOptions,
  ): Promise<SendPreview> {
    let subscriptions = 0
    let cards = 0
    let requests = 0
    let skipped = 0
    let failures: RunFailure[] = []
    for (let offset = 0; ; offset += this.pageSize) {
      const page = await this.options.store.listSubscriptions({ offset, limit: this.pageSize })
      if (page.items.length === 0) {
        break
      }
      const taken = page.items.filter((s) =>
        inSegments(s, definition.included, definition.excluded),
      )
      const pageCards = smartcardsOf(taken)
      const none = withoutCard(taken, null)
      subscriptions += taken.length
      cards += pageCards.length
      skipped += none.length
      failures = keepListed(failures, none, options.limit)
      if (options.checkCards) {
        failures = keepListed(failures, await this.probeCards(taken, null), options.limit)
      }
      const planned =
        pageCards.length === 0
          ? null
          : fingerprintCommands(this.options.provider, definition, pageCards, this.now())
      requests += planned?.ok ? planned.value.length : 0
    }
    return {
      kind: 'FINGERPRINTING',
      subscriptions,
      cards,
      requests,
      skipped,
      failures,
      cardsChecked: options.checkCards,
    }
  }
}

/** A page of a communication's recipients (see RunService.recipients). */
interface Recipients {
  readonly found: readonly Subscription[]
  /** Recipients the page covers (found or not). */
  readonly length: number
  readonly skipped: readonly RunFailure[]
}

/** What a preview lists and whether it asks the CA about the cards. */
interface PreviewOptions {
  readonly limit: number
  readonly checkCards: boolean
}

const NEXT_COMMUNICATION: RunExecution['cursor'] = { offset: 0, communication: null }

function skippedRecipient(
  subscriptionId: string,
  communication: string | null,
  code: 'SUBSCRIPTION_NOT_FOUND' | 'NO_SMARTCARD',
): RunFailure {
  return {
    subscriptionId,
    card: null,
    communication,
    code,
    message:
      code === 'NO_SMARTCARD'
        ? `Subscription '${subscriptionId}' has no smartcard installed: nothing to send it to (skipped).`
        : `Subscription '${subscriptionId}' is not known to the CRM (skipped).`,
  }
}

/** The subscriptions among `subscriptions` with no smartcard, as skipped recipients. */
function withoutCard(
  subscriptions: readonly Subscription[],
  communication: string | null,
): RunFailure[] {
  return subscriptions
    .filter((s) => !s.installedItems.some((item) => item.kind === 'SMARTCARD'))
    .map((s) => skippedRecipient(s.id, communication, 'NO_SMARTCARD'))
}

function refusedCommunication(
  number: string,
  refusal: { readonly code: string; readonly message: string },
): RunFailure {
  return {
    subscriptionId: null,
    card: null,
    communication: number,
    code: refusal.code,
    message: refusal.message,
  }
}

/** What one page of a run did. */
interface PageStep {
  readonly finished: boolean
  readonly cursor: RunExecution['cursor']
  readonly counts: RunCounts
  /** What failed on this page already (unreadable cards, refused texts, skipped recipients...). */
  readonly failures: readonly RunFailure[]
}

/** What an interrupted execution had already created requests for. */
interface Covered {
  readonly subscriptions: ReadonlySet<string>
  /** `${communicationQueueNumber}|${card}` ('' for fingerprints). */
  readonly cards: ReadonlySet<string>
}

function uncovered(
  cards: readonly InstalledItem[],
  covered: Covered | null,
  queue: string,
): InstalledItem[] {
  return covered ? cards.filter((card) => !covered.cards.has(`${queue}|${card.caId}`)) : [...cards]
}

function add(a: RunCounts, b: RunCounts): RunCounts {
  const sum = { ...ZERO_COUNTS }
  for (const key of Object.keys(sum) as (keyof RunCounts)[]) {
    sum[key] = (a[key] ?? 0) + (b[key] ?? 0)
  }
  return sum
}

/** One line on what a communication's requests came to, naming the first refused cards. */
function summary(delivery: {
  sent: number
  failed: number
  failures: readonly RunFailure[]
}): string {
  const first = delivery.failures
    .slice(0, 3)
    .map((f) => `${f.card ?? '?'} ${f.code}`)
    .join(', ')
  const more = delivery.failed > 3 ? `, and ${delivery.failed - 3} more` : ''
  return `The CA refused ${delivery.failed} of ${delivery.sent + delivery.failed} card(s): ${first}${more}. See delivery.failures.`
}
