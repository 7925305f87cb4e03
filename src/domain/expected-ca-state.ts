import type { ConaxCommand } from './commands.js'
import { ACTIVE_STATES, type ProvisioningProvider, type Subscription } from './crm.js'

/**
 * What Conax should hold for a subscription, derived from the CRM state: the entitlements (a
 * service CA ID on a smartcard, with its distributor) and, per distributor, the pairing of its
 * smartcards and STBs. Both exist only while the subscription is active (EFFECTIVE or
 * SHORT_TERM_EFFECTIVE): that is why an activation re-sends CREATE_PAIRING, as the seed's command
 * mapping lists. Items and services without a distributor are not provisioned.
 */
export interface ExpectedCaState {
  /** Key `${smartcardCaId} ${serviceCaId}`; in subscription order. */
  readonly entitlements: ReadonlyMap<string, Entitlement>
  /** Key: the distributor name; in order of first use. */
  readonly pairings: ReadonlyMap<string, PairingSet>
}

export interface Entitlement {
  readonly smartcardCaId: string
  readonly serviceCaId: string
  readonly distributor: string
}

export interface PairingSet {
  readonly distributor: string
  readonly smartcardCaIds: readonly string[]
  readonly stbCaIds: readonly string[]
}

/** The distinct distributors a subscription uses, in order of first use (services first, then items). */
export function distributorsOf(subscription: Subscription): string[] {
  const seen = new Set<string>()
  for (const entry of [...subscription.services, ...subscription.installedItems]) {
    if (entry.distributor !== null) {
      seen.add(entry.distributor)
    }
  }
  return [...seen]
}

/** The CA state a subscription should have in Conax. */
export function expectedCaState(
  provider: ProvisioningProvider,
  subscription: Subscription | null,
): ExpectedCaState {
  const entitlements = new Map<string, Entitlement>()
  const pairings = new Map<string, PairingSet>()
  if (!subscription || !ACTIVE_STATES.has(subscription.state)) {
    return { entitlements, pairings }
  }
  const caIds = new Map(provider.services.map((m) => [m.service, m.caId]))
  for (const distributor of distributorsOf(subscription)) {
    const items = subscription.installedItems.filter((item) => item.distributor === distributor)
    const cards = items.filter((item) => item.kind === 'SMARTCARD').map((item) => item.caId)
    const stbs = items.filter((item) => item.kind === 'STB').map((item) => item.caId)
    if (cards.length > 0 && stbs.length > 0) {
      pairings.set(distributor, { distributor, smartcardCaIds: cards, stbCaIds: stbs })
    }
    for (const service of subscription.services) {
      const serviceCaId = caIds.get(service.service)
      if (
        service.distributor !== distributor ||
        service.state !== 'EFFECTIVE' ||
        serviceCaId === undefined
      ) {
        continue
      }
      for (const smartcardCaId of cards) {
        entitlements.set(`${smartcardCaId} ${serviceCaId}`, {
          smartcardCaId,
          serviceCaId,
          distributor,
        })
      }
    }
  }
  return { entitlements, pairings }
}

function samePairing(a: PairingSet | undefined, b: PairingSet): boolean {
  return (
    a !== undefined &&
    a.smartcardCaIds.length === b.smartcardCaIds.length &&
    a.stbCaIds.length === b.stbCaIds.length &&
    a.smartcardCaIds.every((id) => b.smartcardCaIds.includes(id)) &&
    a.stbCaIds.every((id) => b.stbCaIds.includes(id))
  )
}

/**
 * The commands that take Conax from `before` to `after`, in the order the seed's business
 * examples use: pairings first (a card is paired before its first activation), then additions,
 * then cancellations (on swaps and upgrades the new services go on before the old ones go off).
 * One ADD_SUBSCRIPTIONS or CANCEL_SUBSCRIPTIONS per service and card. A pairing that disappears
 * sends nothing: the contract has no unpair command.
 */
export function diffCaState(before: ExpectedCaState, after: ExpectedCaState): ConaxCommand[] {
  const commands: ConaxCommand[] = []
  for (const [distributor, pairing] of after.pairings) {
    if (!samePairing(before.pairings.get(distributor), pairing)) {
      commands.push({
        type: 'CREATE_PAIRING',
        smartcardCaIds: pairing.smartcardCaIds,
        stbCaIds: pairing.stbCaIds,
        distributor,
      })
    }
  }
  for (const [key, entitlement] of after.entitlements) {
    if (before.entitlements.get(key)?.distributor !== entitlement.distributor) {
      commands.push({ type: 'ADD_SUBSCRIPTIONS', ...entitlement })
    }
  }
  for (const [key, entitlement] of before.entitlements) {
    if (!after.entitlements.has(key)) {
      commands.push({ type: 'CANCEL_SUBSCRIPTIONS', ...entitlement })
    }
  }
  return commands
}
