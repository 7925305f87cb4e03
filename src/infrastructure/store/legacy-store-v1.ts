/**
 * The first file layout of the provisioning store, `conax-adapter/1` (issues 3 to 11): a lowdb
 * main file `{ format, nextSequence, segment sizes and counts, journal }` and segment files
 * `<file>.segments/requests-NNNNNN.json` and `subscriptions-NNNNNN.json` of 1,000 records each.
 * The file store reads it once and converts it (see file-provisioning-store.ts); nothing writes
 * it any more.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Subscription } from '../../domain/crm.js'
import type { ProvisioningRequest } from '../../domain/provisioning-request.js'
import { ProvisioningState } from './provisioning-state.js'
import { requestProblem, subscriptionProblem } from './record-schemas.js'
import { StoreError } from './store-error.js'
import { readJson, reason } from './store-files.js'

/** The format marker of the first layout's main file and segment files. */
export const LEGACY_FORMAT = 'conax-adapter/1'

/** The format marker of the file store's snapshot (named in refusals of files that are neither). */
export const CURRENT_FORMAT = 'conax-adapter/2'

type JournalEntry =
  | { readonly request: ProvisioningRequest }
  | { readonly ordinal: number; readonly subscription: Subscription }

interface MainFile {
  readonly format: typeof LEGACY_FORMAT
  readonly nextSequence: number
  readonly requestsPerSegment: number
  readonly subscriptionsPerSegment: number
  readonly requestSegments: number
  readonly subscriptionSegments: number
  readonly journal: readonly JournalEntry[]
}

type SegmentKind = 'requests' | 'subscriptions'

interface SegmentFile {
  readonly format: typeof LEGACY_FORMAT
  readonly kind: SegmentKind
  readonly first: number
  readonly items: readonly (ProvisioningRequest | Subscription)[]
}

/** Whether parsed JSON claims to be a first-layout main file (its format marker). */
export function isLegacyStore(json: unknown): boolean {
  return isRecord(json) && json.format === LEGACY_FORMAT
}

function segmentPath(dir: string, kind: SegmentKind, index: number): string {
  return join(dir, `${kind}-${String(index).padStart(6, '0')}.json`)
}

export function unreadable(file: string, why: string, cause?: unknown): StoreError {
  return new StoreError(
    'STORE_UNREADABLE',
    `Failed to read the provisioning store ${file}: ${why}. It was left untouched; move it away or open another file.`,
    cause === undefined ? {} : { cause },
  )
}

/** A file of the store, parsed, or null if it does not exist. */
export function readStoreJson(path: string, storeFile: string): Promise<{ json: unknown } | null> {
  return readJson(path, (error) => {
    const what = path === storeFile ? '' : ` (its segment file ${path})`
    return unreadable(storeFile, `cannot read or parse it${what}: ${reason(error)}`, error)
  })
}

/** A missing main file next to segment files means the main file was lost, not a new store. */
export async function refuseOrphanSegments(path: string): Promise<void> {
  let names: string[] = []
  try {
    names = await readdir(`${path}.segments`)
  } catch {
    return
  }
  if (names.some((name) => name.endsWith('.json'))) {
    throw unreadable(
      path,
      `the file is missing but its segment folder ${path}.segments holds data (the main file was lost)`,
    )
  }
}

/**
 * Reads a `conax-adapter/1` store (its main file, already parsed, and its segment files) into a
 * state, or refuses it with STORE_UNREADABLE naming the first problem.
 */
export async function readLegacyStore(path: string, json: unknown): Promise<ProvisioningState> {
  if (!isMainFile(json)) {
    throw unreadable(
      path,
      json === null
        ? `it holds null, not a ${LEGACY_FORMAT} provisioning store (nor a ${CURRENT_FORMAT} one)`
        : `it is JSON but not a ${LEGACY_FORMAT} provisioning store (nor a ${CURRENT_FORMAT} one)`,
    )
  }
  const entryProblem = json.journal
    .map((entry, index) => {
      const problem = journalEntryProblem(entry)
      return problem === null ? null : `its journal entry ${index + 1}: ${problem}`
    })
    .find((problem) => problem !== null)
  if (entryProblem !== undefined) {
    throw unreadable(path, entryProblem)
  }
  const requests: (ProvisioningRequest | undefined)[] = []
  const subscriptions: (Subscription | undefined)[] = []
  const sources = [
    { kind: 'requests', count: json.requestSegments, per: json.requestsPerSegment, into: requests },
    {
      kind: 'subscriptions',
      count: json.subscriptionSegments,
      per: json.subscriptionsPerSegment,
      into: subscriptions,
    },
  ] as const
  for (const { kind, count, per, into } of sources) {
    for (let index = 0; index < count; index++) {
      const segmentFile = segmentPath(`${path}.segments`, kind, index)
      const segment = (await readStoreJson(segmentFile, path))?.json
      if (!isSegmentFile(segment, kind, index * per, per)) {
        throw unreadable(
          path,
          `its segment file ${segmentFile} is missing or not a ${kind} segment`,
        )
      }
      const itemProblem = segment.items
        .map((item, offset) => {
          const problem = kind === 'requests' ? requestProblem(item) : subscriptionProblem(item)
          return problem === null
            ? null
            : `item ${offset + 1} of its segment file ${segmentFile}: ${problem}`
        })
        .find((problem) => problem !== null)
      if (itemProblem !== undefined) {
        throw unreadable(path, itemProblem)
      }
      segment.items.forEach((item, offset) => (into[segment.first + offset] = item))
    }
  }
  for (const entry of json.journal) {
    if ('request' in entry) {
      requests[Number(entry.request.number) - 1] = entry.request
    } else {
      subscriptions[entry.ordinal] = entry.subscription
    }
  }
  try {
    return ProvisioningState.restore(requests, subscriptions, json.nextSequence)
  } catch (error) {
    throw unreadable(path, `its files are not a consistent set: ${reason(error)}`, error)
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isCount(value: unknown, min: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min
}

/** Why a journal entry is not a request or subscription record (one line), or null. */
function journalEntryProblem(value: unknown): string | null {
  if (!isRecord(value)) {
    return `it is ${value === null ? 'null' : typeof value}, not a record`
  }
  if ('request' in value) {
    const problem = requestProblem(value.request)
    return problem === null ? null : `request ${problem}`
  }
  if (!isCount(value.ordinal, 0)) {
    return 'it holds neither a request nor a subscription with its ordinal'
  }
  const problem = subscriptionProblem(value.subscription)
  return problem === null ? null : `subscription ${problem}`
}

function isMainFile(value: unknown): value is MainFile {
  return (
    isRecord(value) &&
    value.format === LEGACY_FORMAT &&
    isCount(value.nextSequence, 1) &&
    isCount(value.requestsPerSegment, 1) &&
    isCount(value.subscriptionsPerSegment, 1) &&
    isCount(value.requestSegments, 0) &&
    isCount(value.subscriptionSegments, 0) &&
    Array.isArray(value.journal)
  )
}

function isSegmentFile(
  value: unknown,
  kind: SegmentKind,
  first: number,
  per: number,
): value is SegmentFile {
  return (
    isRecord(value) &&
    value.format === LEGACY_FORMAT &&
    value.kind === kind &&
    value.first === first &&
    Array.isArray(value.items) &&
    value.items.length <= per
  )
}
