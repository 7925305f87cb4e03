import { readFile } from 'node:fs/promises'
import { isMap, isNode, isScalar, LineCounter, parseDocument, type YAMLMap } from 'yaml'
import { CodedError } from '../../../common/coded-error.js'
import type { InventoryInput } from '../../../simulator/src/index.js'
import type { HarnessClient, Outcome } from './given.js'
import type { CardViewLike } from './card-checks.js'
import { commandFields, type ConaxCommand, type JournalEntryLike } from './wire-types.js'

/**
 * A device map (`--devices map.yaml`): the smartcard and STB CA IDs of the scenarios and the IDs
 * of the devices that stand for them on a real Conax test system. The harness sends the real IDs
 * on the wire and reads them back as the scenario's, so expectations, diffs and reports keep the
 * scenario's IDs (failure messages show both: `01450250001 (real 01999000123)`).
 */

const CARD_ID = /^\d{11}$/
const STB_ID = /^\d{1,20}$/

/** Command fields that hold one smartcard, several, one STB, several. */
const CARD_FIELDS = ['smartcardCaId', 'pairedSmartcardCaId'] as const
const CARD_LIST_FIELDS = ['smartcardCaIds'] as const
const STB_FIELDS = ['stbCaId'] as const
const STB_LIST_FIELDS = ['stbCaIds'] as const

/** SOAP elements of a journal entry's request that hold a smartcard or an STB. */
const JOURNAL_CARD_KEYS = new Set(['CaClientId', 'PairedCaClientId'])
const JOURNAL_STB_KEYS = new Set(['PairingModuleId'])

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** A regular expression matching any of `ids` as a whole number (not inside a longer one). */
function idPattern(ids: readonly string[]): RegExp | null {
  if (ids.length === 0) {
    return null
  }
  // Longest first, so that an ID that starts another does not cut the longer one short.
  const alternatives = [...ids].sort((a, b) => b.length - a.length).map(escapeRegExp)
  return new RegExp(`(?<!\\d)(?:${alternatives.join('|')})(?!\\d)`, 'g')
}

/** Scenario IDs to real IDs, both ways, for smartcards and STBs. */
export class DeviceMap {
  /** The file the map comes from, for messages. */
  readonly file: string
  private readonly cards: ReadonlyMap<string, string>
  private readonly stbs: ReadonlyMap<string, string>
  private readonly cardsBack: ReadonlyMap<string, string>
  private readonly stbsBack: ReadonlyMap<string, string>
  private readonly scenarioIds: RegExp | null
  private readonly realIds: RegExp | null

  constructor(
    file: string,
    smartcards: Readonly<Record<string, string>>,
    stbs: Readonly<Record<string, string>>,
  ) {
    this.file = file
    this.cards = new Map(Object.entries(smartcards))
    this.stbs = new Map(Object.entries(stbs))
    this.cardsBack = new Map([...this.cards].map(([scenario, real]) => [real, scenario]))
    this.stbsBack = new Map([...this.stbs].map(([scenario, real]) => [real, scenario]))
    this.scenarioIds = idPattern([...this.cards.keys(), ...this.stbs.keys()])
    this.realIds = idPattern([...this.cardsBack.keys(), ...this.stbsBack.keys()])
  }

  /** How many cards and STBs the map lists. */
  get size(): { readonly smartcards: number; readonly stbs: number } {
    return { smartcards: this.cards.size, stbs: this.stbs.size }
  }

  /** Whether the map lists this scenario smartcard. */
  hasCard(id: string): boolean {
    return this.cards.has(id)
  }

  /** The real smartcard for a scenario one (itself when not mapped). */
  card(id: string): string {
    return this.cards.get(id) ?? id
  }

  /** The real STB for a scenario one (itself when not mapped). */
  stb(id: string): string {
    return this.stbs.get(id) ?? id
  }

  /** The scenario smartcard a real one stands for (itself when not mapped). */
  cardBack(real: string): string {
    return this.cardsBack.get(real) ?? real
  }

  /** The scenario STB a real one stands for (itself when not mapped). */
  stbBack(real: string): string {
    return this.stbsBack.get(real) ?? real
  }

  /** A command with the real devices in place of the scenario's. */
  command<C extends ConaxCommand>(command: C): C {
    const mapped: Record<string, unknown> = { ...command }
    const fields = commandFields(command)
    for (const key of CARD_FIELDS) {
      if (typeof fields[key] === 'string') {
        mapped[key] = this.card(fields[key])
      }
    }
    for (const key of CARD_LIST_FIELDS) {
      if (Array.isArray(fields[key])) {
        mapped[key] = (fields[key] as string[]).map((id) => this.card(id))
      }
    }
    for (const key of STB_FIELDS) {
      if (typeof fields[key] === 'string') {
        mapped[key] = this.stb(fields[key])
      }
    }
    for (const key of STB_LIST_FIELDS) {
      if (Array.isArray(fields[key])) {
        mapped[key] = (fields[key] as string[]).map((id) => this.stb(id))
      }
    }
    return mapped as C
  }

  /** A CA answer with the scenario's devices in place of the real ones (a pairing status's IDs, the error text). */
  outcome(outcome: Outcome): Outcome {
    if (outcome.kind !== 'COMPLETED') {
      return { ...outcome, errorDescription: this.textBack(outcome.errorDescription) }
    }
    const result = outcome.result
    if (result === null || !('smartcardCaIds' in result)) {
      return outcome
    }
    return {
      ...outcome,
      result: {
        ...result,
        smartcardCaIds: result.smartcardCaIds.map((id) => this.cardBack(id)),
        stbs: result.stbs.map((stb) => ({ ...stb, stbCaId: this.stbBack(stb.stbCaId) })),
      },
    }
  }

  /** A client that sends the real devices and answers with the scenario's. */
  client(client: HarnessClient): HarnessClient {
    return {
      send: async (command, sequenceNumber) =>
        this.outcome(await client.send(this.command(command), sequenceNumber)),
      close: () => client.close(),
    }
  }

  /** An inventory with the real devices in place of the scenario's. */
  inventory(inventory: InventoryInput): InventoryInput {
    return {
      ...inventory,
      ...(inventory.smartcards
        ? {
            smartcards: inventory.smartcards.map((card) => ({
              ...card,
              caClientId: this.card(card.caClientId),
            })),
          }
        : {}),
      ...(inventory.pairingModules
        ? {
            pairingModules: inventory.pairingModules.map((stb) => ({
              ...stb,
              pairingModuleId: this.stb(stb.pairingModuleId),
            })),
          }
        : {}),
    }
  }

  /** A card view read from the CA with the scenario's STBs in its pairing. */
  cardView(view: CardViewLike): CardViewLike {
    return view.pairing
      ? {
          ...view,
          pairing: {
            ...view.pairing,
            pairingModuleIds: view.pairing.pairingModuleIds.map((id) => this.stbBack(id)),
          },
        }
      : view
  }

  /** A journal entry with the scenario's devices in place of the real ones in its request. */
  journalEntry<T extends JournalEntryLike>(entry: T): T {
    const walk = (value: unknown, key: string): unknown => {
      if (Array.isArray(value)) {
        return value.map((item) => walk(item, key))
      }
      if (typeof value === 'object' && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]))
      }
      if (typeof value === 'string' || typeof value === 'number') {
        if (JOURNAL_CARD_KEYS.has(key)) {
          return this.cardBack(String(value))
        }
        if (JOURNAL_STB_KEYS.has(key)) {
          return this.stbBack(String(value))
        }
      }
      return value
    }
    return { ...entry, request: walk(entry.request, '') }
  }

  /** A text from the CA with the scenario's devices in place of the real ones. */
  textBack(text: string): string {
    return this.realIds
      ? text.replace(this.realIds, (real) => {
          const card = this.cardsBack.get(real)
          return card ?? this.stbsBack.get(real) ?? real
        })
      : text
  }

  /** A report text with each mapped scenario device followed by its real ID: `01450250001 (real 01999000123)`. */
  label(text: string): string {
    return this.scenarioIds
      ? text.replace(
          this.scenarioIds,
          (id) => `${id} (real ${this.cards.get(id) ?? this.stbs.get(id) ?? id})`,
        )
      : text
  }
}

/** A device map file that cannot be used: where and why, in one line. */
export class DeviceMapError extends CodedError<'DEVICES_INVALID'> {
  override readonly name = 'DeviceMapError'
  readonly file: string

  constructor(file: string, at: Position, reason: string) {
    super(
      'DEVICES_INVALID',
      400,
      `${at ? `${file}:${at.line}:${at.col}` : file}: ${reason}. Fix the device map (--devices) and run again.`,
    )
    this.file = file
  }
}

const KINDS = {
  smartcards: {
    pattern: CARD_ID,
    rule: 'an 11-digit smartcard CA ID (CaClientId)',
    noun: 'card',
  },
  stbs: { pattern: STB_ID, rule: 'an STB CA ID (PairingModuleId) of 1 to 20 digits', noun: 'STB' },
} as const

type Kind = keyof typeof KINDS
type Position = { line: number; col: number } | null

/** Under the failsafe schema every scalar's value is a string. */
function textOf(node: unknown): string | null {
  return isScalar(node) && typeof node.value === 'string' ? node.value : null
}

/** The scenario-to-real entries of `smartcards` or `stbs`, checked one by one. */
function entriesOf(
  kind: Kind,
  map: YAMLMap,
  file: string,
  at: (node: unknown) => Position,
): Record<string, string> {
  const { pattern, rule, noun } = KINDS[kind]
  const entries: Record<string, string> = {}
  const byReal = new Map<string, string>()
  for (const entry of map.items) {
    const key = textOf(entry.key)
    const value = textOf(entry.value)
    const where = at(entry.key)
    if (key === null || !pattern.test(key)) {
      throw new DeviceMapError(
        file,
        where,
        `${kind}.${key ?? '(not a plain key)'}: the scenario ${noun} ID must be ${rule}`,
      )
    }
    if (value === null || !pattern.test(value)) {
      throw new DeviceMapError(
        file,
        at(entry.value) ?? where,
        `${kind}.${key}: ${value === null ? 'the real ID is missing or not a plain value' : `the real ID '${value}' is not ${rule}`}`,
      )
    }
    const other = byReal.get(value)
    if (other !== undefined) {
      throw new DeviceMapError(
        file,
        where,
        `${kind}.${key}: maps to ${value} like ${kind}.${other}; one real ${noun} can stand for one scenario ${noun} only`,
      )
    }
    byReal.set(value, key)
    entries[key] = value
  }
  return entries
}

/**
 * Reads a device map: YAML or JSON, `{ smartcards: { "<scenario id>": "<real id>" }, stbs: {...} }`.
 * IDs are read as text (an unquoted 01450250001 keeps its leading zero). Throws a
 * {@link DeviceMapError} naming the line and key of the first problem.
 */
export function parseDeviceMap(text: string, file: string): DeviceMap {
  const lineCounter = new LineCounter()
  // failsafe: every scalar is a string, so YAML cannot turn 01450250001 into the number 1450250001.
  const doc = parseDocument(text, { lineCounter, schema: 'failsafe', uniqueKeys: true })
  const at = (node: unknown): Position =>
    isNode(node) && node.range ? lineCounter.linePos(node.range[0]) : null
  const firstError = doc.errors[0]
  if (firstError) {
    throw new DeviceMapError(
      file,
      lineCounter.linePos(firstError.pos[0]),
      `YAML: ${firstError.message.split('\n')[0] ?? firstError.code}`,
    )
  }
  const root = doc.contents
  if (!isMap(root)) {
    throw new DeviceMapError(
      file,
      at(root) ?? { line: 1, col: 1 },
      'must be a map with smartcards and/or stbs, each mapping scenario IDs to real ones (smartcards: { "01450250001": "01999000123" })',
    )
  }
  const result: Record<Kind, Record<string, string>> = { smartcards: {}, stbs: {} }
  for (const pair of root.items) {
    const kind = textOf(pair.key) ?? ''
    if (kind !== 'smartcards' && kind !== 'stbs') {
      throw new DeviceMapError(
        file,
        at(pair.key),
        `unknown key '${kind}': a device map has only smartcards and stbs`,
      )
    }
    if (!isMap(pair.value)) {
      throw new DeviceMapError(
        file,
        at(pair.value) ?? at(pair.key),
        `${kind}: must be a map of scenario ${KINDS[kind].noun} IDs to real ones ("<scenario id>": "<real id>")`,
      )
    }
    result[kind] = entriesOf(kind, pair.value, file, at)
  }
  if (Object.keys(result.smartcards).length + Object.keys(result.stbs).length === 0) {
    throw new DeviceMapError(
      file,
      { line: 1, col: 1 },
      'maps no device: list smartcards and/or stbs',
    )
  }
  return new DeviceMap(file, result.smartcards, result.stbs)
}

/** Reads and checks a device map file (see {@link parseDeviceMap}). */
export async function loadDeviceMap(file: string): Promise<DeviceMap> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new DeviceMapError(
      file,
      null,
      `cannot be read (${error instanceof Error ? error.message : String(error)})`,
    )
  })
  return parseDeviceMap(text, file)
}
