interface Batch {
  readonly promise: Promise<void>
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

/**
 * One write cycle: it captures every change made so far, calls `durable()` once they are on disk,
 * and may go on with housekeeping (the file store's checkpoint) before it resolves.
 */
export type WriteCycle = (durable: () => void) => Promise<void>

/**
 * Group commit: at most one write cycle runs at a time, and every change requested while one runs
 * is carried by the single next cycle. `request()` resolves when a cycle that started after the
 * call has made its changes durable, and rejects with that cycle's error.
 *
 * A cycle starts on `setImmediate`, not at once, so that the callers released by the previous
 * cycle (who typically make their next change straight away) share one write instead of the first
 * of them getting a write of its own.
 */
export class GroupCommit {
  private running: Promise<void> | null = null
  private waiting: Batch | null = null
  private scheduled = false
  private readonly cycle: WriteCycle

  constructor(cycle: WriteCycle) {
    this.cycle = cycle
  }

  request(): Promise<void> {
    this.waiting ??= deferred()
    if (this.running === null) {
      this.schedule()
    }
    return this.waiting.promise
  }

  /** Resolves when no cycle is running, scheduled or waiting. */
  async flush(): Promise<void> {
    while (this.running ?? this.waiting) {
      await (this.running ?? this.waiting?.promise.catch(() => undefined))
    }
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => {
        this.scheduled = false
        this.start()
      })
    }
  }

  private start(): void {
    const batch = this.waiting
    this.waiting = null
    if (batch === null) {
      return
    }
    // The error goes to the batch's callers; a batch already resolved by durable() ignores it
    // (the cycle reports such late errors itself).
    this.running = this.cycle(() => batch.resolve())
      .then(
        () => batch.resolve(),
        (error: unknown) => batch.reject(error),
      )
      .finally(() => {
        this.running = null
        if (this.waiting !== null) {
          this.schedule()
        }
      })
  }
}

function deferred(): Batch {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
