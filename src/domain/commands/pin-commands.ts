import { defineCommand, text } from './command-definition.js'

/** The CA PIN of a card, reset to the default or set to a given value (docs/domain.md §4.2). */

/** UPDATE_CA_PIN_TO_DEFAULT_VALUE: the card's PIN back to the CA's default. */
export const updatePinToDefault = defineCommand({
  type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE',
  fields: { smartcardCaId: text },
  splittable: false,
  cards: (command) => [command.smartcardCaId],
  parameters: (command) => ({ smartcard_ca_id: command.smartcardCaId }),
})

/** UPDATE_CA_PIN_TO_GIVEN_VALUE: the card's PIN set to `pin`. */
export const updatePinToGiven = defineCommand({
  type: 'UPDATE_CA_PIN_TO_GIVEN_VALUE',
  fields: { smartcardCaId: text, pin: text },
  splittable: false,
  cards: (command) => [command.smartcardCaId],
  parameters: (command) => ({ smartcard_ca_id: command.smartcardCaId, pin: command.pin }),
})

/** The PIN commands, in the order REQUEST_TYPES lists them. */
export const PIN_COMMANDS = [updatePinToDefault, updatePinToGiven] as const
