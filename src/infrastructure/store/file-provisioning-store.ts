/**
 * The provisioning store in files: a snapshot, an append-only log and archive files, with only
 * what is PENDING held in memory. docs/decisions/0015 explains the choices; src/README.md
 * ("Storage") is the operator's view.
 *
 * Files, for a store opened on `<file>` (the `--data` path):
 *
 * - `<file>`: the snapshot, JSON `{ format: "conax-adapter/2", group, logFrom, nextSequence,
 *   requestCount, archives, subscriptions, pending }`: every subscription and every PENDING
 *   request as of log group `group`, and the archive files holding the final ones.
 * - `<file>.d/log-NNNNNN.jsonl`: the log, from file `logFrom` on. One line per group commit,
 *   `<crc32> {"r":[requests],"L":[their byte lengths],"g":group,"q":next sequence number,
 *   "n":request count,"s":[[ordinal, subscription]]}`, with the full new version of every request
 *   and subscription the group changed. A line is acknowledged once written (and, with `fsync:
 *   'group'`, the default, fsynced).
 * - `<file>.d/archive-NNNNNN.jsonl`: final requests, one line each (`<crc32> <request>`), and a
 *   last line indexing them (archive-index.ts). Written whole by a compaction, then never changed.
 * - `<file>.lock`: the owning process (store-files.ts). `<file>.tmp`: a snapshot being written.
 *
 * Memory holds the subscriptions, the PENDING requests (and those whose change is not yet on
 * disk), the counters and the columns of request-columns.ts (about 40 bytes a request). A request
 * that becomes final is dropped from memory once its line is on disk; reading it reads its line.
 *
 * Opening = the archive indexes, then the snapshot, then the log replayed. A damaged last log line
 * (a torn or interrupted write: never an acknowledged one) is cut off with a warning naming the
 * bytes; a damaged line followed by intact ones is damage to acknowledged data and is refused
 * (STORE_CORRUPT), as is a log with groups missing. A `conax-adapter/1` file (the lowdb layout of
 * earlier versions) is converted once, its files kept beside it.
 *
 * Compaction: when the log file passes `compactBytes`, the group that passes it is the last of
 * that file (later groups go to a new file), and in the background the final requests whose
 * latest version is in the old files are copied to a new archive file, a snapshot as of that
 * group replaces `<file>` (temporary file, fsync, rename, folder fsync) and the old log files are
 * deleted. A crash at any point leaves a loadable set: until the rename, the old snapshot and
 * logs; after it, the new snapshot, with leftovers removed at the next open.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import {
  mkdir,
  open,
  readdir,
  readFile,
  rm,
  truncate,
  unlink,
  type FileHandle,
} from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type {
  CommitChange,
  Page,
  ProvisioningStore,
  RequestFilter,
  RequestUpdate,
  SubscriptionFilter,
} from '../../application/ports.js'
import type { Subscription } from '../../domain/crm.js'
import type {
  NewProvisioningRequest,
  ProvisioningRequest,
} from '../../domain/provisioning-request.js'
import { decodeArchiveIndex, encodeArchiveIndex, type ArchivedLine } from './archive-index.js'
import { replaceFile, syncFolder, type FsyncMode } from './durable-files.js'
import { GroupCommit } from './group-commit.js'
import {
  isLegacyStore,
  LEGACY_FORMAT,
  readLegacyStore,
  readStoreJson,
  refuseOrphanSegments,
  unreadable,
} from './legacy-store-v1.js'
import {
  encodeLine,
  isIntactLine,
  LINE_PREFIX_BYTES,
  scanLines,
  type IntactLine,
} from './log-lines.js'
import {
  checkSequenceRoom,
  freshSequenceOrigin,
  newRequest,
  partsOf,
  requestNotFound,
  requestNotPending,
  updatedRequest,
  withDefaults,
  type ProvisioningState,
} from './provisioning-state.js'
import { encodeGroup, parseGroup } from './log-group.js'
import { copyJson, deepFreeze, pageBounds } from './records.js'
import { keysOf, RequestColumns, type RequestKeys } from './request-columns.js'
import { LocalClaims } from './local-claims.js'
import { StoreError } from './store-error.js'
import { reason, releaseLock, StoreFileLife, takeLock } from './store-files.js'
import {
  archiveName,
  archiveNumber,
  checkSnapshot,
  emptySnapshot,
  isSnapshot,
  logName,
  parseJson,
  readSnapshotLines,
  snapshotChunks,
  STORE_FORMAT,
  type ArchiveRef,
  type Snapshot,
  type SnapshotContent,
} from './store-snapshot.js'
import { SubscriptionTable } from './subscription-table.js'

export { STORE_FORMAT } from './store-snapshot.js'

/** Steps of a compaction, for tests that crash the process there. */
export type CompactionStep =
  'rotated' | 'archive-written' | 'snapshot-temporary-written' | 'snapshot-renamed' | 'logs-deleted'

/** How the file store writes (tests use a tiny `compactBytes` to compact all the time). */
export interface FileStoreOptions {
  /** `group` (default): fsync each group commit before acknowledging it; `never`: leave it to the OS. */
  readonly fsync?: FsyncMode
  /** Log file size in bytes past which the store compacts (default 64 MiB). */
  readonly compactBytes?: number
  /** Told what opening repaired or converted (a cut-off torn line, an old-format file). */
  readonly onWarning?: (message: string) => void
  /** Called at each compaction step and awaited (tests crash the process there). */
  readonly onCompactionStep?: (step: CompactionStep) => void | Promise<void>
}

const DEFAULT_COMPACT_BYTES = 64 * 1024 * 1024
/** A location is a file id times this plus a byte offset (files stay below 64 GiB). */
const FILE_SPAN = 2 ** 36
/** Archived requests read and written per step of a compaction, between which other work runs. */
const COMPACTION_CHUNK = 512

const logFileId = (number: number): number => number * 2
const archiveFileId = (number: number): number => number * 2 + 1

interface LogFile {
  readonly number: number
  readonly path: string
  handle: FileHandle | null
  size: number
  /** Numbers of final requests whose line went into this file (compaction archives them). */
  readonly finals: number[]
}

interface StoreFile {
  readonly path: string
  /** Log files stay open while they are in use; archive files are opened when read (a few at a time). */
  fd: number | null
  readonly kind: 'log' | 'archive'
}

/** Archive files kept open for reads at once (the least recently opened is closed first). */
const OPEN_ARCHIVES = 32

/** A request as written in a group's line. */
interface WrittenRecord {
  readonly record: ProvisioningRequest
  readonly where: number
  readonly length: number
  readonly text: Buffer
}

/** A final request a compaction archives: its keys as of the compaction, and its bytes' place. */
interface CapturedFinal {
  readonly keys: RequestKeys
  readonly where: number
  readonly length: number
  /** Its JSON when it is in the group being written (not yet readable from the file). */
  readonly text: Buffer | null
}

/** The state as of one group, taken when that group is captured. */
interface Capture extends SnapshotContent {
  readonly finals: readonly CapturedFinal[]
  readonly logs: readonly LogFile[]
}

interface Batch {
  readonly group: number
  readonly log: LogFile
  readonly line: Buffer
  readonly records: readonly WrittenRecord[]
  readonly capture: Capture | null
}

function corrupt(file: string, why: string): StoreError {
  return new StoreError(
    'STORE_CORRUPT',
    `Failed to open the provisioning store ${file}: ${why}. Nothing was changed. Restore the store from a backup; or, to keep what precedes the damage, cut the named file where it says and start again (acknowledged changes after that point are then lost).`,
  )
}

/** The provisioning store in files (see the file comment). */
export class FileProvisioningStore implements ProvisioningStore {
  readonly description: string
  /** Claims of this process's dispatchers (see ProvisioningStore.claimRequests). */
  private readonly claims = new LocalClaims()
  private readonly path: string
  private readonly folder: string
  private readonly fsync: FsyncMode
  private readonly compactBytes: number
  private readonly options: FileStoreOptions
  private readonly life: StoreFileLife
  private readonly group: GroupCommit
  private readonly columns = new RequestColumns()
  private readonly subscriptions = new SubscriptionTable()
  /** PENDING requests, and any request whose latest change is not yet on disk. */
  private readonly records = new Map<number, ProvisioningRequest>()
  /** Numbers of PENDING requests; in number order unless `pendingSorted` is false. */
  private pending = new Set<number>()
  private pendingSorted = true
  private pendingMax = 0
  private readonly pendingByProcess = new Map<string, number>()
  /** Created requests whose commit is not yet on disk: delivery must not see them. */
  private readonly notDurable = new Set<number>()
  private readonly changedRequests = new Map<number, ProvisioningRequest>()
  private readonly changedSubscriptions = new Map<number, Subscription>()
  private readonly files = new Map<number, StoreFile>()
  /** Ids of the archive files open now, oldest first. */
  private readonly openArchives: number[] = []
  private logs: LogFile[] = []
  private archives: ArchiveRef[] = []
  private sequence = 1
  private requestCount = 0
  private lastGroup = 0
  private compaction: Promise<void> | null = null

  private constructor(path: string, options: FileStoreOptions) {
    this.path = path
    this.description = path
    this.folder = `${path}.d`
    this.options = options
    this.fsync = options.fsync ?? 'group'
    this.compactBytes = options.compactBytes ?? DEFAULT_COMPACT_BYTES
    this.life = new StoreFileLife(path, 'provisioning store', 'FileProvisioningStore.open')
    this.group = new GroupCommit((durable) => this.writeCycle(durable))
  }

  /**
   * Opens the store in `file`, creating its folder and an empty store if the file does not exist,
   * converting a `conax-adapter/1` store. Refuses (leaving every file untouched, no lock left) a
   * store another process holds (STORE_LOCKED), a file that is not a store (STORE_UNREADABLE)
   * and damage that a torn write cannot explain (STORE_CORRUPT).
   */
  static async open(file: string, options: FileStoreOptions = {}): Promise<FileProvisioningStore> {
    const path = resolve(file)
    await mkdir(dirname(path), { recursive: true })
    await takeLock(`${path}.lock`, 'provisioning store')
    const store = new FileProvisioningStore(path, options)
    try {
      await store.load()
    } catch (error) {
      await store.closeFiles()
      await releaseLock(`${path}.lock`)
      throw error
    }
    return store
  }

  // ----- changes ---------------------------------------------------------------------------

  async commit(change: CommitChange, now: string): Promise<readonly ProvisioningRequest[]> {
    this.life.assertWritable()
    this.subscriptions.checkCommit(change)
    checkSequenceRoom(this.sequence, change.requests.length)
    if (change.subscription !== undefined) {
      const placed = this.subscriptions.upsert(change.subscription)
      this.changedSubscriptions.set(placed.ordinal, placed.subscription)
    }
    const created = this.create(change.requests, now)
    // The records are frozen: handed over as they are, as updateRequest does (no copy per request).
    return this.durably(created, () => created)
  }

  async updateRequest(
    id: string,
    update: RequestUpdate,
    now: string,
  ): Promise<ProvisioningRequest> {
    this.life.assertWritable()
    const current = this.findById(id)
    if (current === undefined) {
      throw requestNotFound(id)
    }
    const updated = updatedRequest(current, update, now)
    this.change(updated)
    this.claims.end(id)
    await this.group.request()
    // Frozen (records are replaced, never changed in place): delivery updates every request, and
    // a copy of each would cost more than the rest of the store's work.
    return updated
  }

  async splitRequest(
    id: string,
    update: RequestUpdate,
    parts: readonly NewProvisioningRequest[],
    now: string,
  ): Promise<{ parent: ProvisioningRequest; children: readonly ProvisioningRequest[] }> {
    this.life.assertWritable()
    const current = this.findById(id)
    if (current === undefined) {
      throw requestNotFound(id)
    }
    if (current.lifeCycleState !== 'PENDING') {
      throw requestNotPending(current)
    }
    checkSequenceRoom(this.sequence, parts.length)
    const numbers = parts.map((_part, offset) => String(this.requestCount + 1 + offset))
    const parent = updatedRequest(current, { ...update, lifeCycleState: 'REJECTED' }, now, numbers)
    this.change(parent)
    this.claims.end(id)
    // Parent and parts go into the same group: one line makes both durable.
    const children = this.create(partsOf(parent, parts), now)
    return this.durably(children, () => ({
      parent: copyJson(parent),
      children: children.map(copyJson),
    }))
  }

  /** Waits for the group carrying `created`, which delivery does not see until then. */
  private async durably<T>(created: readonly ProvisioningRequest[], answer: () => T): Promise<T> {
    for (const request of created) {
      this.notDurable.add(Number(request.number))
    }
    try {
      await this.group.request()
    } finally {
      for (const request of created) {
        this.notDurable.delete(Number(request.number))
      }
    }
    return answer()
  }

  private create(requests: readonly NewProvisioningRequest[], now: string): ProvisioningRequest[] {
    return requests.map((given) => {
      this.requestCount += 1
      const created = deepFreeze(newRequest(given, String(this.requestCount), this.sequence, now))
      this.sequence += 1
      this.change(created)
      return created
    })
  }

  /** Takes a new version of a request into memory and into the next group. */
  private change(record: ProvisioningRequest): void {
    this.place(record, null)
    this.changedRequests.set(Number(record.number), record)
  }

  /**
   * Makes `record` the latest version of its number: in memory while it is PENDING or not yet on
   * disk (`at` null), else only its place on disk.
   */
  private place(
    record: ProvisioningRequest,
    at: { readonly where: number; readonly length: number } | null,
  ): void {
    const n = Number(record.number)
    this.columns.set(keysOf(record))
    const wasPending = this.pending.has(n)
    const isPending = record.lifeCycleState === 'PENDING'
    if (isPending && !wasPending) {
      if (n < this.pendingMax) {
        this.pendingSorted = false
      }
      this.pendingMax = Math.max(this.pendingMax, n)
      this.pending.add(n)
      this.countProcess(record.processId, 1)
    } else if (!isPending && wasPending) {
      this.pending.delete(n)
      this.countProcess(record.processId, -1)
    }
    if (at === null || isPending) {
      this.records.set(n, record)
    } else {
      this.records.delete(n)
      this.columns.locate(n, at.where, at.length)
    }
  }

  private countProcess(processId: string | null, change: 1 | -1): void {
    if (processId === null) {
      return
    }
    const count = (this.pendingByProcess.get(processId) ?? 0) + change
    if (count === 0) {
      this.pendingByProcess.delete(processId)
    } else {
      this.pendingByProcess.set(processId, count)
    }
  }

  // ----- reads -----------------------------------------------------------------------------

  claimRequests(
    ids: readonly string[],
    owner: string,
    leaseMs: number,
  ): Promise<readonly string[]> {
    return Promise.resolve(
      this.claims.claim(
        ids,
        owner,
        leaseMs,
        (id) => this.findById(id)?.lifeCycleState === 'PENDING',
      ),
    )
  }

  releaseRequests(ids: readonly string[], owner: string): Promise<void> {
    this.claims.release(ids, owner)
    return Promise.resolve()
  }

  getRequest(idOrNumber: string): Promise<ProvisioningRequest | null> {
    return new Promise((answer) => {
      const byId = this.findById(idOrNumber)
      if (byId !== undefined) {
        answer(this.copyOf(byId))
        return
      }
      const n = /^[1-9][0-9]{0,15}$/.test(idOrNumber) ? Number(idOrNumber) : 0
      answer(this.columns.has(n) ? this.copyOf(this.record(n)) : null)
    })
  }

  listRequests(filter: RequestFilter): Promise<Page<ProvisioningRequest>> {
    return new Promise((answer) => answer(this.list(filter)))
  }

  private list(filter: RequestFilter): Page<ProvisioningRequest> {
    const { offset, end } = pageBounds(filter)
    const compiled = this.columns.compile(filter)
    if (compiled === null) {
      return { total: 0, items: [] }
    }
    const items: ProvisioningRequest[] = []
    let total = 0
    const consider = (n: number): void => {
      if (
        !this.columns.matches(n, compiled) ||
        (filter.referenceNumber !== undefined &&
          this.record(n).referenceNumber !== filter.referenceNumber)
      ) {
        return
      }
      if (total >= offset && total < end) {
        items.push(this.copyOf(this.record(n)))
      }
      total += 1
    }
    if (filter.lifeCycleState === 'PENDING') {
      for (const n of this.pendingNumbers()) {
        consider(n)
      }
    } else {
      for (let n = 1; n <= this.requestCount; n++) {
        consider(n)
      }
    }
    return { total, items }
  }

  /**
   * PENDING requests that are on disk, in sequence order: none while their commit is still being
   * written (delivery must not send what a crash could forget), and none at all once a write has
   * failed. The records themselves, frozen (records are replaced, never changed in place).
   */
  pendingRequests(): Promise<readonly ProvisioningRequest[]> {
    if (this.life.failed !== null) {
      return Promise.resolve([])
    }
    const pending: ProvisioningRequest[] = []
    for (const n of this.pendingNumbers()) {
      const record = this.records.get(n)
      if (record !== undefined && !this.notDurable.has(n)) {
        pending.push(record)
      }
    }
    return Promise.resolve(pending)
  }

  countPending(processId: string): Promise<number> {
    return Promise.resolve(this.pendingByProcess.get(processId) ?? 0)
  }

  getSubscription(id: string): Promise<Subscription | null> {
    const subscription = this.subscriptions.find(id)
    return Promise.resolve(subscription === undefined ? null : copyJson(subscription))
  }

  subscriptionHolding(caId: string): Promise<string | null> {
    return Promise.resolve(this.subscriptions.holderOf(caId) ?? null)
  }

  listSubscriptions(filter: SubscriptionFilter): Promise<Page<Subscription>> {
    return Promise.resolve(this.subscriptions.list(filter))
  }

  /**
   * What memory holds: the requests kept whole (PENDING ones, and changes not yet on disk), of
   * all the requests stored, and the subscriptions.
   */
  inMemory(): {
    readonly requests: number
    readonly stored: number
    readonly subscriptions: number
  } {
    return {
      requests: this.records.size,
      stored: this.requestCount,
      subscriptions: this.subscriptions.count,
    }
  }

  /** Waits for pending writes and a running compaction, then releases the files; idempotent. */
  close(): Promise<void> {
    return this.life.close(async () => {
      await this.group.flush()
      await this.compaction
      await this.closeFiles()
    })
  }

  private pendingNumbers(): ReadonlySet<number> {
    if (!this.pendingSorted) {
      this.pending = new Set([...this.pending].sort((a, b) => a - b))
      this.pendingSorted = true
    }
    return this.pending
  }

  /** The request with this id, if any (its latest version, not a copy). */
  private findById(id: string): ProvisioningRequest | undefined {
    for (const n of this.columns.withIdHash(id)) {
      const record = this.record(n)
      if (record.id === id) {
        return record
      }
    }
    return undefined
  }

  /** A record from memory is shared and must be copied; one read from disk is the caller's own. */
  private copyOf(record: ProvisioningRequest): ProvisioningRequest {
    return this.records.get(Number(record.number)) === record ? copyJson(record) : record
  }

  /** The latest version of request `n` (which must exist): from memory, or read from its file. */
  private record(n: number): ProvisioningRequest {
    const inMemory = this.records.get(n)
    if (inMemory !== undefined) {
      return inMemory
    }
    const { where, length } = this.columns.location(n)
    const fileId = Math.floor(where / FILE_SPAN)
    const offset = where - fileId * FILE_SPAN
    const file = this.files.get(fileId)
    if (file === undefined) {
      throw new Error(`request ${n} has no stored version (file ${fileId})`)
    }
    const bytes = Buffer.allocUnsafe(length)
    // Synchronous: a read never interleaves with a compaction switching files.
    const read = readSync(this.fdOf(fileId, file), bytes, 0, length, offset)
    if (read !== length || (file.kind === 'archive' && !isIntactLine(bytes))) {
      throw new StoreError(
        'STORE_CORRUPT',
        `Failed to read provisioning request ${n} from ${file.path} at byte ${offset}: the bytes there are not the request written there (damaged after it was written). Restore the store from a backup.`,
      )
    }
    const json = file.kind === 'archive' ? bytes.subarray(LINE_PREFIX_BYTES) : bytes
    return JSON.parse(json.toString('utf8')) as ProvisioningRequest
  }

  private fdOf(fileId: number, file: StoreFile): number {
    if (file.fd !== null) {
      return file.fd
    }
    const fd = openSync(file.path, 'r')
    file.fd = fd
    this.openArchives.push(fileId)
    if (this.openArchives.length > OPEN_ARCHIVES) {
      const oldest = this.files.get(this.openArchives.shift() ?? -1)
      if (oldest?.fd != null) {
        closeSync(oldest.fd)
        oldest.fd = null
      }
    }
    return fd
  }

  // ----- group commit ----------------------------------------------------------------------

  /**
   * One group commit. Everything up to the first await runs synchronously, so the line (and a
   * compaction's capture) hold exactly the changes made so far and nothing made meanwhile.
   */
  private async writeCycle(durable: () => void): Promise<void> {
    this.life.assertNotFailed()
    const batch = this.takeBatch()
    if (batch === null) {
      return
    }
    try {
      const log = batch.log
      if (log.handle === null) {
        log.handle = await open(log.path, 'a+')
        this.files.set(logFileId(log.number), { path: log.path, fd: log.handle.fd, kind: 'log' })
        if (this.fsync === 'group') {
          await syncFolder(this.folder)
        }
      }
      await writeAll(log.handle, batch.line)
      if (this.fsync === 'group') {
        await log.handle.datasync()
      }
    } catch (error) {
      throw this.life.fail(error)
    }
    for (const { record, where, length } of batch.records) {
      // A final request leaves memory once on disk; one changed again meanwhile stays until the
      // group carrying its new version is.
      const n = Number(record.number)
      if (record.lifeCycleState !== 'PENDING' && this.records.get(n) === record) {
        this.records.delete(n)
        this.columns.locate(n, where, length)
        batch.log.finals.push(n)
      }
    }
    durable()
    if (batch.capture !== null) {
      const capture = batch.capture
      this.compaction = this.compact(capture)
        .catch((error: unknown) => {
          // The changes are safe in the log; the next change reports the failure.
          this.life.fail(error)
        })
        .finally(() => {
          this.compaction = null
        })
    }
  }

  /** The line of everything changed since the last group, or null when nothing changed. */
  private takeBatch(): Batch | null {
    if (this.changedRequests.size === 0 && this.changedSubscriptions.size === 0) {
      return null
    }
    const group = ++this.lastGroup
    const log = this.currentLog()
    const changed = [...this.changedRequests.values()].sort(
      (a, b) => Number(a.number) - Number(b.number),
    )
    const subscriptions = [...this.changedSubscriptions]
    this.changedRequests.clear()
    this.changedSubscriptions.clear()
    const { line, records: placed } = encodeGroup({
      group,
      records: changed,
      subscriptions,
      nextSequence: this.sequence,
      requestCount: this.requestCount,
    })
    const records = placed.map(({ record, offset, length, text }) => ({
      record,
      where: logFileId(log.number) * FILE_SPAN + log.size + offset,
      length,
      text,
    }))
    log.size += line.length
    const capture =
      log.size >= this.compactBytes && this.compaction === null
        ? this.capture(group, records)
        : null
    return { group, log, line, records, capture }
  }

  /** The log file groups go to now (opened by the cycle that first writes to it). */
  private currentLog(): LogFile {
    const last = this.logs.at(-1)
    if (last !== undefined) {
      return last
    }
    throw new Error('the store has no log file')
  }

  /**
   * The state as of `group` (being written now), and a new log file for the groups after it. The
   * final requests to archive are those whose latest version is in the log files it closes.
   */
  private capture(group: number, written: readonly WrittenRecord[]): Capture {
    const logs = [...this.logs]
    const closing = new Set(logs.map((log) => logFileId(log.number)))
    const finals: CapturedFinal[] = []
    const seen = new Set<number>()
    for (const log of logs) {
      for (const n of log.finals) {
        const { where, length } = this.columns.location(n)
        if (!seen.has(n) && !this.records.has(n) && closing.has(Math.floor(where / FILE_SPAN))) {
          seen.add(n)
          finals.push({ keys: this.columns.keys(n), where, length, text: null })
        }
      }
    }
    for (const { record, where, length, text } of written) {
      if (record.lifeCycleState !== 'PENDING') {
        finals.push({ keys: keysOf(record), where, length, text })
      }
    }
    const pending: ProvisioningRequest[] = []
    for (const n of this.pendingNumbers()) {
      const record = this.records.get(n)
      if (record !== undefined) {
        pending.push(record)
      }
    }
    const next = (logs.at(-1)?.number ?? 0) + 1
    this.logs.push({
      number: next,
      path: join(this.folder, logName(next)),
      handle: null,
      size: 0,
      finals: [],
    })
    return {
      group,
      logFrom: next,
      nextSequence: this.sequence,
      requestCount: this.requestCount,
      subscriptions: this.subscriptions.range(0, this.subscriptions.count),
      pending,
      finals: finals.sort((a, b) => a.where - b.where),
      logs,
    }
  }

  // ----- compaction ------------------------------------------------------------------------

  private async step(name: CompactionStep): Promise<void> {
    await this.options.onCompactionStep?.(name)
  }

  /** Archives the captured finals, writes the snapshot, drops the old logs (see the file comment). */
  private async compact(capture: Capture): Promise<void> {
    await this.step('rotated')
    const number = archiveNumber(this.archives.at(-1)?.file) + 1
    const { ref, lines } = await this.writeArchive(number, capture.finals)
    const archiveId = archiveFileId(number)
    await this.step('archive-written')
    const archives = [...this.archives, ref]
    await replaceFile(this.path, snapshotChunks(capture, archives), {
      step: (name) =>
        this.step(name === 'renamed' ? 'snapshot-renamed' : 'snapshot-temporary-written'),
    })
    for (const log of capture.logs) {
      await unlink(log.path).catch(() => undefined)
    }
    await this.step('logs-deleted')
    // Synchronously: reads switch to the archive in one step.
    capture.finals.forEach((final, i) => {
      const n = final.keys.number
      const line = lines[i] as ArchivedLine
      if (!this.records.has(n) && this.columns.location(n).where === final.where) {
        this.columns.locate(n, archiveId * FILE_SPAN + line.offset, line.length)
      }
    })
    this.archives = archives
    const closed = new Set(capture.logs)
    this.logs = this.logs.filter((log) => !closed.has(log))
    for (const log of capture.logs) {
      this.files.delete(logFileId(log.number))
      await log.handle?.close()
      log.handle = null
    }
  }

  /** Writes archive file `number` with the captured finals and its index; fsynced. */
  private async writeArchive(
    number: number,
    finals: readonly CapturedFinal[],
  ): Promise<{ ref: ArchiveRef; lines: ArchivedLine[] }> {
    const path = join(this.folder, archiveName(number))
    const handle = await open(path, 'w+')
    const lines: ArchivedLine[] = []
    let size = 0
    try {
      for (let first = 0; first < finals.length; first += COMPACTION_CHUNK) {
        const chunk: Buffer[] = []
        for (const final of finals.slice(first, first + COMPACTION_CHUNK)) {
          const text = final.text ?? this.readCaptured(final)
          const line = encodeLine([text])
          lines.push({ keys: final.keys, offset: size, length: line.length - 1 })
          size += line.length
          chunk.push(line)
        }
        await writeAll(handle, Buffer.concat(chunk))
      }
      const indexAt = size
      const index = encodeLine([Buffer.from(encodeArchiveIndex(lines))])
      await writeAll(handle, index)
      await handle.sync()
      await handle.close()
      this.files.set(archiveFileId(number), { path, fd: null, kind: 'archive' })
      await syncFolder(this.folder)
      return {
        ref: {
          file: archiveName(number),
          records: lines.length,
          indexAt,
          bytes: size + index.length,
        },
        lines,
      }
    } catch (error) {
      await handle.close().catch(() => undefined)
      throw error
    }
  }

  /** The bytes of a captured final from its log file (still open until the compaction ends). */
  private readCaptured(final: CapturedFinal): Buffer {
    const fileId = Math.floor(final.where / FILE_SPAN)
    const file = this.files.get(fileId)
    if (file === undefined) {
      throw new Error(`log file ${fileId} is not open`)
    }
    const bytes = Buffer.allocUnsafe(final.length)
    readSync(this.fdOf(fileId, file), bytes, 0, final.length, final.where - fileId * FILE_SPAN)
    return bytes
  }

  private async closeFiles(): Promise<void> {
    for (const log of this.logs) {
      await log.handle?.close().catch(() => undefined)
      log.handle = null
    }
    for (const id of this.openArchives.splice(0)) {
      const file = this.files.get(id)
      if (file?.fd != null) {
        closeSync(file.fd)
      }
    }
    this.files.clear()
  }

  // ----- opening ---------------------------------------------------------------------------

  private warn(message: string): void {
    this.options.onWarning?.(message)
  }

  private async load(): Promise<void> {
    const streamed = await this.readSnapshot()
    const existing = streamed === null ? await readStoreJson(this.path, this.path) : null
    let snapshot: Snapshot
    if (streamed !== null && streamed !== 'missing') {
      snapshot = streamed
    } else if (existing === null) {
      await this.refuseOrphans()
      snapshot = emptySnapshot(freshSequenceOrigin())
      await mkdir(this.folder, { recursive: true })
      // Written now, so the file is recognisably this store's and the sequence origin is kept.
      await replaceFile(this.path, snapshotChunks(snapshot, []))
    } else if (isSnapshot(existing.json)) {
      snapshot = checkSnapshot(this.path, existing.json)
    } else if (isLegacyStore(existing.json)) {
      snapshot = await this.convert(await readLegacyStore(this.path, existing.json))
    } else {
      // Refused with the first layout's wording, naming both formats.
      await readLegacyStore(this.path, existing.json)
      throw unreadable(this.path, `it is not a ${STORE_FORMAT} provisioning store`)
    }
    await mkdir(this.folder, { recursive: true })
    await this.removeLeftovers(snapshot)
    for (const ref of snapshot.archives) {
      await this.loadArchive(ref)
    }
    this.archives = [...snapshot.archives]
    this.subscriptions.restore(snapshot.subscriptions)
    for (const record of snapshot.pending) {
      this.place(deepFreeze(withDefaults(record)), null)
    }
    this.sequence = snapshot.nextSequence
    this.requestCount = snapshot.requestCount
    this.lastGroup = snapshot.group
    await this.replay(snapshot.logFrom)
    for (let n = 1; n <= this.requestCount; n++) {
      if (!this.columns.has(n)) {
        throw corrupt(
          this.path,
          `request ${n} is in none of its files (the files are not a consistent set)`,
        )
      }
    }
  }

  /**
   * The snapshot read line by line; `missing` when there is no file; null when the file is not a
   * snapshot written one record per line (then it is parsed whole: an older layout, or refused).
   */
  private async readSnapshot(): Promise<Snapshot | 'missing' | null> {
    let handle: FileHandle
    try {
      handle = await open(this.path, 'r')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return 'missing'
      }
      throw unreadable(this.path, `cannot read it: ${reason(error)}`, error)
    }
    // The stream owns the handle from here: destroying it closes the file, read to the end or not.
    const input = handle.createReadStream()
    const lines = createInterface({ input, crlfDelay: Infinity })
    try {
      return await readSnapshotLines(this.path, lines)
    } finally {
      lines.close()
      input.destroy()
    }
  }

  /** A missing snapshot next to store files means the snapshot was lost, not a new store. */
  private async refuseOrphans(): Promise<void> {
    await refuseOrphanSegments(this.path)
    const names = await readdir(this.folder).catch(() => [] as string[])
    if (names.some((name) => name.endsWith('.jsonl'))) {
      throw unreadable(
        this.path,
        `the file is missing but its folder ${this.folder} holds data (the snapshot was lost)`,
      )
    }
  }

  /** Removes what a crash left: a snapshot being written, unlisted archives, compacted logs. */
  private async removeLeftovers(snapshot: Snapshot): Promise<void> {
    await rm(`${this.path}.tmp`, { force: true })
    const listed = new Set(snapshot.archives.map((ref) => ref.file))
    for (const name of await readdir(this.folder)) {
      const log = /^log-(\d{6,})\.jsonl$/.exec(name)
      if (
        (log && Number(log[1]) < snapshot.logFrom) ||
        (/^archive-\d{6,}\.jsonl$/.test(name) && !listed.has(name))
      ) {
        await unlink(join(this.folder, name))
      }
    }
  }

  private async loadArchive(ref: ArchiveRef): Promise<void> {
    const path = join(this.folder, ref.file)
    const handle = await open(path, 'r').catch((error: unknown) => {
      throw corrupt(this.path, `its archive file ${path} cannot be opened: ${reason(error)}`)
    })
    const number = archiveNumber(ref.file)
    this.files.set(archiveFileId(number), { path, fd: null, kind: 'archive' })
    const length = ref.bytes - ref.indexAt
    const bytes = Buffer.alloc(Math.max(0, length - 1))
    let size: number
    try {
      size = (await handle.stat()).size
      if (size === ref.bytes && length > LINE_PREFIX_BYTES) {
        await handle.read(bytes, 0, length - 1, ref.indexAt)
      }
    } finally {
      await handle.close()
    }
    if (size !== ref.bytes || length <= LINE_PREFIX_BYTES) {
      throw corrupt(
        this.path,
        `its archive file ${path} is ${size} bytes, not the ${ref.bytes} written`,
      )
    }
    const lines = isIntactLine(bytes)
      ? decodeArchiveIndex(parseJson(bytes.subarray(LINE_PREFIX_BYTES)), ref.indexAt)
      : 'its index line is damaged'
    if (typeof lines === 'string' || lines.length !== ref.records) {
      throw corrupt(
        this.path,
        `its archive file ${path}: ${typeof lines === 'string' ? lines : 'the index does not list its requests'}`,
      )
    }
    const id = archiveFileId(number)
    for (const line of lines) {
      this.columns.set(line.keys)
      this.columns.locate(line.keys.number, id * FILE_SPAN + line.offset, line.length)
    }
  }

  /** Replays log files `from`.. over the loaded state; cuts off a torn last line. */
  private async replay(from: number): Promise<void> {
    const numbers = (await readdir(this.folder))
      .map((name) => /^log-(\d{6,})\.jsonl$/.exec(name))
      .filter((match) => match !== null)
      .map((match) => Number(match[1]))
      .filter((number) => number >= from)
      .sort((a, b) => a - b)
    if (numbers.length === 0) {
      numbers.push(from)
    }
    for (const [i, number] of numbers.entries()) {
      const path = join(this.folder, logName(number))
      const bytes = await readFile(path).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          return null
        }
        throw error
      })
      if (bytes === null) {
        // Not created yet: the first group written creates it.
        this.logs.push({ number, path, handle: null, size: 0, finals: [] })
        continue
      }
      const scanned = scanLines(bytes)
      const last = i === numbers.length - 1
      let size = bytes.length
      if (scanned.damaged !== null) {
        const { start, why, intactAfter } = scanned.damaged
        if (!last || intactAfter.length > 0) {
          throw corrupt(
            this.path,
            `its log file ${path} has a damaged line at bytes ${start}..${lineEnd(bytes, start)} (${why}) followed by ${intactAfter.length} intact line(s)${last ? '' : ' and later log files'}: that is damage to acknowledged data, not a torn write. To keep what precedes it, truncate the file to ${start} bytes (truncate -s ${start} ${path})`,
          )
        }
        this.warn(
          `Cut off the last ${bytes.length - start} byte(s) of ${path} (bytes ${start}..${bytes.length - 1}: ${why}): a write the process did not finish, so never an acknowledged change. Every group before it was kept.`,
        )
        await truncate(path, start)
        size = start
      }
      const log: LogFile = { number, path, handle: null, size, finals: [] }
      for (const line of scanned.lines) {
        this.replayLine(log, line)
      }
      if (size > 0 || last) {
        // The last file takes the next groups; earlier ones are only read until compacted.
        log.handle = await open(path, last ? 'a+' : 'r')
        this.files.set(logFileId(number), { path, fd: log.handle.fd, kind: 'log' })
        if (last && scanned.damaged !== null) {
          await log.handle.sync()
        }
      }
      this.logs.push(log)
    }
  }

  private replayLine(log: LogFile, line: IntactLine): void {
    const where = `line at byte ${line.start} of its log file ${log.path}`
    const parsed = parseGroup(line.json)
    if (typeof parsed === 'string') {
      throw corrupt(this.path, `the ${where}: ${parsed}`)
    }
    if (parsed.group !== this.lastGroup + 1) {
      throw corrupt(
        this.path,
        `the ${where} holds group ${parsed.group} where group ${this.lastGroup + 1} was expected (log groups are missing)`,
      )
    }
    this.lastGroup = parsed.group
    for (const { record, offset, length } of parsed.records) {
      const at = { where: logFileId(log.number) * FILE_SPAN + line.start + offset, length }
      this.place(deepFreeze(withDefaults(record)), at)
      if (record.lifeCycleState !== 'PENDING') {
        log.finals.push(Number(record.number))
      }
    }
    for (const { ordinal, subscription } of parsed.subscriptions) {
      if (ordinal > this.subscriptions.count) {
        throw corrupt(
          this.path,
          `the ${where} holds subscription ordinal ${ordinal}, past the last`,
        )
      }
      this.subscriptions.put(ordinal, subscription)
    }
    this.sequence = Math.max(this.sequence, parsed.nextSequence)
    this.requestCount = Math.max(this.requestCount, parsed.requestCount)
  }

  /**
   * Converts a `conax-adapter/1` store: final requests into archive 1, the rest into a snapshot
   * that replaces the file. The old main file is kept as `<file>.v1.json` (with `<file>.segments/`).
   */
  private async convert(state: ProvisioningState): Promise<Snapshot> {
    await rm(this.folder, { recursive: true, force: true })
    await mkdir(this.folder, { recursive: true })
    const requests = state.requestRange(1, state.requestCount).map(withDefaults)
    const finals = requests.filter((request) => request.lifeCycleState !== 'PENDING')
    const archives: ArchiveRef[] = []
    if (finals.length > 0) {
      const { ref } = await this.writeArchive(
        1,
        finals.map((request) => {
          const text = Buffer.from(JSON.stringify(request))
          return { keys: keysOf(request), where: 0, length: text.length, text }
        }),
      )
      archives.push(ref)
    }
    const snapshot: Snapshot = {
      ...emptySnapshot(state.nextSequence),
      requestCount: state.requestCount,
      archives,
      subscriptions: state.subscriptionRange(0, state.subscriptionCount),
      pending: requests.filter((request) => request.lifeCycleState === 'PENDING'),
    }
    await replaceFile(`${this.path}.v1.json`, [await readFile(this.path)])
    await replaceFile(this.path, snapshotChunks(snapshot, archives))
    await this.closeFiles()
    this.warn(
      `Converted the ${LEGACY_FORMAT} provisioning store ${this.path} to ${STORE_FORMAT} (${state.requestCount} requests, ${finals.length} of them final, into ${this.folder}). The old files stay as ${this.path}.v1.json and ${this.path}.segments/: delete them once the adapter works on the converted store.`,
    )
    return snapshot
  }
}

/** Writes all of `bytes` at the handle's position (appends for a file opened to append). */
async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let done = 0
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, null)
    done += bytesWritten
  }
}

function lineEnd(bytes: Buffer, start: number): number {
  const newline = bytes.indexOf(0x0a, start)
  return newline === -1 ? bytes.length - 1 : newline
}
