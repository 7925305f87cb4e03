import type { SplitMode } from './split.js'
/**
 * The CRM side of provisioning: subscriptions with services and installed items, each on a
 * provisioning distributor (viewing point), and the provisioning provider that maps them to Conax.
 */

/** Subscription life cycle states that matter to provisioning (docs/domain.md §2.4). */
export const SUBSCRIPTION_STATES = [
  'EFFECTIVE',
  'NOT_EFFECTIVE',
  'IN_RESTING',
  'SHORT_TERM_EFFECTIVE',
  'SHORT_TERM_NOT_EFFECTIVE',
  'TERMINATED',
] as const
export type SubscriptionState = (typeof SUBSCRIPTION_STATES)[number]

/** States in which the subscription's effective services are active in the CA. */
export const ACTIVE_STATES: ReadonlySet<SubscriptionState> = new Set([
  'EFFECTIVE',
  'SHORT_TERM_EFFECTIVE',
])

export type ItemKind = 'SMARTCARD' | 'STB'

export interface SubscriptionService {
  /** The CRM service code (a product classified as a service), mapped to a CA ID by the provider. */
  readonly service: string
  /** The provisioning distributor (viewing point); null means not distributed. */
  readonly distributor: string | null
  /** EFFECTIVE, or NOT_EFFECTIVE after "stop service". */
  readonly state: 'EFFECTIVE' | 'NOT_EFFECTIVE'
}

export interface InstalledItem {
  /** The item's serial number in the CRM (unique per subscription). */
  readonly serialNumber: string
  /** The CRM physical good it is an instance of, mapped to SMARTCARD or STB by the provider. */
  readonly product: string
  readonly kind: ItemKind
  /** The CA ID Conax knows it by: the 11-digit CaClientId of a card, the chip id of an STB. */
  readonly caId: string
  readonly distributor: string | null
}

/** A service swap (one or more services for one or more others), kept so that "regret (swap)" can undo it. */
export interface ServiceSwap {
  readonly from: readonly string[]
  readonly to: readonly string[]
  readonly distributor: string | null
}

export interface Subscription {
  readonly id: string
  /** The subscription type (a reset-run criterion). */
  readonly type: string | null
  readonly state: SubscriptionState
  readonly services: readonly SubscriptionService[]
  readonly installedItems: readonly InstalledItem[]
  readonly swaps: readonly ServiceSwap[]
  readonly createdAt: string
  readonly updatedAt: string
}

export interface ServiceMapping {
  readonly service: string
  readonly caId: string
  readonly description?: string | undefined
}

export interface PhysicalGoodMapping {
  readonly product: string
  readonly kind: ItemKind
}

export interface DistributorDefinition {
  readonly name: string
  readonly alternativeCode: string
  /** `ALL` provisioned services, or the listed CRM service codes only. */
  readonly allowedServices: 'ALL' | readonly string[]
}

/** The provisioning provider of CRM.COM's Conax Contego Web Services module (docs/domain.md §2.2, §2.3). */
export interface ProvisioningProvider {
  readonly name: string
  readonly alternativeCode: string
  readonly description: string | null
  readonly protocol: 'CONAX_CONTEGO_WEB_SERVICES'
  readonly lifeCycleState: 'EFFECTIVE' | 'NOT_EFFECTIVE'
  readonly connection: {
    /** Base URL of the services, e.g. `http://127.0.0.1:8280/ca-server/webservices/caclient`. */
    readonly endpoint: string
    readonly username: string
    readonly password: string
    readonly characterSet: string
    readonly timeoutMs: number
  }
  /** `lenient` accepts the seed's CA IDs (GFA1); `digits` is CRM.COM's digits-only rule. */
  readonly caIdFormat: 'lenient' | 'digits'
  readonly services: readonly ServiceMapping[]
  readonly physicalGoods: readonly PhysicalGoodMapping[]
  readonly distributors: readonly DistributorDefinition[]
  /** Viewing points (distinct distributors) one subscription may use (default 4). */
  readonly maxViewingPoints: number
  /** Whether a smartcard added to a distributor gets that distributor's active services (see src/README.md). */
  readonly activateServicesOnNewSmartcard: boolean
  readonly delivery: {
    /** Cards per message or fingerprint request (the CA's limit, 500). */
    readonly maxCardsPerRequest: number
    /** Backoff of transient failures. */
    readonly retryInitialDelayMs: number
    readonly retryMaxDelayMs: number
    /** What happens to a message or fingerprint batch the CA refuses because of some cards (split.ts). */
    readonly splitRefusedBatches: SplitMode
  }
}
