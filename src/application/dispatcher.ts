import { cardsOf, stbsOf } from '../domain/commands.js'
import type { NewProvisioningRequest, ProvisioningRequest } from '../domain/provisioning-request.js'
import { planSplit, type SplitMode } from '../domain/split.js'
import type { ConaxCommand } from '../domain/commands.js'
import { randomUUID } from 'node:crypto'
import type {
  CaGateway,
  Clock,
  DeliveryOutcome,
  ProvisioningStore,
  RequestUpdate,
} from './ports.js'

export interface DispatcherOptions {
  readonly store: ProvisioningStore
  readonly gateway: CaGateway
  readonly clock: Clock
  /** Requests in flight at once (each to distinct cards). */
  readonly concurrency?: number
  /** First retry delay after a transient failure; doubles up to `retryMaxDelayMs`. */
  readonly retryInitialDelayMs: number
  readonly retryMaxDelayMs: number
  /**
   * `per-action` (default): the requests of one action reach the CA in their planned order across
   * all their devices (the new card is paired and given its services before the old one loses
   * them). `per-device`: only each device's order is kept, as before issue 10; kept to show, in
   * tests, what the stricter order prevents.
   */
  readonly ordering?: Ordering
  /** What happens to a message or fingerprint batch the CA refuses because of some of its cards (default `named-or-bisect`). */
  readonly splitMode?: SplitMode
  /**
   * Who this dispatcher is among the adapter instances that share the store (default: a random
   * id): it claims each request before sending it (see {@link ProvisioningStore.claimRequests}).
   */
  readonly owner?: string
  /**
   * How long a claim holds (default 60 s): an instance that dies mid-send releases its requests
   * after this, and another sends them again with the same SequenceNumber (a replay for the CA).
   * Keep it well above the CA call timeout, or a slow call could be overtaken.
   */
  readonly leaseMs?: number
  /**
   * Store each outcome while the next request goes to the CA (default false: each is stored
   * before the worker sends the next). For stores whose writes are round trips to a database
   * (PostgreSQL), which would otherwise keep the CA idle for each; the order kept is the same.
   */
  readonly overlapStoring?: boolean
  /** Nothing is sent while this says no (the provider is Not Effective). */
  readonly enabled?: () => boolean
  /** Told when a pass fails (e.g. the store cannot be written); the loop goes on after its wait. */
  readonly onError?: (error: unknown) => void
  /** Called after each outcome (for logs and metrics); `parts` are the requests a refused batch was split into. */
  readonly onOutcome?: (
    request: ProvisioningRequest,
    outcome: DeliveryOutcome,
    parts: readonly ProvisioningRequest[],
  ) => void
}

/** How long a claim on a request holds by default (see {@link DispatcherOptions.leaseMs}). */
export const DEFAULT_LEASE_MS = 60_000

/** Which order delivery keeps (see {@link DispatcherOptions.ordering}). */
export type Ordering = 'per-action' | 'per-device'

/** Told when a request becomes final (COMPLETED or REJECTED); delivery waits for it before going on. */
export type FinalListener = (request: ProvisioningRequest) => Promise<void>

/** Counts of one delivery pass. */
export interface PassReport {
  readonly sent: number
  readonly completed: number
  readonly rejected: number
  readonly retrying: number
}

/**
 * What a request must wait for: every earlier PENDING request of the same smartcard or STB, and
 * (`per-action`, the default) of the same action, whatever its devices.
 */
function lanesOf(request: ProvisioningRequest, ordering: Ordering): string[] {
  return [
    ...cardsOf(request.command).map((id) => `card:${id}`),
    ...stbsOf(request.command).map((id) => `stb:${id}`),
    ...(ordering === 'per-action' && request.actionId !== null
      ? [`action:${request.actionId}`]
      : []),
  ]
}

/**
 * The provisioning request processing run: sends PENDING requests to Conax.
 *
 * Order: among the requests that may go now, EXPRESS before REGULAR, then by sequence number; but
 * a request never overtakes an earlier PENDING request of the same smartcard or STB, or of the
 * same action (even one that is scheduled later or waiting to retry), so the order of requests for
 * one card, and the planned order of one action across its devices, is always kept.
 * Scheduled dates are respected. Transient failures (connection, timeout, 5xx, SYSTEM_ERROR) stay
 * PENDING and are retried with exponential backoff; business errors make a request REJECTED.
 */
export class Dispatcher {
  private readonly options: DispatcherOptions
  private running: Promise<PassReport> | null = null
  private again = false
  /** Set by stop(): passes end after the requests in flight, without taking new ones. */
  private halted = false
  private loop: { stop: boolean; timer: NodeJS.Timeout | null; wake: (() => void) | null } | null =
    null
  private readonly waiters = new Map<string, ((request: ProvisioningRequest) => void)[]>()
  private readonly listeners = new Set<FinalListener>()

  private readonly owner: string

  constructor(options: DispatcherOptions) {
    this.options = options
    this.owner = options.owner ?? randomUUID()
  }

  /** The requests that may be sent now, in sending order. */
  async dueRequests(): Promise<ProvisioningRequest[]> {
    const now = this.options.clock.now().getTime()
    const blocked = new Set<string>()
    const due: ProvisioningRequest[] = []
    const ordering = this.options.ordering ?? 'per-action'
    for (const request of inSendingOrder(await this.options.store.pendingRequests())) {
      const devices = lanesOf(request, ordering)
      const waiting =
        (request.scheduledDate !== null && Date.parse(request.scheduledDate) > now) ||
        (request.nextAttemptAt !== null && Date.parse(request.nextAttemptAt) > now)
      if (!waiting && !devices.some((device) => blocked.has(device))) {
        due.push(request)
      }
      for (const device of devices) {
        blocked.add(device)
      }
    }
    return due.sort((a, b) =>
      a.priority === b.priority ? bySendingOrder(a, b) : a.priority === 'EXPRESS' ? -1 : 1,
    )
  }

  /**
   * Sends everything that is due, pass after pass, until nothing more is due now. Concurrent calls
   * share one run (a call during a run makes it go round once more).
   */
  async deliverDue(): Promise<PassReport> {
    if (this.running) {
      this.again = true
      return this.running
    }
    this.running = this.runPasses()
    return this.running
  }

  private async runPasses(): Promise<PassReport> {
    // deliverDue records this run before the first pass, so the `finally` below always clears it.
    await Promise.resolve()
    const total = { sent: 0, completed: 0, rejected: 0, retrying: 0 }
    try {
      do {
        this.again = false
        if (this.halted || (this.options.enabled && !this.options.enabled())) {
          break
        }
        const due = await this.dueRequests()
        // Only what this instance got to send calls for another pass: requests another instance
        // holds are looked at again on the next wake-up or timer (at most a second later).
        const sent = await this.sendAll(due, total)
        // Not `again ||= await ...`: that would read `again` before the wait, losing a wake-up.
        this.again ||= sent > 0
      } while (this.again)
      return total
    } finally {
      // Cleared in the same tick as the last look at `again`: a call to deliverDue after it starts
      // a new run instead of joining one that has already decided to end (a lost wake-up).
      this.running = null
    }
  }

  /**
   * Sends the due requests this instance can claim, a few at a time (so that instances sharing the
   * store split the work), and resolves to how many it sent.
   */
  private async sendAll(
    due: readonly ProvisioningRequest[],
    total: { sent: number; completed: number; rejected: number; retrying: number },
  ): Promise<number> {
    const concurrency = this.options.concurrency ?? 8
    const overlap = this.options.overlapStoring ?? false
    const chunkSize = concurrency * 2
    const leaseMs = this.options.leaseMs ?? DEFAULT_LEASE_MS
    const ready: ProvisioningRequest[] = []
    let next = 0
    let sent = 0
    let claiming: Promise<void> | null = null
    const claimMore = async (): Promise<void> => {
      const chunk = due.slice(next, next + chunkSize)
      next += chunk.length
      const granted = new Set(
        await this.options.store.claimRequests(
          chunk.map((request) => request.id),
          this.owner,
          leaseMs,
        ),
      )
      ready.push(...chunk.filter((request) => granted.has(request.id)))
    }
    const take = async (): Promise<ProvisioningRequest | undefined> => {
      while (!this.halted) {
        // The next chunk is claimed while the workers still have this one's last requests to
        // send: a store whose claim is a round trip (PostgreSQL) does not stall them all on it.
        if (claiming === null && ready.length <= concurrency && next < due.length) {
          claiming = claimMore().finally(() => {
            claiming = null
          })
          // Awaited below or at the end of the pass; a failure is the awaiting worker's.
          claiming.catch(() => undefined)
        }
        if (ready.length > 0) {
          return ready.shift()
        }
        if (claiming === null) {
          return undefined
        }
        await claiming
      }
      return undefined
    }
    const worker = async (): Promise<void> => {
      // With overlapStoring, the outcome of one request is stored while the next goes to the CA.
      // At most one is being stored per worker, and every one is stored before the pass ends (the
      // next pass computes what is due from what is stored), so a lane's next request still waits
      // for it.
      let storing: Promise<void> = Promise.resolve()
      let failed = false
      let failure: unknown
      try {
        for (let request = await take(); request !== undefined; request = await take()) {
          const { outcome, stored } = await this.deliver(request)
          // Awaited below (or after a failure); never left unhandled.
          stored.catch(() => undefined)
          count(outcome)
          await storing
          storing = stored
          if (!overlap) {
            await storing
          }
        }
      } catch (error) {
        failed = true
        failure = error
      }
      await storing.catch((error: unknown) => {
        if (!failed) {
          failed = true
          failure = error
        }
      })
      if (failed) {
        throw failure
      }
    }
    const count = (outcome: DeliveryOutcome): void => {
      sent++
      total.sent++
      total[
        outcome.kind === 'COMPLETED'
          ? 'completed'
          : outcome.kind === 'REJECTED'
            ? 'rejected'
            : 'retrying'
      ]++
    }
    const workers = Array.from({ length: Math.min(concurrency, due.length) }, worker)
    // Every worker is waited for, so a failed one cannot leave others sending into the next pass.
    const results = await Promise.allSettled(workers)
    // A claim still on its way (delivery stopped meanwhile) adds to `ready` before it is freed.
    await (claiming as Promise<void> | null)?.catch(() => undefined)
    // Claimed but not sent (stopped, or a worker failed): free them for the next pass or instance.
    await this.options.store
      .releaseRequests(
        ready.map((request) => request.id),
        this.owner,
      )
      .catch((error: unknown) => this.options.onError?.(error))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) {
      throw failed.reason
    }
    return sent
  }

  /** Sends a request; resolves to the CA's outcome and the storing of it (still running). */
  private async deliver(
    request: ProvisioningRequest,
  ): Promise<{ outcome: DeliveryOutcome; stored: Promise<void> }> {
    const executedDate = this.options.clock.now().toISOString()
    const outcome = await this.options.gateway.send(request.command, request.sequenceNumber)
    return { outcome, stored: this.store(request, outcome, executedDate) }
  }

  /** Stores an attempt's outcome (splitting a refused batch), then tells who waits for it. */
  private async store(
    request: ProvisioningRequest,
    outcome: DeliveryOutcome,
    executedDate: string,
  ): Promise<void> {
    const update = this.updateFor(request, outcome, executedDate)
    const now = this.options.clock.now().toISOString()
    const split =
      outcome.kind === 'REJECTED'
        ? planSplit(request.command, outcome, this.options.splitMode)
        : null
    if (split && outcome.kind === 'REJECTED') {
      const { parent, children } = await this.options.store.splitRequest(
        request.id,
        {
          ...update,
          errorDescription: splitDescription(outcome, split.failed, split.parts.length),
        },
        split.parts.map((command) => partOf(request, command)),
        now,
      )
      this.options.onOutcome?.(parent, outcome, children)
      await this.finalised(parent)
      return
    }
    const updated = await this.options.store.updateRequest(request.id, update, now)
    this.options.onOutcome?.(updated, outcome, [])
    if (updated.lifeCycleState !== 'PENDING') {
      await this.finalised(updated)
    }
  }

  private updateFor(
    request: ProvisioningRequest,
    outcome: DeliveryOutcome,
    executedDate: string,
  ): RequestUpdate {
    const attempts = request.attempts + 1
    switch (outcome.kind) {
      case 'COMPLETED':
        return {
          lifeCycleState: 'COMPLETED',
          executedDate,
          attempts,
          nextAttemptAt: null,
          request: outcome.request,
          response: outcome.response,
          referenceNumber: outcome.referenceNumber,
          result: outcome.result,
          errorCode: null,
          errorDescription: null,
          errorClass: null,
        }
      case 'REJECTED':
        return {
          lifeCycleState: 'REJECTED',
          executedDate,
          attempts,
          nextAttemptAt: null,
          request: outcome.request,
          response: outcome.response,
          referenceNumber: outcome.referenceNumber,
          errorCode: outcome.errorCode,
          errorDescription: outcome.errorDescription,
          errorClass: 'REJECT',
        }
      case 'TRANSIENT':
        return {
          executedDate,
          attempts,
          nextAttemptAt: new Date(
            this.options.clock.now().getTime() + this.backoff(attempts),
          ).toISOString(),
          request: outcome.request,
          response: outcome.response,
          errorCode: outcome.errorCode,
          errorDescription: outcome.errorDescription,
          errorClass: 'RETRY',
        }
    }
  }

  /** Wakes whoever waits for this request, then the final listeners (a run's tally). */
  private async finalised(request: ProvisioningRequest): Promise<void> {
    for (const resolve of this.waiters.get(request.id) ?? []) {
      resolve(request)
    }
    this.waiters.delete(request.id)
    for (const listener of this.listeners) {
      await listener(request).catch((error: unknown) => this.options.onError?.(error))
    }
  }

  private backoff(attempts: number): number {
    return Math.min(
      this.options.retryMaxDelayMs,
      this.options.retryInitialDelayMs * 2 ** (attempts - 1),
    )
  }

  /** Resolves when the request is COMPLETED or REJECTED (at once if it already is). */
  settled(id: string): Promise<ProvisioningRequest> {
    const waited = new Promise<ProvisioningRequest>((resolve) => {
      const list = this.waiters.get(id) ?? []
      list.push(resolve)
      this.waiters.set(id, list)
    })
    // Registered first, then read: a request that became final in between is not missed.
    const stored = this.options.store.getRequest(id).then((request) => {
      if (request === null || request.lifeCycleState === 'PENDING') {
        return waited
      }
      return request
    })
    return Promise.race([waited, stored])
  }

  /**
   * Resolves once the request and every request it was split into (and so on) are final, with all
   * of them in number order: the verdict on each of its cards.
   */
  async settledFamily(id: string): Promise<readonly ProvisioningRequest[]> {
    const request = await this.settled(id)
    const parts = await Promise.all(
      (request.splitInto ?? []).map(async (number) => {
        const part = await this.options.store.getRequest(number)
        return part === null ? [] : this.settledFamily(part.id)
      }),
    )
    return [request, ...parts.flat()]
  }

  /** Adds a listener told of every request that becomes final here; returns its removal. */
  onFinal(listener: FinalListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Starts delivering in the background: a pass now, on every {@link wake}, and when retries fall due. */
  start(): void {
    if (this.loop) {
      return
    }
    const loop = {
      stop: false,
      timer: null as NodeJS.Timeout | null,
      wake: null as (() => void) | null,
    }
    this.loop = loop
    const cycle = async (): Promise<void> => {
      while (!loop.stop) {
        await this.deliverDue().catch((error: unknown) => this.options.onError?.(error))
        const wait = await this.untilNextDue()
        if (loop.stop) {
          break
        }
        await new Promise<void>((resolve) => {
          loop.wake = resolve
          loop.timer = setTimeout(resolve, wait)
        })
        if (loop.timer) {
          clearTimeout(loop.timer)
        }
        loop.wake = null
      }
    }
    void cycle()
  }

  /** Asks the background loop for a pass now (new requests were created). */
  wake(): void {
    this.loop?.wake?.()
  }

  /** Stops delivery: the requests in flight finish (and are stored), no new one is taken. */
  async stop(): Promise<void> {
    this.halted = true
    if (this.loop) {
      this.loop.stop = true
      this.loop.wake?.()
      this.loop = null
    }
    await this.running
  }

  /** Milliseconds until the earliest future scheduled date or retry (at most 1 s, so a changed clock is noticed). */
  private async untilNextDue(): Promise<number> {
    const now = this.options.clock.now().getTime()
    let earliest = now + 1000
    for (const request of await this.options.store.pendingRequests()) {
      // Past times are skipped: such a request waits behind another one of its card, not on a timer.
      for (const at of [request.scheduledDate, request.nextAttemptAt]) {
        const time = at === null ? Number.NaN : Date.parse(at)
        if (time > now) {
          earliest = Math.min(earliest, time)
        }
      }
    }
    return Math.max(0, earliest - now)
  }
}

/** Pending requests in the order they must reach the CA: a split part takes its batch's place. */
function inSendingOrder(pending: readonly ProvisioningRequest[]): readonly ProvisioningRequest[] {
  return pending.some((request) => request.precedence !== request.sequenceNumber)
    ? [...pending].sort(bySendingOrder)
    : pending
}

function bySendingOrder(a: ProvisioningRequest, b: ProvisioningRequest): number {
  return a.precedence - b.precedence || a.sequenceNumber - b.sequenceNumber
}

/** A part of a refused batch: the batch's process, subscription and priority, with other cards. */
function partOf(request: ProvisioningRequest, command: ConaxCommand): NewProvisioningRequest {
  return {
    command,
    priority: request.priority,
    processImmediately: request.processImmediately,
    scheduledDate: null,
    processName: request.processName,
    processId: request.processId,
    subscriptionId: request.subscriptionId,
    actionId: request.actionId,
  }
}

function splitDescription(
  outcome: { readonly errorCode: string; readonly errorDescription: string },
  failed: readonly string[],
  parts: number,
): string {
  const named =
    failed.length > 0 ? ` Card(s) ${failed.join(', ')} failed with ${outcome.errorCode}.` : ''
  const again =
    parts === 0
      ? ''
      : ` The other cards were sent again as ${parts === 1 ? 'a new request' : `${parts} new requests`} (split_into).`
  return `${outcome.errorDescription}${named}${again}`
}
