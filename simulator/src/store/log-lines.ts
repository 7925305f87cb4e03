import type { FileHandle } from 'node:fs/promises'
import { crc32 } from 'node:zlib'
import type { RedoOp, StoredMessage } from '../model/redo.js'
import type { JournalEntry } from '../runtime/journal.js'
import type { ReplayRecord } from '../runtime/replay-cache.js'

/**
 * The lines of the simulator's log (docs/decisions/0013). One line per commit group:
 *
 *     <CRC-32 of the rest, 8 lowercase hex digits> <state JSON>[<TAB><journal JSON>]\n
 *
 * The state part starts with the group number and, when the group has journal entries, the seq of
 * the first one and their count (`{"g":12,"s":340,"n":16,...`), so a reader can skip a group or
 * find a seq without parsing it. The journal entries are a JSON array after a tab (JSON text never
 * holds a raw tab or newline), so a replay parses only the entries memory will keep, and a journal
 * page only the entries. A line counts only whole: its newline written and its checksum right.
 */

/** The state part of a commit group's line: what it changed besides the journal. */
export interface GroupState {
  /** The group number: 1, 2, 3... across the log's segments. */
  readonly g: number
  /** The seq of the group's first journal entry (absent without entries). */
  readonly s?: number
  /** How many journal entries the group has (absent without entries). */
  readonly n?: number
  /** A reset ran: journal entries below this seq and every replay record were forgotten. */
  readonly x?: number
  /** Replay records made, oldest first. */
  readonly r?: readonly ReplayRecord[]
  /** The redo record's message table (absent when empty). */
  readonly m?: readonly StoredMessage[]
  /** The redo record's steps. */
  readonly o?: readonly RedoOp[]
}

const NEWLINE = 0x0a
const SPACE = 0x20
const TAB = 0x09
const HEADER = 9

/** The bytes of a group's line, newline included; `entries` in seq order. */
export function encodeLine(state: GroupState, entries: readonly JournalEntry[]): Buffer {
  const text =
    entries.length === 0
      ? JSON.stringify(state)
      : `${JSON.stringify(state)}\t${JSON.stringify(entries)}`
  const length = Buffer.byteLength(text)
  const line = Buffer.allocUnsafe(HEADER + length + 1)
  line.write(text, HEADER, 'utf8')
  const body = line.subarray(HEADER, HEADER + length)
  line.write(crc32(body).toString(16).padStart(8, '0'), 0, 'latin1')
  line[8] = SPACE
  line[line.length - 1] = NEWLINE
  return line
}

/** A line read back: its group number and its two parts, still as bytes. */
export type DecodedLine =
  | {
      readonly ok: true
      readonly group: number
      readonly state: Buffer
      /** The journal part, or null when the group has no entries. */
      readonly journal: Buffer | null
    }
  | { readonly ok: false; readonly problem: string }

/** Checks a line (without its newline): header, checksum and group number. */
export function decodeLine(bytes: Buffer): DecodedLine {
  if (bytes.length < HEADER + 2 || bytes[8] !== SPACE) {
    return { ok: false, problem: 'it is not a log line (no checksum header)' }
  }
  const hex = bytes.toString('latin1', 0, 8)
  const body = bytes.subarray(HEADER)
  if (!/^[0-9a-f]{8}$/.test(hex) || crc32(body) !== Number.parseInt(hex, 16)) {
    return { ok: false, problem: 'its checksum does not match its content' }
  }
  const group = /^\{"g":(\d{1,15})[,}]/.exec(body.toString('latin1', 0, 24))?.[1]
  if (group === undefined) {
    return { ok: false, problem: 'it does not start with a group number' }
  }
  const tab = body.indexOf(TAB)
  return {
    ok: true,
    group: Number(group),
    state: tab === -1 ? body : body.subarray(0, tab),
    journal: tab === -1 ? null : body.subarray(tab + 1),
  }
}

/** The first seq and count of a line's journal entries, read from its start; null without any. */
export function journalSpanOf(bytes: Buffer): { first: number; count: number } | null {
  const span = /^\{"g":\d+,"s":(\d+),"n":(\d+)/.exec(bytes.toString('latin1', HEADER, HEADER + 64))
  return span ? { first: Number(span[1]), count: Number(span[2]) } : null
}

/** A line as {@link readLines} gives it: where it starts, its bytes, and whether its newline came. */
export interface RawLine {
  readonly offset: number
  readonly bytes: Buffer
  /** False for the bytes after the last newline: a line cut short. */
  readonly complete: boolean
}

const CHUNK = 4 * 1024 * 1024

/**
 * The lines of a file from byte `from` to byte `to` (exclusive), read in chunks, so that memory
 * holds a chunk and the longest line, not the file.
 */
export async function* readLines(
  file: FileHandle,
  from: number,
  to: number,
): AsyncGenerator<RawLine> {
  let carry = Buffer.alloc(0)
  let carryOffset = from
  let position = from
  while (position < to) {
    // The unfinished line goes first in the next chunk's buffer: one copy of it, none of the chunk.
    const data = Buffer.allocUnsafe(carry.length + Math.min(CHUNK, to - position))
    carry.copy(data)
    const { bytesRead } = await file.read(data, carry.length, data.length - carry.length, position)
    if (bytesRead === 0) {
      break
    }
    position += bytesRead
    const end = carry.length + bytesRead
    let start = 0
    for (let nl = data.indexOf(NEWLINE); nl !== -1 && nl < end; nl = data.indexOf(NEWLINE, start)) {
      yield { offset: carryOffset + start, bytes: data.subarray(start, nl), complete: true }
      start = nl + 1
    }
    carry = data.subarray(start, end)
    carryOffset += start
  }
  if (carry.length > 0) {
    yield { offset: carryOffset, bytes: carry, complete: false }
  }
}
