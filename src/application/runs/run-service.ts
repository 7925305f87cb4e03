import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { ConaxCommand } from '../../domain/commands.js'
import type { InstalledItem, ProvisioningProvider, Subscription } from '../../domain/crm.js'
import type { ProvisioningRequest } from '../../domain/provisioning-request.js'
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
  }
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
}

export type RunPreview = ResetPreview | SendPreview

const ZERO_COUNTS: RunCounts = {
  processed: 0,
  checked: 0,
  inSync: 0,
  repaired: 0,
  failed: 0,
  cards: 0,
  requests: 0,
  communications: 0,
  caCalls: 0,
}

/** Reader codes that mean "the CA cannot be asked now" rather than "this card failed". */
const UNREACHABLE = new Set(['CA_UNREACHABLE', 'CA_TIMEOUT', 'CA_FAILED', 'READER_CLOSED'])
/** Refusals of the whole call, not of the card: wrong credentials, wrong endpoint. */
const REFUSED_CALL =
  /^(UNAUTHORIZED|FORBIDDEN|NOT_FOUND|HTTP_\d+|SOAP_CLIENT_FAULT|CLIENT_NOT_MANAGED_BY_SMS)$/

/** Whether a read failure should stop the run (resumable) rather than fail one subscription. */
function stopsTheRun(error: Error): boolean {
  const { code, detail } = error as { code?: unknown; detail?: unknown }
  return (
    (typeof code === 'string' && UNREACHABLE.has(code)) ||
    (code === 'CA_REFUSED' && typeof detail === 'string' && REFUSED_CALL.test(detail))
  )
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

  constructor(options: RunServiceOptions) {
    this.options = options
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

  /** What a run would do, without sending anything (a reset preview reads the CA). */
  async preview(idOrCode: string, options: { readonly limit?: number } = {}): Promise<RunPreview> {
    const definition = await this.definition(idOrCode)
    switch (definition.kind) {
      case 'RESET_SUBSCRIPTION':
        return this.previewReset(definition.criteria, options.limit ?? 100)
      case 'MAIL_BARK_MESSAGE':
        return this.previewMessages(definition)
      case 'FINGERPRINTING':
        return this.previewFingerprints(definition)
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
    if (execution.state === 'COMPLETED') {
      throw new AdapterError(
        'RUN_NOT_RESUMABLE',
        `Execution ${executionId} is COMPLETED; start the run again for a new execution.`,
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
    return (await this.options.runs.listExecutions(runId)).map((e) => this.status(e))
  }

  /** Resolves when the execution is no longer running (at once if it is not). */
  async settled(executionId: string): Promise<RunStatus> {
    const live = this.live.get(executionId)
    return this.status(live ? await live.done : await this.execution(executionId))
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
  ): Promise<ResetPlan & { readonly requests: readonly ProvisioningRequest[] }> {
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
    if (checked.failure) {
      throw new AdapterError('CA_UNAVAILABLE', checked.failure)
    }
    const plan = checked.plan as ResetPlan
    const requests =
      options.preview || plan.inSync
        ? []
        : await this.options.provisioning.createBatch(
            plan.commands.map((command) => ({ command, subscriptionId })),
            { processName: 'RESET_SINGLE_SUBSCRIPTION', processId: subscriptionId },
          )
    return { ...plan, requests }
  }

  /** Marks executions a previous process left RUNNING as STOPPED (resume them explicitly). */
  async recover(): Promise<number> {
    let count = 0
    for (const execution of await this.options.runs.listExecutions()) {
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

  private status(stored: RunExecution): RunStatus {
    // A stop is asked of the loop, which finishes its batch first: meanwhile the run is STOPPING.
    const execution: RunExecution =
      stored.state === 'RUNNING' && this.live.get(stored.id)?.stopRequested
        ? { ...stored, state: 'STOPPING' }
        : stored
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
      },
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
        })
        if (step.finished) {
          return (execution = await this.save(execution, {
            state: 'COMPLETED',
            finishedAt: this.now(),
          }))
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

  /** Reads every smartcard of the subscriptions from the CA and plans each one's repair. */
  private async check(
    subscriptions: readonly Subscription[],
  ): Promise<
    { subscription: Subscription; plan: ResetPlan | null; failure: string | null; calls: number }[]
  > {
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
    return subscriptions.map((subscription) => {
      const mine = subscription.installedItems.filter((item) => item.kind === 'SMARTCARD')
      const calls = mine.length * 2
      const problems = mine.flatMap((item) => {
        const seen = observed.get(item.caId)
        if (seen instanceof Error) {
          return [`card ${item.caId}: ${seen.message}`]
        }
        return seen?.known === false ? [`card ${item.caId}: the CA does not know it`] : []
      })
      if (problems.length > 0) {
        return { subscription, plan: null, failure: problems.join('; '), calls }
      }
      const views = new Map(
        mine.map((item) => [item.caId, observed.get(item.caId) as ObservedCard]),
      )
      return {
        subscription,
        plan: planReset(this.options.provider, subscription, views),
        failure: null,
        calls,
      }
    })
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
      return { finished: true, cursor: execution.cursor, counts: ZERO_COUNTS }
    }
    const todo = page.items.filter((s) => !covered?.subscriptions.has(s.id))
    const results = await this.check(todo)
    const repairs = results.filter((r) => r.plan && !r.plan.inSync)
    const created = await this.options.provisioning.createBatch(
      repairs.flatMap((r) =>
        (r.plan as ResetPlan).commands.map((command) => ({
          command,
          subscriptionId: r.subscription.id,
        })),
      ),
      { processName: 'RESET_SUBSCRIPTION_RUN', processId: execution.id },
    )
    const skipped = page.items.length - todo.length
    return {
      finished: false,
      cursor: { offset: execution.cursor.offset + page.items.length, communication: null },
      counts: {
        ...ZERO_COUNTS,
        processed: page.items.length,
        checked: results.length + skipped,
        inSync: results.filter((r) => r.plan?.inSync).length,
        repaired: repairs.length + skipped,
        failed: results.filter((r) => r.failure).length,
        cards: results.reduce((n, r) => n + r.calls / 2, 0),
        caCalls: results.reduce((n, r) => n + r.calls, 0),
        requests: created.length,
      },
    }
  }

  private async previewReset(criteria: SubscriptionCriteria, limit: number): Promise<ResetPreview> {
    let offset = 0
    let checked = 0
    let inSync = 0
    let failed = 0
    let outOfSync = 0
    const listed: OutOfSync[] = []
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
        if (result.failure) {
          failed += 1
        } else if (result.plan?.inSync) {
          inSync += 1
        } else if (result.plan) {
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

  /** One page of a communication's recipients, from `offset`. */
  private async recipients(
    communication: Communication,
    offset: number,
  ): Promise<readonly Subscription[]> {
    const { subscriptionIds, segment } = communication.recipients
    if (subscriptionIds) {
      const ids = subscriptionIds.slice(offset, offset + this.pageSize)
      if (ids.length === 0) {
        return []
      }
      const found = await this.options.store.listSubscriptions({ ids })
      // A recipient the CRM does not know is skipped (and counted): the communication still goes out.
      return found.items
    }
    return (
      await this.options.store.listSubscriptions({
        ...filterOf(segment ?? {}),
        offset,
        limit: this.pageSize,
      })
    ).items
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
      if (current) {
        // Finished by an earlier pass whose cursor was not saved: go on with the next one.
        return { finished: false, cursor: { offset: 0, communication: null }, counts: ZERO_COUNTS }
      }
      return { finished: true, cursor: execution.cursor, counts: ZERO_COUNTS }
    }
    const offset = execution.cursor.communication ? execution.cursor.offset : 0
    const refused = checkMessageText(provider, definition, current.message, this.now())
    if (refused) {
      await runs.updateCommunication(current.number, {
        state: 'FAILED',
        processedAt: this.now(),
        error: refused.message,
        processedBy: execution.id,
      })
      return {
        finished: false,
        cursor: { offset: 0, communication: null },
        counts: { ...ZERO_COUNTS, failed: 1, processed: await this.recipientCount(current) },
      }
    }
    const page = await this.recipients(current, offset)
    const pageLength = current.recipients.subscriptionIds
      ? Math.min(this.pageSize, current.recipients.subscriptionIds.length - offset)
      : page.length
    if (pageLength <= 0) {
      this.lastCommunication.set(execution.id, current.number)
      await runs.updateCommunication(current.number, {
        state: 'PROCESSED',
        processedAt: this.now(),
        error: null,
        processedBy: execution.id,
      })
      return {
        finished: false,
        cursor: { offset: 0, communication: null },
        counts: { ...ZERO_COUNTS, communications: 1 },
      }
    }
    const cards = uncovered(smartcardsOf(page), covered, current.number)
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
    const created = await this.options.provisioning.createBatch(
      commands.value.map((command) => ({
        command,
        subscriptionId: page.length === 1 ? (page[0]?.id ?? null) : null,
      })),
      { processName: 'MAIL_BARK_MESSAGE_RUN', processId: execution.id },
    )
    return {
      finished: false,
      cursor: { offset: offset + pageLength, communication: current.number },
      counts: {
        ...ZERO_COUNTS,
        processed: pageLength,
        cards: cards.length,
        requests: created.length,
      },
    }
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
    const { runs, provider, store } = this.options
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
    const ids = group.flatMap((c) => c.recipients.subscriptionIds ?? [])
    const known = new Map((await store.listSubscriptions({ ids })).items.map((s) => [s.id, s]))
    const items: { command: ConaxCommand; subscriptionId: string | null }[] = []
    const outcomes: { number: string; error: string | null }[] = []
    let counts: RunCounts = { ...ZERO_COUNTS, processed: size }
    for (const communication of group) {
      const recipients = (communication.recipients.subscriptionIds ?? []).flatMap((id) => {
        const found = known.get(id)
        return found ? [found] : []
      })
      const refused = checkMessageText(provider, definition, communication.message, this.now())
      if (refused) {
        outcomes.push({ number: communication.number, error: refused.message })
        counts = { ...counts, failed: counts.failed + 1 }
        continue
      }
      const cards = uncovered(smartcardsOf(recipients), covered, communication.number)
      const commands = messageCommands(provider, definition, {
        text: communication.message,
        cards,
        now: this.now(),
        communicationQueueNumber: communication.number,
      })
      const subscriptionId = recipients.length === 1 ? (recipients[0]?.id ?? null) : null
      if (commands.ok) {
        items.push(...commands.value.map((command) => ({ command, subscriptionId })))
      }
      outcomes.push({ number: communication.number, error: null })
      counts = {
        ...counts,
        cards: counts.cards + cards.length,
        communications: counts.communications + 1,
      }
    }
    const created = await this.options.provisioning.createBatch(items, {
      processName: 'MAIL_BARK_MESSAGE_RUN',
      processId: execution.id,
    })
    const processedAt = this.now()
    // Saved together: the store's group commit writes them in one go.
    await Promise.all(
      outcomes.map((outcome) =>
        runs.updateCommunication(outcome.number, {
          state: outcome.error ? 'FAILED' : 'PROCESSED',
          processedAt,
          error: outcome.error,
          processedBy: execution.id,
        }),
      ),
    )
    this.lastCommunication.set(execution.id, group[group.length - 1]?.number ?? '')
    return {
      finished: false,
      cursor: { offset: 0, communication: null },
      counts: { ...counts, requests: created.length },
    }
  }

  private async previewMessages(
    definition: RunDefinition & MessageRunSettings,
  ): Promise<SendPreview> {
    const { runs, provider } = this.options
    const pending = await runs.listCommunications({
      externalSystem: definition.externalSystem,
      state: 'PENDING',
    })
    let subscriptions = 0
    let cards = 0
    let requests = 0
    const refused: { number: string; error: string }[] = []
    for (const communication of pending) {
      const problem = checkMessageText(provider, definition, communication.message, this.now())
      if (problem) {
        refused.push({ number: communication.number, error: problem.message })
        continue
      }
      for (let offset = 0; ; offset += this.pageSize) {
        const page = await this.recipients(communication, offset)
        if (page.length === 0) {
          break
        }
        const pageCards = smartcardsOf(page)
        subscriptions += page.length
        cards += pageCards.length
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
    }
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
      return { finished: true, cursor: execution.cursor, counts: ZERO_COUNTS }
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
    return {
      finished: false,
      cursor: { offset: execution.cursor.offset + page.items.length, communication: null },
      counts: {
        ...ZERO_COUNTS,
        processed: page.items.length,
        cards: cards.length,
        requests: created.length,
      },
    }
  }

  private async previewFingerprints(
    definition: RunDefinition & FingerprintRunSettings,
  ): Promise<SendPreview> {
    let subscriptions = 0
    let cards = 0
    let requests = 0
    for (let offset = 0; ; offset += this.pageSize) {
      const page = await this.options.store.listSubscriptions({ offset, limit: this.pageSize })
      if (page.items.length === 0) {
        break
      }
      const taken = page.items.filter((s) =>
        inSegments(s, definition.included, definition.excluded),
      )
      const pageCards = smartcardsOf(taken)
      subscriptions += taken.length
      cards += pageCards.length
      const planned =
        pageCards.length === 0
          ? null
          : fingerprintCommands(this.options.provider, definition, pageCards, this.now())
      requests += planned?.ok ? planned.value.length : 0
    }
    return { kind: 'FINGERPRINTING', subscriptions, cards, requests }
  }
}

/** What one page of a run did. */
interface PageStep {
  readonly finished: boolean
  readonly cursor: RunExecution['cursor']
  readonly counts: RunCounts
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
  return {
    processed: a.processed + b.processed,
    checked: a.checked + b.checked,
    inSync: a.inSync + b.inSync,
    repaired: a.repaired + b.repaired,
    failed: a.failed + b.failed,
    cards: a.cards + b.cards,
    requests: a.requests + b.requests,
    communications: a.communications + b.communications,
    caCalls: a.caCalls + b.caCalls,
  }
}
