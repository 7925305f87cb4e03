import type { Subscription } from '../../domain/crm.js'
import type { ProvisioningRequest } from '../../domain/provisioning-request.js'
import { CURRENT_FORMAT, unreadable } from './legacy-store-v1.js'
import { requestProblem, subscriptionProblem } from './record-schemas.js'

/**
 * The file store's snapshot (`<file>`): `{ format, group, logFrom, nextSequence, requestCount,
 * archives, subscriptions, pending }`, and the names of its log and archive files.
 *
 * Written one record per line (a head line ending `"subscriptions":[`, a line per subscription,
 * `],"pending":[`, a line per PENDING request, `]}`): still one JSON document, but read line by
 * line, so that opening a store with many PENDING requests never holds the whole text (a string
 * past about 512 MB cannot even be made) next to the records parsed from it.
 */

/** The format marker of the snapshot. */
export const STORE_FORMAT = CURRENT_FORMAT

/** An archive file of the store, as the snapshot lists it. */
export interface ArchiveRef {
  readonly file: string
  readonly records: number
  /** Byte offset of the index line; the file is `bytes` long. */
  readonly indexAt: number
  readonly bytes: number
}

/** What a snapshot holds besides its format and archives. */
export interface SnapshotContent {
  /** The last log group it includes. */
  readonly group: number
  /** The first log file to replay over it. */
  readonly logFrom: number
  readonly nextSequence: number
  readonly requestCount: number
  readonly subscriptions: readonly Subscription[]
  /** Every PENDING request as of `group`, in number order. */
  readonly pending: readonly ProvisioningRequest[]
}

export interface Snapshot extends SnapshotContent {
  readonly format: typeof STORE_FORMAT
  readonly archives: readonly ArchiveRef[]
}

/** Requests or subscriptions per chunk of a snapshot's text. */
const CHUNK = 512

export const logName = (number: number): string => `log-${String(number).padStart(6, '0')}.jsonl`

export const archiveName = (number: number): string =>
  `archive-${String(number).padStart(6, '0')}.jsonl`

/** The number in an archive file's name (0 for none). */
export function archiveNumber(file: string | undefined): number {
  return Number(/^archive-(\d+)\.jsonl$/.exec(file ?? '')?.[1] ?? 0)
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function isWhole(value: unknown, min: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min
}

/** The parsed JSON, or undefined when the bytes are not JSON. */
export function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown
  } catch {
    return undefined
  }
}

/** The snapshot of a new store. */
export function emptySnapshot(nextSequence: number): Snapshot {
  return {
    format: STORE_FORMAT,
    group: 0,
    logFrom: 1,
    nextSequence,
    requestCount: 0,
    archives: [],
    subscriptions: [],
    pending: [],
  }
}

/** The snapshot's JSON in chunks, so that writing a large one lets other work run between them. */
export function* snapshotChunks(
  content: SnapshotContent,
  archives: readonly ArchiveRef[],
): Generator<string> {
  const head = {
    format: STORE_FORMAT,
    group: content.group,
    logFrom: content.logFrom,
    nextSequence: content.nextSequence,
    requestCount: content.requestCount,
    archives,
  }
  yield `${JSON.stringify(head).slice(0, -1)}${SUBSCRIPTIONS_OPEN}\n`
  yield* listChunks(content.subscriptions)
  yield `${PENDING_OPEN}\n`
  yield* listChunks(content.pending)
  yield `${SNAPSHOT_CLOSE}\n`
}

const SUBSCRIPTIONS_OPEN = ',"subscriptions":['
const PENDING_OPEN = '],"pending":['
const SNAPSHOT_CLOSE = ']}'

/** The items one a line, each but the last followed by a comma. */
function* listChunks(items: readonly object[]): Generator<string> {
  for (let first = 0; first < items.length; first += CHUNK) {
    const texts = items.slice(first, first + CHUNK).map((item) => JSON.stringify(item))
    yield `${texts.join(',\n')}${first + CHUNK < items.length ? ',' : ''}\n`
  }
}

/**
 * Reads a snapshot written one record per line, checking each record as it comes. Answers null
 * when the file does not start as such a snapshot (another layout or another file: the caller
 * parses it whole), and throws STORE_UNREADABLE naming the first damaged line.
 */
export async function readSnapshotLines(
  path: string,
  lines: AsyncIterable<string>,
): Promise<Snapshot | null> {
  let head: Record<string, unknown> | null = null
  let section: 'subscriptions' | 'pending' | 'end' = 'subscriptions'
  // What the list allows next: an item or its end (just opened), an item (after a comma), its end.
  let next: 'item or end' | 'item' | 'end' = 'item or end'
  let lineNumber = 0
  const subscriptions: Subscription[] = []
  const pending: ProvisioningRequest[] = []
  for await (const line of lines) {
    lineNumber++
    if (head === null) {
      const parsed = line.endsWith(SUBSCRIPTIONS_OPEN) ? parseText(`${line}]}`) : undefined
      if (!isSnapshot(parsed)) {
        return null
      }
      head = checkHead(path, parsed)
      continue
    }
    if (section === 'end') {
      throw unreadable(path, `it has text after its end, on line ${lineNumber}`)
    }
    const closer = section === 'subscriptions' ? PENDING_OPEN : SNAPSHOT_CLOSE
    if (line === closer && next !== 'item') {
      section = section === 'subscriptions' ? 'pending' : 'end'
      next = 'item or end'
      continue
    }
    if (next === 'end') {
      throw unreadable(path, `its line ${lineNumber} follows the last item of its list`)
    }
    const more = line.endsWith(',')
    const item = parseText(more ? line.slice(0, -1) : line)
    next = more ? 'item' : 'end'
    if (section === 'subscriptions') {
      const place = `subscription ${subscriptions.length + 1}`
      subscriptions.push(checked(path, place, item, subscriptionProblem(item)))
    } else {
      const place = `pending request ${pending.length + 1}`
      pending.push(checked(path, place, item, pendingProblem(item, head.requestCount as number)))
    }
  }
  if (head === null) {
    return null
  }
  if (section !== 'end') {
    throw unreadable(path, 'it ends before its last line (cut short)')
  }
  return { ...(head as unknown as Snapshot), subscriptions, pending }
}

/** The parsed JSON, or undefined when the text is not JSON. */
function parseText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** The item, once its check found no problem; else STORE_UNREADABLE naming its place. */
function checked<T>(path: string, place: string, item: unknown, problem: string | null): T {
  if (problem !== null) {
    throw unreadable(path, `its ${place}: ${problem}`)
  }
  return item as T
}

/** Whether parsed JSON claims to be a snapshot (its format marker). */
export function isSnapshot(json: unknown): json is Record<string, unknown> {
  return isRecord(json) && json.format === STORE_FORMAT
}

function archiveRefProblem(ref: unknown): string | null {
  return isRecord(ref) &&
    typeof ref.file === 'string' &&
    archiveNumber(ref.file) >= 1 &&
    isWhole(ref.records, 0) &&
    isWhole(ref.indexAt, 0) &&
    isWhole(ref.bytes, 1)
    ? null
    : "is not an archive file's name and size"
}

function pendingProblem(request: unknown, requestCount: number): string | null {
  const problem = requestProblem(request)
  if (problem !== null) {
    return problem
  }
  const { lifeCycleState, number } = request as ProvisioningRequest
  return lifeCycleState === 'PENDING' && Number(number) <= requestCount
    ? null
    : 'it is not PENDING or its number is above the request count'
}

/** The head of a snapshot (counters and archives), checked, or STORE_UNREADABLE. */
function checkHead(path: string, json: Record<string, unknown>): Record<string, unknown> {
  const { group, logFrom, nextSequence, requestCount, archives } = json
  if (
    !isWhole(group, 0) ||
    !isWhole(logFrom, 1) ||
    !isWhole(nextSequence, 1) ||
    !isWhole(requestCount, 0) ||
    !Array.isArray(archives)
  ) {
    throw unreadable(path, `it is a ${STORE_FORMAT} snapshot without its counters and lists`)
  }
  archives.forEach((ref, i) => {
    const problem = archiveRefProblem(ref)
    if (problem !== null) {
      throw unreadable(path, `its archive entry ${i + 1}: ${problem}`)
    }
  })
  return json
}

/** A snapshot parsed whole (one not written one record per line), checked deeply. */
export function checkSnapshot(path: string, json: Record<string, unknown>): Snapshot {
  const head = checkHead(path, json)
  const { subscriptions, pending } = json
  if (!Array.isArray(subscriptions) || !Array.isArray(pending)) {
    throw unreadable(path, `it is a ${STORE_FORMAT} snapshot without its counters and lists`)
  }
  const count = head.requestCount as number
  subscriptions.forEach((item, i) =>
    checked(path, `subscription ${i + 1}`, item, subscriptionProblem(item)),
  )
  pending.forEach((item, i) =>
    checked(path, `pending request ${i + 1}`, item, pendingProblem(item, count)),
  )
  return json as unknown as Snapshot
}
