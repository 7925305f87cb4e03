import {
  DEFAULT_RULES,
  type ModelRules,
  type Pairing,
  type PairingModule,
  type Product,
  type Smartcard,
} from './types.js'

/** The one empty list every card starts with; a card gets its own list on its first entry. */
export const NONE: readonly never[] = Object.freeze([])

/** The state of one thing before a change touched it (undefined: it did not exist). */
export type UndoEntry =
  | { readonly kind: 'card'; readonly id: string; readonly before: Smartcard | undefined }
  | { readonly kind: 'module'; readonly id: string; readonly before: PairingModule | undefined }
  | { readonly kind: 'product'; readonly id: string; readonly before: Product | undefined }
  | { readonly kind: 'pairing'; readonly id: string; readonly before: Pairing | undefined }
  | { readonly kind: 'counter'; readonly before: number }
  | {
      readonly kind: 'all'
      /** How the reset ran, so that a stored change can run it again (redo.ts). */
      readonly keepInventory: boolean
      readonly defaultPin: string
      readonly cards: Map<string, Smartcard>
      readonly modules: Map<string, PairingModule>
      readonly products: Map<string, Product>
      readonly pairings: Map<string, Pairing>
      readonly nextPairingNumber: number
    }

/** Everything the model holds, as plain JSON, for persistence. */
export interface ModelSnapshot {
  readonly cards: readonly Smartcard[]
  readonly pairingModules: readonly PairingModule[]
  readonly products: readonly Product[]
  readonly pairings: readonly Pairing[]
  readonly nextPairingNumber: number
}

/** A snapshot as any version stored it: stores written before STBs had owners lack `sms`. */
export interface StoredModelSnapshot extends Omit<ModelSnapshot, 'pairingModules'> {
  readonly pairingModules: readonly (Omit<PairingModule, 'sms'> & {
    readonly sms?: string | null | undefined
  })[]
}

/** The kinds of id the model keeps one shared string of (see {@link CaState.intern}). */
export type InternedId = 'card' | 'module' | 'product' | 'distributor'

/** How a model starts: its profile rules and the SMS user new cards belong to by default. */
export interface CaStateOptions {
  readonly rules?: Partial<ModelRules>
  readonly defaultSms?: string
}

/**
 * What the CA holds (smartcards, pairing modules, products, pairings) and the record of what
 * changes touched, so that changes not yet stored can be rolled back.
 *
 * The concept modules (inventory, subscriptions, pairings, messages, pin) read and change it:
 * a change to a thing is always preceded by its `touch...` call, which records the before-image
 * when changes are tracked. No I/O, no clock, no id generation.
 */
export class CaState {
  readonly rules: ModelRules
  /** The SMS user a card registered without an owner belongs to. */
  readonly defaultSms: string
  private cardMap = new Map<string, Smartcard>()
  private moduleMap = new Map<string, PairingModule>()
  private productMap = new Map<string, Product>()
  private pairingMap = new Map<string, Pairing>()
  private pairingNumber = 1
  private readonly distributors = new Map<string, string>()
  /** Before-images of what changes touched since the last commit; null while not tracking. */
  private undo: UndoEntry[] | null = null
  /** The state as it was when a snapshot of it started being written; null when none is. */
  private capture: ModelCapture | null = null

  constructor(options: CaStateOptions = {}) {
    this.rules = { ...DEFAULT_RULES, ...options.rules }
    this.defaultSms = options.defaultSms ?? 'sms'
  }

  /** Smartcards by CaClientId, in registration order. */
  get cards(): ReadonlyMap<string, Smartcard> {
    return this.cardMap
  }

  /** Pairing modules (STBs) by PairingModuleId, in registration order. */
  get modules(): ReadonlyMap<string, PairingModule> {
    return this.moduleMap
  }

  /** The product catalogue by ProductId. */
  get products(): ReadonlyMap<string, Product> {
    return this.productMap
  }

  /** Pairings by id (`P1`, `P2`...), in creation order. */
  get pairings(): ReadonlyMap<string, Pairing> {
    return this.pairingMap
  }

  /** A card the request's checks found: its absence would be a bug in the model, not bad input. */
  existingCard(id: string): Smartcard {
    return existing(this.cardMap, id, 'card')
  }

  /** An STB the request's checks found (or a pairing lists). */
  existingModule(id: string): PairingModule {
    return existing(this.moduleMap, id, 'pairing module')
  }

  // ----- changes: each records the before-image first ---------------------------------------

  /** Records a card's before-image; call it before changing the card (or adding it). */
  touchCard(id: string, card: Smartcard | undefined): void {
    if (card && this.capture?.cards.get(id) === card) {
      this.capture.keepCard(id, copyCard(card))
    }
    this.undo?.push({ kind: 'card', id, before: card && copyCard(card) })
  }

  /** Records an STB's before-image; call it before changing the STB (or adding it). */
  touchModule(id: string, stb: PairingModule | undefined): void {
    if (stb && this.capture?.modules.get(id) === stb) {
      this.capture.keepModule(id, { ...stb })
    }
    this.undo?.push({ kind: 'module', id, before: stb && { ...stb } })
  }

  /** Records a pairing's before-image; call it before changing or removing the pairing. */
  touchPairing(pairing: Pairing): void {
    if (this.capture?.pairings.get(pairing.id) === pairing) {
      this.capture.keepPairing(pairing.id, copyPairing(pairing))
    }
    this.undo?.push({ kind: 'pairing', id: pairing.id, before: copyPairing(pairing) })
  }

  /** Adds a card that is not known yet. */
  addCard(card: Smartcard): void {
    this.touchCard(card.caClientId, undefined)
    this.cardMap.set(card.caClientId, card)
  }

  /** Adds or replaces an STB. */
  putModule(stb: PairingModule): void {
    this.touchModule(stb.pairingModuleId, this.moduleMap.get(stb.pairingModuleId))
    this.moduleMap.set(stb.pairingModuleId, stb)
  }

  /** Adds or replaces a product of the catalogue. */
  putProduct(product: Product): void {
    const known = this.productMap.get(product.productId)
    this.undo?.push({ kind: 'product', id: product.productId, before: known && { ...known } })
    this.productMap.set(product.productId, product)
  }

  /** A new pairing, numbered after the last one (`P1`, `P2`...). */
  addPairing(pairing: Omit<Pairing, 'id'>): Pairing {
    this.undo?.push({ kind: 'counter', before: this.pairingNumber })
    const added: Pairing = { id: `P${this.pairingNumber++}`, ...pairing }
    this.undo?.push({ kind: 'pairing', id: added.id, before: undefined })
    this.pairingMap.set(added.id, added)
    return added
  }

  /** Removes a pairing (its devices must have been released first). */
  removePairing(pairing: Pairing): void {
    this.touchPairing(pairing)
    this.pairingMap.delete(pairing.id)
  }

  /** A card as registered: the default PIN, nothing active, not paired, no messages. */
  newCard(caClientId: string, sms: string): Smartcard {
    return {
      caClientId,
      sms,
      pin: this.rules.defaultPin,
      products: NONE,
      pairingId: null,
      inbox: NONE,
      screen: NONE,
      fingerprints: NONE,
    }
  }

  /** Appends in place (a card's own list) or starts a list (the shared empty one), keeping the newest `max`. */
  appendCapped<T>(list: readonly T[], entry: T): readonly T[] {
    if (list === NONE) {
      return [entry]
    }
    // Not the shared empty list: the card's own array, which only the model holds.
    const own = list as T[]
    own.push(entry)
    if (own.length > this.rules.maxMessagesPerCard) {
      own.splice(0, own.length - this.rules.maxMessagesPerCard)
    }
    return own
  }

  // ----- shared strings --------------------------------------------------------------------

  /**
   * The model's own copy of an id string when it knows the id, else the given string. Requests
   * kept in the journal hold these shared strings instead of one copy per request.
   */
  intern(kind: InternedId, value: string): string {
    switch (kind) {
      case 'card':
        return this.cardMap.get(value)?.caClientId ?? value
      case 'module':
        return this.moduleMap.get(value)?.pairingModuleId ?? value
      case 'product':
        return this.productMap.get(value)?.productId ?? value
      case 'distributor':
        return this.internDistributor(value)
    }
  }

  /** Known distributor strings are shared; new ones are remembered only when a change stores them. */
  internDistributor(value: string, remember = false): string {
    const known = this.distributors.get(value)
    if (known !== undefined) {
      return known
    }
    if (remember && this.distributors.size < 10_000) {
      this.distributors.set(value, value)
    }
    return value
  }

  /** Counts of what the model holds. */
  stats(): { smartcards: number; pairingModules: number; products: number; pairings: number } {
    return {
      smartcards: this.cardMap.size,
      pairingModules: this.moduleMap.size,
      products: this.productMap.size,
      pairings: this.pairingMap.size,
    }
  }

  // ----- persistence -----------------------------------------------------------------------

  /** A deep copy of the whole state as plain JSON data; later changes to the model do not touch it. */
  toSnapshot(): ModelSnapshot {
    return structuredClone({
      cards: [...this.cardMap.values()],
      pairingModules: [...this.moduleMap.values()],
      products: [...this.productMap.values()],
      pairings: [...this.pairingMap.values()],
      nextPairingNumber: this.pairingNumber,
    })
  }

  /**
   * Replaces the whole state with a snapshot taken by {@link toSnapshot} (of this or an earlier
   * version: an STB stored without an owner belongs to the SMS user of its pairing's first card).
   * Not undoable: it forgets what was not committed. With `owned`, the snapshot's objects become
   * the model's own instead of being copied (for data freshly read from a store, which nobody
   * else holds).
   */
  loadSnapshot(given: StoredModelSnapshot, options: { readonly owned?: boolean } = {}): void {
    const snapshot = options.owned ? given : structuredClone(given)
    const shared = <T>(list: readonly T[]): readonly T[] => (list.length === 0 ? NONE : list)
    if (this.undo) {
      this.undo = []
    }
    this.cardMap = new Map()
    for (const c of snapshot.cards) {
      this.cardMap.set(c.caClientId, {
        caClientId: c.caClientId,
        sms: c.sms,
        pin: c.pin,
        products: shared(c.products),
        pairingId: c.pairingId,
        inbox: shared(c.inbox),
        screen: shared(c.screen),
        fingerprints: shared(c.fingerprints),
      })
    }
    this.productMap = new Map(snapshot.products.map((p) => [p.productId, { ...p }]))
    this.pairingMap = new Map(snapshot.pairings.map((p) => [p.id, { ...p }]))
    this.pairingNumber = snapshot.nextPairingNumber
    this.moduleMap = new Map()
    for (const m of snapshot.pairingModules) {
      this.moduleMap.set(m.pairingModuleId, {
        ...m,
        sms: m.sms === undefined ? this.ownerByPairing(m.pairingId) : m.sms,
      })
    }
  }

  private ownerByPairing(pairingId: string | null): string | null {
    const first = pairingId === null ? undefined : this.pairingMap.get(pairingId)?.caClientIds[0]
    return (first === undefined ? undefined : this.cardMap.get(first)?.sms) ?? null
  }

  /**
   * Forgets everything; with `keepInventory`, cards, STBs and products stay (with their owners) but
   * lose their state, the cards' PIN becoming `defaultPin` (the rule's, unless a stored reset is
   * run again). New maps replace the old ones, which stay intact as the undo record.
   */
  reset(keepInventory: boolean, defaultPin = this.rules.defaultPin): void {
    this.undo?.push({
      kind: 'all',
      keepInventory,
      defaultPin,
      cards: this.cardMap,
      modules: this.moduleMap,
      products: this.productMap,
      pairings: this.pairingMap,
      nextPairingNumber: this.pairingNumber,
    })
    const cards = new Map<string, Smartcard>()
    const modules = new Map<string, PairingModule>()
    const products = new Map<string, Product>()
    if (keepInventory) {
      for (const [id, card] of this.cardMap) {
        cards.set(id, { ...this.newCard(id, card.sms), pin: defaultPin })
      }
      for (const [id, stb] of this.moduleMap) {
        modules.set(id, { ...stb, pairingId: null })
      }
      for (const [id, product] of this.productMap) {
        products.set(id, product)
      }
    }
    this.cardMap = cards
    this.moduleMap = modules
    this.productMap = products
    this.pairingMap = new Map()
    this.pairingNumber = 1
  }

  // ----- replaying stored changes (redo.ts) -------------------------------------------------

  /**
   * The undo records from `from` to before `position`: what the changes a store write now covers
   * touched, oldest first (those before `from` belong to writes already running).
   */
  changesBetween(from: number, position: number): readonly UndoEntry[] {
    return this.undo?.slice(from, position) ?? []
  }

  /** Puts a card as stored (replaying a stored change: not recorded, not undoable). */
  replaceCard(card: Smartcard): void {
    this.cardMap.set(card.caClientId, card)
  }

  /** Puts or removes an STB as stored (not recorded). */
  replaceModule(id: string, stb: PairingModule | null): void {
    setOrDelete(this.moduleMap, id, stb)
  }

  /** Puts or removes a product as stored (not recorded). */
  replaceProduct(id: string, product: Product | null): void {
    setOrDelete(this.productMap, id, product)
  }

  /** Puts or removes a pairing as stored (not recorded); a new one goes last, as `addPairing` puts it. */
  replacePairing(id: string, pairing: Pairing | null): void {
    setOrDelete(this.pairingMap, id, pairing)
  }

  /** Sets the number the next pairing gets (not recorded). */
  replacePairingNumber(next: number): void {
    this.pairingNumber = next
  }

  /** The number the next pairing gets. */
  get nextPairingNumber(): number {
    return this.pairingNumber
  }

  // ----- capture for snapshots ---------------------------------------------------------------

  /**
   * Freezes the state as it is now for a snapshot written over many turns of the event loop, while
   * changes go on: the maps are copied (not their objects), and the first change to a captured
   * card, STB or pairing after this keeps a copy of it first (copy on write, in the `touch` calls).
   * One capture at a time; {@link endCapture} when written.
   */
  beginCapture(): ModelCapture {
    if (this.capture) {
      throw new Error('Model invariant broken: a snapshot capture is already running.')
    }
    this.capture = new ModelCapture(this)
    return this.capture
  }

  /** The snapshot of `capture` is written (or abandoned): changes stop keeping copies for it. */
  endCapture(capture: ModelCapture): void {
    if (this.capture === capture) {
      this.capture = null
    }
  }

  // ----- undo log --------------------------------------------------------------------------

  /**
   * Starts recording the before-image of everything a change touches, so that changes not yet
   * stored can be rolled back. Only a simulator with a durable store turns it on: in memory,
   * nothing is recorded and changes cost nothing extra.
   */
  trackChanges(): void {
    this.undo ??= []
  }

  /** How many undo records there are: the position a store write that starts now covers. */
  undoPosition(): number {
    return this.undo?.length ?? 0
  }

  /** The changes recorded before `position` are durable: forget their before-images. */
  commitUndo(position: number): void {
    this.undo?.splice(0, position)
  }

  /**
   * Puts back the state before every change recorded after `position` (default: every change not
   * yet committed), newest first.
   */
  rollback(position = 0): void {
    const undo = this.undo
    if (!undo || undo.length <= position) {
      return
    }
    let reinserted = false
    for (const entry of undo.splice(position).reverse()) {
      reinserted = this.restore(entry) || reinserted
    }
    if (reinserted) {
      // A dissolved pairing put back goes to the end of the map: keep creation order (P1, P2...).
      this.pairingMap = new Map(
        [...this.pairingMap].sort(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1))),
      )
    }
  }

  /** Restores one before-image; true when a pairing that had been removed came back. */
  private restore(entry: UndoEntry): boolean {
    switch (entry.kind) {
      case 'card':
        restoreIn(this.cardMap, entry.id, entry.before)
        return false
      case 'module':
        restoreIn(this.moduleMap, entry.id, entry.before)
        return false
      case 'product':
        restoreIn(this.productMap, entry.id, entry.before)
        return false
      case 'pairing': {
        const removed = !this.pairingMap.has(entry.id)
        restoreIn(this.pairingMap, entry.id, entry.before)
        return removed && entry.before !== undefined
      }
      case 'counter':
        this.pairingNumber = entry.before
        return false
      case 'all':
        this.cardMap = entry.cards
        this.moduleMap = entry.modules
        this.productMap = entry.products
        this.pairingMap = entry.pairings
        this.pairingNumber = entry.nextPairingNumber
        return false
    }
  }
}

function existing<T>(map: ReadonlyMap<string, T>, id: string, what: string): T {
  const found = map.get(id)
  if (found === undefined) {
    throw new Error(`Model invariant broken: ${what} '${id}' was checked but is not known.`)
  }
  return found
}

/** A copy of a card that later changes to the card do not reach (messages are frozen, so shared). */
function copyCard(card: Smartcard): Smartcard {
  return {
    ...card,
    // Active products are changed in place (dates, distributor); messages are frozen.
    products: card.products === NONE ? NONE : card.products.map((product) => ({ ...product })),
    inbox: copyList(card.inbox),
    screen: copyList(card.screen),
    fingerprints: copyList(card.fingerprints),
  }
}

function copyPairing(pairing: Pairing): Pairing {
  return {
    ...pairing,
    caClientIds: [...pairing.caClientIds],
    pairingModuleIds: [...pairing.pairingModuleIds],
  }
}

function keepFirst<T>(map: Map<string, T>, id: string, value: T): void {
  if (!map.has(id)) {
    map.set(id, value)
  }
}

function setOrDelete<T>(map: Map<string, T>, id: string, value: T | null): void {
  if (value === null) {
    map.delete(id)
  } else {
    map.set(id, value)
  }
}

/**
 * The model's state at the moment {@link CaState.beginCapture} was called, readable while the
 * model goes on changing: a card, STB or pairing changed since is read from the copy kept before
 * its first change.
 */
export class ModelCapture {
  readonly cards: ReadonlyMap<string, Smartcard>
  readonly modules: ReadonlyMap<string, PairingModule>
  readonly products: ReadonlyMap<string, Product>
  readonly pairings: ReadonlyMap<string, Pairing>
  readonly nextPairingNumber: number
  private readonly kept = {
    cards: new Map<string, Smartcard>(),
    modules: new Map<string, PairingModule>(),
    pairings: new Map<string, Pairing>(),
  }

  constructor(state: CaState) {
    this.cards = new Map(state.cards)
    this.modules = new Map(state.modules)
    // Products are replaced, never changed in place: the map copy is enough.
    this.products = new Map(state.products)
    this.pairings = new Map(state.pairings)
    this.nextPairingNumber = state.nextPairingNumber
  }

  /** Keeps the captured value of a card about to change (the first copy wins). */
  keepCard(id: string, value: Smartcard): void {
    keepFirst(this.kept.cards, id, value)
  }

  /** Keeps the captured value of an STB about to change. */
  keepModule(id: string, value: PairingModule): void {
    keepFirst(this.kept.modules, id, value)
  }

  /** Keeps the captured value of a pairing about to change. */
  keepPairing(id: string, value: Pairing): void {
    keepFirst(this.kept.pairings, id, value)
  }

  /** A card as captured. */
  card(id: string, live: Smartcard): Smartcard {
    return this.kept.cards.get(id) ?? live
  }

  /** An STB as captured. */
  module(id: string, live: PairingModule): PairingModule {
    return this.kept.modules.get(id) ?? live
  }

  /** A pairing as captured. */
  pairing(id: string, live: Pairing): Pairing {
    return this.kept.pairings.get(id) ?? live
  }
}

/** A copy of a card's list; the shared empty list stays shared. */
function copyList<T>(list: readonly T[]): readonly T[] {
  return list === NONE ? NONE : [...list]
}

/** Puts a before-image back, or removes what did not exist before. */
function restoreIn<T>(map: Map<string, T>, id: string, before: T | undefined): void {
  if (before === undefined) {
    map.delete(id)
  } else {
    map.set(id, before)
  }
}
