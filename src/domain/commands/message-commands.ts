import { z } from 'zod'
import {
  caIds,
  defineCommand,
  optionalText,
  text,
  type ParametersSet,
} from './command-definition.js'

/**
 * Text messages to the screens of up to 500 cards: a mail to the inbox, a bark on the screen, a
 * bark repeated (docs/domain.md §4.2). The CA answers each all or nothing, so a batch it refused
 * because of some of its cards is split.
 * @module
 */

/** The fields the three messages share. */
const message = {
  smartcardCaIds: caIds,
  message: text,
  startIndicationTime: optionalText,
  /** The communication queue entry a message run processed (absent for the utility). */
  communicationQueueNumber: text.exactOptional(),
}

/** The fields of a bark besides those of every message. */
const bark = { displayDurationInSeconds: z.number() }

interface MessageParameters {
  readonly smartcardCaIds: readonly string[]
  readonly message: string
  readonly startIndicationTime: string | null
  readonly communicationQueueNumber?: string
}

/** The parameters_set of a message, with those of its kind (`more`) before the queue number. */
function messageParameters(command: MessageParameters, more: ParametersSet = {}): ParametersSet {
  return {
    smartcard_ca_id: [...command.smartcardCaIds],
    message: command.message,
    start_indication_date_time: command.startIndicationTime,
    ...more,
    communication_queue_number: command.communicationQueueNumber ?? null,
  }
}

/** SEND_MAIL_MESSAGE_TO_CLIENT: a message to the cards' inboxes. */
export const sendMail = defineCommand({
  type: 'SEND_MAIL_MESSAGE_TO_CLIENT',
  fields: message,
  splittable: true,
  cards: (command) => command.smartcardCaIds,
  parameters: (command) => messageParameters(command),
})

/** SEND_BARK_MESSAGE_TO_CLIENT: a message on the cards' screens for a while. */
export const sendBark = defineCommand({
  type: 'SEND_BARK_MESSAGE_TO_CLIENT',
  fields: { ...message, ...bark },
  splittable: true,
  cards: (command) => command.smartcardCaIds,
  parameters: (command) =>
    messageParameters(command, { display_duration_in_seconds: command.displayDurationInSeconds }),
})

/** SEND_REPEATING_BARK_MESSAGE_TO_CLIENT: a bark shown again, so many times, so far apart. */
export const sendRepeatingBark = defineCommand({
  type: 'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT',
  fields: {
    ...message,
    ...bark,
    repetitionCount: z.number(),
    repetitionIntervalInSeconds: z.number(),
  },
  splittable: true,
  cards: (command) => command.smartcardCaIds,
  parameters: (command) =>
    messageParameters(command, {
      display_duration_in_seconds: command.displayDurationInSeconds,
      repetition_count: command.repetitionCount,
      repetition_interval_in_seconds: command.repetitionIntervalInSeconds,
    }),
})

/** The message commands, in the order REQUEST_TYPES lists them. */
export const MESSAGE_COMMANDS = [sendMail, sendBark, sendRepeatingBark] as const
