import {
  BARK_MAX_LENGTH,
  DEFAULT_BARK_DURATION_SECONDS,
  DEFAULT_FINGERPRINT_DURATION_SECONDS,
  DEFAULT_FINGERPRINT_HEIGHT,
  MAIL_MAX_LENGTH,
  isCaClientId,
  isDistributor,
  isPairingModuleId,
  isPin,
  isProductId,
  isRepetitionInterval,
  messageLength,
} from './rules.js'
import {
  DEFAULT_RULES,
  type ActiveProduct,
  type ErrorCode,
  type Fingerprint,
  type MailMessage,
  type ModelRules,
  type OperationContext,
  type Outcome,
  type Pairing,
  type PairingModule,
  type Product,
  type ScreenMessage,
  type Smartcard,
} from './types.js'

export interface AddSubscriptionItem {
  readonly caClientId: string
  readonly productId: string
  readonly distributor: string | null
  readonly startDate: string | null
  readonly endDate: string | null
}

export interface CancelSubscriptionItem {
  readonly caClientId: string
  readonly productId: string
  readonly distributor: string | null
}

export interface CreatePairingInput {
  readonly caClientIds: readonly string[]
  readonly pairingModuleIds: readonly string[]
  readonly distributor: string | null
}

export interface AddToExistingPairingInput {
  readonly pairedCaClientId: string
  readonly caClientIds: readonly string[]
  readonly pairingModuleIds: readonly string[]
}

export interface MessageInput {
  readonly caClientIds: readonly string[]
  readonly message: string
  readonly startIndicationTime: string | null
  readonly sequenceNumber: number | null
}

export interface BarkInput extends MessageInput {
  readonly displayDurationInSeconds: number | null
}

export interface RepeatingBarkInput extends BarkInput {
  readonly repetitionCount: number
  readonly repetitionIntervalInSeconds: number
}

export interface FingerprintInput {
  readonly caClientIds: readonly string[]
  readonly displayTime: string | null
  readonly durationInSeconds: number | null
  readonly positionX: number | null
  readonly positionY: number | null
  readonly height: number | null
  readonly slot: string | null
  readonly sequenceNumber: number | null
}

export interface PairingStatus {
  readonly paired: boolean
  readonly caClientIds: readonly string[]
  readonly pairingModules: readonly PairingModuleView[]
}

export interface PairingModuleView {
  readonly pairingModuleId: string
  readonly serialNumber: string
  readonly productCode: string
  readonly productDescription: string
}

/** A card's whole state as the admin surface shows it (contract section 4). */
export interface CardView {
  readonly caClientId: string
  readonly sms: string
  readonly pin: string
  readonly subscriptions: readonly ActiveProduct[]
  readonly pairing: {
    readonly caClientIds: readonly string[]
    readonly pairingModuleIds: readonly string[]
    readonly distributor: string | null
  } | null
  readonly inbox: readonly MailMessage[]
  readonly screen: readonly ScreenMessage[]
  readonly fingerprints: readonly Fingerprint[]
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

export interface SmartcardRegistration {
  readonly caClientId: string
  /** The SMS user the card belongs to; absent or null: unchanged for a known card, else the default user. */
  readonly sms?: string | null | undefined
}

export interface PairingModuleRegistration {
  readonly pairingModuleId: string
  readonly serialNumber: string
  readonly productCode: string
  readonly productDescription: string
  /** The SMS user the STB belongs to; absent: unchanged for a known STB, else owned once paired. */
  readonly sms?: string | null | undefined
}

export interface ProductRegistration {
  readonly productId: string
  readonly name?: string | null | undefined
}

export interface InventoryInput {
  readonly smartcards?: readonly SmartcardRegistration[]
  readonly pairingModules?: readonly PairingModuleRegistration[]
  readonly products?: readonly ProductRegistration[]
}

export interface InventoryCounts {
  readonly smartcards: number
  readonly pairingModules: number
  readonly products: number
}

/** The one empty list every card starts with; a card gets its own list on its first entry. */
const NONE: readonly never[] = Object.freeze([])

type Problem = { readonly code: ErrorCode; readonly message: string }

/** The state of one thing before a change touched it (undefined: it did not exist). */
type UndoEntry =
  | { readonly kind: 'card'; readonly id: string; readonly before: Smartcard | undefined }
  | { readonly kind: 'module'; readonly id: string; readonly before: PairingModule | undefined }
  | { readonly kind: 'product'; readonly id: string; readonly before: Product | undefined }
  | { readonly kind: 'pairing'; readonly id: string; readonly before: Pairing | undefined }
  | { readonly kind: 'counter'; readonly before: number }
  | {
      readonly kind: 'all'
      readonly cards: Map<string, Smartcard>
      readonly modules: Map<string, PairingModule>
      readonly products: Map<string, Product>
      readonly pairings: Map<string, Pairing>
      readonly nextPairingNumber: number
    }

const fail = <T>(problem: Problem): Outcome<T> => ({ ok: false, ...problem })
const invalid = (message: string): Problem => ({ code: 'INPUT_VALIDATION_ERROR', message })

/**
 * The pure model of what a Conax Contego CA system holds: smartcards, pairing modules (STBs),
 * pairings, active products, inboxes, on-screen messages and fingerprints.
 *
 * Every operation validates its whole request before it changes anything, so a request is all or
 * nothing. No I/O, no clock and no id generation happen here: the caller passes them in
 * {@link OperationContext}.
 */
export class CaModel {
  readonly rules: ModelRules
  private cards = new Map<string, Smartcard>()
  private modules = new Map<string, PairingModule>()
  private products = new Map<string, Product>()
  private pairings = new Map<string, Pairing>()
  private nextPairingNumber = 1
  private readonly distributors = new Map<string, string>()
  private readonly defaultSms: string
  /** Before-images of what changes touched since the last commit; null while not tracking. */
  private undo: UndoEntry[] | null = null

  constructor(options: { rules?: Partial<ModelRules>; defaultSms?: string } = {}) {
    this.rules = { ...DEFAULT_RULES, ...options.rules }
    this.defaultSms = options.defaultSms ?? 'sms'
  }

  // ----- inventory -------------------------------------------------------------------------

  /** Registers cards, STBs and products; known ones keep their state (only descriptive fields change). */
  registerInventory(input: InventoryInput): Outcome<InventoryCounts> {
    const problem = this.checkInventory(input)
    if (problem) {
      return fail(problem)
    }
    this.applyInventory(input)
    const counts = {
      smartcards: input.smartcards?.length ?? 0,
      pairingModules: input.pairingModules?.length ?? 0,
      products: input.products?.length ?? 0,
    }
    return { ok: true, value: counts, message: 'Inventory registered.' }
  }

  private applyInventory(input: InventoryInput): void {
    for (const card of input.smartcards ?? []) {
      const known = this.cards.get(card.caClientId)
      this.touchCard(card.caClientId, known)
      if (known) {
        known.sms = card.sms ?? known.sms
      } else {
        this.cards.set(card.caClientId, this.newCard(card.caClientId, card.sms ?? this.defaultSms))
      }
    }
    for (const stb of input.pairingModules ?? []) {
      const known = this.modules.get(stb.pairingModuleId)
      this.touchModule(stb.pairingModuleId, known)
      this.modules.set(stb.pairingModuleId, {
        pairingModuleId: stb.pairingModuleId,
        serialNumber: stb.serialNumber,
        productCode: stb.productCode,
        productDescription: stb.productDescription,
        sms: stb.sms ?? known?.sms ?? null,
        pairingId: known?.pairingId ?? null,
      })
    }
    for (const product of input.products ?? []) {
      const known = this.products.get(product.productId)
      this.undo?.push({ kind: 'product', id: product.productId, before: known && { ...known } })
      const name = product.name ?? known?.name ?? null
      this.products.set(product.productId, { productId: product.productId, name })
    }
  }

  private checkInventory(input: InventoryInput): Problem | null {
    for (const [index, card] of (input.smartcards ?? []).entries()) {
      if (!isCaClientId(card.caClientId)) {
        return invalid(
          `smartcards[${index}].caClientId '${card.caClientId}' must be exactly 11 digits.`,
        )
      }
    }
    for (const [index, stb] of (input.pairingModules ?? []).entries()) {
      if (!isPairingModuleId(stb.pairingModuleId)) {
        return invalid(
          `pairingModules[${index}].pairingModuleId '${stb.pairingModuleId}' must be 1 to 20 digits.`,
        )
      }
    }
    for (const [index, product] of (input.products ?? []).entries()) {
      if (!isProductId(product.productId, this.rules.productIdFormat)) {
        return invalid(
          `products[${index}].productId '${product.productId}' ${this.productIdRule()}.`,
        )
      }
    }
    return null
  }

  /**
   * The model's own copy of an id string when it knows the id, else the given string. Requests
   * kept in the journal hold these shared strings instead of one copy per request.
   */
  intern(kind: 'card' | 'module' | 'product' | 'distributor', value: string): string {
    switch (kind) {
      case 'card':
        return this.cards.get(value)?.caClientId ?? value
      case 'module':
        return this.modules.get(value)?.pairingModuleId ?? value
      case 'product':
        return this.products.get(value)?.productId ?? value
      case 'distributor':
        return this.internDistributor(value)
    }
  }

  /** Known distributor strings are shared; new ones are remembered only when a change stores them. */
  private internDistributor(value: string, remember = false): string {
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
      smartcards: this.cards.size,
      pairingModules: this.modules.size,
      products: this.products.size,
      pairings: this.pairings.size,
    }
  }

  // ----- subscriptions ---------------------------------------------------------------------

  /** AddSubscriptions: each product becomes active on its card; an active one keeps going (dates may update). */
  addSubscriptions(ctx: OperationContext, items: readonly AddSubscriptionItem[]): Outcome<number> {
    const problem =
      this.checkCardCount(items.map((item) => item.caClientId)) ??
      this.firstProblem(items, 'Subscription', (item) => this.checkAddItemFormat(item)) ??
      this.firstProblem(items, 'Subscription', (item) => this.checkItemExists(ctx, item)) ??
      this.checkEffectiveDates(ctx, items)
    if (problem) {
      return fail(problem)
    }
    let changed = 0
    for (const item of items) {
      const card = this.cards.get(item.caClientId) as Smartcard
      this.touchCard(item.caClientId, card)
      const active = card.products.find((p) => p.productId === item.productId)
      const distributor =
        item.distributor === null ? null : this.internDistributor(item.distributor, true)
      if (active) {
        active.distributor = distributor ?? active.distributor
        active.startDate = item.startDate ?? active.startDate
        active.endDate = item.endDate ?? active.endDate
      } else {
        card.products = [
          ...card.products,
          {
            productId: item.productId,
            distributor,
            startDate: item.startDate ?? ctx.now,
            endDate: item.endDate,
          },
        ]
        changed++
      }
    }
    return {
      ok: true,
      value: changed,
      message: `${items.length} subscription(s) active, ${changed} newly added.`,
    }
  }

  /** CancelSubscriptions: each product stops on its card; one that is not active is left as it is. */
  cancelSubscriptions(
    ctx: OperationContext,
    items: readonly CancelSubscriptionItem[],
  ): Outcome<number> {
    const problem =
      this.checkCardCount(items.map((item) => item.caClientId)) ??
      this.firstProblem(items, 'Subscription', (item) => this.checkItemFormat(item)) ??
      this.firstProblem(items, 'Subscription', (item) => this.checkItemExists(ctx, item))
    if (problem) {
      return fail(problem)
    }
    let removed = 0
    for (const item of items) {
      const card = this.cards.get(item.caClientId) as Smartcard
      this.touchCard(item.caClientId, card)
      const kept = card.products.filter((p) => p.productId !== item.productId)
      removed += card.products.length - kept.length
      card.products = kept.length === 0 ? NONE : kept
    }
    return { ok: true, value: removed, message: `${removed} subscription(s) cancelled.` }
  }

  /** GetActiveSubscriptions: the products active on a card. */
  getActiveSubscriptions(
    ctx: OperationContext,
    caClientId: string,
  ): Outcome<readonly ActiveProduct[]> {
    const problem = this.checkCard(ctx, caClientId, 'CaClientId')
    if (problem) {
      return fail(problem)
    }
    const card = this.cards.get(caClientId) as Smartcard
    const products = this.rules.hideExpiredProducts
      ? card.products.filter((p) => p.endDate === null || p.endDate >= ctx.now)
      : card.products
    return {
      ok: true,
      value: products.map((p) => ({ ...p })),
      message: `${products.length} active subscription(s).`,
    }
  }

  // ----- pairing ---------------------------------------------------------------------------

  /** CreatePairing: a new pairing of these cards and STBs; earlier pairings of them are cancelled first. */
  createPairing(ctx: OperationContext, input: CreatePairingInput): Outcome<string> {
    const cards = unique(input.caClientIds)
    const stbs = unique(input.pairingModuleIds)
    const problem =
      this.checkCardCount(cards) ??
      (input.distributor !== null && !isDistributor(input.distributor)
        ? invalid(`Distributor '${input.distributor}' must be 1 to 32 characters.`)
        : null) ??
      this.checkCardsAndModules(ctx, cards, stbs)
    if (problem) {
      return fail(problem)
    }
    for (const id of cards) {
      this.releaseDevice(this.cards.get(id) as Smartcard, this.rules.pairingReplace)
    }
    for (const id of stbs) {
      this.releaseDevice(this.modules.get(id) as PairingModule, this.rules.pairingReplace)
    }
    this.undo?.push({ kind: 'counter', before: this.nextPairingNumber })
    const pairing: Pairing = {
      id: `P${this.nextPairingNumber++}`,
      caClientIds: [...cards],
      pairingModuleIds: [...stbs],
      distributor: input.distributor,
      createdAt: ctx.now,
    }
    this.undo?.push({ kind: 'pairing', id: pairing.id, before: undefined })
    this.pairings.set(pairing.id, pairing)
    for (const id of cards) {
      const card = this.cards.get(id) as Smartcard
      this.touchCard(id, card)
      card.pairingId = pairing.id
    }
    for (const id of stbs) {
      this.joinPairing(ctx, this.modules.get(id) as PairingModule, pairing)
    }
    return {
      ok: true,
      value: pairing.id,
      message: `Paired ${cards.length} card(s) with ${stbs.length} pairing module(s).`,
    }
  }

  /** AddToExistingPairing: adds cards and STBs to the pairing of `pairedCaClientId`. */
  addToExistingPairing(ctx: OperationContext, input: AddToExistingPairingInput): Outcome<string> {
    const cards = unique(input.caClientIds)
    const stbs = unique(input.pairingModuleIds)
    const problem =
      (cards.length + stbs.length === 0
        ? invalid('AddToExistingPairing needs at least one CaClientId or PairingModuleId to add.')
        : null) ??
      this.checkCardCount([input.pairedCaClientId, ...cards]) ??
      this.checkCard(ctx, input.pairedCaClientId, 'PairedCaClientId') ??
      this.checkCardsAndModules(ctx, cards, stbs)
    if (problem) {
      return fail(problem)
    }
    const anchor = this.cards.get(input.pairedCaClientId) as Smartcard
    const pairing = anchor.pairingId === null ? undefined : this.pairings.get(anchor.pairingId)
    if (!pairing) {
      return fail({
        code: 'NOT_PAIRED',
        message: `PairedCaClientId '${input.pairedCaClientId}' has no pairing to add to. Pair it first with CreatePairing.`,
      })
    }
    let added = 0
    this.touchPairing(pairing)
    for (const id of cards) {
      const card = this.cards.get(id) as Smartcard
      if (card.pairingId !== pairing.id) {
        this.releaseDevice(card, 'detach')
        this.touchCard(id, card)
        card.pairingId = pairing.id
        pairing.caClientIds.push(id)
        added++
      }
    }
    for (const id of stbs) {
      const stb = this.modules.get(id) as PairingModule
      if (stb.pairingId !== pairing.id) {
        this.releaseDevice(stb, 'detach')
        this.joinPairing(ctx, stb, pairing)
        pairing.pairingModuleIds.push(id)
        added++
      }
    }
    return { ok: true, value: pairing.id, message: `${added} device(s) added to the pairing.` }
  }

  /** GetPairingStatusForCard. */
  pairingStatusForCard(ctx: OperationContext, caClientId: string): Outcome<PairingStatus> {
    const problem = this.checkCard(ctx, caClientId, 'CaClientId')
    if (problem) {
      return fail(problem)
    }
    return this.pairingStatus((this.cards.get(caClientId) as Smartcard).pairingId)
  }

  /** GetPairingStatusForPairingModule. */
  pairingStatusForModule(ctx: OperationContext, pairingModuleId: string): Outcome<PairingStatus> {
    if (!isPairingModuleId(pairingModuleId)) {
      return fail(invalid(`PairingModuleId '${pairingModuleId}' must be 1 to 20 digits.`))
    }
    const problem = this.checkModule(ctx, pairingModuleId)
    if (problem) {
      return fail(problem)
    }
    return this.pairingStatus((this.modules.get(pairingModuleId) as PairingModule).pairingId)
  }

  private pairingStatus(pairingId: string | null): Outcome<PairingStatus> {
    const pairing = pairingId === null ? undefined : this.pairings.get(pairingId)
    if (!pairing) {
      return {
        ok: true,
        value: { paired: false, caClientIds: [], pairingModules: [] },
        message: 'Not paired.',
      }
    }
    const pairingModules = pairing.pairingModuleIds.map((id) => {
      const stb = this.modules.get(id) as PairingModule
      return {
        pairingModuleId: stb.pairingModuleId,
        serialNumber: stb.serialNumber,
        productCode: stb.productCode,
        productDescription: stb.productDescription,
      }
    })
    return {
      ok: true,
      value: { paired: true, caClientIds: [...pairing.caClientIds], pairingModules },
      message: `Paired: ${pairing.caClientIds.length} card(s), ${pairingModules.length} pairing module(s).`,
    }
  }

  /** An STB joins a pairing; an STB without an owner becomes the caller's. */
  private joinPairing(ctx: OperationContext, stb: PairingModule, pairing: Pairing): void {
    this.touchModule(stb.pairingModuleId, stb)
    stb.pairingId = pairing.id
    stb.sms ??= ctx.user
  }

  /** Takes a device out of its pairing; `whole` cancels that pairing for every member. */
  private releaseDevice(
    device: Smartcard | PairingModule,
    mode: ModelRules['pairingReplace'],
  ): void {
    const pairing = device.pairingId === null ? undefined : this.pairings.get(device.pairingId)
    if ('caClientId' in device) {
      this.touchCard(device.caClientId, device)
    } else {
      this.touchModule(device.pairingModuleId, device)
    }
    device.pairingId = null
    if (!pairing) {
      return
    }
    if (mode === 'whole') {
      this.dissolve(pairing)
      return
    }
    this.touchPairing(pairing)
    removeItem(pairing.caClientIds, 'caClientId' in device ? device.caClientId : '')
    removeItem(pairing.pairingModuleIds, 'pairingModuleId' in device ? device.pairingModuleId : '')
    if (pairing.caClientIds.length === 0 || pairing.pairingModuleIds.length === 0) {
      this.dissolve(pairing)
    }
  }

  private dissolve(pairing: Pairing): void {
    for (const id of pairing.caClientIds) {
      const card = this.cards.get(id)
      if (card?.pairingId === pairing.id) {
        this.touchCard(id, card)
        card.pairingId = null
      }
    }
    for (const id of pairing.pairingModuleIds) {
      const stb = this.modules.get(id)
      if (stb?.pairingId === pairing.id) {
        this.touchModule(id, stb)
        stb.pairingId = null
      }
    }
    this.touchPairing(pairing)
    this.pairings.delete(pairing.id)
  }

  // ----- messages, fingerprints, PIN -------------------------------------------------------

  /** SendMailMessageToClients: the message goes into each card's inbox. */
  sendMail(ctx: OperationContext, input: MessageInput): Outcome<number> {
    const cards = unique(input.caClientIds)
    const problem = this.checkMessage(input.message, MAIL_MAX_LENGTH) ?? this.checkCards(ctx, cards)
    if (problem) {
      return fail(problem)
    }
    const mail: MailMessage = Object.freeze({
      message: input.message,
      startIndicationTime: input.startIndicationTime,
      receivedAt: ctx.now,
      transactionId: ctx.transactionId,
      sequenceNumber: input.sequenceNumber,
    })
    for (const id of cards) {
      const card = this.cards.get(id) as Smartcard
      this.touchCard(id, card)
      card.inbox = this.appendCapped(card.inbox, mail)
    }
    return {
      ok: true,
      value: cards.length,
      message: `Mail message sent to ${cards.length} card(s).`,
    }
  }

  /** SendBarkMessageToClients: the message is shown on screen. */
  sendBark(ctx: OperationContext, input: BarkInput): Outcome<number> {
    return this.showOnScreen(ctx, input, null)
  }

  /** SendRepeatingBarkMessageToClients: the message is shown repeatedly. */
  sendRepeatingBark(ctx: OperationContext, input: RepeatingBarkInput): Outcome<number> {
    return this.showOnScreen(ctx, input, {
      repetitionCount: input.repetitionCount,
      repetitionIntervalInSeconds: input.repetitionIntervalInSeconds,
    })
  }

  private showOnScreen(
    ctx: OperationContext,
    input: BarkInput,
    repeat: { repetitionCount: number; repetitionIntervalInSeconds: number } | null,
  ): Outcome<number> {
    const cards = unique(input.caClientIds)
    const problem =
      this.checkMessage(input.message, BARK_MAX_LENGTH) ??
      (input.displayDurationInSeconds !== null && input.displayDurationInSeconds < 1
        ? invalid(`DisplayDurationInSeconds ${input.displayDurationInSeconds} must be at least 1.`)
        : null) ??
      (repeat && repeat.repetitionCount < 1
        ? invalid(`RepetitionCount ${repeat.repetitionCount} must be at least 1.`)
        : null) ??
      (repeat && !isRepetitionInterval(repeat.repetitionIntervalInSeconds)
        ? invalid(
            `RepetitionIntervalInSeconds ${repeat.repetitionIntervalInSeconds} must be 10 to 2550 in steps of 10.`,
          )
        : null) ??
      this.checkCards(ctx, cards)
    if (problem) {
      return fail(problem)
    }
    const shown: ScreenMessage = Object.freeze({
      kind: repeat ? 'REPEATING_BARK' : 'BARK',
      message: input.message,
      displayDurationInSeconds: input.displayDurationInSeconds ?? DEFAULT_BARK_DURATION_SECONDS,
      startIndicationTime: input.startIndicationTime,
      repetitionCount: repeat?.repetitionCount ?? null,
      repetitionIntervalInSeconds: repeat?.repetitionIntervalInSeconds ?? null,
      receivedAt: ctx.now,
      transactionId: ctx.transactionId,
      sequenceNumber: input.sequenceNumber,
    })
    for (const id of cards) {
      const card = this.cards.get(id) as Smartcard
      this.touchCard(id, card)
      card.screen = this.appendCapped(card.screen, shown)
    }
    return { ok: true, value: cards.length, message: `Message shown on ${cards.length} card(s).` }
  }

  /** DisplayFingerprint: a fingerprint is scheduled on each card's screen. */
  displayFingerprint(ctx: OperationContext, input: FingerprintInput): Outcome<number> {
    const cards = unique(input.caClientIds)
    const problem = this.checkFingerprint(input) ?? this.checkCards(ctx, cards)
    if (problem) {
      return fail(problem)
    }
    const fingerprint: Fingerprint = Object.freeze({
      displayTime: input.displayTime ?? ctx.now,
      durationInSeconds: input.durationInSeconds ?? DEFAULT_FINGERPRINT_DURATION_SECONDS,
      positionX: input.positionX,
      positionY: input.positionY,
      height: input.height ?? DEFAULT_FINGERPRINT_HEIGHT,
      slot: input.slot === 'B' ? 'B' : 'A',
      receivedAt: ctx.now,
      transactionId: ctx.transactionId,
      sequenceNumber: input.sequenceNumber,
    })
    for (const id of cards) {
      const card = this.cards.get(id) as Smartcard
      this.touchCard(id, card)
      card.fingerprints = this.appendCapped(card.fingerprints, fingerprint)
    }
    return {
      ok: true,
      value: cards.length,
      message: `Fingerprint scheduled on ${cards.length} card(s).`,
    }
  }

  private checkFingerprint(input: FingerprintInput): Problem | null {
    const positive = (name: string, value: number | null): Problem | null =>
      value !== null && value < 1 ? invalid(`${name} ${value} must be at least 1.`) : null
    const notNegative = (name: string, value: number | null): Problem | null =>
      value !== null && value < 0 ? invalid(`${name} ${value} must not be negative.`) : null
    return (
      positive('DurationInSeconds', input.durationInSeconds) ??
      positive('Height', input.height) ??
      notNegative('PositionX', input.positionX) ??
      notNegative('PositionY', input.positionY) ??
      (input.slot !== null && input.slot !== 'A' && input.slot !== 'B'
        ? invalid(`Slot '${input.slot}' must be A or B.`)
        : null)
    )
  }

  /** UpdateCaPinToDefaultValue / UpdateCaPinToGivenValue (`pin` null means the default). */
  updatePin(ctx: OperationContext, caClientId: string, pin: string | null): Outcome<string> {
    const problem =
      (pin !== null && !isPin(pin) ? invalid(`Pin must be exactly 4 digits.`) : null) ??
      this.checkCard(ctx, caClientId, 'CaClientId')
    if (problem) {
      return fail(problem)
    }
    const card = this.cards.get(caClientId) as Smartcard
    this.touchCard(caClientId, card)
    card.pin = pin ?? this.rules.defaultPin
    return {
      ok: true,
      value: card.pin,
      message: pin === null ? 'PIN reset to the default value.' : 'PIN updated.',
    }
  }

  // ----- direct state changes (admin) ------------------------------------------------------

  /** A card's whole state, or null when unknown. */
  card(caClientId: string): CardView | null {
    const card = this.cards.get(caClientId)
    if (!card) {
      return null
    }
    const pairing = card.pairingId === null ? undefined : this.pairings.get(card.pairingId)
    return {
      caClientId: card.caClientId,
      sms: card.sms,
      pin: card.pin,
      subscriptions: card.products.map((p) => ({ ...p })),
      pairing: pairing
        ? {
            caClientIds: [...pairing.caClientIds],
            pairingModuleIds: [...pairing.pairingModuleIds],
            distributor: pairing.distributor,
          }
        : null,
      inbox: [...card.inbox],
      screen: [...card.screen],
      fingerprints: [...card.fingerprints],
    }
  }

  /** A pairing module with its owner and the id of its pairing, or null when unknown. */
  pairingModule(pairingModuleId: string): PairingModule | null {
    const stb = this.modules.get(pairingModuleId)
    return stb ? { ...stb } : null
  }

  /** Every product of the catalogue. */
  catalogue(): readonly Product[] {
    return [...this.products.values()].map((p) => ({ ...p }))
  }

  /** Ids of known cards, in registration order, with paging. */
  cardIds(offset: number, limit: number): { total: number; ids: string[] } {
    const ids: string[] = []
    let index = 0
    for (const id of this.cards.keys()) {
      if (index >= offset + limit) {
        break
      }
      if (index >= offset) {
        ids.push(id)
      }
      index++
    }
    return { total: this.cards.size, ids }
  }

  /** Removes a product from a card outside the SOAP flow (to make a CRM and the CA drift apart). */
  forceRemoveProduct(caClientId: string, productId: string): boolean {
    const card = this.cards.get(caClientId)
    if (!card?.products.some((p) => p.productId === productId)) {
      return false
    }
    this.touchCard(caClientId, card)
    card.products = card.products.filter((p) => p.productId !== productId)
    return true
  }

  /** Activates a product on a card outside the SOAP flow; the product must be in the catalogue. */
  forceAddProduct(caClientId: string, product: ActiveProduct): Outcome<ActiveProduct> {
    const card = this.cards.get(caClientId)
    if (!card) {
      return fail({ code: 'CLIENT_NOT_FOUND', message: `Card '${caClientId}' is not known.` })
    }
    if (!this.products.has(product.productId)) {
      return fail({
        code: 'PRODUCT_NOT_FOUND',
        message: `Product '${product.productId}' is not in the catalogue.`,
      })
    }
    this.touchCard(caClientId, card)
    card.products = [
      ...card.products.filter((p) => p.productId !== product.productId),
      { ...product },
    ]
    return { ok: true, value: { ...product }, message: 'Product set.' }
  }

  /** Cancels the pairing a card belongs to, outside the SOAP flow. */
  forceUnpair(caClientId: string): boolean {
    const card = this.cards.get(caClientId)
    if (!card || card.pairingId === null) {
      return false
    }
    this.releaseDevice(card, 'whole')
    return true
  }

  // ----- persistence -----------------------------------------------------------------------

  /** A deep copy of the whole state as plain JSON data; later changes to the model do not touch it. */
  toSnapshot(): ModelSnapshot {
    return structuredClone({
      cards: [...this.cards.values()],
      pairingModules: [...this.modules.values()],
      products: [...this.products.values()],
      pairings: [...this.pairings.values()],
      nextPairingNumber: this.nextPairingNumber,
    })
  }

  /**
   * Replaces the whole state with a snapshot taken by {@link toSnapshot} (of this or an earlier
   * version: an STB stored without an owner belongs to the SMS user of its pairing's first card).
   * Not undoable: it forgets what was not committed.
   */
  loadSnapshot(given: StoredModelSnapshot): void {
    const snapshot = structuredClone(given)
    const shared = <T>(list: readonly T[]): readonly T[] => (list.length === 0 ? NONE : list)
    if (this.undo) {
      this.undo = []
    }
    this.cards = new Map(
      snapshot.cards.map((c) => [
        c.caClientId,
        {
          ...c,
          products: shared(c.products),
          inbox: shared(c.inbox),
          screen: shared(c.screen),
          fingerprints: shared(c.fingerprints),
        },
      ]),
    )
    this.products = new Map(snapshot.products.map((p) => [p.productId, { ...p }]))
    this.pairings = new Map(snapshot.pairings.map((p) => [p.id, { ...p }]))
    this.nextPairingNumber = snapshot.nextPairingNumber
    this.modules = new Map(
      snapshot.pairingModules.map((m) => [
        m.pairingModuleId,
        { ...m, sms: m.sms === undefined ? this.ownerByPairing(m.pairingId) : m.sms },
      ]),
    )
  }

  private ownerByPairing(pairingId: string | null): string | null {
    const first = pairingId === null ? undefined : this.pairings.get(pairingId)?.caClientIds[0]
    return (first === undefined ? undefined : this.cards.get(first)?.sms) ?? null
  }

  /**
   * Forgets everything; with `keepInventory`, cards, STBs and products stay (with their owners) but
   * lose their state. New maps replace the old ones, which stay intact as the undo record.
   */
  reset(keepInventory: boolean): void {
    this.undo?.push({
      kind: 'all',
      cards: this.cards,
      modules: this.modules,
      products: this.products,
      pairings: this.pairings,
      nextPairingNumber: this.nextPairingNumber,
    })
    const cards = new Map<string, Smartcard>()
    const modules = new Map<string, PairingModule>()
    const products = new Map<string, Product>()
    if (keepInventory) {
      for (const [id, card] of this.cards) {
        cards.set(id, this.newCard(id, card.sms))
      }
      for (const [id, stb] of this.modules) {
        modules.set(id, { ...stb, pairingId: null })
      }
      for (const [id, product] of this.products) {
        products.set(id, product)
      }
    }
    this.cards = cards
    this.modules = modules
    this.products = products
    this.pairings = new Map()
    this.nextPairingNumber = 1
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
    for (let index = undo.length - 1; index >= position; index--) {
      reinserted = this.restore(undo[index] as UndoEntry) || reinserted
    }
    undo.length = position
    if (reinserted) {
      // A dissolved pairing put back goes to the end of the map: keep creation order (P1, P2...).
      this.pairings = new Map(
        [...this.pairings].sort(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1))),
      )
    }
  }

  /** Restores one before-image; true when a pairing that had been removed came back. */
  private restore(entry: UndoEntry): boolean {
    switch (entry.kind) {
      case 'card':
        restoreIn(this.cards, entry.id, entry.before)
        return false
      case 'module':
        restoreIn(this.modules, entry.id, entry.before)
        return false
      case 'product':
        restoreIn(this.products, entry.id, entry.before)
        return false
      case 'pairing': {
        const removed = !this.pairings.has(entry.id)
        restoreIn(this.pairings, entry.id, entry.before)
        return removed && entry.before !== undefined
      }
      case 'counter':
        this.nextPairingNumber = entry.before
        return false
      case 'all':
        this.cards = entry.cards
        this.modules = entry.modules
        this.products = entry.products
        this.pairings = entry.pairings
        this.nextPairingNumber = entry.nextPairingNumber
        return false
    }
  }

  private touchCard(id: string, card: Smartcard | undefined): void {
    if (this.undo) {
      const copy = (list: readonly unknown[]) => (list === NONE ? NONE : [...list])
      this.undo.push({
        kind: 'card',
        id,
        before: card && {
          ...card,
          // Active products are changed in place (dates, distributor); messages are frozen.
          products:
            card.products === NONE ? NONE : card.products.map((product) => ({ ...product })),
          inbox: copy(card.inbox) as readonly MailMessage[],
          screen: copy(card.screen) as readonly ScreenMessage[],
          fingerprints: copy(card.fingerprints) as readonly Fingerprint[],
        },
      })
    }
  }

  private touchModule(id: string, stb: PairingModule | undefined): void {
    this.undo?.push({ kind: 'module', id, before: stb && { ...stb } })
  }

  private touchPairing(pairing: Pairing): void {
    this.undo?.push({
      kind: 'pairing',
      id: pairing.id,
      before: {
        ...pairing,
        caClientIds: [...pairing.caClientIds],
        pairingModuleIds: [...pairing.pairingModuleIds],
      },
    })
  }

  // ----- checks ----------------------------------------------------------------------------

  private newCard(caClientId: string, sms: string): Smartcard {
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
  private appendCapped<T>(list: readonly T[], entry: T): readonly T[] {
    if (list === NONE) {
      return [entry]
    }
    const own = list as T[]
    own.push(entry)
    if (own.length > this.rules.maxMessagesPerCard) {
      own.splice(0, own.length - this.rules.maxMessagesPerCard)
    }
    return own
  }

  private productIdRule(): string {
    return this.rules.productIdFormat === 'digits'
      ? 'must be 1 to 32 digits (strict digits-only profile)'
      : 'must be 1 to 32 of A-Z, a-z, 0-9, _ and -'
  }

  private firstProblem<T>(
    items: readonly T[],
    label: string,
    check: (item: T) => Problem | null,
  ): Problem | null {
    for (let index = 0; index < items.length; index++) {
      const problem = check(items[index] as T)
      if (problem) {
        return { code: problem.code, message: `${label} ${index + 1}: ${problem.message}` }
      }
    }
    return null
  }

  private checkCardCount(ids: readonly string[]): Problem | null {
    const count = new Set(ids).size
    const max = this.rules.maxCardsPerRequest
    return count > max
      ? invalid(
          `The request names ${count} cards; at most ${max} are allowed in one request. Split it.`,
        )
      : null
  }

  private checkItemFormat(item: CancelSubscriptionItem): Problem | null {
    if (!isCaClientId(item.caClientId)) {
      return invalid(`CaClientId '${item.caClientId}' must be exactly 11 digits.`)
    }
    if (!isProductId(item.productId, this.rules.productIdFormat)) {
      return invalid(`ProductId '${item.productId}' ${this.productIdRule()}.`)
    }
    if (item.distributor !== null && !isDistributor(item.distributor)) {
      return invalid(`Distributor '${item.distributor}' must be 1 to 32 characters.`)
    }
    return null
  }

  private checkAddItemFormat(item: AddSubscriptionItem): Problem | null {
    const problem = this.checkItemFormat(item)
    if (problem) {
      return problem
    }
    if (item.startDate !== null && item.endDate !== null && item.endDate < item.startDate) {
      return invalid(`EndDate ${item.endDate} is before StartDate ${item.startDate}.`)
    }
    return null
  }

  /**
   * The dates each product would end up with (given, else kept, else now), item after item as the
   * request applies them, must not end before they start.
   */
  private checkEffectiveDates(
    ctx: OperationContext,
    items: readonly AddSubscriptionItem[],
  ): Problem | null {
    const dates = new Map<string, { start: string; end: string | null }>()
    for (const [index, item] of items.entries()) {
      const key = `${item.caClientId} ${item.productId}`
      const active = this.cards
        .get(item.caClientId)
        ?.products.find((p) => p.productId === item.productId)
      const before =
        dates.get(key) ?? (active ? { start: active.startDate, end: active.endDate } : null)
      const start = item.startDate ?? before?.start ?? ctx.now
      const end = item.endDate ?? before?.end ?? null
      if (end !== null && end < start) {
        return invalid(
          `Subscription ${index + 1}: EndDate ${end} would be before StartDate ${start} of ProductId '${item.productId}'.`,
        )
      }
      dates.set(key, { start, end })
    }
    return null
  }

  private checkItemExists(ctx: OperationContext, item: CancelSubscriptionItem): Problem | null {
    const cardProblem = this.checkCard(ctx, item.caClientId, 'CaClientId')
    if (cardProblem) {
      return cardProblem
    }
    return this.products.has(item.productId)
      ? null
      : {
          code: 'PRODUCT_NOT_FOUND',
          message: `ProductId '${item.productId}' is not in the CA product catalogue.`,
        }
  }

  /** Format, existence and ownership of one card. */
  private checkCard(ctx: OperationContext, caClientId: string, label: string): Problem | null {
    if (!isCaClientId(caClientId)) {
      return invalid(`${label} '${caClientId}' must be exactly 11 digits.`)
    }
    const card = this.cards.get(caClientId)
    if (!card) {
      return {
        code: 'CLIENT_NOT_FOUND',
        message: `${label} '${caClientId}' is not known to the CA system.`,
      }
    }
    if (card.sms !== ctx.user) {
      return {
        code: 'CLIENT_NOT_MANAGED_BY_SMS',
        message: `${label} '${caClientId}' is managed by another SMS, not by '${ctx.user}'.`,
      }
    }
    return null
  }

  /** All formats first, then existence and ownership, so the error reported is the most basic one. */
  private checkCards(ctx: OperationContext, ids: readonly string[]): Problem | null {
    const count = this.checkCardCount(ids)
    if (count) {
      return count
    }
    for (const id of ids) {
      if (!isCaClientId(id)) {
        return invalid(`CaClientId '${id}' must be exactly 11 digits.`)
      }
    }
    for (const id of ids) {
      const problem = this.checkCard(ctx, id, 'CaClientId')
      if (problem) {
        return problem
      }
    }
    return null
  }

  private checkCardsAndModules(
    ctx: OperationContext,
    cards: readonly string[],
    stbs: readonly string[],
  ): Problem | null {
    for (const id of stbs) {
      if (!isPairingModuleId(id)) {
        return invalid(`PairingModuleId '${id}' must be 1 to 20 digits.`)
      }
    }
    const cardProblem = this.checkCards(ctx, cards)
    if (cardProblem) {
      return cardProblem
    }
    for (const id of stbs) {
      const problem = this.checkModule(ctx, id)
      if (problem) {
        return problem
      }
    }
    return null
  }

  /** Existence and (under `stbOwnership: 'enforce'`) ownership of one STB; an unowned STB is anyone's. */
  private checkModule(ctx: OperationContext, pairingModuleId: string): Problem | null {
    const stb = this.modules.get(pairingModuleId)
    if (!stb) {
      return {
        code: 'PAIRING_MODULE_NOT_FOUND',
        message: `PairingModuleId '${pairingModuleId}' is not known to the CA system.`,
      }
    }
    if (this.rules.stbOwnership === 'enforce' && stb.sms !== null && stb.sms !== ctx.user) {
      return {
        code: 'CLIENT_NOT_MANAGED_BY_SMS',
        message: `PairingModuleId '${pairingModuleId}' is managed by another SMS, not by '${ctx.user}'.`,
      }
    }
    return null
  }

  private checkMessage(message: string, max: number): Problem | null {
    const length = messageLength(message, this.rules.messageLengthUnit)
    const unit = this.rules.messageLengthUnit === 'utf8-bytes' ? 'UTF-8 bytes' : 'characters'
    if (length < 1) {
      return invalid('Message must not be empty.')
    }
    return length > max
      ? invalid(`Message is ${length} ${unit} long; at most ${max} are allowed.`)
      : null
  }
}

/** Puts a before-image back, or removes what did not exist before. */
function restoreIn<T>(map: Map<string, T>, id: string, before: T | undefined): void {
  if (before === undefined) {
    map.delete(id)
  } else {
    map.set(id, before)
  }
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)]
}

function removeItem(list: string[], value: string): void {
  const index = list.indexOf(value)
  if (index >= 0) {
    list.splice(index, 1)
  }
}
