import type { ReadObject } from '../contract/schema.js'

/** One SOAP call as the simulator received and answered it (contract section 4). */
export interface JournalEntry {
  /** Monotonic number of the entry; `GET /admin/journal?since=n` returns entries after n. */
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

export interface JournalQuery {
  readonly since?: number | undefined
  readonly operation?: string | undefined
  readonly service?: string | undefined
  readonly limit?: number | undefined
}

/** The request journal: newest last, capped at `limit` entries (the oldest are dropped first). */
export class Journal {
  private entries: JournalEntry[] = []
  private nextSeq = 1
  private dropped = 0

  private readonly limit: number

  constructor(limit: number) {
    this.limit = limit
  }

  /** Records one call and returns it with its sequence number. */
  append(entry: Omit<JournalEntry, 'seq'>): JournalEntry {
    const full = { seq: this.nextSeq++, ...entry }
    this.entries.push(full)
    // Trim in chunks so a full journal does not pay an O(n) splice on every call.
    const slack = Math.max(1, Math.floor(this.limit / 10))
    if (this.entries.length >= this.limit + slack) {
      const excess = this.entries.length - this.limit
      this.entries.splice(0, excess)
      this.dropped += excess
    }
    return full
  }

  /** Corrects the outcome of an entry (a write that was applied but could not be stored). */
  amend(seq: number, change: { statusCode: string; message: string }): void {
    const index = this.entries.findLastIndex((entry) => entry.seq === seq)
    const entry = this.entries[index]
    if (entry) {
      this.entries[index] = { ...entry, ...change }
    }
  }

  /** Entries kept. */
  size(): number {
    return Math.min(this.entries.length, this.limit)
  }

  /** Entries matching the query, oldest first. */
  list(query: JournalQuery = {}): JournalEntry[] {
    const start = Math.max(0, this.entries.length - this.limit)
    const result: JournalEntry[] = []
    for (let index = start; index < this.entries.length; index++) {
      const entry = this.entries[index]
      if (
        entry !== undefined &&
        (query.since === undefined || entry.seq > query.since) &&
        (query.operation === undefined || entry.operation === query.operation) &&
        (query.service === undefined || entry.service === query.service)
      ) {
        result.push(entry)
        if (query.limit !== undefined && result.length >= query.limit) {
          break
        }
      }
    }
    return result
  }

  /** How many entries were dropped because the journal was full. */
  droppedCount(): number {
    return this.dropped
  }

  /** Forgets every entry (sequence numbers go on); returns what it forgot, for {@link unclear}. */
  clear(): { readonly entries: JournalEntry[]; readonly dropped: number } {
    const cleared = { entries: this.entries, dropped: this.dropped }
    this.entries = []
    this.dropped = 0
    return cleared
  }

  /** Puts back what {@link clear} forgot, before the entries made since (a reset that was undone). */
  unclear(cleared: { readonly entries: JournalEntry[]; readonly dropped: number }): void {
    this.entries = [...cleared.entries, ...this.entries]
    this.dropped += cleared.dropped
  }

  toSnapshot(): { entries: JournalEntry[]; nextSeq: number } {
    return { entries: this.list(), nextSeq: this.nextSeq }
  }

  loadSnapshot(snapshot: { entries: JournalEntry[]; nextSeq: number }): void {
    this.entries = [...snapshot.entries]
    this.nextSeq = snapshot.nextSeq
  }
}
