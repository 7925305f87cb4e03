import { crc32 } from 'node:zlib'

/**
 * The line format of the file store's log and archive files: `<crc32 of the JSON, 8 hex> <JSON>\n`.
 * JSON never holds a raw newline, so a line ends at the first `\n`; a line without its `\n` is a
 * torn write, and a line whose checksum does not match its bytes is damaged.
 */

/** Bytes before a line's JSON: 8 hex digits and a space. */
export const LINE_PREFIX_BYTES = 9

const NEWLINE = 0x0a
const SPACE = 0x20

/** The line carrying `json` (given as its parts, so that callers know where each part lands). */
export function encodeLine(parts: readonly Buffer[]): Buffer {
  let crc = 0
  for (const part of parts) {
    crc = crc32(part, crc)
  }
  const prefix = Buffer.from(`${crc.toString(16).padStart(8, '0')} `, 'latin1')
  return Buffer.concat([prefix, ...parts, Buffer.from('\n', 'latin1')])
}

/** The line carrying `json`, given as text: encoded once, straight into the line's buffer. */
export function encodeTextLine(json: string): Buffer {
  const length = Buffer.byteLength(json)
  const line = Buffer.allocUnsafe(LINE_PREFIX_BYTES + length + 1)
  line.write(json, LINE_PREFIX_BYTES)
  const crc = crc32(line.subarray(LINE_PREFIX_BYTES, LINE_PREFIX_BYTES + length))
  line.write(crc.toString(16).padStart(8, '0'), 0, 'latin1')
  line[LINE_PREFIX_BYTES - 1] = SPACE
  line[LINE_PREFIX_BYTES + length] = NEWLINE
  return line
}

/** One intact line: its byte range in the buffer (`end` is after its newline) and its JSON. */
export interface IntactLine {
  readonly start: number
  readonly end: number
  readonly json: Buffer
}

/** The first line that is not intact, and what follows it. */
export interface DamagedLine {
  readonly start: number
  /** Why it is not intact: `no line end` (torn) or `checksum mismatch`. */
  readonly why: string
  /** Intact lines after it: none means a damaged tail, any means damage in the middle. */
  readonly intactAfter: readonly IntactLine[]
}

/** The intact lines of a log from its start, and the first damaged line, if any. */
export interface ScannedLog {
  readonly lines: readonly IntactLine[]
  readonly damaged: DamagedLine | null
}

/** Checks the line at `start`: the intact line, or why it is not. */
function lineAt(buffer: Buffer, start: number): IntactLine | { readonly why: string } {
  const newline = buffer.indexOf(NEWLINE, start)
  if (newline === -1) {
    return { why: 'no line end (a torn write)' }
  }
  if (newline - start <= LINE_PREFIX_BYTES || buffer[start + LINE_PREFIX_BYTES - 1] !== SPACE) {
    return { why: 'no checksum' }
  }
  const expected = Number.parseInt(
    buffer.toString('latin1', start, start + LINE_PREFIX_BYTES - 1),
    16,
  )
  const json = buffer.subarray(start + LINE_PREFIX_BYTES, newline)
  if (!/^[0-9a-f]{8}$/.test(buffer.toString('latin1', start, start + 8))) {
    return { why: 'no checksum' }
  }
  if (crc32(json) !== expected) {
    return { why: 'checksum mismatch' }
  }
  return { start, end: newline + 1, json }
}

/**
 * Reads a log's lines up to the first that is not intact. When one is damaged, the lines after it
 * that are intact are listed too: a damaged last line is a torn or interrupted write, but a
 * damaged line with intact ones after it is damage to data that was already written.
 */
export function scanLines(buffer: Buffer): ScannedLog {
  const lines: IntactLine[] = []
  let position = 0
  while (position < buffer.length) {
    const line = lineAt(buffer, position)
    if ('why' in line) {
      return {
        lines,
        damaged: { start: position, why: line.why, intactAfter: after(buffer, position) },
      }
    }
    lines.push(line)
    position = line.end
  }
  return { lines, damaged: null }
}

/** Intact lines that start after a newline past `from`. */
function after(buffer: Buffer, from: number): IntactLine[] {
  const found: IntactLine[] = []
  let newline = buffer.indexOf(NEWLINE, from)
  while (newline !== -1 && newline + 1 < buffer.length) {
    const line = lineAt(buffer, newline + 1)
    if (!('why' in line)) {
      found.push(line)
    }
    newline = buffer.indexOf(NEWLINE, newline + 1)
  }
  return found
}

/** Whether `bytes` (one line without its newline) is intact. */
export function isIntactLine(bytes: Buffer): boolean {
  if (bytes.length <= LINE_PREFIX_BYTES || bytes[LINE_PREFIX_BYTES - 1] !== SPACE) {
    return false
  }
  const text = bytes.toString('latin1', 0, 8)
  return (
    /^[0-9a-f]{8}$/.test(text) &&
    crc32(bytes.subarray(LINE_PREFIX_BYTES)) === Number.parseInt(text, 16)
  )
}
