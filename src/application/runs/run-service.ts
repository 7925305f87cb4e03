import { randomUUID } from 'node:crypto'
import type { ProvisioningProvider } from '../../domain/crm.js'
import type { ProvisioningRequest } from '../../domain/provisioning-request.js'
import {
  checkCriteria,
  checkRunDefinition,
  type RunDefinition,
  type RunDefinitionInput,
} from '../../domain/runs.js'
import { AdapterError } from '../adapter-error.js'
import type { Clock, Page, ProvisioningStore } from '../ports.js'
import type { ProvisioningService } from '../provisioning-service.js'
import { CardCheck } from './card-check.js'
import { fingerprintRun } from './fingerprint-run.js'
import { messageRun } from './message-run.js'
import { resetRun } from './reset-run.js'
import { RunEngine, type RunStatus } from './run-engine.js'
import type { ResetSingle, RunPreview } from './run-previews.js'
import type {
  CaReader,
  Communication,
  CommunicationInput,
  RunExecution,
  RunStore,
} from './run-ports.js'
import type { RunContext, RunStrategy } from './run-strategy.js'

export type { RunStatus } from './run-engine.js'
export type {
  OutOfSync,
  ResetPreview,
  ResetSingle,
  RunPreview,
  SendPreview,
} from './run-previews.js'

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
  /** This adapter instance's name among those sharing the run store (default: a random one). */
  readonly owner?: string
  /**
   * How long an instance holds an execution it runs without renewing it (default 0: a store no
   * other instance shares). Instances sharing a database need it above 0 (create-adapter: 60 s).
   */
  readonly leaseMs?: number
}

/**
 * The batch runs: definitions, previews, executions that can be watched, stopped and resumed,
 * the communication queue, and reset single subscription. Each kind of run is a strategy
 * (reset-run.ts, message-run.ts, fingerprint-run.ts); one engine (run-engine.ts) executes them all.
 */
export class RunService {
  private readonly options: RunServiceOptions
  private readonly context: RunContext
  private readonly engine: RunEngine

  constructor(options: RunServiceOptions) {
    this.options = options
    this.context = {
      provider: options.provider,
      store: options.store,
      runs: options.runs,
      provisioning: options.provisioning,
      cards: new CardCheck(options.provider, options.reader, options.readConcurrency ?? 64),
      pageSize: options.pageSize ?? 500,
      now: () => this.now(),
    }
    this.engine = new RunEngine({
      store: options.store,
      runs: options.runs,
      provisioning: options.provisioning,
      definition: (idOrCode) => this.definition(idOrCode),
      strategy: (definition) => this.strategy(definition),
      now: () => this.now(),
      onError: options.onError,
      owner: options.owner ?? randomUUID(),
      leaseMs: options.leaseMs ?? 0,
    })
  }

  private now(): string {
    return this.options.clock.now().toISOString()
  }

  /** The strategy of the definition's kind. */
  private strategy(definition: RunDefinition): RunStrategy {
    switch (definition.kind) {
      case 'RESET_SUBSCRIPTION':
        return resetRun(this.context, definition)
      case 'MAIL_BARK_MESSAGE':
        return messageRun(this.context, definition)
      case 'FINGERPRINTING':
        return fingerprintRun(this.context, definition)
    }
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

  /** Every run definition, in creation order. */
  definitions(): Promise<readonly RunDefinition[]> {
    return this.options.runs.listDefinitions()
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
    return this.strategy(definition).preview({
      limit: options.limit ?? 100,
      checkCards: options.checkCards ?? false,
    })
  }

  /** Starts an execution in the background and answers at once. */
  async start(idOrCode: string): Promise<RunStatus> {
    return this.engine.start(await this.definition(idOrCode))
  }

  /** Asks a running execution to stop after its current page; resolves once it has stopped. */
  stop(executionId: string): Promise<RunStatus> {
    return this.engine.stop(executionId)
  }

  /** Resumes a stopped (or failed) execution from its cursor. */
  resume(executionId: string): Promise<RunStatus> {
    return this.engine.resume(executionId)
  }

  /** An execution with its progress; EXECUTION_NOT_FOUND otherwise. */
  get(executionId: string): Promise<RunStatus> {
    return this.engine.get(executionId)
  }

  /** The executions of a run (or of every run), newest last. */
  async executions(runIdOrCode?: string): Promise<readonly RunStatus[]> {
    const runId = runIdOrCode === undefined ? undefined : (await this.definition(runIdOrCode)).id
    return this.engine.executions(runId)
  }

  /**
   * Resolves when the execution no longer creates requests (at once if it does not): DELIVERING
   * (its requests wait for the CA), or STOPPED, FAILED, COMPLETED.
   */
  settled(executionId: string): Promise<RunStatus> {
    return this.engine.settled(executionId)
  }

  /**
   * Resolves when the execution has ended: COMPLETED (every request final and tallied), STOPPED or
   * FAILED. A DELIVERING execution ends when the CA has answered its last request.
   */
  finished(executionId: string): Promise<RunStatus> {
    return this.engine.finished(executionId)
  }

  /** The provisioning requests an execution created (CRM.COM's process id is the execution id). */
  async requests(
    executionId: string,
    paging: { readonly offset?: number; readonly limit?: number } = {},
  ): Promise<Page<ProvisioningRequest>> {
    await this.engine.execution(executionId)
    return this.options.store.listRequests({ processId: executionId, ...paging })
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
    const [checked] = await this.context.cards.check([subscription])
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
  recover(): Promise<number> {
    return this.engine.recover()
  }

  /** Stops every running execution (after its current page) and waits for them. */
  close(): Promise<void> {
    return this.engine.close()
  }
}
