import { cardsOf, stbsOf } from '../domain/commands.js'
import type { ProvisioningRequest } from '../domain/provisioning-request.js'
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
  /** Nothing is sent while this says no (the provider is Not Effective). */
  readonly enabled?: () => boolean
  /** Told when a pass fails (e.g. the store cannot be written); the loop goes on after its wait. */
  readonly onError?: (error: unknown) => void
  /** Called after each outcome (for logs and metrics). */
  readonly onOutcome?: (request: ProvisioningRequest, outcome: DeliveryOutcome) => void
}

/** Counts of one delivery pass. */
export interface PassReport {
  readonly sent: number
  readonly completed: number
  readonly rejected: number
  readonly retrying: number
}

/** The devices a request touches: its per-device order must be kept. */
function devicesOf(request: ProvisioningRequest): string[] {
  return [
    ...cardsOf(request.command).map((id) => `card:${id}`),
    ...stbsOf(request.command).map((id) => `stb:${id}`),
  ]
}

/**
 * The provisioning request processing run: sends PENDING requests to Conax.
 *
 * Order: among the requests that may go now, EXPRESS before REGULAR, then by sequence number; but
 * a request never overtakes an earlier PENDING request of the same smartcard or STB (even one that
 * is scheduled later or waiting to retry), so the order of requests for one card is always kept.
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

  constructor(options: DispatcherOptions) {
    this.options = options
  }

  /** The requests that may be sent now, in sending order. */
  async dueRequests(): Promise<ProvisioningRequest[]> {
    const now = this.options.clock.now().getTime()
    const blocked = new Set<string>()
    const due: ProvisioningRequest[] = []
    for (const request of await this.options.store.pendingRequests()) {
      const devices = devicesOf(request)
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
      a.priority === b.priority
        ? a.sequenceNumber - b.sequenceNumber
        : a.priority === 'EXPRESS'
          ? -1
          : 1,
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
    this.running = this.runPasses().finally(() => {
      this.running = null
    })
    return this.running
  }

  private async runPasses(): Promise<PassReport> {
    const total = { sent: 0, completed: 0, rejected: 0, retrying: 0 }
    do {
      this.again = false
      if (this.halted || (this.options.enabled && !this.options.enabled())) {
        break
      }
      const due = await this.dueRequests()
      await this.sendAll(due, total)
      this.again ||= due.length > 0
    } while (this.again)
    return total
  }

  private async sendAll(
    due: readonly ProvisioningRequest[],
    total: { sent: number; completed: number; rejected: number; retrying: number },
  ): Promise<void> {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < due.length && !this.halted) {
        const request = due[next++] as ProvisioningRequest
        const outcome = await this.deliver(request)
        total.sent++
        total[
          outcome.kind === 'COMPLETED'
            ? 'completed'
            : outcome.kind === 'REJECTED'
              ? 'rejected'
              : 'retrying'
        ]++
      }
    }
    const workers = Array.from(
      { length: Math.min(this.options.concurrency ?? 8, due.length) },
      worker,
    )
    // Every worker is waited for, so a failed one cannot leave others sending into the next pass.
    const results = await Promise.allSettled(workers)
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) {
      throw failed.reason
    }
  }

  private async deliver(request: ProvisioningRequest): Promise<DeliveryOutcome> {
    const executedDate = this.options.clock.now().toISOString()
    const outcome = await this.options.gateway.send(request.command, request.sequenceNumber)
    const attempts = request.attempts + 1
    const update: RequestUpdate =
      outcome.kind === 'COMPLETED'
        ? {
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
          }
        : outcome.kind === 'REJECTED'
          ? {
              lifeCycleState: 'REJECTED',
              executedDate,
              attempts,
              nextAttemptAt: null,
              request: outcome.request,
              response: outcome.response,
              referenceNumber: outcome.referenceNumber,
              errorCode: outcome.errorCode,
              errorDescription: outcome.errorDescription,
            }
          : {
              executedDate,
              attempts,
              nextAttemptAt: new Date(
                this.options.clock.now().getTime() + this.backoff(attempts),
              ).toISOString(),
              request: outcome.request,
              response: outcome.response,
              errorCode: outcome.errorCode,
              errorDescription: outcome.errorDescription,
            }
    const updated = await this.options.store.updateRequest(
      request.id,
      update,
      this.options.clock.now().toISOString(),
    )
    this.options.onOutcome?.(updated, outcome)
    if (updated.lifeCycleState !== 'PENDING') {
      for (const resolve of this.waiters.get(updated.id) ?? []) {
        resolve(updated)
      }
      this.waiters.delete(updated.id)
    }
    return outcome
  }

  private backoff(attempts: number): number {
    return Math.min(
      this.options.retryMaxDelayMs,
      this.options.retryInitialDelayMs * 2 ** (attempts - 1),
    )
  }

  /** Resolves when the request is COMPLETED or REJECTED (delivered by any pass). */
  settled(id: string): Promise<ProvisioningRequest> {
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? []
      list.push(resolve)
      this.waiters.set(id, list)
    })
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
