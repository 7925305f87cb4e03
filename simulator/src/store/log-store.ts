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
 * acknowledged. Groups are pipelined: the next group's line is written after the one before (so
 * lines stay in order) while that one is still being flushed, and a group is acknowledged only
 * once it and every group before it are durable. A group that fails is cut off the file again
 * together with every group written after it. When the log since the snapshot passes `compactAtBytes`, a new snapshot is written
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

/**
 * What the store does with the segment it appends to (a `FileHandle` does it): a seam where a
 * test makes a write or a flush fail or wait.
 */
export interface AppendFile {
  write(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesWritten: number }>
  datasync(): Promise<void>
  truncate(length: number): Promise<void>
  close(): Promise<void>
}

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
  /** Test hook: wraps each segment opened for appending (to make its writes or flushes fail). */
  readonly appendFile?: (file: AppendFile, path: string) => AppendFile
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
  private readonly wrap: (file: AppendFile, path: string) => AppendFile

  private segments: Segment[] = []
  private active: AppendFile | null = null
  /** The last durable group. */
  private lastGroup: number
  /** The last group handed to {@link append} (durable or in flight). */
  private assigned: number
  /** Where the next line goes in the active segment: after every line written, durable or not. */
  private writeEnd = 0
  /** The groups in flight: each resolves once it and every group before it are durable. */
  private readonly inFlight = new Map<number, Promise<void>>()
  /** Settles when the last line handed to {@link append} has been written (or abandoned). */
  private writes: Promise<void> = Promise.resolve()
  /** True once every group handed to {@link append} so far is written and flushed. */
  private flushes: Promise<boolean> = Promise.resolve(true)
  /** Counts failures: a group assigned before a failure that is not written yet is abandoned. */
  private epoch = 0
  /** Settles once every group in flight at the last failure has settled. */
  private draining: Promise<void> | null = null
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
    this.wrap = options.appendFile ?? ((file) => file)
    this.snapshotPosition = position
    this.lastGroup = position
    this.assigned = position
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
    this.assigned = this.lastGroup
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
    let kept = false
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
        this.active = this.wrap(file, segment.path)
        this.writeEnd = valid
        kept = true
      }
    } finally {
      // The last segment stays open only when it was read through; a failed start closes it.
      if (!kept) {
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

  /** The number the next commit group gets (the groups in flight count). */
  nextGroup(): number {
    return this.assigned + 1
  }

  /**
   * Resolves once group `group` and every group before it are durable; rejects if one of them
   * failed (and was cut off).
   */
  whenDurable(group: number): Promise<void> {
    if (group <= this.lastGroup) {
      return Promise.resolve()
    }
    return (
      this.inFlight.get(group) ??
      Promise.reject(new Error(`group ${group} was not stored: an earlier write failed`))
    )
  }

  /**
   * Appends the line of commit group `group` (its bytes, newline included) after the lines of
   * the groups in flight and, with `fsync: 'group'`, flushes it to disk; resolves once it and
   * every earlier group are durable. When a group's write or flush fails, the file is cut back
   * to that group's start (so the log stays whole and holds none of the failed group nor of the
   * groups after it), its promise rejects with the error, and so do those of the groups after
   * it; the next group takes the failed group's number. When even the cut fails, every later
   * write fails.
   */
  append(line: Buffer, group: number, firstSeq: number | null): Promise<void> {
    if (this.broken) {
      return Promise.reject(
        new Error(
          `the log could not be repaired after an earlier failed write (${this.broken.message}); restart the simulator`,
        ),
      )
    }
    if (this.draining) {
      // Not reached through the write coalescer, which waits for every group in flight to
      // settle after a failure before it hands in the next.
      return Promise.reject(
        new Error('an earlier write failed and the groups in flight are still being cut off'),
      )
    }
    if (group !== this.assigned + 1) {
      return Promise.reject(
        new Error(`group ${group} out of order: group ${this.assigned + 1} is due`),
      )
    }
    this.assigned = group
    const earlier = this.whenDurable(group - 1)
    // A rejection of `earlier` is this group's failure too, handled through `durable` below.
    earlier.catch(() => undefined)
    let flushed!: (ok: boolean) => void
    const own = new Promise<boolean>((resolve) => (flushed = resolve))
    const before = this.flushes
    this.flushes = Promise.all([before, own]).then(([a, b]) => a && b)
    const pass: GroupPass = { line, group, firstSeq, epoch: this.epoch, earlier, before, flushed }
    const written = this.writes.then(() => this.writeLine(pass))
    this.writes = written.then(
      () => undefined,
      () => undefined,
    )
    const durable = this.flushLine(written, pass)
    this.inFlight.set(group, durable)
    const forget = (): void => {
      if (this.inFlight.get(group) === durable) {
        this.inFlight.delete(group)
      }
    }
    durable.then(forget, forget)
    return durable
  }

  /**
   * Writes a group's line after every line written before it (writes run one at a time, so the
   * lines stay in order); answers where it went, or null when the group was abandoned because an
   * earlier one failed.
   */
  private async writeLine(pass: GroupPass): Promise<LinePlace | null> {
    const { line, group, epoch } = pass
    if (epoch !== this.epoch) {
      return null
    }
    if (this.rotateAt !== null && group >= this.rotateAt && this.segments.at(-1)?.first === group) {
      // The active segment starts with this very group (it was created, then the process
      // stopped before writing to it): it already is the new segment.
      this.rotateAt = null
    }
    if (this.active === null || (this.rotateAt !== null && group >= this.rotateAt)) {
      // A new segment starts only once the groups before it are flushed: a failed group is then
      // always cut off the active segment.
      if (!(await pass.before) || epoch !== this.epoch) {
        return null
      }
      try {
        await this.startSegment(group)
      } catch (error) {
        throw new LineFailed(error, this.active, this.writeEnd)
      }
    }
    const file = this.active as AppendFile
    const segment = this.segments.at(-1) as Segment
    const start = this.writeEnd
    try {
      let written = 0
      while (written < line.length) {
        const { bytesWritten } = await file.write(
          line,
          written,
          line.length - written,
          start + written,
        )
        written += bytesWritten
      }
    } catch (error) {
      throw new LineFailed(error, file, start)
    }
    this.writeEnd = start + line.length
    return { file, segment, start }
  }

  /** Flushes a written line, then waits for the groups before it: the group's durable promise. */
  private async flushLine(written: Promise<LinePlace | null>, pass: GroupPass): Promise<void> {
    const { line, group, firstSeq, earlier } = pass
    let at: LinePlace | null
    try {
      at = await written
      if (at !== null && this.fsync === 'group') {
        const { file, start } = at
        await file.datasync().catch((error: unknown) => {
          throw new LineFailed(error, file, start)
        })
      }
    } catch (error) {
      pass.flushed(false)
      if (!(error instanceof LineFailed)) {
        throw error
      }
      await this.cutOff(pass, error)
      throw error.cause
    }
    pass.flushed(at !== null)
    // An abandoned group (at === null) fails with the earlier group's error.
    await earlier
    if (at === null) {
      throw new Error(`group ${group} was not stored: an earlier write failed`)
    }
    // The group's own segment: a later group may already have started the next one.
    const { segment } = at
    segment.size = at.start + line.length
    if (firstSeq !== null) {
      addPoint(segment, at.start, firstSeq)
    }
    this.lastGroup = group
    this.appended += line.length
    if (this.compactionMark?.group === group) {
      this.compactionMark.bytes = this.appended
    }
  }

  /**
   * Cuts a failed group and every line written after it off the file. The cut runs in the
   * queue of writes, after every write already queued (the later groups' writes, abandoned if not
   * started) and before any write of a group that comes after the failure; the next group takes
   * the failed group's number.
   */
  private cutOff(pass: GroupPass, failure: LineFailed): Promise<void> {
    this.epoch++
    this.assigned = Math.min(this.assigned, pass.group - 1)
    // No group is handed in until every group in flight has settled: each failed one cuts the
    // file back to its start (the lowest start wins), and the next group starts afresh.
    const drain = Promise.allSettled([...this.inFlight.values()]).then(() => {
      if (this.draining === drain) {
        this.draining = null
        this.flushes = Promise.resolve(true)
      }
    })
    this.draining = drain
    const cut = this.writes.then(async () => {
      if (failure.file === null || failure.file !== this.active || failure.start >= this.writeEnd) {
        return
      }
      try {
        await failure.file.truncate(failure.start)
        this.writeEnd = failure.start
      } catch (repair) {
        this.broken = repair instanceof Error ? repair : new Error(String(repair))
      }
    })
    this.writes = cut
    return cut
  }

  /** Closes the active segment and starts the next at `group` (its name says so). */
  private async startSegment(group: number): Promise<void> {
    const path = this.segmentPath(group)
    const file = this.wrap(await open(path, 'wx+'), path)
    const previous = this.active
    this.active = file
    this.writeEnd = 0
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

/** One commit group on its way through {@link LogStore.append}. */
interface GroupPass {
  readonly line: Buffer
  readonly group: number
  readonly firstSeq: number | null
  /** The store's failure count when the group was handed in. */
  readonly epoch: number
  /** The groups before it are durable. */
  readonly earlier: Promise<void>
  /** The groups before it are written and flushed (false: one failed). */
  readonly before: Promise<boolean>
  /** Says whether this group's own write and flush succeeded. */
  readonly flushed: (ok: boolean) => void
}

/** Where a group's line went. */
interface LinePlace {
  readonly file: AppendFile
  readonly segment: Segment
  readonly start: number
}

/** A group's write or flush failed: where its line started, to cut it off again. */
class LineFailed extends Error {
  readonly file: AppendFile | null
  readonly start: number

  constructor(cause: unknown, file: AppendFile | null, start: number) {
    super(cause instanceof Error ? cause.message : String(cause), { cause })
    this.file = file
    this.start = start
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
