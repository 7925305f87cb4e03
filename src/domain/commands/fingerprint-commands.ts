import { z } from 'zod'
import { caIds, defineCommand, optionalText } from './command-definition.js'

/** DISPLAY_FINGERPRINT: the card's ID shown on the screens of up to 500 cards (docs/domain.md §4.2). */
export const displayFingerprint = defineCommand({
  type: 'DISPLAY_FINGERPRINT',
  fields: {
    smartcardCaIds: caIds,
    displayTime: optionalText,
    durationInSeconds: z.number(),
    positionX: z.number().nullable(),
    positionY: z.number().nullable(),
    height: z.number(),
    slot: z.enum(['A', 'B']),
  },
  splittable: true,
  cards: (command) => command.smartcardCaIds,
  parameters: (command) => ({
    smartcard_ca_id: [...command.smartcardCaIds],
    display_date_time: command.displayTime,
    display_duration_in_seconds: command.durationInSeconds,
    position_x: command.positionX,
    position_y: command.positionY,
    height: command.height,
    fingerprint_slot: command.slot,
  }),
})

/** The fingerprint commands. */
export const FINGERPRINT_COMMANDS = [displayFingerprint] as const
