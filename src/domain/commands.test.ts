import { describe, expect, it } from 'vitest'
import {
  REQUEST_TYPES,
  cardsOf,
  conaxCommandSchema,
  isSplittable,
  stbsOf,
  type CommandOf,
  type RequestType,
} from './commands.js'
import { parametersSet } from './provisioning-request.js'

// Every declared command: one example of each type, and what the domain answers about it. A type
// declared without its example here does not compile.

const CARD_A = '01450253313'
const CARD_B = '01900080207'
const STB_1 = '0001000001'
const STB_2 = '1000000002'

interface Expected<T extends RequestType> {
  readonly command: CommandOf<T>
  readonly cards: readonly string[]
  readonly stbs: readonly string[]
  /** The parameters_set, keys in display order. */
  readonly parameters: Readonly<Record<string, unknown>>
  readonly splittable: boolean
}

const EXAMPLES: { readonly [T in RequestType]: Expected<T> } = {
  ADD_SUBSCRIPTIONS: {
    command: {
      type: 'ADD_SUBSCRIPTIONS',
      smartcardCaId: CARD_A,
      serviceCaId: 'GFA1',
      distributor: 'Main',
      startDate: '2026-11-01T00:00:00Z',
    },
    cards: [CARD_A],
    stbs: [],
    parameters: {
      sub_provisioning_distribution_id: 'Main',
      smartcard_ca_id: CARD_A,
      service_ca_id: 'GFA1',
    },
    splittable: false,
  },
  CANCEL_SUBSCRIPTIONS: {
    command: {
      type: 'CANCEL_SUBSCRIPTIONS',
      smartcardCaId: CARD_A,
      serviceCaId: 'EFA2',
      distributor: null,
    },
    cards: [CARD_A],
    stbs: [],
    parameters: {
      sub_provisioning_distribution_id: null,
      smartcard_ca_id: CARD_A,
      service_ca_id: 'EFA2',
    },
    splittable: false,
  },
  GET_ACTIVE_SUBSCRIPTIONS: {
    command: { type: 'GET_ACTIVE_SUBSCRIPTIONS', smartcardCaId: CARD_A, distributor: null },
    cards: [CARD_A],
    stbs: [],
    parameters: { sub_provisioning_distribution_id: null, smartcard_ca_id: CARD_A },
    splittable: false,
  },
  CREATE_PAIRING: {
    command: {
      type: 'CREATE_PAIRING',
      smartcardCaIds: [CARD_A],
      stbCaIds: [STB_1, STB_2],
      distributor: 'Main',
    },
    cards: [CARD_A],
    stbs: [STB_1, STB_2],
    parameters: {
      sub_provisioning_distribution_id: 'Main',
      smartcard_ca_id: [CARD_A],
      stb_ca_id: [STB_1, STB_2],
    },
    splittable: false,
  },
  ADD_TO_EXISTING_PAIRING: {
    command: {
      type: 'ADD_TO_EXISTING_PAIRING',
      pairedSmartcardCaId: CARD_A,
      smartcardCaIds: [CARD_B],
      stbCaIds: [STB_2],
      distributor: 'Main',
    },
    cards: [CARD_A, CARD_B],
    stbs: [STB_2],
    parameters: {
      sub_provisioning_distribution_id: 'Main',
      paired_smartcard_ca_id: CARD_A,
      smartcard_ca_id: [CARD_B],
      stb_ca_id: [STB_2],
    },
    splittable: false,
  },
  GET_PAIRING_STATUS_FOR_CARD: {
    command: { type: 'GET_PAIRING_STATUS_FOR_CARD', smartcardCaId: CARD_B, distributor: null },
    cards: [CARD_B],
    stbs: [],
    parameters: { sub_provisioning_distribution_id: null, smartcard_ca_id: CARD_B },
    splittable: false,
  },
  GET_PAIRING_STATUS_FOR_PAIRING_MODULE: {
    command: { type: 'GET_PAIRING_STATUS_FOR_PAIRING_MODULE', stbCaId: STB_1, distributor: null },
    cards: [],
    stbs: [STB_1],
    parameters: { sub_provisioning_distribution_id: null, stb_ca_id: STB_1 },
    splittable: false,
  },
  DISPLAY_FINGERPRINT: {
    command: {
      type: 'DISPLAY_FINGERPRINT',
      smartcardCaIds: [CARD_A, CARD_B],
      displayTime: null,
      durationInSeconds: 10,
      positionX: 5,
      positionY: null,
      height: 12,
      slot: 'B',
      distributor: null,
    },
    cards: [CARD_A, CARD_B],
    stbs: [],
    parameters: {
      sub_provisioning_distribution_id: null,
      smartcard_ca_id: [CARD_A, CARD_B],
      display_date_time: null,
      display_duration_in_seconds: 10,
      position_x: 5,
      position_y: null,
      height: 12,
      fingerprint_slot: 'B',
    },
    splittable: true,
  },
  UPDATE_CA_PIN_TO_DEFAULT_VALUE: {
    command: { type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE', smartcardCaId: CARD_B, distributor: null },
    cards: [CARD_B],
    stbs: [],
    parameters: { sub_provisioning_distribution_id: null, smartcard_ca_id: CARD_B },
    splittable: false,
  },
  UPDATE_CA_PIN_TO_GIVEN_VALUE: {
    command: {
      type: 'UPDATE_CA_PIN_TO_GIVEN_VALUE',
      smartcardCaId: CARD_B,
      pin: '0042',
      distributor: null,
    },
    cards: [CARD_B],
    stbs: [],
    parameters: { sub_provisioning_distribution_id: null, smartcard_ca_id: CARD_B, pin: '0042' },
    splittable: false,
  },
  SEND_MAIL_MESSAGE_TO_CLIENT: {
    command: {
      type: 'SEND_MAIL_MESSAGE_TO_CLIENT',
      smartcardCaIds: [CARD_A, CARD_B],
      message: 'Your bill is ready',
      startIndicationTime: '2026-12-01T08:00:00Z',
      distributor: null,
      communicationQueueNumber: '7',
    },
    cards: [CARD_A, CARD_B],
    stbs: [],
    parameters: {
      sub_provisioning_distribution_id: null,
      smartcard_ca_id: [CARD_A, CARD_B],
      message: 'Your bill is ready',
      start_indication_date_time: '2026-12-01T08:00:00Z',
      communication_queue_number: '7',
    },
    splittable: true,
  },
  SEND_BARK_MESSAGE_TO_CLIENT: {
    command: {
      type: 'SEND_BARK_MESSAGE_TO_CLIENT',
      smartcardCaIds: [CARD_A],
      message: 'Welcome',
      startIndicationTime: null,
      displayDurationInSeconds: 15,
      distributor: 'Main',
    },
    cards: [CARD_A],
    stbs: [],
    parameters: {
      sub_provisioning_distribution_id: 'Main',
      smartcard_ca_id: [CARD_A],
      message: 'Welcome',
      start_indication_date_time: null,
      display_duration_in_seconds: 15,
      communication_queue_number: null,
    },
    splittable: true,
  },
  SEND_REPEATING_BARK_MESSAGE_TO_CLIENT: {
    command: {
      type: 'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT',
      smartcardCaIds: [CARD_A],
      message: 'Renew today',
      startIndicationTime: null,
      displayDurationInSeconds: 20,
      repetitionCount: 3,
      repetitionIntervalInSeconds: 60,
      distributor: null,
    },
    cards: [CARD_A],
    stbs: [],
    parameters: {
      sub_provisioning_distribution_id: null,
      smartcard_ca_id: [CARD_A],
      message: 'Renew today',
      start_indication_date_time: null,
      display_duration_in_seconds: 20,
      repetition_count: 3,
      repetition_interval_in_seconds: 60,
      communication_queue_number: null,
    },
    splittable: true,
  },
}

const cases = REQUEST_TYPES.map((type) => [type, EXAMPLES[type]] as const)

describe('the declared Conax commands', () => {
  it('are the 13 types of CRM.COM, in the order of their concepts', () => {
    expect(REQUEST_TYPES).toEqual([
      'ADD_SUBSCRIPTIONS',
      'CANCEL_SUBSCRIPTIONS',
      'GET_ACTIVE_SUBSCRIPTIONS',
      'CREATE_PAIRING',
      'ADD_TO_EXISTING_PAIRING',
      'GET_PAIRING_STATUS_FOR_CARD',
      'GET_PAIRING_STATUS_FOR_PAIRING_MODULE',
      'DISPLAY_FINGERPRINT',
      'UPDATE_CA_PIN_TO_DEFAULT_VALUE',
      'UPDATE_CA_PIN_TO_GIVEN_VALUE',
      'SEND_MAIL_MESSAGE_TO_CLIENT',
      'SEND_BARK_MESSAGE_TO_CLIENT',
      'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT',
    ])
  })

  it.each(cases)('%s: its devices, its parameters_set, whether it may be split', (_, expected) => {
    expect(cardsOf(expected.command)).toEqual(expected.cards)
    expect(stbsOf(expected.command)).toEqual(expected.stbs)
    // Key order too: the API shows the parameters in this order.
    expect(Object.entries(parametersSet(expected.command))).toEqual(
      Object.entries(expected.parameters),
    )
    expect(isSplittable(expected.command)).toBe(expected.splittable)
  })

  it.each(cases)('%s: its schema reads it back as it was, and names a missing field', (_, e) => {
    expect(conaxCommandSchema.parse(e.command)).toEqual(e.command)
    const { distributor: _distributor, ...withoutDistributor } = e.command
    const result = conaxCommandSchema.safeParse(withoutDistributor)
    expect(result.success).toBe(false)
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['distributor']])
  })

  it('refuses a command of an undeclared type, or with a field of the wrong kind', () => {
    expect(conaxCommandSchema.safeParse({ type: 'ADD_PRODUCT', distributor: null }).success).toBe(
      false,
    )
    const wrong = conaxCommandSchema.safeParse({ ...EXAMPLES.CREATE_PAIRING.command, stbCaIds: 7 })
    expect(wrong.error?.issues.map((issue) => issue.path)).toEqual([['stbCaIds']])
  })
})
