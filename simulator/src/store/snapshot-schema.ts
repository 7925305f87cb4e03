import { z } from 'zod'
import { checkWith } from '../../../common/zod-issues.js'
import type { StoredModelSnapshot } from '../model/ca-state.js'
import type { JournalEntry } from '../runtime/journal.js'
import type { ReplayRecord } from '../runtime/replay-cache.js'
import type { ReadObject } from '../contract/schema.js'

export const SNAPSHOT_FORMAT = 'conax-sim/1'
/** The snapshot a log store writes (docs/decisions/0013): messages stored once, a log position. */
export const SNAPSHOT_FORMAT_2 = 'conax-sim/2'

/** A snapshot as any version of the simulator stored it (STB owners may be missing). */
export interface StoredSimulatorSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT
  readonly savedAt: string
  readonly model: StoredModelSnapshot
  readonly journal: { readonly entries: JournalEntry[]; readonly nextSeq: number }
  readonly replays: readonly ReplayRecord[]
}

const text = z.string()
const optionalText = z.string().nullable()
const count = z.number().int().min(0)
const optionalInt = z.number().int().nullable()

const activeProduct = z.object({
  productId: text,
  distributor: optionalText,
  startDate: text,
  endDate: optionalText,
})

const delivered = {
  receivedAt: text,
  transactionId: text,
  sequenceNumber: optionalInt,
}

const mail = z.object({ message: text, startIndicationTime: optionalText, ...delivered })

const screen = z.object({
  kind: z.enum(['BARK', 'REPEATING_BARK']),
  message: text,
  displayDurationInSeconds: count,
  startIndicationTime: optionalText,
  repetitionCount: optionalInt,
  repetitionIntervalInSeconds: optionalInt,
  ...delivered,
})

const fingerprint = z.object({
  displayTime: text,
  durationInSeconds: count,
  positionX: optionalInt,
  positionY: optionalInt,
  height: count,
  slot: z.enum(['A', 'B']),
  ...delivered,
})

const card = z.object({
  caClientId: text,
  sms: text,
  pin: text,
  products: z.array(activeProduct),
  pairingId: optionalText,
  inbox: z.array(mail),
  screen: z.array(screen),
  fingerprints: z.array(fingerprint),
})

const pairingModule = z.object({
  pairingModuleId: text,
  serialNumber: text,
  productCode: text,
  productDescription: text,
  // Absent in stores written before STBs had owners.
  sms: optionalText.optional(),
  pairingId: optionalText,
})

const product = z.object({ productId: text, name: optionalText })

const pairing = z.object({
  id: z.string().regex(/^P[1-9]\d*$/, 'must be P followed by a number, e.g. P1'),
  caClientIds: z.array(text).min(1),
  pairingModuleIds: z.array(text).min(1),
  distributor: optionalText,
  createdAt: text,
})

const model = z.object({
  cards: z.array(card),
  pairingModules: z.array(pairingModule),
  products: z.array(product),
  pairings: z.array(pairing),
  nextPairingNumber: z.number().int().min(1),
})

const isRequest = (value: unknown): value is ReadObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const journalEntry = z.object({
  seq: z.number().int().min(1),
  at: text,
  user: optionalText,
  service: text,
  operation: optionalText,
  request: z.custom<ReadObject>(isRequest, 'must be an object').nullable(),
  statusCode: text,
  transactionId: optionalText,
  durationMs: z.number(),
  httpStatus: z.number().int(),
  replay: z.boolean(),
  message: optionalText,
})

const replayRecord = z.object({ key: text, hash: text, transactionId: text, message: text })

const snapshotSchema = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  savedAt: text,
  model,
  journal: z.object({ entries: z.array(journalEntry), nextSeq: z.number().int().min(1) }),
  replays: z.array(replayRecord),
})

const messageRefs = z.array(z.number().int().min(0))

const cardV2 = card.extend({ inbox: messageRefs, screen: messageRefs, fingerprints: messageRefs })

const snapshotSchemaV2 = z.object({
  format: z.literal(SNAPSHOT_FORMAT_2),
  savedAt: text,
  log: z.object({ position: count }),
  model: model.extend({
    cards: z.array(cardV2),
    messages: z.array(z.record(z.string(), z.unknown())),
  }),
  journal: z.object({
    entries: z.array(journalEntry),
    nextSeq: z.number().int().min(1),
    floor: z.number().int().min(1),
  }),
  replays: z.array(replayRecord),
})

/** A snapshot of either format, as the model, journal and replay cache load it. */
export interface LoadableSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT | typeof SNAPSHOT_FORMAT_2
  readonly model: StoredModelSnapshot
  readonly journal: {
    readonly entries: JournalEntry[]
    readonly nextSeq: number
    readonly floor?: number
  }
  readonly replays: readonly ReplayRecord[]
  /** The last log group the snapshot holds (0 for a format 1 store, which has no log). */
  readonly position: number
}

function describeValue(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`
}

/**
 * Checks a stored snapshot of format 1 (lowdb, whole-state stores) or 2 (log stores) deeply, as
 * {@link checkSnapshot} does, and gives it in the form the model loads: format 2's message
 * references resolved to shared, frozen messages.
 */
export function checkStoredSnapshot(
  data: unknown,
): { ok: true; snapshot: LoadableSnapshot } | { ok: false; problem: string } {
  const format = (data as { format?: unknown } | null)?.format
  if (format !== SNAPSHOT_FORMAT_2) {
    const v1 = checkSnapshot(data)
    return v1.ok ? { ok: true, snapshot: { ...v1.snapshot, position: 0 } } : v1
  }
  let v2 = quickV2(data)
  if (v2 === null) {
    const checked = checkWith(snapshotSchemaV2, data, { root: 'the top level' })
    if (!checked.ok) {
      return checked
    }
    v2 = checked.value
  }
  const resolved = resolveMessages(v2.model)
  if (!resolved.ok) {
    return resolved
  }
  const loadable: LoadableSnapshot = {
    format: SNAPSHOT_FORMAT_2,
    model: resolved.model,
    journal: v2.journal,
    replays: v2.replays,
    position: v2.log.position,
  }
  const problem = referenceProblem(loadable.model) ?? journalProblem(loadable)
  return problem === null ? { ok: true, snapshot: loadable } : { ok: false, problem }
}

const LIST_SCHEMAS = { inbox: mail, screen, fingerprints: fingerprint } as const

/** Format 2's cards with their message references replaced by the messages, checked once each. */
function resolveMessages(
  stored: z.infer<typeof snapshotSchemaV2>['model'],
): { ok: true; model: StoredModelSnapshot } | { ok: false; problem: string } {
  const checked = new Map<string, Readonly<Record<string, unknown>>>()
  const messageOf = (
    index: number,
    list: keyof typeof LIST_SCHEMAS,
  ): Readonly<Record<string, unknown>> | string => {
    const key = `${list}:${index}`
    const known = checked.get(key)
    if (known !== undefined) {
      return known
    }
    const message = stored.messages[index]
    if (message === undefined) {
      return `names message ${index}, which model.messages does not hold`
    }
    const result = checkWith(LIST_SCHEMAS[list], message, { root: `model.messages[${index}]` })
    if (!result.ok) {
      return `uses model.messages[${index}] as a ${list} entry, but ${result.problem}`
    }
    // One frozen object per message, shared by every card holding it (as the model shares them).
    const frozen = Object.freeze(result.value)
    checked.set(key, frozen)
    return frozen
  }
  const cards = []
  for (const [index, card] of stored.cards.entries()) {
    const lists: Record<string, unknown[]> = {}
    for (const list of ['inbox', 'screen', 'fingerprints'] as const) {
      const resolved = card[list].map((ref) => messageOf(ref, list))
      const problem = resolved.find((message) => typeof message === 'string')
      if (problem !== undefined) {
        return { ok: false, problem: `model.cards[${index}].${list} ${problem}` }
      }
      lists[list] = resolved
    }
    cards.push({ ...card, ...lists })
  }
  return { ok: true, model: { ...stored, cards } as unknown as StoredModelSnapshot }
}

/**
 * The snapshot as it is when every card and STB (the bulk of a store) is plainly of the right
 * shape and the rest passes the schema; null otherwise, so that the schema reports the problem.
 * Checking 100,000 cards by hand takes a tenth of the schema's time at start.
 */
function quickV2(data: unknown): z.infer<typeof snapshotSchemaV2> | null {
  const top = data as Record<string, unknown>
  const stored = top.model as Record<string, unknown> | undefined
  if (
    typeof stored !== 'object' ||
    stored === null ||
    !Array.isArray(stored.cards) ||
    !Array.isArray(stored.pairingModules) ||
    !stored.cards.every(plainCard) ||
    !stored.pairingModules.every(plainModule)
  ) {
    return null
  }
  const rest = checkWith(
    snapshotSchemaV2.extend({
      model: snapshotSchemaV2.shape.model.extend({
        cards: z.array(z.unknown()),
        pairingModules: z.array(z.unknown()),
      }),
    }),
    data,
  )
  if (!rest.ok) {
    return null
  }
  return {
    ...rest.value,
    model: {
      ...rest.value.model,
      cards: stored.cards as z.infer<typeof cardV2>[],
      pairingModules: stored.pairingModules as z.infer<typeof pairingModule>[],
    },
  }
}

const isText = (value: unknown): value is string => typeof value === 'string'
const isTextOrNull = (value: unknown): boolean => value === null || typeof value === 'string'
const isRefs = (value: unknown): boolean =>
  Array.isArray(value) && value.every((ref) => Number.isInteger(ref) && (ref as number) >= 0)

function plainCard(value: unknown): boolean {
  const c = value as Record<string, unknown> | null
  return (
    typeof c === 'object' &&
    c !== null &&
    isText(c.caClientId) &&
    isText(c.sms) &&
    isText(c.pin) &&
    isTextOrNull(c.pairingId) &&
    Array.isArray(c.products) &&
    c.products.every((p: Record<string, unknown> | null) => {
      return (
        typeof p === 'object' &&
        p !== null &&
        isText(p.productId) &&
        isTextOrNull(p.distributor) &&
        isText(p.startDate) &&
        isTextOrNull(p.endDate)
      )
    }) &&
    isRefs(c.inbox) &&
    isRefs(c.screen) &&
    isRefs(c.fingerprints)
  )
}

function plainModule(value: unknown): boolean {
  const m = value as Record<string, unknown> | null
  return (
    typeof m === 'object' &&
    m !== null &&
    isText(m.pairingModuleId) &&
    isText(m.serialNumber) &&
    isText(m.productCode) &&
    isText(m.productDescription) &&
    isTextOrNull(m.sms) &&
    isTextOrNull(m.pairingId)
  )
}

/**
 * Checks stored data deeply (every card, STB, product, pairing, journal entry and replay record
 * of the right shape, and the pairings consistent with the devices) before anything is loaded.
 * Returns the snapshot, or the first problem as one line naming where it is.
 */
export function checkSnapshot(
  data: unknown,
): { ok: true; snapshot: StoredSimulatorSnapshot } | { ok: false; problem: string } {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, problem: `it holds ${describeValue(data)}, not a ${SNAPSHOT_FORMAT} store` }
  }
  const format = (data as { format?: unknown }).format
  if (format !== SNAPSHOT_FORMAT) {
    return {
      ok: false,
      problem: `its format is ${JSON.stringify(format) ?? 'missing'}, not ${SNAPSHOT_FORMAT}`,
    }
  }
  const parsed = checkWith(snapshotSchema, data, { root: 'the top level' })
  if (!parsed.ok) {
    return parsed
  }
  const snapshot: StoredSimulatorSnapshot = parsed.value
  const problem = referenceProblem(snapshot.model) ?? journalProblem(snapshot)
  return problem === null ? { ok: true, snapshot } : { ok: false, problem }
}

function duplicate(ids: readonly string[]): string | undefined {
  const seen = new Set<string>()
  return ids.find((id) => seen.size === seen.add(id).size)
}

/** Every device a pairing names exists and points back at it; no id appears twice. */
function referenceProblem(model: StoredModelSnapshot): string | null {
  const lists = [
    ['model.cards', model.cards.map((c) => c.caClientId)],
    ['model.pairingModules', model.pairingModules.map((m) => m.pairingModuleId)],
    ['model.products', model.products.map((p) => p.productId)],
    ['model.pairings', model.pairings.map((p) => p.id)],
  ] as const
  for (const [where, ids] of lists) {
    const twice = duplicate(ids)
    if (twice !== undefined) {
      return `${where} lists '${twice}' twice`
    }
  }
  const cards = new Map(model.cards.map((c) => [c.caClientId, c.pairingId]))
  const modules = new Map(model.pairingModules.map((m) => [m.pairingModuleId, m.pairingId]))
  for (const [index, pairing] of model.pairings.entries()) {
    const where = `model.pairings[${index}] (${pairing.id})`
    if (Number(pairing.id.slice(1)) >= model.nextPairingNumber) {
      return `${where} is numbered at or above model.nextPairingNumber ${model.nextPairingNumber}`
    }
    for (const [ids, devices, kind] of [
      [pairing.caClientIds, cards, 'card'],
      [pairing.pairingModuleIds, modules, 'pairing module'],
    ] as const) {
      const stray = ids.find((id) => devices.get(id) !== pairing.id)
      if (stray !== undefined) {
        return `${where} names ${kind} '${stray}', which is unknown or not in that pairing`
      }
    }
  }
  const pairings = new Map(model.pairings.map((p) => [p.id, p]))
  const listed = (
    pairingId: string | null,
    id: string,
    members: 'caClientIds' | 'pairingModuleIds',
  ): boolean => pairingId === null || (pairings.get(pairingId)?.[members].includes(id) ?? false)
  const stray =
    model.cards.find((c) => !listed(c.pairingId, c.caClientId, 'caClientIds')) ??
    model.pairingModules.find((m) => !listed(m.pairingId, m.pairingModuleId, 'pairingModuleIds'))
  if (stray === undefined) {
    return null
  }
  const id = 'caClientId' in stray ? stray.caClientId : stray.pairingModuleId
  return `device '${id}' names pairing ${stray.pairingId ?? ''}, which does not exist or does not list it`
}

function journalProblem(snapshot: Pick<StoredSimulatorSnapshot, 'journal'>): string | null {
  const last = snapshot.journal.entries.at(-1)
  return last && last.seq >= snapshot.journal.nextSeq
    ? `journal.nextSeq ${snapshot.journal.nextSeq} is not above the last entry's seq ${last.seq}`
    : null
}
