import { cardsOf, type ConaxCommand } from './commands.js'
import type { InstalledItem, ProvisioningProvider, Subscription } from './crm.js'
import { expectedCaState } from './expected-ca-state.js'
import type { ProcessName } from './provisioning-request.js'
import { err, ok, type Result } from './result.js'
import { planUtility } from './utilities.js'
import { UTILITY_DEFAULTS, type MessageType } from './utility-messages.js'
import { utcInstant, type UtilityRejection } from './utility-rules.js'

/**
 * The batch runs of CRM.COM's Conax Contego Web Services module (docs/domain.md §2.7): reset
 * subscription runs, mail and bark message runs, fingerprinting runs. Pure: what a run matches,
 * what it must send, and how a definition is checked. The run service does the I/O.
 */

export const RUN_KINDS = ['RESET_SUBSCRIPTION', 'MAIL_BARK_MESSAGE', 'FINGERPRINTING'] as const
export type RunKind = (typeof RUN_KINDS)[number]

/** Process names of the requests each run kind creates. */
export const RUN_PROCESS_NAMES: Readonly<Record<RunKind, ProcessName>> = {
  RESET_SUBSCRIPTION: 'RESET_SUBSCRIPTION_RUN',
  MAIL_BARK_MESSAGE: 'MAIL_BARK_MESSAGE_RUN',
  FINGERPRINTING: 'FINGERPRINTING_RUN',
}

/** Which subscriptions a reset run or a segment takes; every given field must hold. */
export interface SubscriptionCriteria {
  /** Subscriptions created in this period (ISO-8601 instants, both ends included). */
  readonly createdFrom?: string | null
  readonly createdTo?: string | null
  readonly types?: readonly string[]
  readonly ids?: readonly string[]
}

/** A subscriber segment of a fingerprinting run. */
export interface SegmentCriteria extends SubscriptionCriteria {
  readonly name: string
}

export interface ResetRunSettings {
  readonly kind: 'RESET_SUBSCRIPTION'
  readonly criteria: SubscriptionCriteria
}

export interface MessageRunSettings {
  readonly kind: 'MAIL_BARK_MESSAGE'
  readonly messageType: MessageType
  /** The communication queue external system whose pending communications the run sends. */
  readonly externalSystem: string
  readonly startIndicationDateTime?: string | null
  readonly displayDurationInSeconds?: number
  readonly repetitionCount?: number
  readonly repetitionIntervalInSeconds?: number
}

export interface FingerprintRunSettings {
  readonly kind: 'FINGERPRINTING'
  /** Subscriptions in any included segment and in no excluded one (no included segment: all). */
  readonly included: readonly SegmentCriteria[]
  readonly excluded: readonly SegmentCriteria[]
  readonly displayDateTime?: string | null
  readonly displayDurationInSeconds?: number
  readonly positionX?: number | null
  readonly positionY?: number | null
  readonly height?: number
  readonly slot?: 'A' | 'B'
}

export type RunSettings = ResetRunSettings | MessageRunSettings | FingerprintRunSettings

/** A run definition as the operator saves it. */
export type RunDefinitionInput = {
  readonly name: string
  readonly alternativeCode: string
} & RunSettings

export type RunDefinition = RunDefinitionInput & {
  readonly id: string
  readonly createdAt: string
}

/** A rule a definition or a communication breaks, naming the field. */
export type RunRejection = UtilityRejection

const invalid = (field: string, message: string): Result<never, RunRejection> =>
  err({ code: 'INVALID_FIELD', field, message: `${field}: ${message}` })

/**
 * Checks criteria and gives them back with their period as UTC instants: the utilities' date rule
 * (a real ISO-8601 date-time, no zone meaning UTC), so that `2026-02-30T00:00:00Z` or `2026` is
 * refused naming the field, and a zone-less time does not shift with the adapter's time zone.
 */
export function checkCriteria<C extends SubscriptionCriteria>(
  criteria: C,
  path: string,
): Result<C, RunRejection> {
  let checked: C = criteria
  for (const key of ['createdFrom', 'createdTo'] as const) {
    const value = criteria[key]
    if (value !== undefined && value !== null) {
      const instant = utcInstant(`${path}.${key}`, value)
      if (!instant.ok) {
        return instant
      }
      checked = { ...checked, [key]: instant.value }
    }
  }
  if (
    checked.createdFrom &&
    checked.createdTo &&
    Date.parse(checked.createdFrom) > Date.parse(checked.createdTo)
  ) {
    return invalid(
      `${path}.createdTo`,
      `the period ends before it starts (${criteria.createdFrom} > ${criteria.createdTo}).`,
    )
  }
  return ok(checked)
}

function checkSegments(
  segments: readonly SegmentCriteria[],
  list: string,
): Result<SegmentCriteria[], RunRejection> {
  const checked: SegmentCriteria[] = []
  for (const [index, segment] of segments.entries()) {
    const one = checkCriteria(segment, `${list}[${index}]`)
    if (!one.ok) {
      return one
    }
    checked.push(one.value)
  }
  return ok(checked)
}

/** A stand-in subscription with one card, to check settings with the utilities' own rules. */
function probeSubscription(cards: readonly InstalledItem[], now: string): Subscription {
  return {
    id: 'run',
    type: null,
    state: 'EFFECTIVE',
    services: [],
    installedItems: cards,
    swaps: [],
    createdAt: now,
    updatedAt: now,
  }
}

const PROBE_CARD: InstalledItem = {
  serialNumber: 'probe',
  product: 'probe',
  kind: 'SMARTCARD',
  caId: '00000000000',
  distributor: null,
}

/**
 * Checks a run definition before it is saved: names, criteria, and the message and fingerprint
 * fields with exactly the rules of the single-subscription utilities (lengths are checked per
 * communication, when the run sends it).
 */
export function checkRunDefinition(
  provider: ProvisioningProvider,
  input: RunDefinitionInput,
  now: string,
): Result<RunDefinitionInput, RunRejection> {
  if (input.name.trim() === '') {
    return invalid('name', 'must not be empty.')
  }
  if (input.alternativeCode.trim() === '') {
    return invalid('alternativeCode', 'must not be empty.')
  }
  switch (input.kind) {
    case 'RESET_SUBSCRIPTION': {
      const criteria = checkCriteria(input.criteria, 'criteria')
      return criteria.ok ? ok({ ...input, criteria: criteria.value }) : criteria
    }
    case 'MAIL_BARK_MESSAGE': {
      if (input.externalSystem.trim() === '') {
        return invalid('externalSystem', 'must name the communication queue external system.')
      }
      // The utility refuses a field its message type does not have; messageCommands leaves such
      // fields out, so they are refused here rather than silently ignored.
      const misplaced = (
        [
          ['displayDurationInSeconds', input.messageType === 'MAIL'],
          ['repetitionCount', input.messageType !== 'REPEATING_BARK'],
          ['repetitionIntervalInSeconds', input.messageType !== 'REPEATING_BARK'],
        ] as const
      ).find(([field, unused]) => unused && input[field] !== undefined)
      if (misplaced) {
        return invalid(
          misplaced[0],
          `a ${input.messageType} message has no ${misplaced[0]}; leave it out or choose another messageType.`,
        )
      }
      const checked = messageCommands(provider, input, { text: 'x', cards: [PROBE_CARD], now })
      return checked.ok ? ok(input) : checked
    }
    case 'FINGERPRINTING': {
      const included = checkSegments(input.included, 'included')
      if (!included.ok) {
        return included
      }
      const excluded = checkSegments(input.excluded, 'excluded')
      if (!excluded.ok) {
        return excluded
      }
      const checked = fingerprintCommands(provider, input, [PROBE_CARD], now)
      return checked.ok
        ? ok({ ...input, included: included.value, excluded: excluded.value })
        : checked
    }
  }
}

/** Whether a subscription meets the criteria (an absent field does not constrain). */
export function matchesCriteria(
  subscription: Subscription,
  criteria: SubscriptionCriteria,
): boolean {
  const created = Date.parse(subscription.createdAt)
  return (
    (!criteria.createdFrom || created >= Date.parse(criteria.createdFrom)) &&
    (!criteria.createdTo || created <= Date.parse(criteria.createdTo)) &&
    (criteria.types === undefined ||
      (subscription.type !== null && criteria.types.includes(subscription.type))) &&
    (criteria.ids === undefined || criteria.ids.includes(subscription.id))
  )
}

/** Whether a fingerprinting run takes a subscription: in an included segment (or no segment listed), in no excluded one. */
export function inSegments(
  subscription: Subscription,
  included: readonly SegmentCriteria[],
  excluded: readonly SegmentCriteria[],
): boolean {
  return (
    (included.length === 0 || included.some((s) => matchesCriteria(subscription, s))) &&
    !excluded.some((s) => matchesCriteria(subscription, s))
  )
}

/** The smartcards of the subscriptions a message or fingerprint reaches, with their distributors. */
export function smartcardsOf(subscriptions: readonly Subscription[]): InstalledItem[] {
  return subscriptions.flatMap((s) =>
    s.installedItems
      .filter((item) => item.kind === 'SMARTCARD')
      .map((item) => ({ ...item, serialNumber: item.caId })),
  )
}

/**
 * The message commands for a batch of smartcards: one per distributor and per
 * `delivery.maxCardsPerRequest` cards, with the communication queue number on each, checked with
 * the Mail & Bark utility's rules (so a text too long for the run's type is refused, naming it).
 */
export function messageCommands(
  provider: ProvisioningProvider,
  settings: MessageRunSettings,
  batch: {
    readonly text: string
    readonly cards: readonly InstalledItem[]
    readonly now: string
    readonly communicationQueueNumber?: string
  },
): Result<ConaxCommand[], RunRejection> {
  const { text, cards, now, communicationQueueNumber } = batch
  const planned = planUtility(
    provider,
    probeSubscription(cards, now),
    {
      utility: 'SEND_MESSAGE',
      subscriptionId: 'run',
      messageType: settings.messageType,
      message: text,
      ...(settings.startIndicationDateTime === undefined
        ? {}
        : { startIndicationDateTime: settings.startIndicationDateTime }),
      ...(settings.messageType === 'MAIL'
        ? {}
        : {
            displayDurationInSeconds:
              settings.displayDurationInSeconds ?? UTILITY_DEFAULTS.barkDisplayDurationInSeconds,
          }),
      ...(settings.messageType === 'REPEATING_BARK'
        ? {
            ...(settings.repetitionCount === undefined
              ? {}
              : { repetitionCount: settings.repetitionCount }),
            ...(settings.repetitionIntervalInSeconds === undefined
              ? {}
              : { repetitionIntervalInSeconds: settings.repetitionIntervalInSeconds }),
          }
        : {}),
    },
    now,
  )
  if (!planned.ok) {
    return planned
  }
  return ok(
    planned.value.commands.map((command) =>
      communicationQueueNumber === undefined ? command : { ...command, communicationQueueNumber },
    ),
  )
}

/** Whether a communication's text can go out with the run's settings (its length for the type). */
export function checkMessageText(
  provider: ProvisioningProvider,
  settings: MessageRunSettings,
  text: string,
  now: string,
): RunRejection | null {
  const checked = messageCommands(provider, settings, { text, cards: [PROBE_CARD], now })
  return checked.ok ? null : checked.error
}

/** The fingerprint commands for a batch of smartcards, checked with the Fingerprint utility's rules. */
export function fingerprintCommands(
  provider: ProvisioningProvider,
  settings: FingerprintRunSettings,
  cards: readonly InstalledItem[],
  now: string,
): Result<ConaxCommand[], RunRejection> {
  const planned = planUtility(
    provider,
    probeSubscription(cards, now),
    {
      utility: 'DISPLAY_FINGERPRINT',
      subscriptionId: 'run',
      ...(settings.displayDateTime === undefined
        ? {}
        : { displayDateTime: settings.displayDateTime }),
      displayDurationInSeconds:
        settings.displayDurationInSeconds ?? UTILITY_DEFAULTS.fingerprintDurationInSeconds,
      ...(settings.positionX === undefined ? {} : { positionX: settings.positionX }),
      ...(settings.positionY === undefined ? {} : { positionY: settings.positionY }),
      height: settings.height ?? UTILITY_DEFAULTS.fingerprintHeight,
      slot: settings.slot ?? UTILITY_DEFAULTS.fingerprintSlot,
    },
    now,
  )
  return planned.ok ? ok([...planned.value.commands]) : planned
}

/** What the CA reports for one smartcard (GetActiveSubscriptions, GetPairingStatusForCard). */
export interface ObservedCard {
  /** False when the CA does not know the card (CLIENT_NOT_FOUND). */
  readonly known: boolean
  readonly products: readonly { readonly productId: string; readonly distributor: string | null }[]
  /** STBs the card is paired with; empty when it is not paired. */
  readonly pairedStbs: readonly string[]
}

/** How a subscription compares with the CA, and the commands that bring the CA in line. */
export interface ResetPlan {
  readonly inSync: boolean
  readonly commands: readonly ConaxCommand[]
  /** In words, for the preview: `card 01450250001: GFA1 missing`. */
  readonly differences: readonly string[]
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}

/**
 * The difference between what the CRM expects of a subscription (active services per card and
 * distributor, pairings: the planner's {@link expectedCaState}) and what the CA reports, as the
 * commands a reset sends: pairings first, then additions (missing, or on another distributor),
 * then cancellations of products the CRM does not expect. A pairing the CRM does not expect is
 * left alone: the contract has no unpair command. Cards in `unreadable` (the CA could not be asked
 * about them) are left out: no command touches them and no difference names them.
 */
export function planReset(
  provider: ProvisioningProvider,
  subscription: Subscription,
  observed: ReadonlyMap<string, ObservedCard>,
  unreadable: ReadonlySet<string> = new Set(),
): ResetPlan {
  const expected = expectedCaState(provider, subscription)
  const commands: ConaxCommand[] = []
  const differences: { readonly card: string; readonly text: string }[] = []
  for (const [distributor, pairing] of expected.pairings) {
    const off = pairing.smartcardCaIds.filter(
      (card) => !sameSet(observed.get(card)?.pairedStbs ?? [], pairing.stbCaIds),
    )
    if (off.length > 0) {
      differences.push(
        ...off.map((card) => ({
          card,
          text: `card ${card}: paired with [${(observed.get(card)?.pairedStbs ?? []).join(', ')}], expected [${pairing.stbCaIds.join(', ')}] (${distributor})`,
        })),
      )
      commands.push({ type: 'CREATE_PAIRING', ...pairing, distributor })
    }
  }
  for (const entitlement of expected.entitlements.values()) {
    const active = observed
      .get(entitlement.smartcardCaId)
      ?.products.find((p) => p.productId === entitlement.serviceCaId)
    if (!active || active.distributor !== entitlement.distributor) {
      differences.push({
        card: entitlement.smartcardCaId,
        text: `card ${entitlement.smartcardCaId}: ${entitlement.serviceCaId} ${active ? `on distributor ${active.distributor ?? 'none'}, expected ${entitlement.distributor}` : 'missing'}`,
      })
      commands.push({ type: 'ADD_SUBSCRIPTIONS', ...entitlement })
    }
  }
  const cards = subscription.installedItems.filter((item) => item.kind === 'SMARTCARD')
  for (const card of cards) {
    for (const product of observed.get(card.caId)?.products ?? []) {
      if (!expected.entitlements.has(`${card.caId} ${product.productId}`)) {
        differences.push({
          card: card.caId,
          text: `card ${card.caId}: ${product.productId} active, not expected`,
        })
        commands.push({
          type: 'CANCEL_SUBSCRIPTIONS',
          smartcardCaId: card.caId,
          serviceCaId: product.productId,
          distributor: product.distributor,
        })
      }
    }
  }
  const kept =
    unreadable.size === 0
      ? commands
      : commands.filter((command) => !cardsOf(command).some((card) => unreadable.has(card)))
  return {
    inSync: kept.length === 0,
    commands: kept,
    differences: differences.filter((d) => !unreadable.has(d.card)).map((d) => d.text),
  }
}
