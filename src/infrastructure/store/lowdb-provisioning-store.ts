/**
 * The provisioning store in lowdb JSON files.
 *
 * Layout. Rewriting one file that holds everything on every write costs O(store size) per write:
 * committing 10,000 subscriptions with 4 requests each and then updating the 40,000 requests (50
 * callers at a time) took over 5 minutes that way, against about 10 s with this layout. So the
 * state is split into a small hot file and segment files, all written with lowdb (steno writes a
 * temporary file and renames it over the old one, so every single file is replaced atomically):
 *
 * - `<file>` (the file given to `open`): `{ "format": "conax-adapter/1", "nextSequence", the
 *   segment sizes and counts, "journal": [...] }`. The journal holds the full new version of every
 *   request and subscription changed since the last checkpoint, in order. Every write cycle
 *   rewrites only this file, so a change is durable (and atomic: one commit's subscription and
 *   requests are in the same rename) once it has been written.
 * - `<file>.segments/requests-NNNNNN.json` and `subscriptions-NNNNNN.json`: `{ format, kind, first,
 *   items }`, the records at positions `first`.. (request number - 1, subscription creation
 *   ordinal), a fixed number per file (1,000 by default, recorded in the main file).
 *
 * When the journal grows past `journalLimit` characters, the cycle that grew it checkpoints:
 * after the journal write, it rewrites the segments the journal touched (as captured at that same
 * moment), then writes the main file with an empty journal. Replaying a journal entry is
 * idempotent (it puts the full record at its position), so a kill at any point leaves a readable
 * set: segments a crashed checkpoint already wrote hold the same versions the surviving journal
 * replays. The main file lists only segments that a finished checkpoint wrote.
 *
 * Durability: a change resolves once the main-file write that carries it has been renamed into
 * place (group commit, one write at a time: GroupCommit). steno does not fsync, so this survives a
 * killed process (kill -9 leaves the previous complete file), not a power cut. After a failed write
 * the store refuses further changes, because memory may then hold changes the file lacks; a
 * restart reloads the file.
 *
 * Reads never touch the files: the whole state is indexed in memory (ProvisioningState).
 */
import { mkdir, readdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { Low } from 'lowdb'
import { DataFile } from 'lowdb/node'
import type { ProvisioningStore, RequestUpdate } from '../../application/ports.js'
import type { Subscription } from '../../domain/crm.js'
import type {
  NewProvisioningRequest,
  ProvisioningRequest,
} from '../../domain/provisioning-request.js'
import { GroupCommit } from './group-commit.js'
import { ProvisioningState, copyJson } from './provisioning-state.js'
import { StateReads } from './state-reads.js'
import { StoreError } from './store-error.js'
import { requestProblem, subscriptionProblem } from './record-schemas.js'
import { readJson, reason, releaseLock, StoreFileLife, takeLock } from './store-files.js'

/** The format marker of the main file and of every segment file. */
export const STORE_FORMAT = 'conax-adapter/1'

type JournalEntry =
  | { readonly request: ProvisioningRequest }
  | { readonly ordinal: number; readonly subscription: Subscription }

interface MainFile {
  readonly format: typeof STORE_FORMAT
  /** Never lower than one past the highest sequence number handed out, so none is reused. */
  readonly nextSequence: number
  readonly requestsPerSegment: number
  readonly subscriptionsPerSegment: number
  /** Segment files 0..n-1 that a finished checkpoint wrote. */
  readonly requestSegments: number
  readonly subscriptionSegments: number
  /** Kept last: the stringifier appends it from cached entry texts. */
  readonly journal: readonly JournalEntry[]
}

type SegmentKind = 'requests' | 'subscriptions'

interface SegmentFile {
  readonly format: typeof STORE_FORMAT
  readonly kind: SegmentKind
  /** Position of the first item: request number - 1, or subscription creation ordinal. */
  readonly first: number
  readonly items: readonly (ProvisioningRequest | Subscription)[]
}

interface Checkpoint {
  readonly segments: readonly { readonly path: string; readonly data: SegmentFile }[]
  readonly main: MainFile
}

/** Tuning of the file layout (tests use tiny values to exercise checkpoints). */
export interface LowdbStoreOptions {
  /**
   * Journal size in characters above which a write cycle checkpoints (default 1 MiB: every cycle
   * rewrites the journal, so a larger one costs more per write than the checkpoints it saves).
   */
  readonly journalLimit?: number
  /** Requests per segment file; applies only when `open` creates the store (default 1,000). */
  readonly requestsPerSegment?: number
  /** Subscriptions per segment file; applies only when `open` creates the store (default 1,000). */
  readonly subscriptionsPerSegment?: number
}

const DEFAULT_JOURNAL_LIMIT = 1024 * 1024
const DEFAULT_PER_SEGMENT = 1000

interface Loaded {
  readonly main: MainFile
  readonly state: ProvisioningState
}

/** The provisioning store in lowdb files: a journaled main file plus segment files (see above). */
export class LowdbProvisioningStore extends StateReads implements ProvisioningStore {
  readonly description: string
  private readonly segmentDir: string
  private readonly journalLimit: number
  private readonly requestsPerSegment: number
  private readonly subscriptionsPerSegment: number
  protected readonly state: ProvisioningState
  private readonly mainDb: Low<MainFile>
  private readonly group: GroupCommit
  /** Each journal entry's JSON, made once when it is captured rather than on every rewrite. */
  private readonly entryTexts = new WeakMap<JournalEntry, string>()
  private journal: JournalEntry[] = []
  private journalChars = 0
  private requestSegments: number
  private subscriptionSegments: number
  /** Changes made since the last capture, latest version by position. */
  private readonly changedRequests = new Map<number, ProvisioningRequest>()
  private readonly changedSubscriptions = new Map<number, Subscription>()
  /** Segments the journal touched since the last checkpoint. */
  private readonly dirtyRequestSegments = new Set<number>()
  private readonly dirtySubscriptionSegments = new Set<number>()
  private readonly life: StoreFileLife
  /** Requests whose commit is not yet written. */
  private readonly notDurable = new Set<string>()

  private constructor(file: string, loaded: Loaded, journalLimit: number) {
    super()
    this.description = file
    this.life = new StoreFileLife(file, 'provisioning store', 'LowdbProvisioningStore.open')
    this.segmentDir = `${file}.segments`
    this.journalLimit = journalLimit
    this.state = loaded.state
    this.requestsPerSegment = loaded.main.requestsPerSegment
    this.subscriptionsPerSegment = loaded.main.subscriptionsPerSegment
    this.requestSegments = loaded.main.requestSegments
    this.subscriptionSegments = loaded.main.subscriptionSegments
    this.mainDb = new Low<MainFile>(
      new DataFile<MainFile>(file, {
        parse: (text) => JSON.parse(text) as MainFile,
        stringify: (data) => this.stringifyMain(data),
      }),
      loaded.main,
    )
    // The journal read back is not in the segments yet: keep it, so the next checkpoint moves it.
    for (const entry of loaded.main.journal) {
      this.appendEntry(entry)
    }
    this.group = new GroupCommit((durable) => this.writeCycle(durable))
  }

  /**
   * Opens the store in `file`, creating its folder and an empty store if the file does not exist.
   * Refuses (STORE_UNREADABLE, leaving every file untouched) a file that is not JSON, not of this
   * store's format, or whose segment files are missing or inconsistent.
   */
  static async open(
    file: string,
    options: LowdbStoreOptions = {},
  ): Promise<LowdbProvisioningStore> {
    const path = resolve(file)
    await mkdir(dirname(path), { recursive: true })
    await takeLock(`${path}.lock`, 'provisioning store')
    let existing: { json: unknown } | null
    let loaded: Loaded
    try {
      existing = await readStoreJson(path, path)
      loaded = existing === null ? await fresh(path, options) : await load(path, existing.json)
    } catch (error) {
      // A store refused at open leaves nothing behind, not even its lock.
      await releaseLock(`${path}.lock`)
      throw error
    }
    await mkdir(`${path}.segments`, { recursive: true })
    const store = new LowdbProvisioningStore(
      path,
      loaded,
      options.journalLimit ?? DEFAULT_JOURNAL_LIMIT,
    )
    if (existing === null) {
      // Write the marker now, so the file is recognisably this store's from the start.
      await store.group.request()
    }
    return store
  }

  async commit(
    change: {
      readonly subscription?: Subscription
      readonly requests: readonly NewProvisioningRequest[]
    },
    now: string,
  ): Promise<readonly ProvisioningRequest[]> {
    this.life.assertWritable()
    const outcome = this.state.commit(change, now)
    if (outcome.subscription !== null) {
      this.changedSubscriptions.set(outcome.subscription.ordinal, outcome.subscription.subscription)
    }
    for (const request of outcome.requests) {
      this.changedRequests.set(Number(request.number) - 1, request)
      this.notDurable.add(request.id)
    }
    try {
      await this.group.request()
    } finally {
      for (const request of outcome.requests) {
        this.notDurable.delete(request.id)
      }
    }
    return outcome.requests.map(copyJson)
  }

  async updateRequest(
    id: string,
    update: RequestUpdate,
    now: string,
  ): Promise<ProvisioningRequest> {
    this.life.assertWritable()
    const updated = this.state.update(id, update, now)
    this.endClaim(id)
    this.changedRequests.set(Number(updated.number) - 1, updated)
    await this.group.request()
    return copyJson(updated)
  }

  async splitRequest(
    id: string,
    update: RequestUpdate,
    parts: readonly NewProvisioningRequest[],
    now: string,
  ): Promise<{ parent: ProvisioningRequest; children: readonly ProvisioningRequest[] }> {
    this.life.assertWritable()
    // Parent and parts are captured by the same write cycle: one rename makes both durable.
    const { parent, children } = this.state.split(id, update, parts, now)
    this.endClaim(id)
    this.changedRequests.set(Number(parent.number) - 1, parent)
    for (const child of children) {
      this.changedRequests.set(Number(child.number) - 1, child)
      this.notDurable.add(child.id)
    }
    try {
      await this.group.request()
    } finally {
      for (const child of children) {
        this.notDurable.delete(child.id)
      }
    }
    return { parent: copyJson(parent), children: children.map(copyJson) }
  }

  /**
   * PENDING requests that are on disk: none while a commit is still being written (delivery must
   * not send what a crash could forget), and none at all once a write has failed.
   */
  pendingRequests(): Promise<readonly ProvisioningRequest[]> {
    if (this.life.failed !== null) {
      return Promise.resolve([])
    }
    const pending = this.state.pendingRequests()
    return Promise.resolve(
      this.notDurable.size === 0 ? pending : pending.filter((r) => !this.notDurable.has(r.id)),
    )
  }

  /** Waits for every accepted change (and a running checkpoint) to reach the file; idempotent. */
  close(): Promise<void> {
    return this.life.close(() => this.group.flush())
  }

  /**
   * One group commit. Everything up to the first await runs synchronously, so the journal and the
   * checkpoint capture the same state and no change made meanwhile leaks into either.
   */
  private async writeCycle(durable: () => void): Promise<void> {
    this.life.assertNotFailed()
    this.captureChanges()
    const checkpoint = this.journalChars > this.journalLimit ? this.captureCheckpoint() : null
    try {
      this.mainDb.data = this.mainFile(this.journal.slice())
      await this.mainDb.write()
    } catch (error) {
      throw this.life.fail(error)
    }
    durable()
    if (checkpoint !== null) {
      try {
        for (const segment of checkpoint.segments) {
          await new Low<SegmentFile>(
            new DataFile<SegmentFile>(segment.path, {
              parse: (text) => JSON.parse(text) as SegmentFile,
              stringify: (data) => JSON.stringify(data),
            }),
            segment.data,
          ).write()
        }
        this.mainDb.data = checkpoint.main
        await this.mainDb.write()
      } catch (error) {
        // The changes are safe in the journal; the next change reports the failure.
        this.life.fail(error)
        return
      }
      this.journal = []
      this.journalChars = 0
      this.requestSegments = checkpoint.main.requestSegments
      this.subscriptionSegments = checkpoint.main.subscriptionSegments
    }
  }

  private captureChanges(): void {
    for (const [ordinal, subscription] of this.changedSubscriptions) {
      this.appendEntry({ ordinal, subscription })
    }
    for (const request of this.changedRequests.values()) {
      this.appendEntry({ request })
    }
    this.changedSubscriptions.clear()
    this.changedRequests.clear()
  }

  private appendEntry(entry: JournalEntry): void {
    const text = JSON.stringify(entry)
    this.entryTexts.set(entry, text)
    this.journal.push(entry)
    this.journalChars += text.length + 1
    if ('request' in entry) {
      this.dirtyRequestSegments.add(
        Math.floor((Number(entry.request.number) - 1) / this.requestsPerSegment),
      )
    } else {
      this.dirtySubscriptionSegments.add(Math.floor(entry.ordinal / this.subscriptionsPerSegment))
    }
  }

  /** The segments the journal touched, as they are now (records are immutable: no copy needed). */
  private captureCheckpoint(): Checkpoint {
    const segment = (kind: SegmentKind, index: number, per: number) => {
      const first = index * per
      const items =
        kind === 'requests'
          ? this.state.requestRange(first + 1, per)
          : this.state.subscriptionRange(first, per)
      const data: SegmentFile = { format: STORE_FORMAT, kind, first, items }
      return { path: segmentPath(this.segmentDir, kind, index), data }
    }
    const segments = [
      ...[...this.dirtyRequestSegments]
        .sort((a, b) => a - b)
        .map((index) => segment('requests', index, this.requestsPerSegment)),
      ...[...this.dirtySubscriptionSegments]
        .sort((a, b) => a - b)
        .map((index) => segment('subscriptions', index, this.subscriptionsPerSegment)),
    ]
    this.dirtyRequestSegments.clear()
    this.dirtySubscriptionSegments.clear()
    const main = this.mainFile([], {
      requests: Math.ceil(this.state.requestCount / this.requestsPerSegment),
      subscriptions: Math.ceil(this.state.subscriptionCount / this.subscriptionsPerSegment),
    })
    return { segments, main }
  }

  private mainFile(
    journal: readonly JournalEntry[],
    segments = { requests: this.requestSegments, subscriptions: this.subscriptionSegments },
  ): MainFile {
    return {
      format: STORE_FORMAT,
      nextSequence: this.state.nextSequence,
      requestsPerSegment: this.requestsPerSegment,
      subscriptionsPerSegment: this.subscriptionsPerSegment,
      requestSegments: segments.requests,
      subscriptionSegments: segments.subscriptions,
      journal,
    }
  }

  /** Exactly `JSON.stringify(data)`, but reusing each journal entry's text made at capture. */
  private stringifyMain(data: MainFile): string {
    const { journal, ...head } = data
    const entries = journal.map((entry) => this.entryTexts.get(entry) ?? JSON.stringify(entry))
    return `${JSON.stringify(head).slice(0, -1)},"journal":[${entries.join(',')}]}`
  }
}

function segmentPath(dir: string, kind: SegmentKind, index: number): string {
  return join(dir, `${kind}-${String(index).padStart(6, '0')}.json`)
}

function unreadable(file: string, why: string, cause?: unknown): StoreError {
  return new StoreError(
    'STORE_UNREADABLE',
    `Failed to read the provisioning store ${file}: ${why}. It was left untouched; move it away or open another file.`,
    cause === undefined ? {} : { cause },
  )
}

/** A file of the store, parsed, or null if it does not exist. */
function readStoreJson(path: string, storeFile: string): Promise<{ json: unknown } | null> {
  return readJson(path, (error) => {
    const what = path === storeFile ? '' : ` (its segment file ${path})`
    return unreadable(storeFile, `cannot read or parse it${what}: ${reason(error)}`, error)
  })
}

/** A missing main file next to segment files means the main file was lost, not a new store. */
async function refuseOrphanSegments(path: string): Promise<void> {
  let names: string[] = []
  try {
    names = await readdir(`${path}.segments`)
  } catch {
    return
  }
  if (names.some((name) => name.endsWith('.json'))) {
    throw unreadable(
      path,
      `the file is missing but its segment folder ${path}.segments holds data (the main file was lost)`,
    )
  }
}

/** An empty store (its main file does not exist yet). */
async function fresh(path: string, options: LowdbStoreOptions): Promise<Loaded> {
  await refuseOrphanSegments(path)
  const state = new ProvisioningState()
  return {
    main: {
      format: STORE_FORMAT,
      nextSequence: state.nextSequence,
      requestsPerSegment: options.requestsPerSegment ?? DEFAULT_PER_SEGMENT,
      subscriptionsPerSegment: options.subscriptionsPerSegment ?? DEFAULT_PER_SEGMENT,
      requestSegments: 0,
      subscriptionSegments: 0,
      journal: [],
    },
    state,
  }
}

async function load(path: string, json: unknown): Promise<Loaded> {
  if (!isMainFile(json)) {
    throw unreadable(
      path,
      json === null
        ? `it holds null, not a ${STORE_FORMAT} provisioning store`
        : `it is JSON but not a ${STORE_FORMAT} provisioning store`,
    )
  }
  const entryProblem = json.journal
    .map((entry, index) => {
      const problem = journalEntryProblem(entry)
      return problem === null ? null : `its journal entry ${index + 1}: ${problem}`
    })
    .find((problem) => problem !== null)
  if (entryProblem !== undefined) {
    throw unreadable(path, entryProblem)
  }
  const requests: (ProvisioningRequest | undefined)[] = []
  const subscriptions: (Subscription | undefined)[] = []
  const sources = [
    { kind: 'requests', count: json.requestSegments, per: json.requestsPerSegment, into: requests },
    {
      kind: 'subscriptions',
      count: json.subscriptionSegments,
      per: json.subscriptionsPerSegment,
      into: subscriptions,
    },
  ] as const
  for (const { kind, count, per, into } of sources) {
    for (let index = 0; index < count; index++) {
      const segmentFile = segmentPath(`${path}.segments`, kind, index)
      const segment = (await readStoreJson(segmentFile, path))?.json
      if (!isSegmentFile(segment, kind, index * per, per)) {
        throw unreadable(
          path,
          `its segment file ${segmentFile} is missing or not a ${kind} segment`,
        )
      }
      const itemProblem = segment.items
        .map((item, offset) => {
          const problem = kind === 'requests' ? requestProblem(item) : subscriptionProblem(item)
          return problem === null
            ? null
            : `item ${offset + 1} of its segment file ${segmentFile}: ${problem}`
        })
        .find((problem) => problem !== null)
      if (itemProblem !== undefined) {
        throw unreadable(path, itemProblem)
      }
      segment.items.forEach((item, offset) => (into[segment.first + offset] = item))
    }
  }
  for (const entry of json.journal) {
    if ('request' in entry) {
      requests[Number(entry.request.number) - 1] = entry.request
    } else {
      subscriptions[entry.ordinal] = entry.subscription
    }
  }
  try {
    return {
      main: json,
      state: ProvisioningState.restore(requests, subscriptions, json.nextSequence),
    }
  } catch (error) {
    throw unreadable(path, `its files are not a consistent set: ${reason(error)}`, error)
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isCount(value: unknown, min: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min
}

/** Why a journal entry is not a request or subscription record (one line), or null. */
function journalEntryProblem(value: unknown): string | null {
  if (!isRecord(value)) {
    return `it is ${value === null ? 'null' : typeof value}, not a record`
  }
  if ('request' in value) {
    const problem = requestProblem(value.request)
    return problem === null ? null : `request ${problem}`
  }
  if (!isCount(value.ordinal, 0)) {
    return 'it holds neither a request nor a subscription with its ordinal'
  }
  const problem = subscriptionProblem(value.subscription)
  return problem === null ? null : `subscription ${problem}`
}

function isMainFile(value: unknown): value is MainFile {
  return (
    isRecord(value) &&
    value.format === STORE_FORMAT &&
    isCount(value.nextSequence, 1) &&
    isCount(value.requestsPerSegment, 1) &&
    isCount(value.subscriptionsPerSegment, 1) &&
    isCount(value.requestSegments, 0) &&
    isCount(value.subscriptionSegments, 0) &&
    Array.isArray(value.journal)
  )
}

function isSegmentFile(
  value: unknown,
  kind: SegmentKind,
  first: number,
  per: number,
): value is SegmentFile {
  return (
    isRecord(value) &&
    value.format === STORE_FORMAT &&
    value.kind === kind &&
    value.first === first &&
    Array.isArray(value.items) &&
    value.items.length <= per
  )
}
