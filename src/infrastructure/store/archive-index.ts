import { REQUEST_TYPES } from '../../domain/commands.js'
import { LIFE_CYCLE_STATES, PROCESS_NAMES } from '../../domain/provisioning-request.js'
import type { RequestKeys } from './request-columns.js'

/**
 * The index line that ends an archive file: for each request line of the file, its keys (the
 * fields filters use) and where the line lies, so that opening the store reads indexes, not
 * requests. Columns of equal length; strings (states, types, process names, subscription and
 * process ids) are positions in one `strings` list, -1 for null.
 */
export interface ArchiveIndex {
  readonly records: number
  readonly strings: readonly string[]
  readonly number: readonly number[]
  readonly offset: readonly number[]
  readonly length: readonly number[]
  readonly idHash: readonly number[]
  readonly referenceHash: readonly number[]
  readonly state: readonly number[]
  readonly type: readonly number[]
  readonly processName: readonly number[]
  readonly subscriptionId: readonly number[]
  readonly processId: readonly number[]
}

/** One archived request line: its keys and its byte range (the line without its newline). */
export interface ArchivedLine {
  readonly keys: RequestKeys
  readonly offset: number
  readonly length: number
}

/** The index of `lines`, as the JSON of the archive's last line. */
export function encodeArchiveIndex(lines: readonly ArchivedLine[]): string {
  const strings: string[] = []
  const codes = new Map<string, number>()
  const code = (text: string | null): number => {
    if (text === null) {
      return -1
    }
    let found = codes.get(text)
    if (found === undefined) {
      found = strings.length
      strings.push(text)
      codes.set(text, found)
    }
    return found
  }
  const index: ArchiveIndex = {
    records: lines.length,
    strings,
    number: lines.map((line) => line.keys.number),
    offset: lines.map((line) => line.offset),
    length: lines.map((line) => line.length),
    idHash: lines.map((line) => line.keys.idHash),
    referenceHash: lines.map((line) => line.keys.referenceHash),
    state: lines.map((line) => code(line.keys.lifeCycleState)),
    type: lines.map((line) => code(line.keys.type)),
    processName: lines.map((line) => code(line.keys.processName)),
    subscriptionId: lines.map((line) => code(line.keys.subscriptionId)),
    processId: lines.map((line) => code(line.keys.processId)),
  }
  return JSON.stringify(index)
}

const COLUMNS = [
  'number',
  'offset',
  'length',
  'idHash',
  'referenceHash',
  'state',
  'type',
  'processName',
  'subscriptionId',
  'processId',
] as const

function isWhole(value: unknown, min: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min
}

type Column = (typeof COLUMNS)[number]

/** An index whose shape was checked: every column is `records` whole numbers (-1 or more). */
interface CheckedIndex {
  readonly records: number
  readonly strings: readonly string[]
  readonly columns: Readonly<Record<Column, readonly number[]>>
}

function checkShape(json: unknown): CheckedIndex | string {
  if (typeof json !== 'object' || json === null) {
    return 'its index is not a record'
  }
  const index = json as Partial<Record<keyof ArchiveIndex, unknown>>
  const { records, strings } = index
  if (!isWhole(records, 0)) {
    return 'its index has no record count'
  }
  if (!Array.isArray(strings) || !strings.every((text) => typeof text === 'string')) {
    return 'its index has no string list'
  }
  const columns: Partial<Record<Column, readonly number[]>> = {}
  for (const column of COLUMNS) {
    const values = index[column]
    if (
      !Array.isArray(values) ||
      values.length !== records ||
      !values.every((value) => isWhole(value, -1))
    ) {
      return `its index column ${column} is not ${records} whole numbers`
    }
    columns[column] = values
  }
  return { records, strings, columns: columns as Record<Column, readonly number[]> }
}

const MISSING = Symbol('missing')

/** Entry `i` of a checked index, or null when it is not a request's keys and place. */
function entryAt(index: CheckedIndex, i: number, limit: number): ArchivedLine | null {
  const value = (column: Column): number => index.columns[column][i] ?? -1
  const text = (column: Column): string | null | typeof MISSING => {
    const code = value(column)
    return code === -1 ? null : (index.strings[code] ?? MISSING)
  }
  const oneOf = <T extends string>(values: readonly T[], column: Column): T | undefined => {
    const found = text(column)
    return values.find((candidate) => candidate === found)
  }
  const lifeCycleState = oneOf(LIFE_CYCLE_STATES, 'state')
  const type = oneOf(REQUEST_TYPES, 'type')
  const processName = oneOf(PROCESS_NAMES, 'processName')
  const subscriptionId = text('subscriptionId')
  const processId = text('processId')
  const [number, offset, length, idHash] = [
    value('number'),
    value('offset'),
    value('length'),
    value('idHash'),
  ]
  const known = lifeCycleState && type && processName
  const texts = subscriptionId !== MISSING && processId !== MISSING
  const place = number >= 1 && offset >= 0 && length >= 1 && offset + length < limit
  if (!known || !texts || !place || idHash < 1) {
    return null
  }
  const referenceHash = Math.max(0, value('referenceHash'))
  return {
    keys: {
      number,
      lifeCycleState,
      type,
      processName,
      subscriptionId,
      processId,
      idHash,
      referenceHash,
    },
    offset,
    length,
  }
}

/**
 * The lines an archive index lists, or why it is not one (one line). `limit` is where the index
 * line starts: every listed line must end before it.
 */
export function decodeArchiveIndex(json: unknown, limit: number): ArchivedLine[] | string {
  const index = checkShape(json)
  if (typeof index === 'string') {
    return index
  }
  const lines: ArchivedLine[] = []
  for (let i = 0; i < index.records; i++) {
    const line = entryAt(index, i, limit)
    if (line === null) {
      return `its index entry ${i + 1} is not a request's keys and place`
    }
    lines.push(line)
  }
  return lines
}
