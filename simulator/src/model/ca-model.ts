import {
  CaState,
  type CaStateOptions,
  type InternedId,
  type ModelSnapshot,
  type StoredModelSnapshot,
} from './ca-state.js'
import * as inventory from './inventory.js'
import type { CardView, InventoryCounts, InventoryInput } from './inventory.js'
import * as messages from './messages.js'
import type { BarkInput, FingerprintInput, MessageInput, RepeatingBarkInput } from './messages.js'
import * as pairings from './pairings.js'
import type { AddToExistingPairingInput, CreatePairingInput, PairingStatus } from './pairings.js'
import * as pin from './pin.js'
import * as subscriptions from './subscriptions.js'
import type { AddSubscriptionItem, CancelSubscriptionItem } from './subscriptions.js'
import type {
  ActiveProduct,
  ModelRules,
  OperationContext,
  Outcome,
  Pairing,
  PairingModule,
  Product,
} from './types.js'

/**
 * The pure model of what a Conax Contego CA system holds: smartcards, pairing modules (STBs),
 * pairings, active products, inboxes, on-screen messages and fingerprints. This is its face for
 * in-process users (tests, the admin API, conformance): every contract operation, the admin
 * views and direct changes, and persistence, each delegating to the module of its concept.
 *
 * Every operation validates its whole request before it changes anything, so a request is all or
 * nothing. No I/O, no clock and no id generation happen here: the caller passes them in
 * {@link OperationContext}.
 */
export class CaModel {
  readonly rules: ModelRules
  private readonly state: CaState

  /** A new, empty model; or the face of a given state (the simulator shares one with its SOAP endpoint). */
  constructor(options: CaStateOptions | CaState = {}) {
    this.state = options instanceof CaState ? options : new CaState(options)
    this.rules = this.state.rules
  }

  // ----- inventory and views (inventory.ts) -------------------------------------------------

  /** Registers cards, STBs and products; known ones keep their state (only descriptive fields change). */
  registerInventory(input: InventoryInput): Outcome<InventoryCounts> {
    return inventory.registerInventory(this.state, input)
  }

  /** A card's whole state, or null when unknown. */
  card(caClientId: string): CardView | null {
    return inventory.cardView(this.state, caClientId)
  }

  /** A pairing module with its owner and the id of its pairing, or null when unknown. */
  pairingModule(pairingModuleId: string): PairingModule | null {
    return inventory.pairingModuleView(this.state, pairingModuleId)
  }

  /** A pairing with its cards and STBs, or null when unknown. */
  pairing(pairingId: string): Pairing | null {
    return inventory.pairingView(this.state, pairingId)
  }

  /** Every product of the catalogue. */
  catalogue(): readonly Product[] {
    return inventory.catalogue(this.state)
  }

  /** Ids of known cards (those containing `contains` when given), in registration order, with paging. */
  cardIds(offset: number, limit: number, contains?: string): { total: number; ids: string[] } {
    return inventory.cardIds(this.state, offset, limit, contains)
  }

  /** The model's own copy of an id string when it knows the id, else the given string. */
  intern(kind: InternedId, value: string): string {
    return this.state.intern(kind, value)
  }

  /** Counts of what the model holds. */
  stats(): { smartcards: number; pairingModules: number; products: number; pairings: number } {
    return this.state.stats()
  }

  // ----- cards and products (subscriptions.ts) ----------------------------------------------

  /** AddSubscriptions: each product becomes active on its card; an active one keeps going (dates may update). */
  addSubscriptions(ctx: OperationContext, items: readonly AddSubscriptionItem[]): Outcome<number> {
    return subscriptions.addSubscriptions(this.state, ctx, items)
  }

  /** CancelSubscriptions: each product stops on its card; one that is not active is left as it is. */
  cancelSubscriptions(
    ctx: OperationContext,
    items: readonly CancelSubscriptionItem[],
  ): Outcome<number> {
    return subscriptions.cancelSubscriptions(this.state, ctx, items)
  }

  /** GetActiveSubscriptions: the products active on a card. */
  getActiveSubscriptions(
    ctx: OperationContext,
    caClientId: string,
  ): Outcome<readonly ActiveProduct[]> {
    return subscriptions.getActiveSubscriptions(this.state, ctx, caClientId)
  }

  /** Removes a product from a card outside the SOAP flow (to make a CRM and the CA drift apart). */
  forceRemoveProduct(caClientId: string, productId: string): boolean {
    return subscriptions.forceRemoveProduct(this.state, caClientId, productId)
  }

  /** Activates a product on a card outside the SOAP flow; the product must be in the catalogue. */
  forceAddProduct(caClientId: string, product: ActiveProduct): Outcome<ActiveProduct> {
    return subscriptions.forceAddProduct(this.state, caClientId, product)
  }

  // ----- pairings (pairings.ts) -------------------------------------------------------------

  /** CreatePairing: a new pairing of these cards and STBs; earlier pairings of them are cancelled first. */
  createPairing(ctx: OperationContext, input: CreatePairingInput): Outcome<string> {
    return pairings.createPairing(this.state, ctx, input)
  }

  /** AddToExistingPairing: adds cards and STBs to the pairing of `pairedCaClientId`. */
  addToExistingPairing(ctx: OperationContext, input: AddToExistingPairingInput): Outcome<string> {
    return pairings.addToExistingPairing(this.state, ctx, input)
  }

  /** GetPairingStatusForCard. */
  pairingStatusForCard(ctx: OperationContext, caClientId: string): Outcome<PairingStatus> {
    return pairings.pairingStatusForCard(this.state, ctx, caClientId)
  }

  /** GetPairingStatusForPairingModule. */
  pairingStatusForModule(ctx: OperationContext, pairingModuleId: string): Outcome<PairingStatus> {
    return pairings.pairingStatusForModule(this.state, ctx, pairingModuleId)
  }

  /** Cancels the pairing a card belongs to, outside the SOAP flow. */
  forceUnpair(caClientId: string): boolean {
    return pairings.forceUnpair(this.state, caClientId)
  }

  // ----- messages and fingerprints (messages.ts) --------------------------------------------

  /** SendMailMessageToClients: the message goes into each card's inbox. */
  sendMail(ctx: OperationContext, input: MessageInput): Outcome<number> {
    return messages.sendMail(this.state, ctx, input)
  }

  /** SendBarkMessageToClients: the message is shown on screen. */
  sendBark(ctx: OperationContext, input: BarkInput): Outcome<number> {
    return messages.sendBark(this.state, ctx, input)
  }

  /** SendRepeatingBarkMessageToClients: the message is shown repeatedly. */
  sendRepeatingBark(ctx: OperationContext, input: RepeatingBarkInput): Outcome<number> {
    return messages.sendRepeatingBark(this.state, ctx, input)
  }

  /** DisplayFingerprint: a fingerprint is scheduled on each card's screen. */
  displayFingerprint(ctx: OperationContext, input: FingerprintInput): Outcome<number> {
    return messages.displayFingerprint(this.state, ctx, input)
  }

  // ----- PIN (pin.ts) -----------------------------------------------------------------------

  /** UpdateCaPinToDefaultValue / UpdateCaPinToGivenValue (`pin` null means the default). */
  updatePin(ctx: OperationContext, caClientId: string, given: string | null): Outcome<string> {
    return pin.updatePin(this.state, ctx, caClientId, given)
  }

  // ----- persistence and undo (ca-state.ts) -------------------------------------------------

  /** A deep copy of the whole state as plain JSON data; later changes to the model do not touch it. */
  toSnapshot(): ModelSnapshot {
    return this.state.toSnapshot()
  }

  /** Replaces the whole state with a snapshot taken by {@link toSnapshot} (not undoable). */
  loadSnapshot(given: StoredModelSnapshot): void {
    this.state.loadSnapshot(given)
  }

  /** Forgets everything; with `keepInventory`, cards, STBs and products stay but lose their state. */
  reset(keepInventory: boolean): void {
    this.state.reset(keepInventory)
  }

  /** Starts recording what changes touch, so that changes not yet stored can be rolled back. */
  trackChanges(): void {
    this.state.trackChanges()
  }

  /** How many undo records there are: the position a store write that starts now covers. */
  undoPosition(): number {
    return this.state.undoPosition()
  }

  /** The changes recorded before `position` are durable: forget their before-images. */
  commitUndo(position: number): void {
    this.state.commitUndo(position)
  }

  /** Puts back the state before every change recorded after `position` (default: all not committed). */
  rollback(position = 0): void {
    this.state.rollback(position)
  }
}
