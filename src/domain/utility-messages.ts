import type {
  ConaxCommand,
  DisplayFingerprintCommand,
  SendBarkCommand,
  SendMailCommand,
  SendRepeatingBarkCommand,
} from './commands.js'
import type { InstalledItem, ProvisioningProvider, Subscription } from './crm.js'
import { err, ok } from './result.js'
import { requiredSubscription, targetCards } from './utility-cards.js'
import {
  codePoints,
  integerIn,
  optionalInstant,
  reject,
  UTILITY_LIMITS,
  type Checked,
  type UtilityRejection,
} from './utility-rules.js'

/**
 * Messages and fingerprints: the Mail & Bark utility (SEND_MAIL, SEND_BARK and
 * SEND_REPEATING_BARK_MESSAGE_TO_CLIENT) and the Fingerprint utility (DISPLAY_FINGERPRINT), both
 * one command per distributor and per `delivery.maxCardsPerRequest` cards. The message and
 * fingerprinting runs send with exactly these rules (runs.ts).
 * @module
 */

export const MESSAGE_TYPES = ['MAIL', 'BARK', 'REPEATING_BARK'] as const
export type MessageType = (typeof MESSAGE_TYPES)[number]

/** Message limits in Unicode characters (CRM.COM's message utility, docs/domain.md §2.5). */
export const MESSAGE_MAX_LENGTH: Readonly<Record<MessageType, number>> = {
  MAIL: 141,
  BARK: 129,
  REPEATING_BARK: 129,
}

/** What a message or fingerprint field left out becomes. */
export const UTILITY_DEFAULTS = {
  /** CRM.COM's default for barks (SMSConax used 10; CRM.COM wins, §4.12). */
  barkDisplayDurationInSeconds: 20,
  fingerprintDurationInSeconds: 10,
  /** A documented choice (the simulator's default; no source gives one), see src/README.md. */
  fingerprintHeight: 12,
  fingerprintSlot: 'A',
} as const

/** SEND_MESSAGE: a mail, bark or repeating bark to the subscription's smartcards. */
export interface SendMessageRequest {
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

/** DISPLAY_FINGERPRINT: a fingerprint on the subscription's smartcards. */
export interface DisplayFingerprintRequest {
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

// ----- SEND_MESSAGE ------------------------------------------------------------------------

type MessageFields = Pick<SendMailCommand, 'message' | 'startIndicationTime'>
type BarkFields = Pick<SendBarkCommand, 'displayDurationInSeconds'> &
  Partial<Pick<SendRepeatingBarkCommand, 'repetitionCount' | 'repetitionIntervalInSeconds'>>

function checkText(request: SendMessageRequest): UtilityRejection | null {
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
function barkFields(request: SendMessageRequest): Checked<BarkFields | null> {
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

/** SEND_MESSAGE: the text, the start, the bark fields and the cards, in that order of checks. */
export function planMessage(
  provider: ProvisioningProvider,
  current: Subscription | null,
  request: SendMessageRequest,
): Checked<readonly ConaxCommand[]> {
  const subscription = requiredSubscription(current, request.subscriptionId)
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
  const cards = targetCards(subscription.value, request.smartcards)
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

function fingerprintFields(request: DisplayFingerprintRequest): Checked<FingerprintFields> {
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

/** DISPLAY_FINGERPRINT: the display time (default now), the fields and the cards. */
export function planFingerprint(
  provider: ProvisioningProvider,
  current: Subscription | null,
  request: DisplayFingerprintRequest,
  now: string,
): Checked<readonly ConaxCommand[]> {
  const subscription = requiredSubscription(current, request.subscriptionId)
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
  const cards = targetCards(subscription.value, request.smartcards)
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
