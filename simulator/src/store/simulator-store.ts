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
}

/**
 * Coalesces saves (group commit): at most one write runs at a time, and every change requested
 * while it runs is carried by the single next write. `request()` resolves once a write that
 * started after the call has finished, so an answer sent after it is durable.
 *
 * A change is applied only once it is durable. When a write fails, every change not yet durable
 * is undone: the model rolls back everything recorded since the last successful write (the
 * failed write's changes and those waiting for the next one), each change's own `onRollback`
 * runs (newest first), and every waiting `request()` rejects with STORE_WRITE_FAILED.
 */
export class WriteCoalescer {
  private running: Promise<void> | null = null
  private waiting: Batch | null = null

  private readonly write: () => Promise<void>
  private readonly onError: (error: unknown) => void
  private readonly undo: UndoLog | null

  /**
   * `write` must take its snapshot synchronously when called: the undo position read just before
   * it is what a successful write makes durable.
   */
  constructor(
    write: () => Promise<void>,
    onError: (error: unknown) => void,
    undo: UndoLog | null = null,
  ) {
    this.write = write
    this.onError = onError
    this.undo = undo
  }

  /** Asks for a write carrying every change made so far; `onRollback` runs if it fails. */
  request(onRollback?: () => void): Promise<void> {
    this.waiting ??= newBatch()
    if (onRollback) {
      this.waiting.rollbacks.push(onRollback)
    }
    const { promise } = this.waiting
    if (!this.running) {
      this.start()
    }
    return promise
  }

  /** Resolves when nothing is being written or waiting to be written. */
  async flush(): Promise<void> {
    while (this.running ?? this.waiting) {
      await (this.running ?? this.waiting?.promise.catch(() => undefined))
    }
  }

  private start(): void {
    const batch = this.waiting
    this.waiting = null
    const position = this.undo?.undoPosition() ?? 0
    this.running = this.write()
      .then(
        () => {
          this.undo?.commitUndo(position)
          batch?.resolve()
        },
        (error: unknown) => {
          this.onError(error)
          this.undoAll(batch, error)
        },
      )
      .finally(() => {
        this.running = null
        if (this.waiting) {
          this.start()
        }
      })
  }

  /** The failed batch and the one waiting behind it are undone, newest change first. */
  private undoAll(failed: Batch | null, error: unknown): void {
    const batches = [failed, this.waiting].filter((batch) => batch !== null)
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
  }
}

function newBatch(): Batch {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok
    reject = fail
  })
  return { promise, resolve, reject, rollbacks: [] }
}
