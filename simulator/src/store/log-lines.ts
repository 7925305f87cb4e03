import type { FileHandle } from 'node:fs/promises'
import { crc32 } from 'node:zlib'
import type { RedoOp, StoredMessage } from '../model/redo.js'
import type { JournalEntry } from '../runtime/journal.js'
import type { ReplayRecord } from '../runtime/replay-cache.js'

/**
 * The lines of the simulator's log (docs/decisions/0013). One line per commit group:
 *
 *     <CRC-32 of the JSON, 8 lowercase hex digits> <JSON>\n
 *
 * The JSON starts with the group number (`{"g":12,...`), so a reader can skip a group without
 * parsing it. A line counts only whole: its newline written and its checksum right.
 */

/** What one commit group stored: the model's redo record, journal entries and replay records. */
export interface GroupLine {
  /** The group number: 1, 2, 3... across the log's segments. */
  readonly g: number
  /** The redo record's message table (absent when empty). */
  readonly m?: readonly StoredMessage[]
  /** The redo record's steps. */
  readonly o?: readonly RedoOp[]
  /** A reset ran: journal entries below this seq and every replay record were forgotten. */
  readonly x?: number
  /** Journal entries, in seq order. */
  readonly j?: readonly JournalEntry[]
  /** Replay records made, oldest first. */
  readonly r?: readonly ReplayRecord[]
}

const NEWLINE = 0x0a
const SPACE = 0x20
const HEADER = 9

/** The bytes of a group's line, newline included. */
export function encodeLine(group: GroupLine): Buffer {
  const json = Buffer.from(JSON.stringify(group), 'utf8')
  const line = Buffer.allocUnsafe(HEADER + json.length + 1)
  line.write(crc32(json).toString(16).padStart(8, '0'), 0, 'latin1')
  line[8] = SPACE
  json.copy(line, HEADER)
  line[line.length - 1] = NEWLINE
  return line
}

/** A line read back: its group number and, unless skipped, its content. */
export type DecodedLine =
  | { readonly ok: true; readonly group: number; readonly json: string }
  | { readonly ok: false; readonly problem: string }

/** Checks a line (without its newline): header, checksum and group number. */
export function decodeLine(bytes: Buffer): DecodedLine {
  if (bytes.length < HEADER + 2 || bytes[8] !== SPACE) {
    return { ok: false, problem: 'it is not a log line (no checksum header)' }
  }
  const expected = Number.parseInt(bytes.toString('latin1', 0, 8), 16)
  const json = bytes.subarray(HEADER)
  if (!/^[0-9a-f]{8}$/.test(bytes.toString('latin1', 0, 8)) || crc32(json) !== expected) {
    return { ok: false, problem: 'its checksum does not match its content' }
  }
  const group = /^\{"g":(\d{1,15})[,}]/.exec(json.toString('latin1', 0, 24))?.[1]
  if (group === undefined) {
    return { ok: false, problem: 'it does not start with a group number' }
  }
  return { ok: true, group: Number(group), json: json.toString('utf8') }
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
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, to - position))
    const { bytesRead } = await file.read(chunk, 0, chunk.length, position)
    if (bytesRead === 0) {
      break
    }
    position += bytesRead
    const data =
      carry.length === 0
        ? chunk.subarray(0, bytesRead)
        : Buffer.concat([carry, chunk.subarray(0, bytesRead)])
    let start = 0
    for (let nl = data.indexOf(NEWLINE); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
      yield { offset: carryOffset + start, bytes: data.subarray(start, nl), complete: true }
      start = nl + 1
    }
    carry = data.subarray(start)
    carryOffset += start
  }
  if (carry.length > 0) {
    yield { offset: carryOffset, bytes: carry, complete: false }
  }
}
