import type { Subscription } from '../../domain/crm.js'
import type { ProvisioningRequest } from '../../domain/provisioning-request.js'
import { encodeTextLine, LINE_PREFIX_BYTES } from './log-lines.js'
import { requestProblem, subscriptionProblem } from './record-schemas.js'
import { isRecord, isWhole, parseJson } from './store-snapshot.js'

/**
 * One group commit as a log line: `{"r":[requests],"L":[their UTF-8 byte lengths],"g":group,
 * "q":next sequence number,"n":request count,"s":[[ordinal, subscription]]}`. The requests come
 * first and their lengths are listed, so that each request's bytes can be found in the file (and
 * read back alone) without parsing the line.
 */

/** Bytes of `{"r":[` before a line's first request. */
const RECORDS_AT = 6

/** A group's changes and the counters after it. */
export interface Group {
  readonly group: number
  readonly records: readonly ProvisioningRequest[]
  readonly subscriptions: readonly (readonly [number, Subscription])[]
  readonly nextSequence: number
  readonly requestCount: number
}

/** A request in a line: `offset` of its JSON from the start of the line, `length` in bytes. */
export interface RecordInLine<T> {
  readonly record: T
  readonly offset: number
  readonly length: number
}

/** The line of a group, and where each of its requests lies in it. */
export function encodeGroup(group: Group): {
  readonly line: Buffer
  readonly records: readonly (RecordInLine<ProvisioningRequest> & { readonly text: Buffer })[]
} {
  // One string, encoded once into the line: each request's bytes are a view of the line.
  const texts = group.records.map((record) => JSON.stringify(record))
  const lengths = texts.map((text) => Buffer.byteLength(text))
  const line = encodeTextLine(
    `{"r":[${texts.join(',')}],"L":${JSON.stringify(lengths)},"g":${group.group},"q":${group.nextSequence},"n":${group.requestCount},"s":${JSON.stringify(group.subscriptions)}}`,
  )
  let offset = LINE_PREFIX_BYTES + RECORDS_AT
  const records = group.records.map((record, i) => {
    const length = lengths[i] as number
    const placed = { record, offset, length, text: line.subarray(offset, offset + length) }
    offset += length + 1
    return placed
  })
  return { line, records }
}

/** A parsed line: its group, with each request checked and placed. */
export interface ParsedGroup {
  readonly group: number
  readonly nextSequence: number
  readonly requestCount: number
  readonly records: readonly RecordInLine<ProvisioningRequest>[]
  readonly subscriptions: readonly {
    readonly ordinal: number
    readonly subscription: Subscription
  }[]
}

interface GroupJson {
  readonly r: unknown[]
  readonly L: unknown[]
  readonly g: number
  readonly q: number
  readonly n: number
  readonly s: unknown[]
}

function isGroupJson(value: unknown): value is GroupJson {
  return (
    isRecord(value) &&
    Array.isArray(value.r) &&
    Array.isArray(value.L) &&
    value.L.length === value.r.length &&
    isWhole(value.g, 1) &&
    isWhole(value.q, 1) &&
    isWhole(value.n, 0) &&
    Array.isArray(value.s)
  )
}

/** The line's requests with their places, or why one is wrong. */
function recordsOf(json: Buffer, value: GroupJson): RecordInLine<ProvisioningRequest>[] | string {
  const records: RecordInLine<ProvisioningRequest>[] = []
  let at = RECORDS_AT
  for (const [i, record] of value.r.entries()) {
    const length: unknown = value.L[i]
    const problem = requestProblem(record)
    if (problem !== null) {
      return `request ${i + 1}: ${problem}`
    }
    const after = isWhole(length, 1) ? json[at + length] : undefined
    if (!isWhole(length, 1) || (after !== 0x2c && after !== 0x5d)) {
      return `request ${i + 1}: its length is wrong`
    }
    if (Number((record as ProvisioningRequest).number) > value.n) {
      return `request ${i + 1} has a number above the request count`
    }
    records.push({ record: record as ProvisioningRequest, offset: LINE_PREFIX_BYTES + at, length })
    at += length + 1
  }
  return records
}

/** The group in a line's JSON bytes (checked deeply), or why it is not one. */
export function parseGroup(json: Buffer): ParsedGroup | string {
  const value = parseJson(json)
  if (!isGroupJson(value)) {
    return 'it is not a group of changes'
  }
  const records = recordsOf(json, value)
  if (typeof records === 'string') {
    return records
  }
  const subscriptions: { ordinal: number; subscription: Subscription }[] = []
  for (const entry of value.s) {
    const [ordinal, subscription] = Array.isArray(entry) ? (entry as unknown[]) : []
    const problem = subscriptionProblem(subscription)
    if (!isWhole(ordinal, 0) || problem !== null) {
      return `a subscription: ${problem ?? 'its ordinal is wrong'}`
    }
    subscriptions.push({ ordinal, subscription: subscription as Subscription })
  }
  return { group: value.g, nextSequence: value.q, requestCount: value.n, records, subscriptions }
}
