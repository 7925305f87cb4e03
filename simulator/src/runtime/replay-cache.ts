import { createHash } from 'node:crypto'
import type { ReadObject } from '../contract/schema.js'
import type { OperationName } from '../operations/operation-table.js'

/** The first answer to a write, kept so that a repeat of it can be answered the same way. */
export interface ReplayRecord {
  readonly key: string
  readonly hash: string
  readonly transactionId: string
  readonly message: string
}

/** What {@link ReplayCache.clear} forgot, to put back if the reset is undone. */
export interface ClearedReplays {
  readonly records: ReadonlyMap<string, ReplayRecord>
  readonly pending: ReadonlyMap<string, ReplayRecord>
}

/**
 * SequenceNumber replay detection. A write that repeats the user, operation, SequenceNumber and
 * payload of the last successful write with that SequenceNumber is a replay; the same key with
 * another payload is a reused SequenceNumber. Only successful writes are kept: a failed write
 * changed nothing, so running it again is harmless.
 */
export class ReplayCache {
  private records = new Map<string, ReplayRecord>()
  /** Records made since the last {@link takePending}: what the next store write must carry. */
  private pending = new Map<string, ReplayRecord>()

  private readonly limit: number

  constructor(limit: number) {
    this.limit = limit
  }

  /** The key and payload hash of a write, or null when it carries no SequenceNumber. */
  static identify(
    user: string,
    operation: OperationName,
    request: ReadObject,
  ): { key: string; hash: string } | null {
    const sequence = request.SequenceNumber
    if (sequence === undefined) {
      return null
    }
    const { SequenceNumber: _omitted, ...payload } = request
    const hash = createHash('sha1').update(JSON.stringify(payload)).digest('base64')
    return { key: `${user}\u0000${operation}\u0000${String(Number(sequence))}`, hash }
  }

  /** The earlier answer when this write is a replay, else undefined. */
  find(identity: { key: string; hash: string }): ReplayRecord | undefined {
    const record = this.records.get(identity.key)
    return record?.hash === identity.hash ? record : undefined
  }

  /** The last successful write with this key (user, operation, SequenceNumber), whatever its payload. */
  lookup(key: string): ReplayRecord | undefined {
    return this.records.get(key)
  }

  /** Keeps a record; returns the one it replaces (with the same key), so that it can be put back. */
  remember(record: ReplayRecord): ReplayRecord | undefined {
    const replaced = this.records.get(record.key)
    this.put(record)
    this.pending.delete(record.key)
    this.pending.set(record.key, record)
    return replaced
  }

  /** Puts back a stored record (replaying a store). */
  restore(record: ReplayRecord): void {
    this.put(record)
  }

  private put(record: ReplayRecord): void {
    this.records.delete(record.key)
    this.records.set(record.key, record)
    if (this.records.size > this.limit) {
      const oldest = this.records.keys().next().value
      if (oldest !== undefined) {
        this.records.delete(oldest)
      }
    }
  }

  /**
   * Forgets the record of a write that was rolled back, putting back the one it replaced (if
   * any); a record made since by another write is left alone.
   */
  forget(record: ReplayRecord, replaced: ReplayRecord | undefined): void {
    if (this.records.get(record.key) !== record) {
      return
    }
    this.records.delete(record.key)
    if (this.pending.get(record.key) === record) {
      this.pending.delete(record.key)
    }
    if (replaced) {
      this.records.set(replaced.key, replaced)
    }
  }

  /** Forgets every record; returns them, for {@link unclear}. */
  clear(): ClearedReplays {
    const cleared = { records: this.records, pending: this.pending }
    this.records = new Map()
    this.pending = new Map()
    return cleared
  }

  /** Puts back what {@link clear} forgot; records made since win. */
  unclear(cleared: ClearedReplays): void {
    this.records = new Map([...cleared.records, ...this.records])
    this.pending = new Map([...cleared.pending, ...this.pending])
  }

  /**
   * The records made since the last call, still held, oldest first: what a store write starting
   * now carries. If that write fails, the writes that made them are undone (and forget them).
   */
  takePending(): ReplayRecord[] {
    const taken = [...this.pending.values()].filter((r) => this.records.get(r.key) === r)
    this.pending = new Map()
    return taken
  }

  /** How many records are held. */
  size(): number {
    return this.records.size
  }

  /** The records held now, oldest first; later changes do not alter the copy. */
  capture(): ReplayRecord[] {
    return [...this.records.values()]
  }

  toSnapshot(): ReplayRecord[] {
    return [...this.records.values()]
  }

  loadSnapshot(records: readonly ReplayRecord[]): void {
    this.records = new Map(records.map((r) => [r.key, r]))
    this.pending = new Map()
  }
}
