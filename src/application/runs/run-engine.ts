import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { ProvisioningRequest } from '../../domain/provisioning-request.js'
import { RunTally, type RunFailure } from '../../domain/run-tally.js'
import { RUN_PROCESS_NAMES, type RunDefinition } from '../../domain/runs.js'
import { AdapterError } from '../adapter-error.js'
import type { ProvisioningStore } from '../ports.js'
import type { ProvisioningService } from '../provisioning-service.js'
import type { RunExecution, RunStore } from './run-ports.js'
import {
  addCounts,
  keepListed,
  withSubscriptions,
  ZERO_COUNTS,
  type Covered,
  type RunStrategy,
} from './run-strategy.js'

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

/** What the engine works with. */
export interface RunEngineOptions {
  readonly store: ProvisioningStore
  readonly runs: RunStore
  readonly provisioning: ProvisioningService
  /** The definition by id or alternative code (RUN_NOT_FOUND otherwise). */
  readonly definition: (idOrCode: string) => Promise<RunDefinition>
  /** The strategy of a definition's kind, bound to it. */
  readonly strategy: (definition: RunDefinition) => RunStrategy
  /** The current time as an ISO-8601 instant. */
  readonly now: () => string
  /** Told when a run fails (the execution records it too). */
  readonly onError?: ((error: unknown, execution: RunExecution) => void) | undefined
  /** This adapter instance's name: the owner of the executions it runs. */
  readonly owner: string
  /**
   * How long this instance's hold on an execution it runs lasts without renewal (renewed while it
   * runs). 0 (a store no other instance shares): the hold never keeps another process out, so an
   * execution a stopped process left RUNNING is stopped or resumed at once, as before instances.
   */
  readonly leaseMs: number
}

interface Live {
  stopRequested: boolean
  done: Promise<RunExecution>
}

/** The instant `ms` after the ISO-8601 instant `now`. */
function after(now: string, ms: number): string {
  return new Date(Date.parse(now) + ms).toISOString()
}

/**
 * The execution engine of every run kind: it claims a lane, walks the strategy's pages, saves the
 * cursor and the counts after each page, stops and resumes, reports progress, and completes an
 * execution once the CA has answered its last request. After each page's requests are durably
 * created the cursor is saved, so a stop, or a crash, loses at most that page's bookkeeping — and
 * a resume first looks at the requests the execution already created, so nothing is sent twice.
 */
export class RunEngine {
  private readonly options: RunEngineOptions
  private readonly live = new Map<string, Live>()
  /** Lane → the execution holding it, from the moment it is claimed until its loop ends. */
  private readonly lanes = new Map<string, string>()
  /** DELIVERING executions this process watches, and the tally of each running at most once at a time. */
  private readonly delivering = new Set<string>()
  private readonly finishing = new Map<string, Promise<void>>()
  /** Callers of {@link finished} waiting for an execution to end. */
  private readonly finishWaiters = new Map<string, ((status: RunStatus) => void)[]>()
  private readonly unsubscribe: () => void
  /** Instances sharing the store: looks for DELIVERING executions whose last verdict came elsewhere. */
  private readonly sweeper: NodeJS.Timeout | undefined

  constructor(options: RunEngineOptions) {
    this.options = options
    this.unsubscribe = options.provisioning.onFinal((request) => this.requestFinal(request))
    // A request becomes final on the instance that sent it, which may not be the one watching its
    // execution (or that one died): every instance completes DELIVERING executions it finds done.
    this.sweeper =
      options.leaseMs > 0
        ? setInterval(() => void this.sweep(), Math.max(1, Math.floor(options.leaseMs / 3)))
        : undefined
    this.sweeper?.unref()
  }

  /** Starts an execution of the definition in the background and answers at once. */
  async start(definition: RunDefinition): Promise<RunStatus> {
    const strategy = this.options.strategy(definition)
    this.options.provisioning.requireEffective()
    const id = randomUUID().replaceAll('-', '')
    this.claim(strategy, id)
    try {
      await strategy.beforeStart()
      const execution = await this.created(definition, strategy, id)
      this.launch(strategy, execution, false)
      return this.status(execution)
    } catch (error) {
      this.release(strategy, id)
      throw error
    }
  }

  /** Asks a running execution to stop after its current page; resolves once it has stopped. */
  async stop(executionId: string): Promise<RunStatus> {
    const execution = await this.execution(executionId)
    const live = this.live.get(executionId)
    if (!live) {
      if (execution.state === 'RUNNING' || execution.state === 'STOPPING') {
        if (this.ownedElsewhere(execution)) {
          // Another live instance runs it: it sees the flag between batches and stops there.
          const marked = await this.options.runs.requestStop(executionId)
          return this.status(marked ?? execution)
        }
        // Interrupted by a restart or a dead instance: nothing runs it, so it is stopped already.
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
    const strategy = this.options.strategy(await this.options.definition(execution.runId))
    if (this.live.has(executionId) || this.lanes.get(strategy.lane.key) === executionId) {
      // Resumed meanwhile by a concurrent call: one loop only.
      return this.status(await this.execution(executionId))
    }
    this.claim(strategy, executionId)
    try {
      const now = this.options.now()
      const resumed = await this.options.runs.takeExecution(executionId, {
        owner: this.options.owner,
        now,
        leaseUntil: after(now, this.options.leaseMs),
      })
      if (resumed === null) {
        const current = await this.execution(executionId)
        throw new AdapterError(
          'RUN_OWNED',
          `Execution ${executionId} is ${current.state} on adapter instance '${current.owner ?? '?'}' (its lease runs until ${current.leaseUntil ?? '?'}). Stop it first (through any instance), or, if that instance died, resume it once the lease has run out.`,
          { details: { executionId, owner: current.owner ?? null } },
        )
      }
      this.launch(strategy, resumed, true)
      return this.status(resumed)
    } catch (error) {
      this.release(strategy, executionId)
      throw error
    }
  }

  /**
   * An execution with its progress; EXECUTION_NOT_FOUND otherwise. A DELIVERING execution whose
   * requests are all final is completed first: their verdicts may have come to another instance.
   */
  async get(executionId: string): Promise<RunStatus> {
    const execution = await this.execution(executionId)
    if (
      execution.state === 'DELIVERING' &&
      (await this.options.store.countPending(executionId)) === 0
    ) {
      await this.maybeFinish(executionId)
      return this.status(await this.execution(executionId))
    }
    return this.status(execution)
  }

  /** The executions of a run (or of every run), newest last. */
  async executions(runId?: string): Promise<readonly RunStatus[]> {
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

  /** The execution; EXECUTION_NOT_FOUND otherwise. */
  async execution(executionId: string): Promise<RunExecution> {
    const found = await this.options.runs.getExecution(executionId)
    if (!found) {
      throw new AdapterError(
        'EXECUTION_NOT_FOUND',
        `No run execution has id '${executionId}'. List them with GET /runs/executions.`,
      )
    }
    return found
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
        !this.live.has(execution.id) &&
        !this.ownedElsewhere(execution)
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
    clearInterval(this.sweeper)
    running.forEach((live) => (live.stopRequested = true))
    await Promise.allSettled(running.map((live) => live.done))
    this.unsubscribe()
    await Promise.allSettled([...this.finishing.values()])
  }

  /** Watches every DELIVERING execution of the shared store, completing those whose requests are final. */
  private async sweep(): Promise<void> {
    try {
      for (const execution of await this.options.runs.listExecutions()) {
        if (execution.state === 'DELIVERING') {
          this.delivering.add(execution.id)
          await this.maybeFinish(execution.id)
        }
      }
    } catch (error) {
      this.options.onError?.(error, { id: '' } as RunExecution)
    }
  }

  /** Whether another instance runs the execution and its lease has not run out. */
  private ownedElsewhere(execution: RunExecution): boolean {
    return (
      typeof execution.owner === 'string' &&
      execution.owner !== this.options.owner &&
      typeof execution.leaseUntil === 'string' &&
      Date.parse(execution.leaseUntil) > Date.parse(this.options.now())
    )
  }

  // ----- lanes ---------------------------------------------------------------------------

  /** Takes the strategy's lane for the execution, or refuses (RUN_RUNNING) naming the holder. */
  private claim(strategy: RunStrategy, executionId: string): void {
    const holder = this.lanes.get(strategy.lane.key)
    if (holder !== undefined) {
      throw new AdapterError('RUN_RUNNING', strategy.lane.busy(holder), {
        details: { executionId: holder },
      })
    }
    this.lanes.set(strategy.lane.key, executionId)
  }

  private release(strategy: RunStrategy, executionId: string): void {
    if (this.lanes.get(strategy.lane.key) === executionId) {
      this.lanes.delete(strategy.lane.key)
    }
  }

  // ----- executions ----------------------------------------------------------------------

  private async created(
    definition: RunDefinition,
    strategy: RunStrategy,
    id: string,
  ): Promise<RunExecution> {
    const now = this.options.now()
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
      total: await strategy.total(),
      cursor: { offset: 0, communication: null },
      counts: ZERO_COUNTS,
      lastError: null,
      owner: this.options.owner,
      leaseUntil: after(now, this.options.leaseMs),
    }
    await this.options.runs.saveExecution(execution)
    return execution
  }

  /**
   * Saves the execution changed by `change`. `owned` (the loop's saves): only while this instance
   * owns it, else RUN_OWNED, saving nothing: a loop paused past its lease and taken over by
   * another instance never overwrites that instance's cursor and counts.
   */
  private async save(
    execution: RunExecution,
    change: Partial<RunExecution>,
    owned = false,
  ): Promise<RunExecution> {
    const now = this.options.now()
    const next: RunExecution = { ...execution, ...change, updatedAt: now }
    const held =
      next.owner === this.options.owner && next.state === 'RUNNING'
        ? { ...next, leaseUntil: after(now, this.options.leaseMs) }
        : next
    const saved = await this.options.runs.saveExecution(
      held,
      owned ? this.options.owner : undefined,
    )
    if (!saved) {
      throw new AdapterError(
        'RUN_OWNED',
        `Failed to save execution ${execution.id} on adapter instance '${this.options.owner}': another instance took it over (this one did not renew its lease in time). Nothing was saved; that instance goes on with it.`,
        { details: { executionId: execution.id, owner: this.options.owner } },
      )
    }
    return held
  }

  private async status(stored: RunExecution): Promise<RunStatus> {
    // A stop is asked of the loop, which finishes its batch first: meanwhile the run is STOPPING.
    const execution: RunExecution =
      stored.state === 'RUNNING' &&
      (this.live.get(stored.id)?.stopRequested === true || stored.stopRequested === true)
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

  private launch(strategy: RunStrategy, execution: RunExecution, resumed: boolean): void {
    const live: Live = { stopRequested: false, done: Promise.resolve(execution) }
    live.done = this.loop(strategy, execution, resumed, live).finally(() => {
      this.live.delete(execution.id)
      this.release(strategy, execution.id)
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

  private async loop(
    strategy: RunStrategy,
    start: RunExecution,
    resumed: boolean,
    live: Live,
  ): Promise<RunExecution> {
    let execution = start
    // Running time counts everything from here (reads, requests, saves), not stops.
    const launched = performance.now()
    const activeMs = (): number => start.activeMs + (performance.now() - launched)
    const pages = strategy.pages()
    const renewal = this.renewal(execution.id)
    try {
      let covered = resumed ? await this.coveredBy(execution) : null
      for (;;) {
        // Between batches: a stop asked through another instance, or a takeover (this instance
        // was thought dead), is seen here in the shared store.
        const stored = await this.options.runs.getExecution(execution.id)
        if (typeof stored?.owner === 'string' && stored.owner !== this.options.owner) {
          return stored
        }
        if (live.stopRequested || stored?.stopRequested === true) {
          return (execution = await this.save(
            execution,
            { state: 'STOPPED', activeMs: activeMs() },
            true,
          ))
        }
        const step = await pages.next(execution, covered)
        covered = null
        execution = await this.save(
          execution,
          {
            cursor: step.cursor,
            counts: addCounts(execution.counts, step.counts),
            activeMs: activeMs(),
            ...(step.failures.length > 0
              ? { failures: keepListed(execution.failures ?? [], step.failures) }
              : {}),
          },
          true,
        )
        if (step.finished) {
          // Every request is created; the execution completes when the CA has answered them all.
          execution = await this.save(execution, { state: 'DELIVERING' }, true)
          this.delivering.add(execution.id)
          return execution
        }
      }
    } catch (error) {
      const current = await this.options.runs.getExecution(execution.id).catch(() => null)
      if (typeof current?.owner === 'string' && current.owner !== this.options.owner) {
        // Taken over by another instance meanwhile (this one was thought dead): it is theirs now.
        this.options.onError?.(error, current)
        return current
      }
      const message = error instanceof Error ? error.message : String(error)
      const failed: RunExecution = {
        ...execution,
        state: 'FAILED',
        activeMs: activeMs(),
        updatedAt: this.options.now(),
        lastError: `${message} Resume the execution when the cause is fixed: nothing is sent twice.`,
      }
      // Never rejects: nobody may be waiting on this loop, and a rejection would end the process.
      // If even this save fails (the store is broken), the store still says RUNNING: the next
      // start of the adapter marks it STOPPED, and a stop or resume here works on it as it is.
      await this.options.runs
        .saveExecution(failed, this.options.owner)
        .catch((saveError: unknown) => {
          this.options.onError?.(saveError, failed)
        })
      this.options.onError?.(error, failed)
      return failed
    } finally {
      clearInterval(renewal)
    }
  }

  /**
   * Renews this instance's lease on a running execution in the background, so that a batch longer
   * than the lease (a slow CA) does not let another instance take it over.
   */
  private renewal(executionId: string): NodeJS.Timeout | undefined {
    if (this.options.leaseMs <= 0) {
      return undefined
    }
    const timer = setInterval(
      () => {
        const leaseUntil = after(this.options.now(), this.options.leaseMs)
        this.options.runs
          .renewExecution(executionId, this.options.owner, leaseUntil)
          .catch((error: unknown) =>
            this.options.onError?.(error, { id: executionId } as RunExecution),
          )
      },
      Math.max(1, Math.floor(this.options.leaseMs / 3)),
    )
    timer.unref()
    return timer
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
   * subscription), lets the strategy settle what it sent (a message run's communications), and
   * saves it COMPLETED.
   */
  private async complete(execution: RunExecution): Promise<RunExecution> {
    const strategy = this.options.strategy(await this.options.definition(execution.runId))
    const tally = new RunTally(strategy.tally)
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
    const settled = await strategy.settle(execution, verdict)
    const counts = { ...ZERO_COUNTS, ...execution.counts }
    return this.save(execution, {
      state: 'COMPLETED',
      finishedAt: this.options.now(),
      counts: addCounts(
        {
          ...counts,
          sent: verdict.sent,
          failed: counts.failed + verdict.failed,
          repaired: strategy.tally === 'SUBSCRIPTIONS' ? verdict.repaired : counts.repaired,
        },
        { ...ZERO_COUNTS, ...settled },
      ),
      failures: keepListed(
        execution.failures ?? [],
        await withSubscriptions(this.options.store, verdict.failures),
      ),
    })
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
}
