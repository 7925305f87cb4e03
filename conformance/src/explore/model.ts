import type { CrmAction } from '../../../src/index.js'

/**
 * The explorer's model of a CRM history: what the CRM has told the adapter so far (subscriptions,
 * their viewing points, services and states), which devices are taken, and whether the CA is
 * down. Commands read it to stay valid (every action they generate is one the planner accepts)
 * and update it after they ran. Pure: no I/O, no clock.
 */

/** The provider's services the explorer subscribes to (all mapped, all allowed on Main and TWIN1). */
export const SERVICES = [
  'GEOLOGICAL',
  'ENTERTAIN',
  'RELIGION',
  'BABY_CHANNEL',
  'AGRICULTURE',
] as const

/** The viewing points a subscription gets: Main, and optionally TWIN1 (both allow every service). */
export const VIEWING_POINTS = ['Main', 'TWIN1'] as const
export type ViewingPointName = (typeof VIEWING_POINTS)[number]

/** Smartcards and STBs the explorer's CA knows; a history never reuses a device. */
export const INVENTORY = { cards: 60, stbs: 40 } as const

/** The physical goods of the provider (fixtures/scenarios/providers/conax-ws.yaml). */
export const CARD_PRODUCT = 'SC-CONAX'
export const STB_PRODUCT = 'STB-HD'

/** The n-th smartcard (1-based): 11 digits, as the contract's CaClientId. */
export function cardId(n: number): string {
  return `0146${String(n).padStart(7, '0')}`
}

/** The n-th STB (1-based): 11 digits, within the contract's 1 to 20. */
export function stbId(n: number): string {
  return `2000${String(n).padStart(7, '0')}`
}

export interface Device {
  readonly serialNumber: string
  readonly caId: string
}

export interface ViewingPoint {
  readonly distributor: ViewingPointName
  card: Device
  readonly stb: Device
}

export interface ModelService {
  readonly service: string
  distributor: ViewingPointName
  effective: boolean
}

export type ModelState = 'EFFECTIVE' | 'IN_RESTING' | 'TERMINATED'

export interface ModelSubscription {
  readonly id: string
  state: ModelState
  readonly points: ViewingPoint[]
  services: ModelService[]
}

/** The explorer's whole model. */
export interface ExplorerModel {
  readonly subscriptions: ModelSubscription[]
  /** Devices handed out so far (the next card is cardId(cardsUsed + 1)). */
  cardsUsed: number
  stbsUsed: number
  /** Commands still to run before the CA comes up again (0: the CA is up). */
  downFor: number
  /** Runs started so far (each gets its own code and queue). */
  runs: number
  /** Whether this history may restart the adapter (it keeps its store in a file). */
  readonly durable: boolean
}

/** A new, empty model. */
export function emptyModel(durable: boolean): ExplorerModel {
  return { subscriptions: [], cardsUsed: 0, stbsUsed: 0, downFor: 0, runs: 0, durable }
}

/** Subscriptions an action can change (not TERMINATED). */
export function liveSubscriptions(model: Readonly<ExplorerModel>): ModelSubscription[] {
  return model.subscriptions.filter((s) => s.state !== 'TERMINATED')
}

/** Picks one of `items` by a generated number; null when there is none. */
export function pick<T>(items: readonly T[], at: number): T | null {
  return items.length === 0 ? null : (items[at % items.length] as T)
}

/** A fresh smartcard (taken from the model's inventory), or null when none is left. */
export function nextCard(model: ExplorerModel): Device | null {
  if (model.cardsUsed >= INVENTORY.cards) {
    return null
  }
  model.cardsUsed += 1
  return { serialNumber: `SC-${model.cardsUsed}`, caId: cardId(model.cardsUsed) }
}

/** A fresh STB, or null when none is left. */
export function nextStb(model: ExplorerModel): Device | null {
  if (model.stbsUsed >= INVENTORY.stbs) {
    return null
  }
  model.stbsUsed += 1
  return { serialNumber: `STB-${model.stbsUsed}`, caId: stbId(model.stbsUsed) }
}

/** The services a subscription does not have yet. */
export function missingServices(subscription: ModelSubscription): string[] {
  return SERVICES.filter((service) => !subscription.services.some((s) => s.service === service))
}

/** The CRM action that creates a subscription in the model's terms. */
export function becomeSubscriberAction(subscription: ModelSubscription): CrmAction {
  return {
    action: 'BECOME_SUBSCRIBER',
    subscriptionId: subscription.id,
    services: subscription.services.map((s) => ({
      service: s.service,
      distributor: s.distributor,
    })),
    installedItems: subscription.points.flatMap((point) => [
      {
        serialNumber: point.card.serialNumber,
        product: CARD_PRODUCT,
        caId: point.card.caId,
        distributor: point.distributor,
      },
      {
        serialNumber: point.stb.serialNumber,
        product: STB_PRODUCT,
        caId: point.stb.caId,
        distributor: point.distributor,
      },
    ]),
  }
}
