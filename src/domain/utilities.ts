import type {
  ConaxCommand,
  DisplayFingerprintCommand,
  SendBarkCommand,
  SendMailCommand,
  SendRepeatingBarkCommand,
} from './commands.js'
import type { InstalledItem, ItemKind, ProvisioningProvider, Subscription } from './crm.js'
import type { ProcessName } from './provisioning-request.js'
import { err, ok, type Result } from './result.js'

/**
 * The single-subscription utilities of CRM.COM's Conax module (docs/domain.md §2.8): send a
 * message, show a fingerprint, pair devices, reset a PIN, ask Conax what it holds. Pure: the
 * caller loads the subscription and passes the time.
 */
export const UTILITY_NAMES = [
  'SEND_MESSAGE',
  'DISPLAY_FINGERPRINT',
  'PAIR_DEVICES',
  'RESET_PIN',
  'GET_CONAX_INFORMATION',
] as const
export type UtilityName = (typeof UTILITY_NAMES)[number]

export const MESSAGE_TYPES = ['MAIL', 'BARK', 'REPEATING_BARK'] as const
export type MessageType = (typeof MESSAGE_TYPES)[number]

/** What a utility asks for; a field left out takes the default of src/README.md ("Utilities"). */
export type UtilityRequest =
  | {
      readonly utility: 'SEND_MESSAGE'
      readonly subscriptionId: string
      readonly messageType: MessageType
      readonly message: string
      /** smartcard CA IDs; default: every smartcard installed on the subscription */
      readonly smartcards?: readonly string[]
      readonly startIndicationDateTime?: string | null
      readonly displayDurationInSeconds?: number
      readonly repetitionCount?: number
      readonly repetitionIntervalInSeconds?: number
    }
  | {
      readonly utility: 'DISPLAY_FINGERPRINT'
      readonly subscriptionId: string
      readonly smartcards?: readonly string[]
      readonly displayDateTime?: string | null
      readonly displayDurationInSeconds?: number
      readonly positionX?: number | null
      readonly positionY?: number | null
      readonly height?: number
      readonly slot?: 'A' | 'B'
    }
  | {
      readonly utility: 'PAIR_DEVICES'
      readonly mode: 'NEW' | 'UPDATE'
      readonly subscriptionId?: string | null
      /** UPDATE only: the smartcard that identifies the existing pair */
      readonly pairedSmartcard?: string
      readonly smartcards: readonly string[]
      readonly stbs: readonly string[]
    }
  | {
      readonly utility: 'RESET_PIN'
      readonly smartcard: string
      readonly subscriptionId?: string | null
      /** absent: reset to the default PIN */
      readonly pin?: string
    }
  | {
      readonly utility: 'GET_CONAX_INFORMATION'
      readonly query: 'ACTIVE_SUBSCRIPTIONS' | 'SMARTCARD_PAIRING' | 'STB_PAIRING'
      readonly smartcard?: string
      readonly stb?: string
      readonly subscriptionId?: string | null
    }

/** Why a utility request was refused; nothing is sent. */
export const UTILITY_ERROR_CODES = [
  'INVALID_FIELD',
  'INVALID_CA_ID',
  'MESSAGE_TOO_LONG',
  'SUBSCRIPTION_NOT_FOUND',
  'ITEM_NOT_FOUND',
  'NO_SMARTCARD',
] as const
export type UtilityErrorCode = (typeof UTILITY_ERROR_CODES)[number]

export interface UtilityRejection {
  readonly code: UtilityErrorCode
  /** The request field at fault, e.g. `message`, `smartcards[1]`; null when no one field is. */
  readonly field: string | null
  readonly message: string
}

export interface UtilityPlan {
  readonly processName: ProcessName
  /** The Conax commands, in sending order. */
  readonly commands: readonly ConaxCommand[]
}

/** CRM.COM's process name of each utility (the fingerprint's double I is the vendor's, §4.2). */
export const UTILITY_PROCESS_NAMES: Readonly<Record<UtilityName, ProcessName>> = {
  SEND_MESSAGE: 'MAIL_BARK_MESSAGE_UTILITY',
  DISPLAY_FINGERPRINT: 'FIINGERPRINTING_UTILITY',
  PAIR_DEVICES: 'PAIRING_UTILITY',
  RESET_PIN: 'RESET_PIN',
  GET_CONAX_INFORMATION: 'CONAX_INFORMATION_UTILITY',
}

/** Message limits in Unicode characters (CRM.COM's message utility, docs/domain.md §2.5). */
export const MESSAGE_MAX_LENGTH: Readonly<Record<MessageType, number>> = {
  MAIL: 141,
  BARK: 129,
  REPEATING_BARK: 129,
}

export const UTILITY_LIMITS = {
  repetitionIntervalMin: 10,
  repetitionIntervalMax: 2550,
  repetitionIntervalStep: 10,
  // No source gives a repetition count limit (docs/domain.md §3, a GAP): 255 assumes a one-byte
  // count, as the interval's 2550 = 255 × 10 s suggests. Widen it once the real limit is known.
  repetitionCountMax: 255,
  // A documented choice: the fingerprint height has no known limit either; one byte is assumed.
  heightMax: 255,
  // The wire contract types durations and positions as xs:int.
  xsIntMax: 2_147_483_647,
} as const

export const UTILITY_DEFAULTS = {
  /** CRM.COM's default for barks (SMSConax used 10; CRM.COM wins, §4.12). */
  barkDisplayDurationInSeconds: 20,
  fingerprintDurationInSeconds: 10,
  /** A documented choice (the simulator's default; no source gives one), see src/README.md. */
  fingerprintHeight: 12,
  fingerprintSlot: 'A',
} as const

type Request<U extends UtilityName> = Extract<UtilityRequest, { readonly utility: U }>
type Checked<T> = Result<T, UtilityRejection>

const reject = (code: UtilityErrorCode, field: string | null, message: string): Checked<never> =>
  err({ code, field, message })

/** The same CA ID rules the planner applies to installed items (INVALID_CA_ID). */
const CA_ID_RULES: Readonly<Record<ItemKind, { pattern: RegExp; text: string }>> = {
  SMARTCARD: { pattern: /^\d{11}$/, text: 'exactly 11 digits' },
  STB: { pattern: /^\d{1,20}$/, text: '1 to 20 digits' },
}

const KIND_NAME: Readonly<Record<ItemKind, string>> = { SMARTCARD: 'Smartcard', STB: 'STB' }

/**
 * Plans one utility: every field is checked before anything is sent, and the answer is the
 * process name and the Conax commands, or a rejection naming the field at fault. Messages and
 * fingerprints become one command per distributor and per `delivery.maxCardsPerRequest` cards.
 *
 * @example
 * planUtility(provider, subscription, { utility: 'SEND_MESSAGE', subscriptionId: 'S1',
 *   messageType: 'MAIL', message: 'Your bill is ready' }, '2026-11-26T10:00:00.000Z')
 */
export function planUtility(
  provider: ProvisioningProvider,
  subscription: Subscription | null,
  request: UtilityRequest,
  now: string,
): Result<UtilityPlan, UtilityRejection> {
  const commands = commandsOf(provider, subscription, request, now)
  return commands.ok
    ? ok({ processName: UTILITY_PROCESS_NAMES[request.utility], commands: commands.value })
    : commands
}

function commandsOf(
  provider: ProvisioningProvider,
  subscription: Subscription | null,
  request: UtilityRequest,
  now: string,
): Checked<readonly ConaxCommand[]> {
  switch (request.utility) {
    case 'SEND_MESSAGE':
      return planMessage(provider, subscription, request)
    case 'DISPLAY_FINGERPRINT':
      return planFingerprint(provider, subscription, request, now)
    case 'PAIR_DEVICES':
      return planPairing(provider, subscription, request)
    case 'RESET_PIN':
      return planPin(subscription, request)
    case 'GET_CONAX_INFORMATION':
      return planInformation(subscription, request)
  }
}

// ----- subscription and devices ------------------------------------------------------------

/** The subscription the request names; a subscription of another id counts as not found. */
function namedSubscription(
  subscription: Subscription | null,
  id: string | null | undefined,
): Checked<Subscription | null> {
  if (id === undefined || id === null) {
    return ok(null)
  }
  if (subscription?.id !== id) {
    return reject(
      'SUBSCRIPTION_NOT_FOUND',
      'subscriptionId',
      `Subscription '${id}' does not exist. Check the id, or create it with BECOME_SUBSCRIBER.`,
    )
  }
  return ok(subscription)
}

function checkCaId(kind: ItemKind, caId: string, field: string): UtilityRejection | null {
  const rule = CA_ID_RULES[kind]
  return rule.pattern.test(caId)
    ? null
    : {
        code: 'INVALID_CA_ID',
        field,
        message: `${field}: ${KIND_NAME[kind]} CA ID '${caId}' must be ${rule.text}.`,
      }
}

/** The installed item of this kind and CA ID on the subscription. */
function installed(
  subscription: Subscription,
  kind: ItemKind,
  caId: string,
  field: string,
): Checked<InstalledItem> {
  const item = subscription.installedItems.find((i) => i.kind === kind && i.caId === caId)
  if (item) {
    return ok(item)
  }
  const present = subscription.installedItems.filter((i) => i.kind === kind).map((i) => i.caId)
  return reject(
    'ITEM_NOT_FOUND',
    field,
    `${field}: ${KIND_NAME[kind]} ${caId} is not installed on subscription '${subscription.id}'; its ${kind === 'SMARTCARD' ? 'smartcards' : 'STBs'} are ${present.length > 0 ? present.join(', ') : 'none'}.`,
  )
}

/**
 * Checks a list of CA IDs (format, and when a subscription is given, that each is installed on
 * it) and returns the distinct ones in order with their items (null without a subscription).
 */
function devices(
  subscription: Subscription | null,
  kind: ItemKind,
  caIds: readonly string[],
  field: string,
): Checked<readonly { caId: string; item: InstalledItem | null }[]> {
  const found = new Map<string, InstalledItem | null>()
  for (const [index, caId] of caIds.entries()) {
    const where = `${field}[${index}]`
    const invalid = checkCaId(kind, caId, where)
    if (invalid) {
      return err(invalid)
    }
    const item = subscription ? installed(subscription, kind, caId, where) : ok(null)
    if (!item.ok) {
      return item
    }
    found.set(caId, item.value)
  }
  return ok([...found].map(([caId, item]) => ({ caId, item })))
}

/** The cards a message or fingerprint goes to: the named ones, or every card of the subscription. */
function targetCards(
  subscription: Subscription,
  named: readonly string[] | undefined,
): Checked<readonly InstalledItem[]> {
  if (!subscription.installedItems.some((i) => i.kind === 'SMARTCARD')) {
    return reject(
      'NO_SMARTCARD',
      'subscriptionId',
      `Subscription '${subscription.id}' has no smartcard installed, so there is no card to reach. Add one with ADD_INSTALLED_ITEM first.`,
    )
  }
  if (named === undefined) {
    return ok(subscription.installedItems.filter((i) => i.kind === 'SMARTCARD'))
  }
  if (named.length === 0) {
    return reject(
      'INVALID_FIELD',
      'smartcards',
      'smartcards: name at least one smartcard, or leave the field out to reach every smartcard of the subscription.',
    )
  }
  const found = devices(subscription, 'SMARTCARD', named, 'smartcards')
  return found.ok ? ok(found.value.map((d) => d.item as InstalledItem)) : found
}

/** One group per distributor (in order of first appearance), split at `max` cards. */
function groupCards(
  cards: readonly InstalledItem[],
  max: number,
): { readonly distributor: string | null; readonly smartcardCaIds: readonly string[] }[] {
  const byDistributor = new Map<string | null, string[]>()
  for (const card of cards) {
    const group = byDistributor.get(card.distributor) ?? []
    group.push(card.caId)
    byDistributor.set(card.distributor, group)
  }
  const groups: { distributor: string | null; smartcardCaIds: string[] }[] = []
  for (const [distributor, caIds] of byDistributor) {
    for (let start = 0; start < caIds.length; start += max) {
      groups.push({ distributor, smartcardCaIds: caIds.slice(start, start + max) })
    }
  }
  return groups
}

// ----- field rules -------------------------------------------------------------------------

/** An integer in [min, max]; `rule` completes "must be ..." when the plain range is not enough. */
function integerIn(
  field: string,
  value: number,
  [min, max]: readonly [number, number],
  rule = `an integer from ${min} to ${max}`,
): UtilityRejection | null {
  return Number.isInteger(value) && value >= min && value <= max
    ? null
    : { code: 'INVALID_FIELD', field, message: `${field}: ${value} must be ${rule}.` }
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i

/**
 * An ISO-8601 date-time as a UTC instant; one without a zone is UTC, as scheduled dates are.
 * Components are checked by hand because Date.parse rolls 2026-02-30 over into March.
 */
export function utcInstant(field: string, value: string): Checked<string> {
  const match = ISO_DATE_TIME.exec(value)
  const invalid = reject(
    'INVALID_FIELD',
    field,
    `${field}: '${value}' is not an ISO-8601 date-time such as 2026-11-26T10:00:00Z.`,
  )
  if (!match) {
    return invalid
  }
  const [year, month, day, hour, minute, second] = match
    .slice(1, 7)
    .map((part) => Number(part ?? '0')) as [number, number, number, number, number, number]
  const millis = Math.floor(Number(`0.${match[7] ?? '0'}`) * 1000)
  const zone = (match[8] ?? 'Z').toUpperCase()
  const offsetMinutes =
    zone === 'Z'
      ? 0
      : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)))
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, millis)
  const valid =
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second &&
    Math.abs(offsetMinutes) < 24 * 60
  return valid ? ok(new Date(date.getTime() - offsetMinutes * 60_000).toISOString()) : invalid
}

function optionalInstant(field: string, value: string | null | undefined): Checked<string | null> {
  return value === undefined || value === null ? ok(null) : utcInstant(field, value)
}

/** Length in Unicode code points, so an emoji or a CJK character counts once. */
function codePoints(text: string): number {
  let count = 0
  for (const _ of text) {
    count++
  }
  return count
}

// ----- SEND_MESSAGE ------------------------------------------------------------------------

type MessageFields = Pick<SendMailCommand, 'message' | 'startIndicationTime'>
type BarkFields = Pick<SendBarkCommand, 'displayDurationInSeconds'> &
  Partial<Pick<SendRepeatingBarkCommand, 'repetitionCount' | 'repetitionIntervalInSeconds'>>

function checkText(request: Request<'SEND_MESSAGE'>): UtilityRejection | null {
  const limit = MESSAGE_MAX_LENGTH[request.messageType]
  const length = codePoints(request.message)
  if (request.message.trim().length === 0) {
    return {
      code: 'INVALID_FIELD',
      field: 'message',
      message: 'message: must not be empty; give the text to show.',
    }
  }
  return length > limit
    ? {
        code: 'MESSAGE_TOO_LONG',
        field: 'message',
        message: `message: a ${request.messageType} message may have at most ${limit} characters; this one has ${length}. Shorten it.`,
      }
    : null
}

/** Display duration and repetition: barks only, repetition for repeating barks only, and there required. */
function barkFields(request: Request<'SEND_MESSAGE'>): Checked<BarkFields | null> {
  const { messageType, displayDurationInSeconds, repetitionCount, repetitionIntervalInSeconds } =
    request
  const misplaced = (
    [
      ['displayDurationInSeconds', displayDurationInSeconds, messageType === 'MAIL'],
      ['repetitionCount', repetitionCount, messageType !== 'REPEATING_BARK'],
      [
        'repetitionIntervalInSeconds',
        repetitionIntervalInSeconds,
        messageType !== 'REPEATING_BARK',
      ],
    ] as const
  ).find(([, value, unused]) => unused && value !== undefined)
  if (misplaced) {
    return reject(
      'INVALID_FIELD',
      misplaced[0],
      `${misplaced[0]}: a ${messageType} message has no ${misplaced[0]}; leave it out or choose another messageType.`,
    )
  }
  if (messageType === 'MAIL') {
    return ok(null)
  }
  const duration = displayDurationInSeconds ?? UTILITY_DEFAULTS.barkDisplayDurationInSeconds
  const problem = integerIn(
    'displayDurationInSeconds',
    duration,
    [1, UTILITY_LIMITS.xsIntMax],
    'a whole number of seconds, at least 1',
  )
  if (problem) {
    return err(problem)
  }
  return messageType === 'BARK'
    ? ok({ displayDurationInSeconds: duration })
    : repetition(duration, repetitionCount, repetitionIntervalInSeconds)
}

function repetition(
  displayDurationInSeconds: number,
  count: number | undefined,
  interval: number | undefined,
): Checked<BarkFields> {
  if (count === undefined) {
    return reject(
      'INVALID_FIELD',
      'repetitionCount',
      'repetitionCount: required for a REPEATING_BARK message (how many times it is shown).',
    )
  }
  if (interval === undefined) {
    return reject(
      'INVALID_FIELD',
      'repetitionIntervalInSeconds',
      'repetitionIntervalInSeconds: required for a REPEATING_BARK message (10 to 2550 in steps of 10).',
    )
  }
  const { repetitionIntervalMin: min, repetitionIntervalMax: max } = UTILITY_LIMITS
  const step = UTILITY_LIMITS.repetitionIntervalStep
  const problem =
    integerIn('repetitionCount', count, [1, UTILITY_LIMITS.repetitionCountMax]) ??
    integerIn(
      'repetitionIntervalInSeconds',
      interval,
      [min, max],
      `${min} to ${max} in steps of ${step}`,
    ) ??
    (interval % step === 0
      ? null
      : {
          code: 'INVALID_FIELD' as const,
          field: 'repetitionIntervalInSeconds',
          message: `repetitionIntervalInSeconds: ${interval} must be ${min} to ${max} in steps of ${step}.`,
        })
  if (problem) {
    return err(problem)
  }
  return ok({
    displayDurationInSeconds,
    repetitionCount: count,
    repetitionIntervalInSeconds: interval,
  })
}

function messageCommand(
  type: MessageType,
  base: MessageFields & Pick<SendMailCommand, 'smartcardCaIds' | 'distributor'>,
  bark: BarkFields | null,
): ConaxCommand {
  if (type === 'MAIL' || bark === null) {
    return { type: 'SEND_MAIL_MESSAGE_TO_CLIENT', ...base }
  }
  const { displayDurationInSeconds, repetitionCount, repetitionIntervalInSeconds } = bark
  return type === 'BARK' ||
    repetitionCount === undefined ||
    repetitionIntervalInSeconds === undefined
    ? { type: 'SEND_BARK_MESSAGE_TO_CLIENT', ...base, displayDurationInSeconds }
    : {
        type: 'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT',
        ...base,
        displayDurationInSeconds,
        repetitionCount,
        repetitionIntervalInSeconds,
      }
}

function planMessage(
  provider: ProvisioningProvider,
  current: Subscription | null,
  request: Request<'SEND_MESSAGE'>,
): Checked<readonly ConaxCommand[]> {
  const subscription = namedSubscription(current, request.subscriptionId)
  if (!subscription.ok) {
    return subscription
  }
  const text = checkText(request)
  if (text) {
    return err(text)
  }
  const start = optionalInstant('startIndicationDateTime', request.startIndicationDateTime)
  if (!start.ok) {
    return start
  }
  const bark = barkFields(request)
  if (!bark.ok) {
    return bark
  }
  const cards = targetCards(subscription.value as Subscription, request.smartcards)
  if (!cards.ok) {
    return cards
  }
  return ok(
    groupCards(cards.value, provider.delivery.maxCardsPerRequest).map((group) =>
      messageCommand(
        request.messageType,
        { ...group, message: request.message, startIndicationTime: start.value },
        bark.value,
      ),
    ),
  )
}

// ----- DISPLAY_FINGERPRINT -----------------------------------------------------------------

type FingerprintFields = Omit<
  DisplayFingerprintCommand,
  'type' | 'smartcardCaIds' | 'distributor' | 'displayTime'
>

function fingerprintFields(request: Request<'DISPLAY_FINGERPRINT'>): Checked<FingerprintFields> {
  const fields: FingerprintFields = {
    durationInSeconds:
      request.displayDurationInSeconds ?? UTILITY_DEFAULTS.fingerprintDurationInSeconds,
    positionX: request.positionX ?? null,
    positionY: request.positionY ?? null,
    height: request.height ?? UTILITY_DEFAULTS.fingerprintHeight,
    slot: request.slot ?? UTILITY_DEFAULTS.fingerprintSlot,
  }
  const { xsIntMax } = UTILITY_LIMITS
  const position = (field: string, value: number | null): UtilityRejection | null =>
    value === null
      ? null
      : integerIn(field, value, [0, xsIntMax], 'an integer of at least 0, or null')
  const problem =
    integerIn(
      'displayDurationInSeconds',
      fields.durationInSeconds,
      [1, xsIntMax],
      'a whole number of seconds, at least 1',
    ) ??
    position('positionX', fields.positionX) ??
    position('positionY', fields.positionY) ??
    integerIn('height', fields.height, [1, UTILITY_LIMITS.heightMax]) ??
    (fields.slot === 'A' || fields.slot === 'B'
      ? null
      : {
          code: 'INVALID_FIELD' as const,
          field: 'slot',
          message: `slot: '${String(fields.slot)}' must be A or B.`,
        })
  return problem ? err(problem) : ok(fields)
}

function planFingerprint(
  provider: ProvisioningProvider,
  current: Subscription | null,
  request: Request<'DISPLAY_FINGERPRINT'>,
  now: string,
): Checked<readonly ConaxCommand[]> {
  const subscription = namedSubscription(current, request.subscriptionId)
  if (!subscription.ok) {
    return subscription
  }
  // Absent or null, the fingerprint shows at once; the request records when that was.
  const displayTime = optionalInstant('displayDateTime', request.displayDateTime ?? now)
  if (!displayTime.ok) {
    return displayTime
  }
  const fields = fingerprintFields(request)
  if (!fields.ok) {
    return fields
  }
  const cards = targetCards(subscription.value as Subscription, request.smartcards)
  if (!cards.ok) {
    return cards
  }
  return ok(
    groupCards(cards.value, provider.delivery.maxCardsPerRequest).map(
      (group): DisplayFingerprintCommand => ({
        type: 'DISPLAY_FINGERPRINT',
        ...group,
        displayTime: displayTime.value,
        ...fields.value,
      }),
    ),
  )
}

// ----- PAIR_DEVICES ------------------------------------------------------------------------

function checkPairingShape(
  provider: ProvisioningProvider,
  request: Request<'PAIR_DEVICES'>,
): UtilityRejection | null {
  const invalid = (field: string, message: string): UtilityRejection => ({
    code: 'INVALID_FIELD',
    field,
    message: `${field}: ${message}`,
  })
  const max = provider.delivery.maxCardsPerRequest
  if (request.mode === 'NEW') {
    if (request.pairedSmartcard !== undefined) {
      return invalid('pairedSmartcard', 'only an UPDATE names the pair to add to; leave it out.')
    }
    if (request.smartcards.length === 0) {
      return invalid('smartcards', 'a NEW pairing needs at least one smartcard.')
    }
    if (request.stbs.length === 0) {
      return invalid('stbs', 'a NEW pairing needs at least one STB.')
    }
  } else {
    if (request.pairedSmartcard === undefined) {
      return invalid('pairedSmartcard', 'an UPDATE names the smartcard of the existing pair.')
    }
    if (request.smartcards.length + request.stbs.length === 0) {
      return invalid('stbs', 'an UPDATE adds at least one STB or smartcard to the pair.')
    }
  }
  return request.smartcards.length > max
    ? invalid('smartcards', `at most ${max} smartcards fit in one pairing request.`)
    : null
}

function planPairing(
  provider: ProvisioningProvider,
  current: Subscription | null,
  request: Request<'PAIR_DEVICES'>,
): Checked<readonly ConaxCommand[]> {
  const subscription = namedSubscription(current, request.subscriptionId)
  if (!subscription.ok) {
    return subscription
  }
  const shape = checkPairingShape(provider, request)
  if (shape) {
    return err(shape)
  }
  const sub = subscription.value
  const paired =
    request.pairedSmartcard === undefined
      ? ok([])
      : devices(sub, 'SMARTCARD', [request.pairedSmartcard], 'pairedSmartcard')
  if (!paired.ok) {
    // The list helper names the field `pairedSmartcard[0]`; the request has a single value.
    return err({ ...paired.error, field: 'pairedSmartcard' })
  }
  const cards = devices(sub, 'SMARTCARD', request.smartcards, 'smartcards')
  if (!cards.ok) {
    return cards
  }
  const stbs = devices(sub, 'STB', request.stbs, 'stbs')
  if (!stbs.ok) {
    return stbs
  }
  const distributor = pairingDistributor([
    ...paired.value.map((d) => ({ ...d, field: 'pairedSmartcard' })),
    ...cards.value.map((d) => ({
      ...d,
      field: `smartcards[${request.smartcards.indexOf(d.caId)}]`,
    })),
    ...stbs.value.map((d) => ({ ...d, field: `stbs[${request.stbs.indexOf(d.caId)}]` })),
  ])
  if (!distributor.ok) {
    return distributor
  }
  const smartcardCaIds = cards.value.map((d) => d.caId)
  const stbCaIds = stbs.value.map((d) => d.caId)
  return ok([
    request.pairedSmartcard === undefined
      ? { type: 'CREATE_PAIRING', smartcardCaIds, stbCaIds, distributor: distributor.value }
      : {
          type: 'ADD_TO_EXISTING_PAIRING',
          pairedSmartcardCaId: request.pairedSmartcard,
          smartcardCaIds,
          stbCaIds,
          distributor: distributor.value,
        },
  ])
}

/**
 * A pairing belongs to one viewing point, so its devices must share a distributor (a pairing
 * across two would be undone by the next action on the subscription). Null without a subscription.
 */
function pairingDistributor(
  members: readonly { caId: string; item: InstalledItem | null; field: string }[],
): Checked<string | null> {
  const first = members[0]
  if (!first?.item) {
    return ok(null)
  }
  const distributor = first.item.distributor
  const other = members.find((m) => m.item?.distributor !== distributor)
  if (other) {
    return reject(
      'INVALID_FIELD',
      other.field,
      `${other.field}: ${other.caId} is on distributor '${other.item?.distributor ?? 'none'}', but ${first.caId} is on '${distributor ?? 'none'}'; a pairing joins the devices of one viewing point.`,
    )
  }
  return ok(distributor)
}

// ----- RESET_PIN and GET_CONAX_INFORMATION -------------------------------------------------

/** One device named by a single field: its format, and its distributor on the subscription. */
function oneDevice(
  subscription: Subscription | null,
  kind: ItemKind,
  caId: string,
  field: string,
): Checked<string | null> {
  const invalid = checkCaId(kind, caId, field)
  if (invalid) {
    return err(invalid)
  }
  if (!subscription) {
    return ok(null)
  }
  const item = installed(subscription, kind, caId, field)
  return item.ok ? ok(item.value.distributor) : item
}

function planPin(
  current: Subscription | null,
  request: Request<'RESET_PIN'>,
): Checked<readonly ConaxCommand[]> {
  const subscription = namedSubscription(current, request.subscriptionId)
  if (!subscription.ok) {
    return subscription
  }
  if (request.pin !== undefined && !/^\d{4}$/.test(request.pin)) {
    return reject(
      'INVALID_FIELD',
      'pin',
      'pin: must be exactly 4 digits, or left out to reset the PIN to the default.',
    )
  }
  const distributor = oneDevice(subscription.value, 'SMARTCARD', request.smartcard, 'smartcard')
  if (!distributor.ok) {
    return distributor
  }
  const base = { smartcardCaId: request.smartcard, distributor: distributor.value }
  return ok([
    request.pin === undefined
      ? { type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE', ...base }
      : { type: 'UPDATE_CA_PIN_TO_GIVEN_VALUE', ...base, pin: request.pin },
  ])
}

function planInformation(
  current: Subscription | null,
  request: Request<'GET_CONAX_INFORMATION'>,
): Checked<readonly ConaxCommand[]> {
  const subscription = namedSubscription(current, request.subscriptionId)
  if (!subscription.ok) {
    return subscription
  }
  const [needed, unused] =
    request.query === 'STB_PAIRING'
      ? (['stb', 'smartcard'] as const)
      : (['smartcard', 'stb'] as const)
  const caId = request[needed]
  if (request[unused] !== undefined) {
    return reject(
      'INVALID_FIELD',
      unused,
      `${unused}: the ${request.query} query reads one ${needed}; leave ${unused} out.`,
    )
  }
  if (caId === undefined) {
    return reject('INVALID_FIELD', needed, `${needed}: required for the ${request.query} query.`)
  }
  const kind = needed === 'stb' ? 'STB' : 'SMARTCARD'
  const distributor = oneDevice(subscription.value, kind, caId, needed)
  if (!distributor.ok) {
    return distributor
  }
  switch (request.query) {
    case 'ACTIVE_SUBSCRIPTIONS':
      return ok([
        { type: 'GET_ACTIVE_SUBSCRIPTIONS', smartcardCaId: caId, distributor: distributor.value },
      ])
    case 'SMARTCARD_PAIRING':
      return ok([
        {
          type: 'GET_PAIRING_STATUS_FOR_CARD',
          smartcardCaId: caId,
          distributor: distributor.value,
        },
      ])
    case 'STB_PAIRING':
      return ok([
        {
          type: 'GET_PAIRING_STATUS_FOR_PAIRING_MODULE',
          stbCaId: caId,
          distributor: distributor.value,
        },
      ])
  }
}
