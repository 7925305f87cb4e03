import { NONE, type CaState, type UndoEntry } from './ca-state.js'
import type {
  ActiveProduct,
  Fingerprint,
  MailMessage,
  Pairing,
  PairingModule,
  Product,
  ScreenMessage,
  Smartcard,
} from './types.js'

/**
 * Redo records: what a group of changes did to the model, as plain JSON, so that a store can log
 * it and replay it on top of an earlier state (docs/decisions/0013). A record is built from the
 * undo log of decision 0006: the things a change touched and their before-images, compared with
 * their values now. Pure: no I/O.
 */

/** A message of a card's inbox, screen or fingerprint list (stored once per record, shared). */
export type StoredMessage = MailMessage | ScreenMessage | Fingerprint

/**
 * How a card's list changed: the messages appended (indexes into the record's message table),
 * then only the newest `length` kept; with `replace`, the list was rebuilt from `add` alone.
 */
export interface ListChange {
  readonly add: readonly number[]
  readonly length: number
  readonly replace?: true
}

/** The fields of a card that changed (all of them for a new card). */
export interface CardChange {
  readonly sms?: string
  readonly pin?: string
  readonly pairingId?: string | null
  readonly products?: readonly ActiveProduct[]
  readonly inbox?: ListChange
  readonly screen?: ListChange
  readonly fingerprints?: ListChange
}

/** One step of a redo record; steps run in order. */
export type RedoOp =
  | readonly ['card', string, CardChange]
  | readonly ['newCard', string, CardChange]
  | readonly ['module', string, PairingModule | null]
  | readonly ['product', string, Product | null]
  | readonly ['pairing', string, Pairing | null]
  | readonly ['counter', number]
  | readonly ['reset', boolean, string]

/** What a group of changes did to the model. */
export interface RedoRecord {
  readonly messages: readonly StoredMessage[]
  readonly ops: readonly RedoOp[]
}

/** A redo record that cannot be applied: the store holding it is damaged or from elsewhere. */
export class RedoError extends Error {}

/** The model's maps at one point of the recorded changes (now, or just before a reset). */
interface StateView {
  readonly cards: ReadonlyMap<string, Smartcard>
  readonly modules: ReadonlyMap<string, PairingModule>
  readonly products: ReadonlyMap<string, Product>
  readonly pairings: ReadonlyMap<string, Pairing>
  readonly nextPairingNumber: number
}

/** The before-images of one stretch of changes without a reset: the first one of each thing. */
interface Stretch {
  readonly cards: Map<string, Smartcard | undefined>
  readonly modules: Map<string, PairingModule | undefined>
  readonly products: Map<string, Product | undefined>
  readonly pairings: Map<string, Pairing | undefined>
  counter: number | undefined
}

const newStretch = (): Stretch => ({
  cards: new Map(),
  modules: new Map(),
  products: new Map(),
  pairings: new Map(),
  counter: undefined,
})

function first<T>(map: Map<string, T | undefined>, id: string, before: T | undefined): void {
  if (!map.has(id)) {
    map.set(id, before)
  }
}

/**
 * The redo record of the changes from undo position `from` to before `position` (what a store
 * write starting now covers; the records before `from` belong to writes already running), or null
 * when they changed nothing. Values are read now: serialise the record
 * before the model changes again.
 */
export function buildRedo(state: CaState, position: number, from = 0): RedoRecord | null {
  const builder = new RedoBuilder()
  let stretch = newStretch()
  for (const entry of state.changesBetween(from, position)) {
    record(stretch, entry, builder, () => (stretch = newStretch()))
  }
  builder.flush(stretch, {
    cards: state.cards,
    modules: state.modules,
    products: state.products,
    pairings: state.pairings,
    nextPairingNumber: state.nextPairingNumber,
  })
  return builder.ops.length === 0 ? null : { messages: builder.messages, ops: builder.ops }
}

function record(stretch: Stretch, entry: UndoEntry, builder: RedoBuilder, restart: () => void) {
  switch (entry.kind) {
    case 'card':
      first(stretch.cards, entry.id, entry.before)
      return
    case 'module':
      first(stretch.modules, entry.id, entry.before)
      return
    case 'product':
      first(stretch.products, entry.id, entry.before)
      return
    case 'pairing':
      first(stretch.pairings, entry.id, entry.before)
      return
    case 'counter':
      stretch.counter ??= entry.before
      return
    case 'all':
      // The maps the reset replaced hold the state just before it: the end of this stretch.
      builder.flush(stretch, {
        cards: entry.cards,
        modules: entry.modules,
        products: entry.products,
        pairings: entry.pairings,
        nextPairingNumber: entry.nextPairingNumber,
      })
      builder.ops.push(['reset', entry.keepInventory, entry.defaultPin])
      restart()
      return
  }
}

class RedoBuilder {
  readonly ops: RedoOp[] = []
  readonly messages: StoredMessage[] = []
  private readonly refs = new Map<StoredMessage, number>()

  /** The ops that take each thing of the stretch from its before-image to its value in `now`. */
  flush(stretch: Stretch, now: StateView): void {
    for (const [id, before] of stretch.cards) {
      const card = now.cards.get(id)
      if (card === undefined) {
        continue
      }
      const change = this.cardChange(before ?? NEW_CARD, card, before === undefined)
      if (before === undefined) {
        this.ops.push(['newCard', id, change])
      } else if (Object.keys(change).length > 0) {
        this.ops.push(['card', id, change])
      }
    }
    for (const [id, before] of stretch.modules) {
      const stb = now.modules.get(id) ?? null
      if (!sameModule(before, stb)) {
        this.ops.push(['module', id, stb])
      }
    }
    for (const [id, before] of stretch.products) {
      const product = now.products.get(id) ?? null
      if (before?.name !== product?.name || (before === undefined) !== (product === null)) {
        this.ops.push(['product', id, product])
      }
    }
    for (const [id, before] of stretch.pairings) {
      const pairing = now.pairings.get(id) ?? null
      if (!samePairing(before, pairing)) {
        this.ops.push(['pairing', id, pairing])
      }
    }
    if (stretch.counter !== undefined && stretch.counter !== now.nextPairingNumber) {
      this.ops.push(['counter', now.nextPairingNumber])
    }
  }

  /** The fields of `card` that differ from `before` (all of them when `whole`). */
  private cardChange(before: Smartcard, card: Smartcard, whole: boolean): CardChange {
    const change: {
      -readonly [K in keyof CardChange]: CardChange[K]
    } = {}
    if (whole || card.sms !== before.sms) {
      change.sms = card.sms
    }
    if (whole || card.pin !== before.pin) {
      change.pin = card.pin
    }
    if (whole || card.pairingId !== before.pairingId) {
      change.pairingId = card.pairingId
    }
    if (whole || !sameProducts(before.products, card.products)) {
      change.products = card.products
    }
    for (const list of LISTS) {
      const listChange = this.listChange(before[list], card[list])
      if (listChange !== null) {
        change[list] = listChange
      }
    }
    return change
  }

  /**
   * Lists only grow at the end and lose their oldest entries past the cap, so the change is what
   * follows the last message of the before-image; anything else is recorded as a replacement.
   */
  private listChange(before: readonly StoredMessage[], now: readonly StoredMessage[]) {
    if (before.length === now.length && before.every((message, i) => message === now[i])) {
      return null
    }
    const last = before.at(-1)
    const at = last === undefined ? -1 : now.lastIndexOf(last)
    const kept = now.slice(0, at + 1)
    if (
      last === undefined ||
      (at >= 0 && sameRefs(kept, before.slice(before.length - kept.length)))
    ) {
      return { add: now.slice(at + 1).map((m) => this.ref(m)), length: now.length }
    }
    return { add: now.map((m) => this.ref(m)), length: now.length, replace: true as const }
  }

  /** One entry in the record's message table per message, however many cards it went to. */
  private ref(message: StoredMessage): number {
    let index = this.refs.get(message)
    if (index === undefined) {
      index = this.messages.length
      this.messages.push(message)
      this.refs.set(message, index)
    }
    return index
  }
}

const LISTS = ['inbox', 'screen', 'fingerprints'] as const

/** What a new card is compared with: nothing, so every field is recorded. */
const NEW_CARD: Smartcard = {
  caClientId: '',
  sms: '',
  pin: '',
  products: NONE,
  pairingId: null,
  inbox: NONE,
  screen: NONE,
  fingerprints: NONE,
}

function sameRefs<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i])
}

function sameProducts(a: readonly ActiveProduct[], b: readonly ActiveProduct[]): boolean {
  return (
    a.length === b.length &&
    a.every((p, i) => {
      const q = b[i]
      return (
        q !== undefined &&
        p.productId === q.productId &&
        p.distributor === q.distributor &&
        p.startDate === q.startDate &&
        p.endDate === q.endDate
      )
    })
  )
}

function sameModule(a: PairingModule | undefined, b: PairingModule | null): boolean {
  if (a === undefined || b === null) {
    return a === undefined && b === null
  }
  return (
    a.serialNumber === b.serialNumber &&
    a.productCode === b.productCode &&
    a.productDescription === b.productDescription &&
    a.sms === b.sms &&
    a.pairingId === b.pairingId
  )
}

function samePairing(a: Pairing | undefined, b: Pairing | null): boolean {
  if (a === undefined || b === null) {
    return a === undefined && b === null
  }
  return (
    a.distributor === b.distributor &&
    a.createdAt === b.createdAt &&
    sameRefs(a.caClientIds, b.caClientIds) &&
    sameRefs(a.pairingModuleIds, b.pairingModuleIds)
  )
}

// ----- replay ------------------------------------------------------------------------------------

/**
 * Applies a redo record read back from a store to a model holding the state it was built on
 * (replaying a store at start, with changes not tracked). The record's objects become the
 * model's: pass a freshly parsed one. Throws {@link RedoError} when the record does not fit (an
 * unknown card, a bad message index).
 */
export function applyRedo(state: CaState, record: RedoRecord): void {
  const messages = record.messages.map((message) => Object.freeze(message))
  for (const op of record.ops) {
    applyOp(state, op, messages)
  }
}

function applyOp(state: CaState, op: RedoOp, messages: readonly StoredMessage[]): void {
  switch (op[0]) {
    case 'card': {
      const card = state.cards.get(op[1])
      if (card === undefined) {
        throw new RedoError(`it changes card '${op[1]}', which is not known at that point`)
      }
      change(card, op[2], messages)
      return
    }
    case 'newCard': {
      const card: Smartcard = { ...NEW_CARD, caClientId: op[1] }
      change(card, op[2], messages)
      state.replaceCard(card)
      return
    }
    case 'module':
      state.replaceModule(op[1], op[2])
      return
    case 'product':
      state.replaceProduct(op[1], op[2])
      return
    case 'pairing':
      state.replacePairing(op[1], op[2])
      return
    case 'counter':
      state.replacePairingNumber(op[1])
      return
    case 'reset':
      state.reset(op[1], op[2])
      return
    default:
      throw new RedoError(`it holds an unknown step ${JSON.stringify(op)}`)
  }
}

/** Changes a card in place (it is the model's own, and changes are not tracked while replaying). */
function change(card: Smartcard, fields: CardChange, messages: readonly StoredMessage[]): void {
  const mutable = card as { -readonly [K in keyof Smartcard]: Smartcard[K] }
  if (fields.sms !== undefined) {
    mutable.sms = fields.sms
  }
  if (fields.pin !== undefined) {
    mutable.pin = fields.pin
  }
  if (fields.pairingId !== undefined) {
    mutable.pairingId = fields.pairingId
  }
  if (fields.products !== undefined) {
    mutable.products = fields.products.length === 0 ? NONE : fields.products
  }
  mutable.inbox = listed(card.inbox, fields.inbox, messages) as readonly MailMessage[]
  mutable.screen = listed(card.screen, fields.screen, messages) as readonly ScreenMessage[]
  mutable.fingerprints = listed(
    card.fingerprints,
    fields.fingerprints,
    messages,
  ) as readonly Fingerprint[]
}

function listed(
  before: readonly StoredMessage[],
  list: ListChange | undefined,
  messages: readonly StoredMessage[],
): readonly StoredMessage[] {
  if (list === undefined) {
    return before
  }
  const added = list.add.map((index) => {
    const message = messages[index]
    if (message === undefined) {
      throw new RedoError(`it names message ${index}, which its table does not hold`)
    }
    return message
  })
  const all = list.replace ? added : [...before, ...added]
  const kept = all.slice(Math.max(0, all.length - list.length))
  return kept.length === 0 ? NONE : kept
}
