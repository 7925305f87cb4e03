import type { CaState } from './ca-state.js'
import { checkCards, checkMessage, fail, invalid, unique, type Problem } from './checks.js'
import {
  BARK_MAX_LENGTH,
  DEFAULT_BARK_DURATION_SECONDS,
  DEFAULT_FINGERPRINT_DURATION_SECONDS,
  DEFAULT_FINGERPRINT_HEIGHT,
  MAIL_MAX_LENGTH,
  isRepetitionInterval,
} from './rules.js'
import type { Fingerprint, MailMessage, OperationContext, Outcome, ScreenMessage } from './types.js'

/**
 * Messages and fingerprints (the `user-text-messaging` and `fingerprint` services): what a
 * card's inbox holds and what its screen shows.
 *
 * | operation                         | effect                                                 |
 * | --------------------------------- | ------------------------------------------------------ |
 * | SendMailMessageToClients          | the message (1..141) goes into each card's inbox       |
 * | SendBarkMessageToClients          | the message (1..129) is shown on screen                |
 * | SendRepeatingBarkMessageToClients | as bark, repeated (count >= 1, interval 10..2550 by 10) |
 * | DisplayFingerprint                | a fingerprint is scheduled on each card's screen       |
 *
 * Each card keeps its newest `maxMessagesPerCard` entries of each kind.
 */

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

/** SendMailMessageToClients: the message goes into each card's inbox. */
export function sendMail(
  state: CaState,
  ctx: OperationContext,
  input: MessageInput,
): Outcome<number> {
  const cards = unique(input.caClientIds)
  const problem =
    checkMessage(state, input.message, MAIL_MAX_LENGTH) ?? checkCards(state, ctx, cards)
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
    const card = state.existingCard(id)
    state.touchCard(id, card)
    card.inbox = state.appendCapped(card.inbox, mail)
  }
  return {
    ok: true,
    value: cards.length,
    message: `Mail message sent to ${cards.length} card(s).`,
  }
}

/** SendBarkMessageToClients: the message is shown on screen. */
export function sendBark(state: CaState, ctx: OperationContext, input: BarkInput): Outcome<number> {
  return showOnScreen(state, ctx, input, null)
}

/** SendRepeatingBarkMessageToClients: the message is shown repeatedly. */
export function sendRepeatingBark(
  state: CaState,
  ctx: OperationContext,
  input: RepeatingBarkInput,
): Outcome<number> {
  return showOnScreen(state, ctx, input, {
    repetitionCount: input.repetitionCount,
    repetitionIntervalInSeconds: input.repetitionIntervalInSeconds,
  })
}

interface Repetition {
  readonly repetitionCount: number
  readonly repetitionIntervalInSeconds: number
}

function checkBark(input: BarkInput, repeat: Repetition | null): Problem | null {
  return (
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
      : null)
  )
}

function showOnScreen(
  state: CaState,
  ctx: OperationContext,
  input: BarkInput,
  repeat: Repetition | null,
): Outcome<number> {
  const cards = unique(input.caClientIds)
  const problem =
    checkMessage(state, input.message, BARK_MAX_LENGTH) ??
    checkBark(input, repeat) ??
    checkCards(state, ctx, cards)
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
    const card = state.existingCard(id)
    state.touchCard(id, card)
    card.screen = state.appendCapped(card.screen, shown)
  }
  return { ok: true, value: cards.length, message: `Message shown on ${cards.length} card(s).` }
}

/** DisplayFingerprint: a fingerprint is scheduled on each card's screen. */
export function displayFingerprint(
  state: CaState,
  ctx: OperationContext,
  input: FingerprintInput,
): Outcome<number> {
  const cards = unique(input.caClientIds)
  const problem = checkFingerprint(input) ?? checkCards(state, ctx, cards)
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
    const card = state.existingCard(id)
    state.touchCard(id, card)
    card.fingerprints = state.appendCapped(card.fingerprints, fingerprint)
  }
  return {
    ok: true,
    value: cards.length,
    message: `Fingerprint scheduled on ${cards.length} card(s).`,
  }
}

function checkFingerprint(input: FingerprintInput): Problem | null {
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
