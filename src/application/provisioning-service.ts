import { randomUUID } from 'node:crypto'
import type { ConaxCommand } from '../domain/commands.js'
import type { ProvisioningProvider, Subscription } from '../domain/crm.js'
import { planAction, type CrmAction } from '../domain/planner.js'
import type { Priority, ProcessName, ProvisioningRequest } from '../domain/provisioning-request.js'
import { CodedError } from '../../common/coded-error.js'
import { AdapterError } from './adapter-error.js'
import type { Dispatcher, FinalListener } from './dispatcher.js'
import type { Clock, ProvisioningStore, RunFence } from './ports.js'

/** How the requests of one call are sent (CRM.COM's process_immediately, scheduled_date, priority). */
export interface SendOptions {
  readonly priority?: Priority
  /** Deliver at once and answer with the outcome (waits up to `waitMs`). */
  readonly processImmediately?: boolean
  /** Not sent before this time (ISO-8601). */
  readonly scheduledDate?: string | null
  readonly waitMs?: number
}

/** What an action or a direct request call did. */
export interface ProvisioningOutcome {
  readonly subscription: Subscription | null
  readonly requests: readonly ProvisioningRequest[]
  /** False when the provider is Not Effective: the CRM state changed but nothing goes to Conax. */
  readonly provisioned: boolean
}

export interface ProvisioningServiceOptions {
  readonly provider: ProvisioningProvider
  readonly store: ProvisioningStore
  readonly dispatcher: Dispatcher
  readonly clock: Clock
  /** Told when a delivery pass started for process-immediately requests fails. */
  readonly onDeliveryError?: (error: unknown) => void
  /** Provisioning requests one CRM action may plan; more refuses it with LIMIT_EXCEEDED (default: no limit). */
  readonly maxRequestsPerAction?: number
}

/** A scheduled date as an ISO-8601 UTC instant; one without a zone is taken as UTC. */
function normaliseDate(value: string | null | undefined): string | null {
  if (value === undefined || value === null) {
    return null
  }
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value : `${value}Z`
  const millis = Date.parse(zoned)
  if (Number.isNaN(millis)) {
    throw new AdapterError(
      'INVALID_REQUEST',
      `scheduledDate '${value}' is not an ISO-8601 date-time.`,
    )
  }
  return new Date(millis).toISOString()
}

/** How many times an action is read and planned when other instances keep changing its subscription. */
const MAX_PLAN_ATTEMPTS = 5

/** Whether `error` is a coded error (the store's) with this code. */
function isCoded(error: unknown, code: string): error is CodedError {
  return error instanceof CodedError && error.code === code
}

/**
 * The store's ITEM_HELD as the planner's ITEM_EXISTS: a smartcard or STB is on one subscription
 * only (another subscription's TERMINATE would cancel it). The store checks it inside the commit,
 * so that two instances installing one card on two subscriptions cannot both succeed.
 */
function itemExistsOr(error: unknown, subscription: Subscription): unknown {
  if (!isCoded(error, 'ITEM_HELD')) {
    return error
  }
  const caId = String(error.details?.caId)
  const holder = String(error.details?.subscriptionId)
  const item = subscription.installedItems.find((installed) => installed.caId === caId)
  return new AdapterError(
    'ITEM_EXISTS',
    `${item?.kind === 'SMARTCARD' ? 'Smartcard' : 'STB'} ${caId} ('${item?.serialNumber ?? ''}') is already installed on subscription '${holder}'. Remove it there first.`,
    { details: { caId, subscriptionId: holder } },
  )
}

/**
 * The adapter's use cases: apply a CRM action (plan it, keep the subscription and its provisioning
 * requests in one durable commit, hand them to delivery), and create requests directly as
 * CRM.COM's add_subscriptions / cancel_subscriptions / create_pairing API methods and the utilities do.
 */
export class ProvisioningService {
  private readonly options: ProvisioningServiceOptions
  /** Actions on one subscription run one after another, so none is planned on a stale state. */
  private readonly locks = new Map<string, Promise<unknown>>()

  constructor(options: ProvisioningServiceOptions) {
    this.options = options
  }

  get provider(): ProvisioningProvider {
    return this.options.provider
  }

  /** Applies one CRM action; a refusal throws an {@link AdapterError} and changes nothing. */
  async applyAction(action: CrmAction, send: SendOptions = {}): Promise<ProvisioningOutcome> {
    const scheduledDate = normaliseDate(send.scheduledDate)
    // Planning and the durable commit run one at a time per subscription; waiting for delivery
    // (process immediately) happens outside, so it never holds up the next action.
    const committed = await this.serialised(action.subscriptionId, async () => {
      const { store } = this.options
      // A store whose reads are round trips may offer what it last committed: planned on that and
      // checked by the commit, an action costs one round trip. Refused (a stale guess, or a plan
      // refusal that the stored state might not give), it is planned again on a real read.
      const guess = store.guessSubscription?.(action.subscriptionId)
      if (guess !== undefined) {
        try {
          return await this.planAndCommit(action, send, scheduledDate, guess)
        } catch (error) {
          if (!(error instanceof AdapterError) && !isCoded(error, 'SUBSCRIPTION_CHANGED')) {
            throw error
          }
        }
      }
      // Another adapter instance may commit the same subscription between our read and our commit
      // (a CRM that sends one subscription's actions to several instances at once): the commit is
      // then refused, and the action is read and planned again from the new state.
      for (let attempt = 1; ; attempt++) {
        try {
          const current = await store.getSubscription(action.subscriptionId)
          return await this.planAndCommit(action, send, scheduledDate, current)
        } catch (error) {
          if (!isCoded(error, 'SUBSCRIPTION_CHANGED')) {
            throw error
          }
          if (attempt >= MAX_PLAN_ATTEMPTS) {
            throw new AdapterError(
              'SUBSCRIPTION_CHANGED',
              `${action.action} on subscription '${action.subscriptionId}' was planned ${MAX_PLAN_ATTEMPTS} times, and each time another adapter instance changed the subscription before it was committed; nothing was stored. Send the action again, and send one subscription's actions one after the other.`,
              { details: { action: action.action, subscriptionId: action.subscriptionId } },
            )
          }
        }
      }
    })
    return {
      subscription: committed.subscription,
      requests: await this.handOver(committed.created, send),
      provisioned: committed.provisioned,
    }
  }

  /** Plans the action on `current` and commits the plan, checked against it (`basedOn`). */
  private async planAndCommit(
    action: CrmAction,
    send: SendOptions,
    scheduledDate: string | null,
    current: Subscription | null,
  ): Promise<{
    subscription: Subscription
    created: readonly ProvisioningRequest[]
    provisioned: boolean
  }> {
    const { provider, store, clock } = this.options
    const now = clock.now().toISOString()
    const plan = planAction(provider, current, action, now)
    if (!plan.ok) {
      throw new AdapterError(plan.error.code, plan.error.message, {
        details: { action: action.action, subscriptionId: action.subscriptionId },
      })
    }
    this.refuseOversizedPlan(action, plan.value.commands.length)
    const provisioned = provider.lifeCycleState === 'EFFECTIVE'
    // One action id: its requests reach the CA in the planned order across their devices.
    const actionId = randomUUID()
    const requests = provisioned
      ? plan.value.commands.map((command) => ({
          command,
          processName: 'PROVISIONING_REQUEST_PROCESSING' as const,
          subscriptionId: action.subscriptionId,
          actionId,
          ...this.sendFields({ ...send, scheduledDate }),
        }))
      : []
    try {
      const created = await store.commit(
        { subscription: plan.value.subscription, basedOn: current, requests },
        now,
      )
      return { subscription: plan.value.subscription, created, provisioned }
    } catch (error) {
      throw itemExistsOr(error, plan.value.subscription)
    }
  }

  /** A plan of more requests than one action may create is refused before anything is stored. */
  private refuseOversizedPlan(action: CrmAction, planned: number): void {
    const limit = this.options.maxRequestsPerAction
    if (limit !== undefined && planned > limit) {
      throw new AdapterError(
        'LIMIT_EXCEEDED',
        `${action.action} on subscription '${action.subscriptionId}' plans ${planned} provisioning requests, above the limit of ${limit} (limits.requestsPerAction); nothing was stored. Make the change in smaller actions, or raise the limit.`,
        {
          details: {
            field: 'requests',
            count: planned,
            limit,
            limitName: 'requestsPerAction',
          },
        },
      )
    }
  }

  /**
   * Creates provisioning requests for commands directly (the API methods, utilities and runs).
   * Refused when the provider is Not Effective: nothing may be sent to Conax then.
   */
  async createRequests(
    commands: readonly ConaxCommand[],
    context: {
      readonly processName: ProcessName
      readonly processId?: string | null
      readonly subscriptionId?: string | null
    },
    send: SendOptions = {},
  ): Promise<readonly ProvisioningRequest[]> {
    this.requireEffective()
    const scheduledDate = normaliseDate(send.scheduledDate)
    const now = this.options.clock.now().toISOString()
    const actionId = commands.length > 1 ? randomUUID() : null
    const created = await this.options.store.commit(
      {
        requests: commands.map((command) => ({
          command,
          processName: context.processName,
          processId: context.processId ?? null,
          subscriptionId: context.subscriptionId ?? null,
          actionId,
          ...this.sendFields({ ...send, scheduledDate }),
        })),
      },
      now,
    )
    return this.handOver(created, send)
  }

  /**
   * Creates the requests of one batch of a run in one durable commit, each with its own
   * subscription, and wakes delivery (runs never wait for outcomes). With `inOrder`, the requests
   * of each subscription keep their order across devices (a reset's repair: pair, add, cancel).
   * With `fence`, the commit is refused (RUN_OWNED, nothing stored) once the run execution is no
   * longer this instance's.
   */
  async createBatch(
    items: readonly { readonly command: ConaxCommand; readonly subscriptionId: string | null }[],
    context: {
      readonly processName: ProcessName
      readonly processId: string
      readonly inOrder?: boolean
      readonly fence?: RunFence
    },
  ): Promise<readonly ProvisioningRequest[]> {
    this.requireEffective()
    if (items.length === 0) {
      return []
    }
    const now = this.options.clock.now().toISOString()
    const actions = new Map<string, string>()
    const actionOf = (subscriptionId: string | null): string | null => {
      if (!context.inOrder || subscriptionId === null) {
        return null
      }
      const known = actions.get(subscriptionId)
      if (known !== undefined) {
        return known
      }
      const id = randomUUID()
      actions.set(subscriptionId, id)
      return id
    }
    const created = await this.options.store.commit(
      {
        requests: items.map((item) => ({
          command: item.command,
          processName: context.processName,
          processId: context.processId,
          subscriptionId: item.subscriptionId,
          actionId: actionOf(item.subscriptionId),
          ...this.sendFields({}),
        })),
        ...(context.fence ? { fence: context.fence } : {}),
      },
      now,
    )
    return this.handOver(created, {})
  }

  /** Tells `listener` of every request that becomes final here; returns its removal. */
  onFinal(listener: FinalListener): () => void {
    return this.options.dispatcher.onFinal(listener)
  }

  /** Throws PROVIDER_NOT_EFFECTIVE unless the provider is Effective. */
  requireEffective(): void {
    if (this.options.provider.lifeCycleState !== 'EFFECTIVE') {
      throw new AdapterError(
        'PROVIDER_NOT_EFFECTIVE',
        `Provider '${this.options.provider.name}' is Not Effective, so nothing is sent to Conax. Set lifeCycleState: EFFECTIVE in the provider file and restart.`,
      )
    }
  }

  private sendFields(send: SendOptions): {
    priority: Priority
    processImmediately: boolean
    scheduledDate: string | null
  } {
    return {
      priority: send.priority ?? 'REGULAR',
      processImmediately: send.processImmediately ?? false,
      scheduledDate: send.scheduledDate ?? null,
    }
  }

  /** Wakes delivery; with processImmediately, waits for the requests' outcomes. */
  private async handOver(
    created: readonly ProvisioningRequest[],
    send: SendOptions,
  ): Promise<readonly ProvisioningRequest[]> {
    if (created.length === 0) {
      return created
    }
    const { dispatcher } = this.options
    if (!send.processImmediately) {
      dispatcher.wake()
      return created
    }
    // A batch the CA refused for some cards is split: its answer is the whole family's verdict.
    const settled = Promise.all(
      created.map((request) => dispatcher.settledFamily(request.id)),
    ).then((families) => families.flat())
    dispatcher.deliverDue().catch((error: unknown) => this.options.onDeliveryError?.(error))
    const waitMs = send.waitMs ?? 30_000
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), waitMs)
      // A caller waiting for an outcome must not keep a stopping process alive.
      timer.unref()
    })
    const outcome = await Promise.race([settled, timeout])
    clearTimeout(timer)
    if (outcome) {
      return outcome
    }
    // Still pending (Conax unreachable, or an earlier request of the same card waits): answer what is stored.
    return this.familiesAsStored(created)
  }

  /** The requests and the parts they were split into so far, as stored. */
  private async familiesAsStored(
    requests: readonly ProvisioningRequest[],
  ): Promise<readonly ProvisioningRequest[]> {
    const found: ProvisioningRequest[] = []
    for (const request of requests) {
      const stored = (await this.options.store.getRequest(request.id)) ?? request
      const parts = await Promise.all(
        (stored.splitInto ?? []).map((number) => this.options.store.getRequest(number)),
      )
      found.push(stored, ...(await this.familiesAsStored(parts.filter((part) => part !== null))))
    }
    return found
  }

  private serialised<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve()
    const next = previous.then(work, work)
    const tail = next.catch(() => undefined)
    this.locks.set(key, tail)
    void tail.then(() => {
      if (this.locks.get(key) === tail) {
        this.locks.delete(key)
      }
    })
    return next
  }
}
