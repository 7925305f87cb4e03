import { caIds, defineCommand, text } from './command-definition.js'

/**
 * Pairings of smartcards with STBs (pairing modules): created, extended, and asked for from either
 * side (docs/domain.md §2.5). A pairing is one unit, so none of them is ever split.
 */

/** CREATE_PAIRING: cards and STBs paired with each other. */
export const createPairing = defineCommand({
  type: 'CREATE_PAIRING',
  fields: { smartcardCaIds: caIds, stbCaIds: caIds },
  splittable: false,
  cards: (command) => command.smartcardCaIds,
  stbs: (command) => command.stbCaIds,
  parameters: (command) => ({
    smartcard_ca_id: [...command.smartcardCaIds],
    stb_ca_id: [...command.stbCaIds],
  }),
})

/** ADD_TO_EXISTING_PAIRING: cards and STBs added to the pairing of a card. */
export const addToExistingPairing = defineCommand({
  type: 'ADD_TO_EXISTING_PAIRING',
  fields: { pairedSmartcardCaId: text, smartcardCaIds: caIds, stbCaIds: caIds },
  splittable: false,
  cards: (command) => [command.pairedSmartcardCaId, ...command.smartcardCaIds],
  stbs: (command) => command.stbCaIds,
  parameters: (command) => ({
    paired_smartcard_ca_id: command.pairedSmartcardCaId,
    smartcard_ca_id: [...command.smartcardCaIds],
    stb_ca_id: [...command.stbCaIds],
  }),
})

/** GET_PAIRING_STATUS_FOR_CARD: the pairing of a card (a query). */
export const getPairingStatusForCard = defineCommand({
  type: 'GET_PAIRING_STATUS_FOR_CARD',
  fields: { smartcardCaId: text },
  splittable: false,
  cards: (command) => [command.smartcardCaId],
  parameters: (command) => ({ smartcard_ca_id: command.smartcardCaId }),
})

/** GET_PAIRING_STATUS_FOR_PAIRING_MODULE: the pairing of an STB (a query). */
export const getPairingStatusForPairingModule = defineCommand({
  type: 'GET_PAIRING_STATUS_FOR_PAIRING_MODULE',
  fields: { stbCaId: text },
  splittable: false,
  stbs: (command) => [command.stbCaId],
  parameters: (command) => ({ stb_ca_id: command.stbCaId }),
})

/** The pairing commands, in the order REQUEST_TYPES lists them. */
export const PAIRING_COMMANDS = [
  createPairing,
  addToExistingPairing,
  getPairingStatusForCard,
  getPairingStatusForPairingModule,
] as const
