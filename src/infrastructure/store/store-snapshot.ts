import type { Subscription } from '../../domain/crm.js'
import type { ProvisioningRequest } from '../../domain/provisioning-request.js'
import { CURRENT_FORMAT, unreadable } from './legacy-store-v1.js'
import { requestProblem, subscriptionProblem } from './record-schemas.js'

/**
 * The file store's snapshot (`<file>`): `{ format, group, logFrom, nextSequence, requestCount,
 * archives, subscriptions, pending }`, and the names of its log and archive files.
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
  yield `${JSON.stringify(head).slice(0, -1)},"subscriptions":[`
  yield* listChunks(content.subscriptions)
  yield '],"pending":['
  yield* listChunks(content.pending)
  yield ']}'
}

function* listChunks(items: readonly object[]): Generator<string> {
  for (let first = 0; first < items.length; first += CHUNK) {
    const texts = items.slice(first, first + CHUNK).map((item) => JSON.stringify(item))
    yield `${first === 0 ? '' : ','}${texts.join(',')}`
  }
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

/** The snapshot, checked deeply, or STORE_UNREADABLE naming the first problem. */
export function checkSnapshot(path: string, json: Record<string, unknown>): Snapshot {
  const { group, logFrom, nextSequence, requestCount, archives, subscriptions, pending } = json
  if (
    !isWhole(group, 0) ||
    !isWhole(logFrom, 1) ||
    !isWhole(nextSequence, 1) ||
    !isWhole(requestCount, 0) ||
    !Array.isArray(archives) ||
    !Array.isArray(subscriptions) ||
    !Array.isArray(pending)
  ) {
    throw unreadable(path, `it is a ${STORE_FORMAT} snapshot without its counters and lists`)
  }
  const problems = [
    ...archives.map((ref, i) => [`archive entry ${i + 1}`, archiveRefProblem(ref)] as const),
    ...subscriptions.map(
      (item, i) => [`subscription ${i + 1}`, subscriptionProblem(item)] as const,
    ),
    ...pending.map(
      (item, i) => [`pending request ${i + 1}`, pendingProblem(item, requestCount)] as const,
    ),
  ]
  const found = problems.find(([, problem]) => problem !== null)
  if (found !== undefined) {
    throw unreadable(path, `its ${found[0]}: ${found[1] ?? ''}`)
  }
  return json as unknown as Snapshot
}
