import { z } from 'zod'
import { checkWith } from '../../../common/zod-issues.js'
import type { StoredModelSnapshot } from '../model/ca-state.js'
import type { JournalEntry } from '../runtime/journal.js'
import type { ReplayRecord } from '../runtime/replay-cache.js'
import type { ReadObject } from '../contract/schema.js'

export const SNAPSHOT_FORMAT = 'conax-sim/1'

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

function describeValue(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`
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

function journalProblem(snapshot: StoredSimulatorSnapshot): string | null {
  const last = snapshot.journal.entries.at(-1)
  return last && last.seq >= snapshot.journal.nextSeq
    ? `journal.nextSeq ${snapshot.journal.nextSeq} is not above the last entry's seq ${last.seq}`
    : null
}
