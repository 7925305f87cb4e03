import { mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { Low } from 'lowdb'
import { DataFile } from 'lowdb/node'
import type { ModelSnapshot } from '../model/ca-model.js'
import type { JournalEntry } from '../runtime/journal.js'
import type { ReplayRecord } from '../runtime/replay-cache.js'
import { SimulatorError } from '../runtime/simulator-error.js'

export const SNAPSHOT_FORMAT = 'conax-sim/1'

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
  /** A human description for logs, e.g. `memory` or the file path. */
  readonly description: string
  load(): Promise<SimulatorSnapshot | null>
  save(snapshot: SimulatorSnapshot): Promise<void>
}

/** The shape of a stored snapshot, checked before it is loaded so a damaged file is refused, not crashed on. */
function isSnapshot(data: unknown): data is SimulatorSnapshot {
  const value = data as Partial<SimulatorSnapshot> | null
  const model = value?.model as Partial<SimulatorSnapshot['model']> | undefined
  return (
    typeof value === 'object' &&
    value?.format === SNAPSHOT_FORMAT &&
    Array.isArray(model?.cards) &&
    Array.isArray(model.pairingModules) &&
    Array.isArray(model.products) &&
    Array.isArray(model.pairings) &&
    typeof model.nextPairingNumber === 'number' &&
    Array.isArray(value.journal?.entries) &&
    typeof value.journal.nextSeq === 'number' &&
    Array.isArray(value.replays)
  )
}

/** Keeps nothing: state lives as long as the process (the default in tests). */
export class MemoryStore implements SimulatorStore {
  readonly description = 'memory'
  load(): Promise<SimulatorSnapshot | null> {
    return Promise.resolve(null)
  }
  save(): Promise<void> {
    return Promise.resolve()
  }
}

/**
 * A lowdb JSON file. Writes go through steno: the new content is written to a temporary file and
 * renamed over the old one, so a process killed mid-write leaves the previous complete file.
 */
export class LowdbFileStore implements SimulatorStore {
  readonly description: string
  private readonly db: Low<SimulatorSnapshot | null>
  private readonly file: string

  constructor(file: string) {
    this.file = resolve(file)
    this.description = this.file
    this.db = new Low<SimulatorSnapshot | null>(
      new DataFile<SimulatorSnapshot | null>(this.file, {
        parse: (text) => JSON.parse(text) as SimulatorSnapshot,
        stringify: (data) => JSON.stringify(data),
      }),
      null,
    )
  }

  async load(): Promise<SimulatorSnapshot | null> {
    try {
      await this.db.read()
    } catch (error) {
      throw new SimulatorError(
        'STORE_UNREADABLE',
        `Failed to read the simulator store ${this.file}: ${error instanceof Error ? error.message : String(error)}. Move the file away or point --data at another file; it was left untouched.`,
        { cause: error },
      )
    }
    const data = this.db.data
    if (data !== null && !isSnapshot(data)) {
      throw new SimulatorError(
        'STORE_UNREADABLE',
        `Failed to read the simulator store ${this.file}: it is JSON but not a complete ${SNAPSHOT_FORMAT} store. Point --data at another file; it was left untouched.`,
      )
    }
    return data
  }

  async save(snapshot: SimulatorSnapshot): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true })
    this.db.data = snapshot
    await this.db.write()
  }
}

/**
 * Coalesces saves: at most one write runs at a time, and every change requested while it runs is
 * carried by the single next write. `request()` resolves once a write that started after the call
 * has finished, so an answer sent after it is durable; it rejects (STORE_WRITE_FAILED) when that
 * write failed.
 */
export class WriteCoalescer {
  private running: Promise<void> | null = null
  private waiting: {
    promise: Promise<void>
    resolve: () => void
    reject: (error: unknown) => void
  } | null = null

  private readonly write: () => Promise<void>
  private readonly onError: (error: unknown) => void

  constructor(write: () => Promise<void>, onError: (error: unknown) => void) {
    this.write = write
    this.onError = onError
  }

  request(): Promise<void> {
    if (this.waiting) {
      return this.waiting.promise
    }
    let resolve!: () => void
    let reject!: (error: unknown) => void
    const promise = new Promise<void>((ok, fail) => {
      resolve = ok
      reject = fail
    })
    this.waiting = { promise, resolve, reject }
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
    this.running = this.write()
      .then(
        () => batch?.resolve(),
        (error: unknown) => {
          this.onError(error)
          batch?.reject(
            new SimulatorError(
              'STORE_WRITE_FAILED',
              `Failed to write the simulator store: ${error instanceof Error ? error.message : String(error)}.`,
              { cause: error },
            ),
          )
        },
      )
      .finally(() => {
        this.running = null
        if (this.waiting) {
          this.start()
        }
      })
  }
}
