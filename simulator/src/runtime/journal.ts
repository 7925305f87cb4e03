import type { ReadObject } from '../contract/schema.js'
import { SimulatorError } from './simulator-error.js'

/** One SOAP call as the simulator received and answered it (contract section 4). */
export interface JournalEntry {
  /** Monotonic number of the entry; `GET /admin/journal?after=n` returns entries after n. */
  readonly seq: number
  readonly at: string
  readonly user: string | null
  readonly service: string
  readonly operation: string | null
  readonly request: ReadObject | null
  /** The answered StatusCode; `FAULT:Client`, `FAULT:Server`, `HTTP_<status>` or `RESET` otherwise. */
  readonly statusCode: string
  readonly transactionId: string | null
  readonly durationMs: number
  readonly httpStatus: number
  readonly replay: boolean
  readonly message: string | null
}

/**
 * The raw bodies of a call, kept only in memory beside the entry (never stored: they would slow
 * the durable store). Each is bounded (see call-journal.ts).
 */
export interface JournalXml {
  readonly requestXml?: string
  readonly answerXml?: string
}

/** An entry as the admin API shows it: with the raw bodies while memory still holds them. */
export type JournalEntryView = JournalEntry & JournalXml

export interface JournalQuery {
  /** Only entries after this sequence number (`since` is the older name of the same thing). */
  readonly after?: number | undefined
  readonly since?: number | undefined
  readonly operation?: string | undefined
  readonly service?: string | undefined
  readonly limit?: number | undefined
}

/** A page of the journal, and how far it looked: every entry up to `through` was considered. */
export interface JournalPage {
  readonly entries: JournalEntry[]
  readonly through: number
}

/**
 * Where entries older than those kept in memory can still be read (the log of a durable store).
 * It holds every durable entry from {@link oldestSeq} on.
 */
export interface JournalArchive {
  /** The lowest seq the archive can still read, or null when it holds none. */
  oldestSeq(): Promise<number | null>
  /**
   * Calls `visit` with each stored entry whose seq is `from` or more, oldest first, until `visit`
   * answers false or the stored entries end.
   */
  scan(from: number, visit: (entry: JournalEntry) => boolean): Promise<void>
}

/** What {@link Journal.clear} forgot, to put back if the reset that cleared it is undone. */
export interface ClearedJournal {
  readonly entries: JournalEntry[]
  readonly xml: Map<number, JournalXml>
  readonly dropped: number
  readonly floor: number
}

/** The journal as a store keeps it: the newest entries, the next number and the reset floor. */
export interface JournalSnapshot {
  readonly entries: JournalEntry[]
  readonly nextSeq: number
  /** Entries below this seq were forgotten by a reset (absent in stores before format 2). */
  readonly floor?: number
}

/**
 * The request journal, newest last. Memory holds at most `limit` entries that are stored (older
 * ones are dropped, or left to the store's archive); entries not yet stored are never dropped.
 *
 * An entry is durable once the store write carrying it succeeded (at once in memory): only then
 * is it shown to followers ({@link subscribe}, the admin API's event stream), so a follower never
 * sees an outcome that a failed store write changes afterwards.
 */
export class Journal {
  private entries: JournalEntry[] = []
  /** Raw bodies by seq, for entries in memory that have them (not those read back from a store). */
  private xml = new Map<number, JournalXml>()
  private nextSeq = 1
  private dropped = 0
  /** Entries below this seq were forgotten by a reset, on purpose. */
  private floor = 1
  /** The floor the store holds; differs from {@link floor} after a reset not yet stored. */
  private storedFloor = 1
  private durableThrough = 0
  private archive: JournalArchive | null = null
  private readonly listeners = new Set<(entries: readonly JournalEntry[]) => void>()

  private readonly limit: number
  private readonly durableOnAppend: boolean

  /**
   * `durableOnAppend`: entries are durable as soon as they are recorded (a simulator without a
   * store); otherwise the store calls {@link markDurable}.
   */
  constructor(limit: number, options: { readonly durableOnAppend?: boolean } = {}) {
    this.limit = limit
    this.durableOnAppend = options.durableOnAppend ?? true
  }

  /** Records one call (with its raw bodies, kept in memory only) and returns it with its seq. */
  append(entry: Omit<JournalEntry, 'seq'>, xml?: JournalXml): JournalEntry {
    const full = { seq: this.nextSeq++, ...entry }
    this.entries.push(full)
    if (xml !== undefined && (xml.requestXml !== undefined || xml.answerXml !== undefined)) {
      this.xml.set(full.seq, xml)
    }
    if (this.durableOnAppend) {
      this.durableThrough = full.seq
      this.trim()
      this.emit([full])
    } else {
      this.trim()
    }
    return full
  }

  /** Corrects the outcome of an entry not yet durable (a write that could not be stored). */
  amend(seq: number, change: { statusCode: string; message: string }, answerXml?: string): void {
    const index = this.entries.findLastIndex((entry) => entry.seq === seq)
    const entry = this.entries[index]
    if (entry) {
      this.entries[index] = { ...entry, ...change }
      const xml = this.xml.get(seq)
      if (xml !== undefined) {
        const { answerXml: _old, ...rest } = xml
        this.xml.set(seq, answerXml === undefined ? rest : { ...rest, answerXml })
      }
    }
  }

  /** The entry with its raw bodies, when memory still holds them. */
  view(entry: JournalEntry): JournalEntryView {
    const xml = this.xml.get(entry.seq)
    return xml === undefined ? entry : { ...entry, ...xml }
  }

  /** Entries in memory. */
  size(): number {
    return this.entries.length
  }

  /** The newest seq given out so far (0: none yet). */
  lastSeq(): number {
    return this.nextSeq - 1
  }

  /** The newest durable seq (what followers have been shown). */
  durableSeq(): number {
    return this.durableThrough
  }

  /** Entries in memory matching the query, oldest first. */
  list(query: JournalQuery = {}): JournalEntry[] {
    const after = query.after ?? query.since
    const result: JournalEntry[] = []
    for (let index = this.firstAfter(after ?? 0); index < this.entries.length; index++) {
      const entry = this.entries[index]
      if (entry !== undefined && matches(entry, query)) {
        result.push(entry)
        if (query.limit !== undefined && result.length >= query.limit) {
          break
        }
      }
    }
    return result
  }

  /**
   * A page of entries after `query.after` (or `since`), from memory and, for older ones, the
   * archive; at most `query.limit`. With `durableOnly`, entries not yet stored are left out.
   * Refuses with JOURNAL_ENTRIES_DROPPED when entries after `after` are gone (dropped from memory
   * past the journal limit, or from the archive past its retention), rather than answering as if
   * there had been none.
   */
  async page(query: JournalQuery, durableOnly = false): Promise<JournalPage> {
    const limit = query.limit ?? Number.POSITIVE_INFINITY
    const start = Math.max((query.after ?? query.since ?? 0) + 1, this.floor)
    const result: JournalEntry[] = []
    const full = (): JournalPage => ({ entries: result, through: result.at(-1)?.seq ?? start - 1 })
    let next = start
    if (start < this.oldestInMemory()) {
      const archived = this.archive === null ? null : await this.archive.oldestSeq()
      if (archived === null || archived > start) {
        throw this.dropped_(start, archived)
      }
      await this.archive?.scan(start, (entry) => {
        // Memory takes over where it starts (it may start later than when the scan began).
        if (entry.seq >= this.oldestInMemory() || result.length >= limit) {
          return false
        }
        next = entry.seq + 1
        if (entry.seq >= this.floor && matches(entry, query)) {
          result.push(entry)
        }
        return true
      })
      if (result.length >= limit) {
        return full()
      }
      if (next < this.oldestInMemory()) {
        throw this.dropped_(next, archived)
      }
    }
    for (let index = this.firstAfter(next - 1); index < this.entries.length; index++) {
      const entry = this.entries[index]
      if (entry === undefined || (durableOnly && entry.seq > this.durableThrough)) {
        break
      }
      if (matches(entry, query)) {
        result.push(entry)
        if (result.length >= limit) {
          return full()
        }
      }
    }
    return {
      entries: result,
      through: Math.max(next - 1, durableOnly ? this.durableThrough : this.lastSeq()),
    }
  }

  /** How many entries were dropped from memory because the journal was full. */
  droppedCount(): number {
    return this.dropped
  }

  /** Follows the journal: `listener` gets entries as they become durable. Returns the unsubscribe. */
  subscribe(listener: (entries: readonly JournalEntry[]) => void): () => void {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }

  /** Lets {@link page} read entries older than memory from a durable store. */
  setArchive(archive: JournalArchive): void {
    this.archive = archive
  }

  /** Forgets every entry (sequence numbers go on); returns what it forgot, for {@link unclear}. */
  clear(): ClearedJournal {
    const cleared = {
      entries: this.entries,
      xml: this.xml,
      dropped: this.dropped,
      floor: this.floor,
    }
    this.entries = []
    this.xml = new Map()
    this.dropped = 0
    this.floor = this.nextSeq
    return cleared
  }

  /** Puts back what {@link clear} forgot, before the entries made since (a reset that was undone). */
  unclear(cleared: ClearedJournal): void {
    this.entries = [...cleared.entries, ...this.entries]
    for (const [seq, xml] of cleared.xml) {
      this.xml.set(seq, xml)
    }
    this.dropped += cleared.dropped
    this.floor = cleared.floor
  }

  // ----- the store's side ----------------------------------------------------------------------

  /**
   * What a store write starting now must carry: the entries not yet durable, and the reset floor
   * when a reset since the last write forgot the entries below it.
   */
  pending(): { readonly entries: JournalEntry[]; readonly floor: number | null } {
    return {
      entries: this.entries.slice(this.firstAfter(this.durableThrough)),
      floor: this.floor === this.storedFloor ? null : this.floor,
    }
  }

  /** A store write carrying entries through `seq` and the reset floor `floor` succeeded. */
  markDurable(seq: number, floor: number | null): void {
    if (floor !== null) {
      this.storedFloor = floor
    }
    if (seq <= this.durableThrough) {
      return
    }
    const from = this.firstAfter(this.durableThrough)
    this.durableThrough = seq
    const durable = this.entries.slice(from, this.firstAfter(seq))
    this.trim()
    if (durable.length > 0) {
      this.emit(durable)
    }
  }

  /** Puts back a stored entry (replaying a store): durable, with its own seq. */
  restore(entry: JournalEntry): void {
    this.entries.push(entry)
    this.nextSeq = Math.max(this.nextSeq, entry.seq + 1)
    this.durableThrough = Math.max(this.durableThrough, entry.seq)
    this.trim()
  }

  /**
   * Notes stored entries up to `seq` without holding them (replaying a store reads only the
   * entries memory keeps): the next seq follows them, and they count as durable.
   */
  restoreSeq(seq: number): void {
    this.nextSeq = Math.max(this.nextSeq, seq + 1)
    this.durableThrough = Math.max(this.durableThrough, seq)
  }

  /** How many stored entries memory holds at most (the journal limit). */
  capacity(): number {
    return this.limit
  }

  /** Replays a stored reset: entries below `floor` are forgotten. */
  restoreReset(floor: number): void {
    this.clear()
    this.floor = floor
    this.storedFloor = floor
    this.nextSeq = Math.max(this.nextSeq, floor)
  }

  /** The newest entries (at most the limit), the next seq and the floor, as stored now. */
  toSnapshot(): { entries: JournalEntry[]; nextSeq: number; floor: number } {
    return {
      entries: this.entries.slice(Math.max(0, this.entries.length - this.limit)),
      nextSeq: this.nextSeq,
      floor: this.floor,
    }
  }

  /** Replaces everything with a stored journal; every entry of it is durable. */
  loadSnapshot(snapshot: JournalSnapshot): void {
    this.entries = [...snapshot.entries]
    this.xml = new Map()
    this.nextSeq = snapshot.nextSeq
    // A store before format 2 does not say: take its entries as all there are.
    this.floor = snapshot.floor ?? this.entries[0]?.seq ?? snapshot.nextSeq
    this.storedFloor = this.floor
    this.durableThrough = this.nextSeq - 1
    this.dropped = 0
  }

  // ----- internals -----------------------------------------------------------------------------

  private oldestInMemory(): number {
    return this.entries[0]?.seq ?? this.nextSeq
  }

  /** The index of the first entry in memory whose seq is above `seq` (entries are in seq order). */
  private firstAfter(seq: number): number {
    const entries = this.entries
    let low = 0
    let high = entries.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if ((entries[middle]?.seq ?? Number.POSITIVE_INFINITY) <= seq) {
        low = middle + 1
      } else {
        high = middle
      }
    }
    return low
  }

  /** Trims in chunks, so a full journal does not pay an O(n) splice on every call. */
  private trim(): void {
    const slack = Math.max(1, Math.floor(this.limit / 10))
    if (this.entries.length < this.limit + slack) {
      return
    }
    // Only durable entries go: the others are still to be written.
    const excess = Math.min(this.entries.length - this.limit, this.firstAfter(this.durableThrough))
    if (excess > 0) {
      for (const entry of this.entries.slice(0, excess)) {
        this.xml.delete(entry.seq)
      }
      this.entries.splice(0, excess)
      this.dropped += excess
    }
  }

  private emit(entries: readonly JournalEntry[]): void {
    for (const listener of this.listeners) {
      listener(entries)
    }
  }

  private dropped_(from: number, archived: number | null): SimulatorError {
    const kept = Math.min(this.oldestInMemory(), archived ?? Number.POSITIVE_INFINITY)
    return new SimulatorError(
      'JOURNAL_ENTRIES_DROPPED',
      `The journal entries from seq ${from} to ${kept - 1} are no longer kept: ${
        this.archive === null
          ? `memory holds the newest ${this.limit} entries (journalLimit)`
          : 'they are older than what the store keeps (journal retention)'
      }. The oldest entry kept is ${kept}; ask with after=${kept - 1} to read on from there, and raise ${
        this.archive === null ? '--journal-limit' : '--journal-retain'
      } to keep more.`,
      { details: { from, oldestKept: kept, lastSeq: this.lastSeq() } },
    )
  }
}

function matches(entry: JournalEntry, query: JournalQuery): boolean {
  return (
    (query.operation === undefined || entry.operation === query.operation) &&
    (query.service === undefined || entry.service === query.service)
  )
}
