import type { Logger } from 'pino'
import type { CaState } from '../model/ca-state.js'
import { buildRedo, type RedoRecord } from '../model/redo.js'
import type { Journal } from '../runtime/journal.js'
import type { ReplayCache, ReplayRecord } from '../runtime/replay-cache.js'
import { encodeLine } from './log-lines.js'
import {
  LogStore,
  type LogStoreOptions,
  type LogStoreStats,
  type RecoveryReport,
} from './log-store.js'
import type { StateCapture } from './snapshot-file.js'
import { checkStoredSnapshot } from './snapshot-schema.js'
import {
  MemoryStore,
  SNAPSHOT_FORMAT,
  unreadableStore,
  type SimulatorSnapshot,
  type SimulatorStore,
} from './simulator-store.js'

/**
 * How a simulator keeps its state: nowhere (memory), in a custom whole-snapshot
 * {@link SimulatorStore}, or in a log store (`dataFile`). Each stores one commit group per
 * `write()`, which the write coalescer calls with at most {@link Persistence.groupsInFlight}
 * running at a time; `write()` takes what changed synchronously when called, so the undo records
 * from `from` up to the position read just before it are what a successful write makes durable.
 */
export interface Persistence {
  /** `memory`, the store's description, or the data file's path. */
  readonly description: string
  /** False in memory: nothing can fail, changes are not tracked. */
  readonly durable: boolean
  /** What the log store found and repaired at start (null for other stores). */
  readonly recovery: RecoveryReport | null
  /**
   * How many writes may run at once: 2 for the log store (one group is written while the one
   * before is flushed; they are acknowledged in order), 1 for the others.
   */
  readonly groupsInFlight: number
  /**
   * Stores every change, journal entry and replay record made since the last write started. The
   * undo records before `from` belong to writes still running. Resolves once this write and every
   * earlier one are durable; when one fails, every write started after it fails too and none of
   * them is left in the store.
   */
  write(from: number): Promise<void>
  /**
   * Writes a snapshot and starts a new log segment (a log store; a no-op otherwise). `trigger`
   * asks the writer for a commit group, at which the state is captured.
   */
  compact(trigger: () => Promise<void>): Promise<void>
  /** The log store's figures, for `/admin/stats` (null for other stores). */
  stats(): LogStoreStats | null
  /** Stores what is left (a whole-snapshot store writes its last snapshot) and lets go of files. */
  close(): Promise<void>
}

/** What the stores load into and take changes from. */
export interface PersistenceTargets {
  readonly state: CaState
  readonly journal: Journal
  readonly replays: ReplayCache
  readonly now: () => Date
  readonly logger: Logger
}

/** Where and how to keep the state, from the simulator's options. */
export interface PersistenceChoice {
  readonly store?: SimulatorStore | undefined
  readonly dataFile?: string | undefined
  readonly log?: LogStoreOptions
}

/** True when a choice keeps state durably (the journal then waits for writes to mark entries durable). */
export function isDurable(choice: PersistenceChoice): boolean {
  return choice.store ? !(choice.store instanceof MemoryStore) : choice.dataFile !== undefined
}

/** Opens the chosen store and loads what it holds into the targets. */
export async function openPersistence(
  choice: PersistenceChoice,
  targets: PersistenceTargets,
): Promise<Persistence> {
  if (choice.store && !(choice.store instanceof MemoryStore)) {
    return SnapshotPersistence.open(choice.store, targets)
  }
  if (!choice.store && choice.dataFile !== undefined) {
    const { store, report } = await LogStore.open(choice.dataFile, targets, {
      ...choice.log,
      logger: targets.logger,
    })
    targets.journal.setArchive(store)
    return new LogPersistence(store, report, targets)
  }
  return MEMORY
}

const MEMORY: Persistence = {
  description: 'memory',
  durable: false,
  recovery: null,
  groupsInFlight: 1,
  write: () => Promise.resolve(),
  compact: () => Promise.resolve(),
  stats: () => null,
  close: () => Promise.resolve(),
}

/** A custom store that saves the whole state each time (format `conax-sim/1`). */
class SnapshotPersistence implements Persistence {
  readonly durable = true
  readonly recovery = null
  // Whole snapshots saved by a store of unknown make: one at a time, so they land in order.
  readonly groupsInFlight = 1
  readonly description: string
  private readonly store: SimulatorStore
  private readonly targets: PersistenceTargets

  private constructor(store: SimulatorStore, targets: PersistenceTargets) {
    this.store = store
    this.targets = targets
    this.description = store.description
  }

  /** Loads what the store holds; a damaged store is refused before anything is loaded. */
  static async open(store: SimulatorStore, targets: PersistenceTargets): Promise<Persistence> {
    const stored = await store.load()
    if (stored !== null && stored !== undefined) {
      const checked = checkStoredSnapshot(stored)
      if (!checked.ok) {
        throw unreadableStore(store.description, checked.problem)
      }
      targets.state.loadSnapshot(checked.snapshot.model)
      targets.journal.loadSnapshot(checked.snapshot.journal)
      targets.replays.loadSnapshot(checked.snapshot.replays)
    }
    return new SnapshotPersistence(store, targets)
  }

  write(): Promise<void> {
    const { journal, replays } = this.targets
    const pending = journal.pending()
    // The whole state goes into each save: the records made only need to be let go of.
    replays.takePending()
    return this.store.save(this.snapshot()).then(() => {
      journal.markDurable(pending.entries.at(-1)?.seq ?? 0, pending.floor)
    })
  }

  compact(): Promise<void> {
    return Promise.resolve()
  }

  stats(): null {
    return null
  }

  close(): Promise<void> {
    return Promise.resolve()
  }

  private snapshot(): SimulatorSnapshot {
    const { state, journal, replays, now } = this.targets
    return {
      format: SNAPSHOT_FORMAT,
      savedAt: now().toISOString(),
      model: state.toSnapshot(),
      journal: journal.toSnapshot(),
      replays: replays.toSnapshot(),
    }
  }
}

/** The log store of `dataFile`: one log line per commit group, snapshots in the background. */
class LogPersistence implements Persistence {
  readonly durable = true
  readonly groupsInFlight = 2
  readonly description: string
  readonly recovery: RecoveryReport
  private readonly store: LogStore
  private readonly targets: PersistenceTargets
  /**
   * What the writes in flight carry of the journal (not yet durable, so the journal's pending
   * part still holds it): the last seq and the reset floor. Null when nothing is in flight, or a
   * write failed: the failed entries, amended, are carried again by the next write.
   */
  private taken: { seq: number; floor: number | null } | null = null

  constructor(store: LogStore, recovery: RecoveryReport, targets: PersistenceTargets) {
    this.store = store
    this.recovery = recovery
    this.targets = targets
    this.description = store.description
  }

  write(from: number): Promise<void> {
    const { state, journal, replays } = this.targets
    const redo = buildRedo(state, state.undoPosition(), from)
    const pending = this.untaken(journal.pending())
    const records = replays.takePending()
    const group = this.store.nextGroup()
    const empty =
      redo === null &&
      pending.entries.length === 0 &&
      pending.floor === null &&
      records.length === 0
    const capture = this.store.wantsCompaction() ? this.capture(empty ? group - 1 : group) : null
    if (empty) {
      // Nothing to write, but the writes in flight must still be durable before this one is.
      const earlier = this.store.whenDurable(group - 1)
      if (capture) {
        this.store.startCompaction(capture.state, earlier, capture.release)
      }
      return earlier
    }
    const line = encodeGroup(group, pending, records, redo)
    const written = this.store.append(line, group, pending.entries[0]?.seq ?? null)
    if (capture) {
      this.store.startCompaction(capture.state, written, capture.release)
    }
    return this.track(written, pending)
  }

  /**
   * Notes what a write in flight carries of the journal; once it is durable, marks its entries
   * (and reset floor) durable. A failed write takes nothing: the next write carries it again.
   */
  private track(written: Promise<void>, pending: ReturnType<Journal['pending']>): Promise<void> {
    const { journal } = this.targets
    const lastSeq = pending.entries.at(-1)?.seq ?? this.taken?.seq ?? journal.durableSeq()
    const taken = { seq: lastSeq, floor: pending.floor ?? this.taken?.floor ?? null }
    this.taken = taken
    return written.then(
      () => {
        journal.markDurable(lastSeq, pending.floor)
        if (this.taken === taken) {
          this.taken = null
        }
      },
      (error: unknown) => {
        this.taken = null
        throw error
      },
    )
  }

  /** The journal's pending part less what the writes in flight already carry. */
  private untaken(pending: ReturnType<Journal['pending']>): ReturnType<Journal['pending']> {
    const taken = this.taken
    if (taken === null) {
      return pending
    }
    const first = pending.entries.findIndex((entry) => entry.seq > taken.seq)
    return {
      entries: first === -1 ? [] : pending.entries.slice(first),
      floor: pending.floor === taken.floor ? null : pending.floor,
    }
  }

  async compact(trigger: () => Promise<void>): Promise<void> {
    await this.store.idle()
    const done = this.store.requestCompaction()
    await trigger()
    await done
  }

  stats(): LogStoreStats {
    return this.store.stats()
  }

  close(): Promise<void> {
    return this.store.close()
  }

  /** The state at the end of group `position`, kept readable (copy on write) until released. */
  private capture(position: number): { state: StateCapture; release: () => void } {
    const { state, journal, replays, now } = this.targets
    const model = state.beginCapture()
    return {
      state: {
        position,
        savedAt: now().toISOString(),
        model,
        journal: journal.toSnapshot(),
        replays: replays.capture(),
      },
      release: () => state.endCapture(model),
    }
  }
}

/** The log line of commit group `group`. */
function encodeGroup(
  group: number,
  pending: ReturnType<Journal['pending']>,
  records: readonly ReplayRecord[],
  redo: RedoRecord | null,
): Buffer {
  const { entries } = pending
  // The first seq and the count come first, so a reader finds them at the line's start.
  return encodeLine(
    {
      g: group,
      ...(entries.length > 0 ? { s: entries[0]?.seq ?? 0, n: entries.length } : {}),
      ...(pending.floor === null ? {} : { x: pending.floor }),
      ...(records.length > 0 ? { r: records } : {}),
      ...(redo === null
        ? {}
        : { ...(redo.messages.length > 0 ? { m: redo.messages } : {}), o: redo.ops }),
    },
    entries,
  )
}
