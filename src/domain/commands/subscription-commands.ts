import { defineCommand, text } from './command-definition.js'

/** The products of a card: added, cancelled, and asked for (docs/domain.md §2.5). */

/** ADD_SUBSCRIPTIONS: a product (the service's CA ID) on a card, from and until the given dates. */
export const addSubscriptions = defineCommand({
  type: 'ADD_SUBSCRIPTIONS',
  fields: {
    smartcardCaId: text,
    serviceCaId: text,
    startDate: text.exactOptional(),
    endDate: text.exactOptional(),
  },
  splittable: false,
  cards: (command) => [command.smartcardCaId],
  parameters: (command) => ({
    smartcard_ca_id: command.smartcardCaId,
    service_ca_id: command.serviceCaId,
  }),
})

/** CANCEL_SUBSCRIPTIONS: a product taken off a card. */
export const cancelSubscriptions = defineCommand({
  type: 'CANCEL_SUBSCRIPTIONS',
  fields: { smartcardCaId: text, serviceCaId: text },
  splittable: false,
  cards: (command) => [command.smartcardCaId],
  parameters: (command) => ({
    smartcard_ca_id: command.smartcardCaId,
    service_ca_id: command.serviceCaId,
  }),
})

/** GET_ACTIVE_SUBSCRIPTIONS: the products active on a card (a query). */
export const getActiveSubscriptions = defineCommand({
  type: 'GET_ACTIVE_SUBSCRIPTIONS',
  fields: { smartcardCaId: text },
  splittable: false,
  cards: (command) => [command.smartcardCaId],
  parameters: (command) => ({ smartcard_ca_id: command.smartcardCaId }),
})

/** The subscription commands, in the order REQUEST_TYPES lists them. */
export const SUBSCRIPTION_COMMANDS = [
  addSubscriptions,
  cancelSubscriptions,
  getActiveSubscriptions,
] as const
