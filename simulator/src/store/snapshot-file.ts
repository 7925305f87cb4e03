import { open, readFile } from 'node:fs/promises'
import { performance } from 'node:perf_hooks'
import type { ModelCapture } from '../model/ca-state.js'
import type { StoredMessage } from '../model/redo.js'
import type { Smartcard } from '../model/types.js'
import type { JournalEntry } from '../runtime/journal.js'
import type { ReplayRecord } from '../runtime/replay-cache.js'
import { SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_2 } from './snapshot-schema.js'
import { errorCode, oneLine, unreadableStore } from './store-files.js'

/**
 * The snapshot file of a log store (format `conax-sim/2`, plain JSON): the whole state at one log
 * position, written in the background from a capture (docs/decisions/0013).
 */

/** The state at the end of one commit group, as a compaction writes it. */
export interface StateCapture {
  /** The last log group the snapshot holds. */
  readonly position: number
  readonly savedAt: string
  readonly model: ModelCapture
  readonly journal: {
    readonly entries: readonly JournalEntry[]
    readonly nextSeq: number
    readonly floor: number
  }
  readonly replays: readonly ReplayRecord[]
}

/** How {@link writeSnapshotFile} went. */
export interface SnapshotWriteReport {
  readonly bytes: number
  /** The longest the writer held the event loop in one go (serialising one chunk), in ms. */
  readonly longestChunkMs: number
  readonly chunks: number
}

/** Items serialised in one turn of the event loop: about a millisecond or two of work. */
const CHUNK_ITEMS = 2000

/** Thrown by {@link writeSnapshotFile} when `aborted()` says so between chunks. */
export class SnapshotAborted extends Error {}

/**
 * Writes the capture to `path` (created or truncated) chunk by chunk, each chunk in its own turn
 * of the event loop, then flushes it to disk (fsync). `aborted` is asked between chunks.
 */
export async function writeSnapshotFile(
  path: string,
  capture: StateCapture,
  aborted: () => boolean = () => false,
): Promise<SnapshotWriteReport> {
  const file = await open(path, 'w')
  let bytes = 0
  let longestChunkMs = 0
  let chunks = 0
  const write = async (text: string): Promise<void> => {
    if (aborted()) {
      throw new SnapshotAborted('The snapshot was abandoned (the store is closing).')
    }
    const { bytesWritten } = await file.write(text)
    bytes += bytesWritten
  }
  /** Serialises items in chunks, each its own turn, comma-separated. */
  const list = async <T>(items: Iterable<T>, serialise: (item: T) => string): Promise<void> => {
    let parts: string[] = []
    let started = performance.now()
    let first = true
    const flush = async (): Promise<void> => {
      const text = (first ? '' : ',') + parts.join(',')
      longestChunkMs = Math.max(longestChunkMs, performance.now() - started)
      chunks++
      first = false
      parts = []
      await write(text)
      started = performance.now()
    }
    for (const item of items) {
      parts.push(serialise(item))
      if (parts.length >= CHUNK_ITEMS) {
        await flush()
      }
    }
    if (parts.length > 0) {
      await flush()
    }
  }
  try {
    const { model } = capture
    await write(
      `{"format":${JSON.stringify(SNAPSHOT_FORMAT_2)},"savedAt":${JSON.stringify(capture.savedAt)},` +
        `"log":{"position":${capture.position}},"journal":{"nextSeq":${capture.journal.nextSeq},` +
        `"floor":${capture.journal.floor},"entries":[`,
    )
    await list(capture.journal.entries, (entry) => JSON.stringify(entry))
    await write(']},"replays":[')
    await list(capture.replays, (record) => JSON.stringify(record))
    await write(
      `],"model":{"nextPairingNumber":${model.nextPairingNumber},"products":${JSON.stringify([
        ...model.products.values(),
      ])},"pairings":[`,
    )
    await list(model.pairings, ([id, pairing]) => JSON.stringify(model.pairing(id, pairing)))
    await write('],"pairingModules":[')
    await list(model.modules, ([id, stb]) => JSON.stringify(model.module(id, stb)))
    await write('],"cards":[')
    const messages = new MessageTable()
    await list(model.cards, ([id, card]) => messages.card(model.card(id, card)))
    await write('],"messages":[')
    await list(messages.all, (message) => JSON.stringify(message))
    await write(']}}')
    await file.sync()
  } finally {
    await file.close()
  }
  return { bytes, longestChunkMs, chunks }
}

/** Numbers each message once, so a message sent to many cards is written once. */
class MessageTable {
  readonly all: StoredMessage[] = []
  private readonly index = new Map<StoredMessage, number>()

  card(card: Smartcard): string {
    return JSON.stringify({
      ...card,
      inbox: this.refs(card.inbox),
      screen: this.refs(card.screen),
      fingerprints: this.refs(card.fingerprints),
    })
  }

  private refs(list: readonly StoredMessage[]): number[] {
    return list.map((message) => {
      let at = this.index.get(message)
      if (at === undefined) {
        at = this.all.length
        this.all.push(message)
        this.index.set(message, at)
      }
      return at
    })
  }
}

/**
 * The parsed content of a snapshot file, or null when there is none. Refuses (leaving it
 * untouched) a directory, an unreadable, empty or truncated file, and a file holding `null`.
 */
export async function readSnapshotFile(path: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      return null
    }
    throw unreadableStore(
      path,
      errorCode(error) === 'EISDIR'
        ? 'it is a directory, not a file'
        : `it cannot be read (${oneLine(error)})`,
      error,
    )
  }
  if (text.trim() === '') {
    throw unreadableStore(path, `it is empty, not a ${SNAPSHOT_FORMAT} store`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw unreadableStore(
      path,
      `it is not valid JSON (${oneLine(error)}), e.g. cut short by a full disk or an interrupted copy`,
      error,
    )
  }
  if (data === null) {
    throw unreadableStore(path, `it holds null, not a ${SNAPSHOT_FORMAT} store`)
  }
  return data
}
