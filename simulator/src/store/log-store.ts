import {
  open,
  readdir,
  readFile,
  rename,
  stat,
  unlink,
  writeFile,
  type FileHandle,
} from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import type { CaState } from '../model/ca-state.js'
import { applyRedo, RedoError } from '../model/redo.js'
import type { Journal, JournalArchive, JournalEntry } from '../runtime/journal.js'
import type { ReplayCache } from '../runtime/replay-cache.js'
import { SimulatorError } from '../runtime/simulator-error.js'
import { decodeLine, journalSpanOf, readLines, type GroupState, type RawLine } from './log-lines.js'
import { readSnapshotFile, writeSnapshotFile, type StateCapture } from './snapshot-file.js'
import { checkStoredSnapshot } from './snapshot-schema.js'
import { checkFolder, errorCode, oneLine, unreadableStore } from './store-files.js'

/**
 * The simulator's durable store with `--data <file>` (docs/decisions/0013): a snapshot file
 * (`<file>`, format `conax-sim/2`, or a `conax-sim/1` file of an earlier version) and an
 * append-only log of commit groups in segments next to it (`<file>.<first group>.log`).
 *
 * Start = load the snapshot, then replay the log lines after its position. A commit group is one
 * line, written with one `write` and, with `fsync: 'group'`, one `fdatasync` before the group is
 * acknowledged. When the log since the snapshot passes `compactAtBytes`, a new snapshot is written
 * in the background from a capture of one group's end (temp file, fsync, rename, fsync of the
 * folder), new groups go to a new segment, and segments the snapshot covers are kept as the
 * journal's archive up to `journalRetainBytes`, oldest deleted first.
 */

/** `group`: fdatasync every commit group before acknowledging it; `never`: leave it to the OS. */
export type FsyncMode = 'group' | 'never'

/** The points of a compaction a test can stop at (a crash there must leave a loadable store). */
export const COMPACTION_POINTS = [
  'segment-created',
  'snapshot-written',
  'before-rename',
  'after-rename',
  'after-folder-sync',
  'segment-deleted',
] as const
export type CompactionPoint = (typeof COMPACTION_POINTS)[number]

export const DEFAULT_COMPACT_AT_BYTES = 64 * 1024 * 1024
export const DEFAULT_JOURNAL_RETAIN_BYTES = 64 * 1024 * 1024

/** How a {@link LogStore} works. */
export interface LogStoreOptions {
  /** Create the folder of the file when it is missing (default false: STORE_FOLDER_MISSING). */
  readonly createFolder?: boolean
  readonly fsync?: FsyncMode
  /** Compact when the log since the snapshot reaches this many bytes (default 64 MiB). */
  readonly compactAtBytes?: number
  /** Bytes of log segments older than the snapshot kept as the journal's archive (default 64 MiB). */
  readonly journalRetainBytes?: number
  readonly logger?: Logger
  /** Test hook: awaited at each point of a compaction (a promise that never settles stops it there). */
  readonly onCompactionPoint?: (point: CompactionPoint) => Promise<void> | void
}

/** What the store loads into and replays into. */
export interface StoreTargets {
  readonly state: CaState
  readonly journal: Journal
  readonly replays: ReplayCache
}

/** Bytes dropped from the log's tail at start: a group cut short by a crash, or a damaged one. */
export interface RepairedTail {
  readonly file: string
  readonly from: number
  readonly to: number
  readonly bytes: number
  readonly reason: string
}

/** What {@link LogStore.open} found and did. */
export interface RecoveryReport {
  /** The snapshot's format, or null when there was none. */
  readonly snapshotFormat: string | null
  /** The last group the snapshot holds. */
  readonly position: number
  readonly groupsReplayed: number
  readonly bytesReplayed: number
  readonly repaired: readonly RepairedTail[]
  /** The pid of a dead process whose lock file was taken over, or null. */
  readonly staleLockPid: number | null
  readonly durationMs: number
}

/** Figures of the store for `/admin/stats`. */
export interface LogStoreStats {
  readonly fsync: FsyncMode
  readonly snapshotPosition: number
  readonly lastGroup: number
  readonly segments: number
  readonly logBytesSinceSnapshot: number
  readonly archivedBytes: number
  readonly compactions: number
  readonly compacting: boolean
  readonly lastCompaction: {
    readonly position: number
    readonly snapshotBytes: number
    readonly durationMs: number
    readonly longestChunkMs: number
  } | null
}

interface IndexPoint {
  readonly offset: number
  readonly seq: number
}

/** One log file: the groups from `first` on, `size` bytes of whole lines. */
interface Segment {
  readonly first: number
  readonly path: string
  size: number
  /** Sparse seq index of lines with journal entries; null until built (archived segments). */
  index: IndexPoint[] | null
  firstSeq: number | null
}

/** How far a replay got: the next group due, and what it replayed and repaired. */
interface ReplayProgress {
  expected: number
  groupsReplayed: number
  bytesReplayed: number
  readonly repaired: RepairedTail[]
  /** The journal parts of the newest groups, enough to fill memory's journal, oldest first. */
  readonly journalTail: Buffer[]
  readonly journalCounts: number[]
  journalTailCount: number
}

const INDEX_SPACING = 64 * 1024
const GROUP_DIGITS = 12

/** The durable store of one `--data` file. */
export class LogStore implements JournalArchive {
  readonly description: string
  private readonly file: string
  private readonly fsync: FsyncMode
  private readonly compactAt: number
  private readonly retain: number
  private readonly logger: Logger | undefined
  private readonly hook: ((point: CompactionPoint) => Promise<void> | void) | undefined

  private segments: Segment[] = []
  private active: FileHandle | null = null
  private lastGroup: number
  private snapshotPosition: number
  /** Bytes of log lines appended (or replayed) since the start, and the count at the snapshot. */
  private appended = 0
  private appendedAtSnapshot = 0
  private rotateAt: number | null = null
  private broken: Error | null = null
  private closing = false
  private compacting: Promise<void> | null = null
  private compactionMark: { group: number; bytes: number | null } | null = null
  private forced: { promise: Promise<void>; resolve: () => void } | null = null
  private retryAtBytes = 0
  private compactions = 0
  private lastCompaction: LogStoreStats['lastCompaction'] = null

  private constructor(file: string, position: number, options: LogStoreOptions) {
    this.file = file
    this.description = file
    this.fsync = options.fsync ?? 'group'
    this.compactAt = options.compactAtBytes ?? DEFAULT_COMPACT_AT_BYTES
    this.retain = options.journalRetainBytes ?? DEFAULT_JOURNAL_RETAIN_BYTES
    this.logger = options.logger
    this.hook = options.onCompactionPoint
    this.snapshotPosition = position
    this.lastGroup = position
  }

  /**
   * Opens the store of `file`: takes its lock, loads its snapshot and replays its log into
   * `targets`. A tail cut short by a crash (or damaged) is truncated away and reported; damage
   * followed by whole lines, a missing segment or a snapshot that does not check is refused
   * (STORE_LOG_CORRUPT, STORE_UNREADABLE) with the files untouched.
   */
  static async open(
    file: string,
    targets: StoreTargets,
    options: LogStoreOptions = {},
  ): Promise<{ store: LogStore; report: RecoveryReport }> {
    const started = performance.now()
    const path = resolve(file)
    await checkFolder(path, options.createFolder ?? false)
    const staleLockPid = await takeLock(path)
    try {
      const data = await readSnapshotFile(path)
      let position = 0
      let snapshotFormat: string | null = null
      if (data !== null) {
        const checked = checkStoredSnapshot(data)
        if (!checked.ok) {
          throw unreadableStore(path, checked.problem)
        }
        const { snapshot } = checked
        targets.state.loadSnapshot(snapshot.model, { owned: true })
        targets.journal.loadSnapshot(snapshot.journal)
        targets.replays.loadSnapshot(snapshot.replays)
        position = snapshot.position
        snapshotFormat = snapshot.format
      }
      const store = new LogStore(path, position, options)
      const replayed = await store.replay(targets)
      await removeLeftover(`${path}.compact.tmp`, options.logger)
      const report: RecoveryReport = {
        snapshotFormat,
        position,
        ...replayed,
        staleLockPid,
        durationMs: performance.now() - started,
      }
      return { store, report }
    } catch (error) {
      await unlink(lockPath(path)).catch(() => undefined)
      throw error
    }
  }

  // ----- start: replaying the log --------------------------------------------------------------

  private async replay(
    targets: StoreTargets,
  ): Promise<Pick<RecoveryReport, 'groupsReplayed' | 'bytesReplayed' | 'repaired'>> {
    const segments = await this.listSegments()
    const after = this.snapshotPosition
    // The segment holding the first group after the snapshot; those before it are the archive.
    let from = 0
    segments.forEach((segment, i) => {
      if (segment.first <= after + 1) {
        from = i
      }
    })
    const firstLive = segments[from]
    if (firstLive !== undefined && firstLive.first > after + 1) {
      throw this.corrupt(
        `the snapshot holds groups up to ${after}, but the log starts at group ${firstLive.first} (${firstLive.path}): groups ${after + 1} to ${firstLive.first - 1} are missing`,
        'Restore the missing segment files, or move the log files away to start from the snapshot alone (losing the changes after it).',
      )
    }
    const progress: ReplayProgress = {
      expected: firstLive?.first ?? after + 1,
      groupsReplayed: 0,
      bytesReplayed: 0,
      repaired: [],
      journalTail: [],
      journalCounts: [],
      journalTailCount: 0,
    }
    for (let i = from; i < segments.length; i++) {
      const segment = segments[i] as Segment
      if (segment.first !== progress.expected) {
        throw this.corrupt(
          `${segment.path} starts at group ${segment.first}, but the segment before it ends at group ${progress.expected - 1}`,
          'Restore the missing segment file (or remove a stray one that does not belong to this store).',
        )
      }
      await this.replaySegment(segment, i === segments.length - 1, targets, progress)
    }
    for (const part of progress.journalTail) {
      for (const entry of JSON.parse(part.toString('utf8')) as JournalEntry[]) {
        targets.journal.restore(entry)
      }
    }
    this.segments = segments
    this.lastGroup = Math.max(progress.expected - 1, after)
    this.appended = progress.bytesReplayed
    if (progress.expected <= after) {
      // The log ends before the snapshot's position (its tail was lost): the next group must
      // not follow the log's last one, but the snapshot's.
      this.rotateAt = after + 1
    }
    const { groupsReplayed, bytesReplayed, repaired } = progress
    return { groupsReplayed, bytesReplayed, repaired }
  }

  /** Replays one segment's groups after the snapshot; the last segment stays open for appends. */
  private async replaySegment(
    segment: Segment,
    last: boolean,
    targets: StoreTargets,
    progress: ReplayProgress,
  ): Promise<void> {
    const file = await open(segment.path, last ? 'r+' : 'r')
    try {
      const size = (await file.stat()).size
      segment.index = []
      const valid = await this.replayLines(file, { segment, size, last }, targets, progress)
      if (valid < size) {
        await file.truncate(valid)
        await file.datasync()
        this.logger?.warn(
          { file: segment.path, from: valid, to: size, bytes: size - valid },
          'simulator store: dropped an incomplete or damaged tail of the log',
        )
      }
      segment.size = valid
      if (last) {
        this.active = file
      }
    } finally {
      // The last segment stays open only when it was read through; a failed start closes it.
      if (this.active !== file) {
        await file.close()
      }
    }
  }

  /** Replays a segment's lines; answers the size of its whole, right lines. */
  private async replayLines(
    file: FileHandle,
    at: { readonly segment: Segment; readonly size: number; readonly last: boolean },
    targets: StoreTargets,
    progress: ReplayProgress,
  ): Promise<number> {
    const { segment, size } = at
    const lines = readLines(file, 0, size)
    for await (const line of lines) {
      const decoded = line.complete
        ? decodeLine(line.bytes)
        : { ok: false as const, problem: 'it ends without a newline (a write cut short)' }
      if (!decoded.ok) {
        await this.badLine({ ...at, offset: line.offset, problem: decoded.problem }, lines)
        progress.repaired.push({
          file: segment.path,
          from: line.offset,
          to: size,
          bytes: size - line.offset,
          reason: decoded.problem,
        })
        return line.offset
      }
      if (decoded.group !== progress.expected) {
        throw this.corrupt(
          `${segment.path} holds group ${decoded.group} at byte ${line.offset}, where group ${progress.expected} was due`,
          'The log files do not belong together: restore them from one store.',
        )
      }
      addIndexPoint(segment, line.offset, line.bytes)
      if (decoded.group > this.snapshotPosition) {
        this.applyLine(targets, decoded, { path: segment.path, offset: line.offset }, progress)
        progress.groupsReplayed++
        progress.bytesReplayed += line.bytes.length + 1
      }
      progress.expected++
    }
    return size
  }

  /**
   * A line that is not whole and right: at the log's tail it is a write cut short (dropped); with
   * a whole line after it, it is damage in the middle, which is refused: dropping it would lose
   * acknowledged groups.
   */
  private async badLine(
    bad: {
      readonly segment: Segment
      readonly offset: number
      readonly size: number
      readonly problem: string
      readonly last: boolean
    },
    rest: AsyncGenerator<RawLine>,
  ): Promise<void> {
    const { segment, offset, size, problem } = bad
    const advice =
      'Nothing was changed. Restore the store from a backup, or cut the file at that byte (truncate -s <byte>) to drop that group and every later one.'
    if (!bad.last) {
      throw this.corrupt(
        `${segment.path} is damaged at byte ${offset} of ${size} (${problem}), and later segments follow it`,
        advice,
      )
    }
    for await (const line of rest) {
      if (line.complete && decodeLine(line.bytes).ok) {
        throw this.corrupt(
          `${segment.path} is damaged at byte ${offset} (${problem}), and whole groups follow it (at byte ${line.offset})`,
          advice,
        )
      }
    }
  }

  /**
   * Applies one group's state part, and keeps its journal part among the newest ones: only the
   * entries memory will hold are parsed, at the end of the replay.
   */
  private applyLine(
    targets: StoreTargets,
    line: { readonly state: Buffer; readonly journal: Buffer | null },
    at: { readonly path: string; readonly offset: number },
    progress: ReplayProgress,
  ): void {
    let group: GroupState
    try {
      group = JSON.parse(line.state.toString('utf8')) as GroupState
      applyRedo(targets.state, { messages: group.m ?? [], ops: group.o ?? [] })
    } catch (error) {
      throw this.corrupt(
        `the group at byte ${at.offset} of ${at.path} cannot be applied: ${error instanceof RedoError || error instanceof SyntaxError ? error.message : oneLine(error)}`,
        'The log does not fit the snapshot: restore both from one store.',
      )
    }
    if (group.x !== undefined) {
      targets.journal.restoreReset(group.x)
      targets.replays.clear()
      progress.journalTail.length = 0
      progress.journalCounts.length = 0
      progress.journalTailCount = 0
    }
    for (const record of group.r ?? []) {
      targets.replays.restore(record)
    }
    if (line.journal !== null && group.s !== undefined && group.n !== undefined) {
      targets.journal.restoreSeq(group.s + group.n - 1)
      progress.journalTail.push(line.journal)
      progress.journalCounts.push(group.n)
      progress.journalTailCount += group.n
      const keep = targets.journal.capacity()
      while (progress.journalTailCount - (progress.journalCounts[0] ?? 0) >= keep) {
        progress.journalTailCount -= progress.journalCounts.shift() ?? 0
        progress.journalTail.shift()
      }
    }
  }

  private corrupt(problem: string, advice: string): SimulatorError {
    return new SimulatorError(
      'STORE_LOG_CORRUPT',
      `Failed to open the simulator store ${this.file}: ${problem}. ${advice}`,
    )
  }

  private async listSegments(): Promise<Segment[]> {
    const prefix = `${basename(this.file)}.`
    const pattern = new RegExp(`^(\\d{${GROUP_DIGITS}})\\.log$`)
    const segments: Segment[] = []
    for (const name of await readdir(dirname(this.file))) {
      const first = name.startsWith(prefix)
        ? pattern.exec(name.slice(prefix.length))?.[1]
        : undefined
      if (first !== undefined) {
        const path = join(dirname(this.file), name)
        segments.push({
          first: Number(first),
          path,
          size: (await stat(path)).size,
          index: null,
          firstSeq: null,
        })
      }
    }
    return segments.sort((a, b) => a.first - b.first)
  }

  private segmentPath(first: number): string {
    return `${this.file}.${String(first).padStart(GROUP_DIGITS, '0')}.log`
  }

  // ----- commit groups -------------------------------------------------------------------------

  /** The number the next commit group gets. */
  nextGroup(): number {
    return this.lastGroup + 1
  }

  /**
   * Appends the line of commit group `group` (its bytes, newline included) and, with `fsync:
   * 'group'`, flushes it to disk; resolves once it is durable. A failed write is cut off the file
   * again (so the log stays whole) and rethrown; when even that fails, every later write fails.
   */
  async append(line: Buffer, group: number, firstSeq: number | null): Promise<void> {
    if (this.broken) {
      throw new Error(
        `the log could not be repaired after an earlier failed write (${this.broken.message}); restart the simulator`,
      )
    }
    if (group !== this.lastGroup + 1) {
      throw new Error(`group ${group} out of order: group ${this.lastGroup + 1} is due`)
    }
    if (this.rotateAt !== null && group >= this.rotateAt && this.segments.at(-1)?.first === group) {
      // The active segment starts with this very group (it was created, then the process
      // stopped before writing to it): it already is the new segment.
      this.rotateAt = null
    }
    if (this.active === null || (this.rotateAt !== null && group >= this.rotateAt)) {
      await this.startSegment(group)
    }
    const file = this.active as FileHandle
    const segment = this.segments.at(-1) as Segment
    const at = segment.size
    try {
      let written = 0
      while (written < line.length) {
        const { bytesWritten } = await file.write(
          line,
          written,
          line.length - written,
          at + written,
        )
        written += bytesWritten
      }
      if (this.fsync === 'group') {
        await file.datasync()
      }
    } catch (error) {
      try {
        await file.truncate(at)
      } catch (repair) {
        this.broken = repair instanceof Error ? repair : new Error(String(repair))
      }
      throw error
    }
    segment.size += line.length
    if (firstSeq !== null) {
      addPoint(segment, at, firstSeq)
    }
    this.lastGroup = group
    this.appended += line.length
    if (this.compactionMark?.group === group) {
      this.compactionMark.bytes = this.appended
    }
  }

  /** Closes the active segment and starts the next at `group` (its name says so). */
  private async startSegment(group: number): Promise<void> {
    const path = this.segmentPath(group)
    const file = await open(path, 'wx+')
    const previous = this.active
    this.active = file
    this.rotateAt = null
    this.segments.push({ first: group, path, size: 0, index: [], firstSeq: null })
    await previous?.close()
    await this.syncFolder()
    await this.hook?.('segment-created')
  }

  private async syncFolder(): Promise<void> {
    const folder = await open(dirname(this.file), 'r')
    try {
      await folder.sync()
    } finally {
      await folder.close()
    }
  }

  // ----- compaction ----------------------------------------------------------------------------

  /** True when the next commit group should capture the state for a new snapshot. */
  wantsCompaction(): boolean {
    if (this.compacting || this.broken || this.closing) {
      return false
    }
    const since = this.appended - this.appendedAtSnapshot
    return this.forced !== null || (since >= this.compactAt && this.appended >= this.retryAtBytes)
  }

  /**
   * Asks for a compaction at the next commit group (or now, if idle: call the writer); resolves
   * when it has finished.
   */
  requestCompaction(): Promise<void> {
    if (this.broken || this.closing) {
      return Promise.resolve()
    }
    if (this.forced === null) {
      let resolve!: () => void
      const promise = new Promise<void>((ok) => (resolve = ok))
      this.forced = { promise, resolve }
    }
    return this.forced.promise
  }

  /** Resolves when no compaction is running. */
  async idle(): Promise<void> {
    while (this.compacting) {
      await this.compacting
    }
  }

  /**
   * Writes a snapshot of `capture` in the background. `committed` resolves when the group the
   * capture was taken at is durable (rejects if its write failed: the compaction is abandoned).
   * New groups go to a new segment from the group after the capture on.
   */
  startCompaction(capture: StateCapture, committed: Promise<void>, release: () => void): void {
    const forced = this.forced
    this.forced = null
    this.rotateAt = capture.position + 1
    this.compactionMark =
      capture.position === this.lastGroup
        ? { group: capture.position, bytes: this.appended }
        : { group: capture.position, bytes: null }
    this.compacting = this.compact(capture, committed)
      .catch((error: unknown) => {
        if (!this.closing) {
          this.retryAtBytes = this.appended + Math.ceil(this.compactAt / 4)
          this.logger?.error(
            { err: error, store: this.file },
            'simulator store: compaction failed; the log goes on growing and it is tried again later',
          )
        }
      })
      .finally(() => {
        release()
        this.compacting = null
        this.compactionMark = null
        forced?.resolve()
      })
  }

  private async compact(capture: StateCapture, committed: Promise<void>): Promise<void> {
    const started = performance.now()
    const temp = `${this.file}.compact.tmp`
    try {
      const written = await writeSnapshotFile(temp, capture, () => this.closing)
      await this.hook?.('snapshot-written')
      await committed
      await this.hook?.('before-rename')
      await rename(temp, this.file)
      await this.hook?.('after-rename')
      await this.syncFolder()
      await this.hook?.('after-folder-sync')
      this.snapshotPosition = capture.position
      this.appendedAtSnapshot = this.compactionMark?.bytes ?? this.appended
      this.compactions++
      this.lastCompaction = {
        position: capture.position,
        snapshotBytes: written.bytes,
        durationMs: performance.now() - started,
        longestChunkMs: written.longestChunkMs,
      }
      this.logger?.info(
        { store: this.file, ...this.lastCompaction },
        'simulator store: snapshot written, log compacted',
      )
      await this.applyRetention()
    } catch (error) {
      await unlink(temp).catch(() => undefined)
      throw error
    }
  }

  /** Deletes the oldest segments the snapshot covers while they hold more than the retention. */
  private async applyRetention(): Promise<void> {
    const covered = (i: number): boolean =>
      (this.segments[i + 1]?.first ?? Number.POSITIVE_INFINITY) <= this.snapshotPosition + 1
    let archived = 0
    for (let i = 0; i < this.segments.length && covered(i); i++) {
      archived += this.segments[i]?.size ?? 0
    }
    while (archived > this.retain && this.segments.length > 1 && covered(0)) {
      const oldest = this.segments[0] as Segment
      await unlink(oldest.path).catch((error: unknown) => {
        if (errorCode(error) !== 'ENOENT') {
          throw error
        }
      })
      this.segments.shift()
      archived -= oldest.size
      await this.hook?.('segment-deleted')
    }
  }

  // ----- the journal's archive -----------------------------------------------------------------

  async oldestSeq(): Promise<number | null> {
    for (const segment of [...this.segments]) {
      await this.indexed(segment)
      if (segment.firstSeq !== null) {
        return segment.firstSeq
      }
    }
    return null
  }

  async scan(from: number, visit: (entry: JournalEntry) => boolean): Promise<void> {
    const segments = [...this.segments]
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i] as Segment
      const next = segments[i + 1]
      if (next !== undefined) {
        await this.indexed(next)
        if (next.firstSeq !== null && next.firstSeq <= from) {
          continue
        }
      }
      const index = await this.indexed(segment)
      let start = 0
      for (const point of index) {
        if (point.seq > from) {
          break
        }
        start = point.offset
      }
      if (!(await this.scanSegment(segment, start, from, visit))) {
        return
      }
    }
  }

  /** Visits the entries of one segment from `start`; false once `visit` said stop (or it is gone). */
  private async scanSegment(
    segment: Segment,
    start: number,
    from: number,
    visit: (entry: JournalEntry) => boolean,
  ): Promise<boolean> {
    const end = segment.size
    let file: FileHandle
    try {
      file = await open(segment.path, 'r')
    } catch (error) {
      if (errorCode(error) === 'ENOENT') {
        return false
      }
      throw error
    }
    try {
      for await (const line of readLines(file, start, end)) {
        const span = journalSpanOf(line.bytes)
        if (span === null || span.first + span.count <= from) {
          continue
        }
        const decoded = decodeLine(line.bytes)
        if (!decoded.ok || !line.complete || decoded.journal === null) {
          throw new SimulatorError(
            'JOURNAL_UNREADABLE',
            `Failed to read the journal from ${segment.path}: the line at byte ${line.offset} is damaged (${decoded.ok ? 'cut short or without its journal part' : decoded.problem}). Entries before it may be read with a lower limit; restore the file from a backup.`,
          )
        }
        const entries = JSON.parse(decoded.journal.toString('utf8')) as JournalEntry[]
        if (!entries.every((entry) => entry.seq < from || visit(entry))) {
          return false
        }
      }
      return true
    } finally {
      await file.close()
    }
  }

  /** The segment's seq index, built by reading it once if it was not replayed at start. */
  private async indexed(segment: Segment): Promise<readonly IndexPoint[]> {
    if (segment.index !== null) {
      return segment.index
    }
    const index: IndexPoint[] = []
    segment.index = index
    let file: FileHandle
    try {
      file = await open(segment.path, 'r')
    } catch (error) {
      if (errorCode(error) === 'ENOENT') {
        return index
      }
      throw error
    }
    try {
      const size = (await file.stat()).size
      segment.size = size
      for await (const line of readLines(file, 0, size)) {
        addIndexPoint(segment, line.offset, line.bytes)
      }
    } finally {
      await file.close()
    }
    return index
  }

  // ----- life ----------------------------------------------------------------------------------

  stats(): LogStoreStats {
    const covered = (i: number): boolean =>
      (this.segments[i + 1]?.first ?? Number.POSITIVE_INFINITY) <= this.snapshotPosition + 1
    return {
      fsync: this.fsync,
      snapshotPosition: this.snapshotPosition,
      lastGroup: this.lastGroup,
      segments: this.segments.length,
      logBytesSinceSnapshot: this.appended - this.appendedAtSnapshot,
      archivedBytes: this.segments.reduce((sum, s, i) => sum + (covered(i) ? s.size : 0), 0),
      compactions: this.compactions,
      compacting: this.compacting !== null,
      lastCompaction: this.lastCompaction,
    }
  }

  /** Abandons a running compaction (its temp file is removed), closes the log and frees the lock. */
  async close(): Promise<void> {
    this.closing = true
    await this.compacting
    await this.active?.close()
    this.active = null
    await unlink(lockPath(this.file)).catch(() => undefined)
  }
}

function lockPath(file: string): string {
  return `${file}.lock`
}

/**
 * Takes `<file>.lock` (holding this process's pid): two simulators appending to one log would
 * interleave their groups. A lock whose process is gone (killed) is taken over; its pid is
 * returned.
 */
async function takeLock(file: string): Promise<number | null> {
  const path = lockPath(file)
  let stale: number | null = null
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' })
      return stale
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') {
        throw lockError(file, path, error)
      }
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim())
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
      throw new SimulatorError(
        'STORE_LOCKED',
        `Failed to open the simulator store ${file}: process ${holder} holds it (${path}). Two simulators must not share a --data file: stop the other one, or point this one at another file. If no simulator runs with that pid, delete ${path}.`,
      )
    }
    stale = Number.isInteger(holder) && holder > 0 ? holder : null
    await unlink(path).catch(() => undefined)
  }
  throw lockError(file, path, new Error('another process took it at the same moment'))
}

function lockError(file: string, path: string, error: unknown): SimulatorError {
  return new SimulatorError(
    'STORE_LOCKED',
    `Failed to lock the simulator store ${file} (${path}): ${oneLine(error)}. Check the folder's permissions, or delete ${path} if no simulator uses this store.`,
    { cause: error },
  )
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) {
    return true
  }
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errorCode(error) === 'EPERM'
  }
}

async function removeLeftover(path: string, logger: Logger | undefined): Promise<void> {
  try {
    await stat(path)
  } catch {
    return
  }
  await unlink(path)
  logger?.info({ file: path }, 'simulator store: removed the temp file of an unfinished compaction')
}

function addIndexPoint(segment: Segment, offset: number, bytes: Buffer): void {
  const span = journalSpanOf(bytes)
  if (span !== null) {
    addPoint(segment, offset, span.first)
  }
}

function addPoint(segment: Segment, offset: number, seq: number): void {
  segment.firstSeq ??= seq
  const index = segment.index
  if (
    index !== null &&
    (index.length === 0 || offset - (index.at(-1) as IndexPoint).offset >= INDEX_SPACING)
  ) {
    index.push({ offset, seq })
  }
}
