import type { ConaxCommand, RequestType } from '../domain/commands.js'

/**
 * The Conax client tests' devices and one sample command of each of the 13 types: sent to the
 * simulator by conax-client.test.ts, and compared with node-soap's envelope by
 * envelope-writer.test.ts. Keyed by type, so a new command type does not compile without its sample.
 */
export const CARD_A = '01450253313'
export const CARD_B = '01900080207'
export const CARD_ZERO = '00000000042'
export const CARD_OTHER_SMS = '09999999999'
export const STB_1 = '0001000001'
export const STB_2 = '1000000002'
export const UNKNOWN_CARD = '01234567890'

/** The simulator inventory the samples need; CARD_OTHER_SMS belongs to the SMS user `other`. */
export const INVENTORY = {
  smartcards: [
    { caClientId: CARD_A },
    { caClientId: CARD_B },
    { caClientId: CARD_ZERO },
    { caClientId: CARD_OTHER_SMS, sms: 'other' },
  ],
  pairingModules: [STB_1, STB_2].map((id, index) => ({
    pairingModuleId: id,
    serialNumber: `KA2611XB0000${index + 1}`,
    productCode: 'KSTB5043',
    productDescription: 'Kaon KSTB5043 HD Conax Zapper',
  })),
  products: ['GFA1', 'EFA2', '007'].map((productId) => ({ productId })),
}

/** One sample command of each of the 13 types, in an order in which all of them succeed. */
export const SAMPLES: { readonly [T in RequestType]: Extract<ConaxCommand, { type: T }> } = {
  ADD_SUBSCRIPTIONS: {
    type: 'ADD_SUBSCRIPTIONS',
    smartcardCaId: CARD_A,
    serviceCaId: 'GFA1',
    distributor: 'Main',
    startDate: '2026-11-01T00:00:00Z',
    endDate: '2099-12-31T23:59:59Z',
  },
  CANCEL_SUBSCRIPTIONS: {
    type: 'CANCEL_SUBSCRIPTIONS',
    smartcardCaId: CARD_A,
    serviceCaId: 'EFA2',
    distributor: null,
  },
  GET_ACTIVE_SUBSCRIPTIONS: {
    type: 'GET_ACTIVE_SUBSCRIPTIONS',
    smartcardCaId: CARD_A,
    distributor: null,
  },
  CREATE_PAIRING: {
    type: 'CREATE_PAIRING',
    smartcardCaIds: [CARD_A],
    stbCaIds: [STB_1],
    distributor: 'Main',
  },
  ADD_TO_EXISTING_PAIRING: {
    type: 'ADD_TO_EXISTING_PAIRING',
    pairedSmartcardCaId: CARD_A,
    smartcardCaIds: [CARD_B],
    stbCaIds: [STB_2],
    distributor: 'Main',
  },
  GET_PAIRING_STATUS_FOR_CARD: {
    type: 'GET_PAIRING_STATUS_FOR_CARD',
    smartcardCaId: CARD_B,
    distributor: null,
  },
  GET_PAIRING_STATUS_FOR_PAIRING_MODULE: {
    type: 'GET_PAIRING_STATUS_FOR_PAIRING_MODULE',
    stbCaId: STB_1,
    distributor: null,
  },
  SEND_MAIL_MESSAGE_TO_CLIENT: {
    type: 'SEND_MAIL_MESSAGE_TO_CLIENT',
    smartcardCaIds: [CARD_A, CARD_B],
    message: 'Your bill is ready',
    startIndicationTime: '2026-12-01T08:00:00Z',
    distributor: null,
  },
  SEND_BARK_MESSAGE_TO_CLIENT: {
    type: 'SEND_BARK_MESSAGE_TO_CLIENT',
    smartcardCaIds: [CARD_A],
    message: 'Welcome',
    startIndicationTime: null,
    displayDurationInSeconds: 15,
    distributor: null,
  },
  SEND_REPEATING_BARK_MESSAGE_TO_CLIENT: {
    type: 'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT',
    smartcardCaIds: [CARD_A],
    message: 'Renew today',
    startIndicationTime: null,
    displayDurationInSeconds: 20,
    repetitionCount: 3,
    repetitionIntervalInSeconds: 60,
    distributor: null,
  },
  DISPLAY_FINGERPRINT: {
    type: 'DISPLAY_FINGERPRINT',
    smartcardCaIds: [CARD_A],
    displayTime: null,
    durationInSeconds: 10,
    positionX: null,
    positionY: null,
    height: 12,
    slot: 'B',
    distributor: null,
  },
  UPDATE_CA_PIN_TO_GIVEN_VALUE: {
    type: 'UPDATE_CA_PIN_TO_GIVEN_VALUE',
    smartcardCaId: CARD_B,
    pin: '0042',
    distributor: null,
  },
  UPDATE_CA_PIN_TO_DEFAULT_VALUE: {
    type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE',
    smartcardCaId: CARD_B,
    distributor: null,
  },
}
