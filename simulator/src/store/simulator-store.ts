import { resolve } from 'node:path'
import { Low } from 'lowdb'
import { DataFile } from 'lowdb/node'
import type { ModelSnapshot } from '../model/ca-state.js'
import type { JournalEntry } from '../runtime/journal.js'
import type { ReplayRecord } from '../runtime/replay-cache.js'
import { SimulatorError } from '../runtime/simulator-error.js'
import { SNAPSHOT_FORMAT } from './snapshot-schema.js'
import { readSnapshotFile } from './snapshot-file.js'
import { checkFolder } from './store-files.js'

export { SNAPSHOT_FORMAT } from './snapshot-schema.js'

/** Everything the simulator persists: CA state, journal and replay records, consistent with each other. */
export interface SimulatorSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT
  readonly savedAt: string
  readonly model: ModelSnapshot
  readonly journal: { readonly entries: JournalEntry[]; readonly nextSeq: number }
  readonly replays: readonly ReplayRecord[]
}

/** Where the simulator keeps its state between runs. */
export interface SimulatorStore {
  /** A human description for logs and errors, e.g. `memory` or the file path. */
  readonly description: string
  /**
   * What the store holds: null when nothing is stored yet. Anything else must be a snapshot that
   * {@link SimulatorStore.save} wrote; startSimulator checks its shape deeply before loading it.
   */
  load(): Promise<unknown>
  save(snapshot: SimulatorSnapshot): Promise<void>
}

export { unreadableStore } from './store-files.js'

/** Keeps nothing: state lives as long as the process (the default in tests). */
export class MemoryStore implements SimulatorStore {
  readonly description = 'memory'
  load(): Promise<null> {
    return Promise.resolve(null)
  }
  save(): Promise<void> {
    return Promise.resolve()
  }
}

/** How a {@link LowdbFileStore} treats its file's folder. */
export interface LowdbFileStoreOptions {
  /**
   * Create the folder when it is missing (default false: a missing folder is refused with
   * STORE_FOLDER_MISSING, since it usually means a mistyped path).
   */
  readonly createFolder?: boolean
}

/**
 * A lowdb JSON file. Writes go through steno: the new content is written to a temporary file and
 * renamed over the old one, so a process killed mid-write leaves the previous complete file.
 */
export class LowdbFileStore implements SimulatorStore {
  readonly description: string
  private readonly db: Low<SimulatorSnapshot | null>
  private readonly file: string
  private readonly createFolder: boolean

  constructor(file: string, options: LowdbFileStoreOptions = {}) {
    this.file = resolve(file)
    this.description = this.file
    this.createFolder = options.createFolder ?? false
    this.db = new Low<SimulatorSnapshot | null>(
      new DataFile<SimulatorSnapshot | null>(this.file, {
        parse: (text) => JSON.parse(text) as SimulatorSnapshot,
        stringify: (data) => JSON.stringify(data),
      }),
      null,
    )
  }

  /**
   * The parsed file, or null when it does not exist yet. Refuses (leaving it untouched) a missing
   * folder, a directory, an unreadable, empty or truncated file, and a file holding `null`.
   */
  async load(): Promise<unknown> {
    await checkFolder(this.file, this.createFolder)
    return readSnapshotFile(this.file)
  }

  async save(snapshot: SimulatorSnapshot): Promise<void> {
    this.db.data = snapshot
    await this.db.write()
  }
}

/** What the coalescer needs from the CA model to apply a change only once it is stored. */
export interface UndoLog {
  undoPosition(): number
  commitUndo(position: number): void
  rollback(): void
}

interface Batch {
  readonly promise: Promise<void>
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
  /** What each change of the batch undoes outside the model (replay records...), oldest first. */
  readonly rollbacks: (() => void)[]
  /** How many requests it carries. */
  requests: number
}

/** A batch whose write has started: the undo records before `position` are what it covers. */
interface Flight {
  readonly batch: Batch
  position: number
  readonly written: Promise<void>
  outcome: { readonly ok: true } | { readonly ok: false; readonly error: unknown } | null
}

/**
 * Coalesces saves (group commit): every change requested while the writes in flight run is
 * carried by the single next write. Up to `depth` writes run at once (a pipeline: the next group
 * is taken and written while the one before is still being flushed), a further one only once its
 * batch has as many requests as the write before it, and they finish strictly in order: `request()` resolves once the write carrying its change and every write before it have
 * succeeded, so an answer sent after it is durable.
 *
 * A change is applied only once it is durable. When a write fails, every change not yet durable
 * is undone: once every write in flight has settled (the store cut them all off again), the model
 * rolls back everything recorded since the last successful write (the failed write's changes,
 * those of the writes behind it and those waiting), each change's own `onRollback` runs (newest
 * first), and every one of those `request()`s rejects with STORE_WRITE_FAILED.
 */
export class WriteCoalescer {
  private flights: Flight[] = []
  private waiting: Batch | null = null
  /** A failed write is being cut off: no write starts until everything is undone. */
  private failing = false

  private readonly write: (from: number) => Promise<void>
  private readonly onError: (error: unknown) => void
  private readonly undo: UndoLog | null
  private readonly depth: number

  /**
   * `write(from)` must take what changed synchronously when called: the undo records from `from`
   * (those before it belong to writes in flight) up to the position read just before it are what
   * a successful write makes durable. A write that fails must leave the store without the writes
   * that started after it, too (the log store cuts the file back to the failed group's start).
   */
  constructor(
    write: (from: number) => Promise<void>,
    onError: (error: unknown) => void,
    undo: UndoLog | null = null,
    depth = 1,
  ) {
    this.write = write
    this.onError = onError
    this.undo = undo
    this.depth = Math.max(1, depth)
  }

  /** Asks for a write carrying every change made so far; `onRollback` runs if it fails. */
  request(onRollback?: () => void): Promise<void> {
    this.waiting ??= newBatch()
    this.waiting.requests++
    if (onRollback) {
      this.waiting.rollbacks.push(onRollback)
    }
    const { promise } = this.waiting
    this.pump()
    return promise
  }

  /** Resolves when nothing is being written or waiting to be written. */
  async flush(): Promise<void> {
    while (this.flights.length > 0 || this.waiting) {
      const next = this.flights.at(-1)?.batch ?? this.waiting
      await next?.promise.catch(() => undefined)
    }
  }

  /** Starts writes for the waiting batch while there is room in the pipeline. */
  private pump(): void {
    while (!this.failing && this.waiting && this.flights.length < this.depth) {
      // A group joins one in flight only once it carries as many requests: each flush costs
      // about the same, so smaller groups would only add flushes. Otherwise it starts when the
      // group in flight is done.
      const last = this.flights.at(-1)
      if (last && this.waiting.requests < last.batch.requests) {
        return
      }
      const batch = this.waiting
      this.waiting = null
      const from = this.flights.at(-1)?.position ?? 0
      const position = this.undo?.undoPosition() ?? 0
      let written: Promise<void>
      try {
        written = this.write(from)
      } catch (error) {
        written = Promise.reject(error instanceof Error ? error : new Error(String(error)))
      }
      const flight: Flight = { batch, position, written, outcome: null }
      this.flights.push(flight)
      written.then(
        () => this.settle(flight, { ok: true }),
        (error: unknown) => this.settle(flight, { ok: false, error }),
      )
    }
  }

  /** Finishes the writes at the head of the pipeline that have settled, in order. */
  private settle(flight: Flight, outcome: NonNullable<Flight['outcome']>): void {
    flight.outcome = outcome
    while (!this.failing && this.flights[0]?.outcome) {
      const head = this.flights[0]
      const done = head.outcome as NonNullable<Flight['outcome']>
      if (!done.ok) {
        this.failing = true
        this.onError(done.error)
        void this.undoAll(done.error)
        return
      }
      this.flights.shift()
      this.undo?.commitUndo(head.position)
      for (const later of this.flights) {
        later.position -= head.position
      }
      head.batch.resolve()
    }
    this.pump()
  }

  /**
   * The failed write, the writes behind it and the batch waiting are undone, newest change
   * first, once every write in flight has settled: none of them may land after the undo.
   */
  private async undoAll(error: unknown): Promise<void> {
    await Promise.allSettled(this.flights.map((flight) => flight.written))
    const batches = [...this.flights.map((flight) => flight.batch), this.waiting].filter(
      (batch) => batch !== null,
    )
    this.flights = []
    this.waiting = null
    this.undo?.rollback()
    for (const batch of [...batches].reverse()) {
      for (const rollback of [...batch.rollbacks].reverse()) {
        rollback()
      }
    }
    const failure = new SimulatorError(
      'STORE_WRITE_FAILED',
      `Failed to write the simulator store: ${error instanceof Error ? error.message : String(error)}. Every change not yet stored was undone, so the state is as it was before them; fix the store (disk space, permissions) and retry.`,
      { cause: error },
    )
    for (const batch of batches) {
      batch.reject(failure)
    }
    this.failing = false
    this.pump()
  }
}

function newBatch(): Batch {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok
    reject = fail
  })
  return { promise, resolve, reject, rollbacks: [], requests: 0 }
}
