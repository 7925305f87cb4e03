import { describe, expect, it } from 'vitest'
import type { ConaxCommand } from './commands.js'
import type { InstalledItem, ProvisioningProvider, Subscription } from './crm.js'
import { testProvider } from '../test-support/test-provider.js'
import {
  planUtility,
  UTILITY_NAMES,
  type UtilityPlan,
  type UtilityRejection,
  type UtilityRequest,
} from './utilities.js'

const NOW = '2026-11-26T10:00:00.000Z'

const PROVIDER: ProvisioningProvider = testProvider({
  services: [{ service: 'GEOLOGICAL', caId: 'GFA1' }],
  distributors: [
    { name: 'Main', alternativeCode: 'MAIN', allowedServices: 'ALL' },
    { name: 'TWIN1', alternativeCode: 'T1', allowedServices: 'ALL' },
  ],
})

const CARD = (n: number): string => `0145025330${n}`
const STB = (n: number): string => `100000000${n}`
const cardItem = (n: number, distributor: string | null = 'Main'): InstalledItem => ({
  serialNumber: `SC${n}`,
  product: 'SC-CONAX',
  kind: 'SMARTCARD',
  caId: CARD(n),
  distributor,
})
const stbItem = (n: number, distributor: string | null = 'Main'): InstalledItem => ({
  serialNumber: `STB${n}`,
  product: 'STB-HD',
  kind: 'STB',
  caId: STB(n),
  distributor,
})

const subscriptionWith = (items: readonly InstalledItem[], id = 'S1'): Subscription => ({
  id,
  type: null,
  state: 'EFFECTIVE',
  services: [{ service: 'GEOLOGICAL', distributor: 'Main', state: 'EFFECTIVE' }],
  installedItems: items,
  swaps: [],
  createdAt: NOW,
  updatedAt: NOW,
})

/** Cards 1 and 2 and STB 1 on Main, card 3 and STB 3 on TWIN1. */
const SUB = subscriptionWith([
  cardItem(1),
  cardItem(2),
  stbItem(1),
  cardItem(3, 'TWIN1'),
  stbItem(3, 'TWIN1'),
])

function planned(
  request: UtilityRequest,
  subscription: Subscription | null = SUB,
  provider = PROVIDER,
): UtilityPlan {
  const result = planUtility(provider, subscription, request, NOW)
  if (!result.ok) {
    throw new Error(`${result.error.code} ${result.error.field ?? ''}: ${result.error.message}`)
  }
  return result.value
}

function rejected(
  request: UtilityRequest,
  subscription: Subscription | null = SUB,
  provider = PROVIDER,
): UtilityRejection {
  const result = planUtility(provider, subscription, request, NOW)
  if (result.ok) {
    throw new Error(`planned ${JSON.stringify(result.value.commands)}`)
  }
  return result.error
}

const only = (plan: UtilityPlan): ConaxCommand => {
  expect(plan.commands).toHaveLength(1)
  return plan.commands[0] as ConaxCommand
}

const mail = (message: string, extra: Partial<UtilityRequest> = {}): UtilityRequest =>
  ({
    utility: 'SEND_MESSAGE',
    subscriptionId: 'S1',
    messageType: 'MAIL',
    message,
    ...extra,
  }) as UtilityRequest
const bark = (extra: Record<string, unknown> = {}): UtilityRequest => ({
  utility: 'SEND_MESSAGE',
  subscriptionId: 'S1',
  messageType: 'BARK',
  message: 'Hello',
  ...extra,
})
const repeating = (extra: Record<string, unknown> = {}): UtilityRequest => ({
  utility: 'SEND_MESSAGE',
  subscriptionId: 'S1',
  messageType: 'REPEATING_BARK',
  message: 'Hello',
  repetitionCount: 3,
  repetitionIntervalInSeconds: 60,
  ...extra,
})
const fingerprint = (extra: Record<string, unknown> = {}): UtilityRequest => ({
  utility: 'DISPLAY_FINGERPRINT',
  subscriptionId: 'S1',
  ...extra,
})

const where = (r: UtilityRejection): string => `${r.code} ${r.field ?? '-'}`

describe('planUtility: process names', () => {
  const examples: Record<(typeof UTILITY_NAMES)[number], UtilityRequest> = {
    SEND_MESSAGE: mail('Hi'),
    DISPLAY_FINGERPRINT: fingerprint(),
    PAIR_DEVICES: { utility: 'PAIR_DEVICES', mode: 'NEW', smartcards: [CARD(1)], stbs: [STB(1)] },
    RESET_PIN: { utility: 'RESET_PIN', smartcard: CARD(1) },
    GET_CONAX_INFORMATION: {
      utility: 'GET_CONAX_INFORMATION',
      query: 'ACTIVE_SUBSCRIPTIONS',
      smartcard: CARD(1),
    },
  }
  it.each([
    ['SEND_MESSAGE', 'MAIL_BARK_MESSAGE_UTILITY'],
    ['DISPLAY_FINGERPRINT', 'FIINGERPRINTING_UTILITY'],
    ['PAIR_DEVICES', 'PAIRING_UTILITY'],
    ['RESET_PIN', 'RESET_PIN'],
    ['GET_CONAX_INFORMATION', 'CONAX_INFORMATION_UTILITY'],
  ] as const)('%s runs as %s', (utility, processName) => {
    expect(planned(examples[utility]).processName).toBe(processName)
  })
  it('covers every utility', () => {
    expect(Object.keys(examples).sort()).toEqual([...UTILITY_NAMES].sort())
  })
})

describe('planUtility: SEND_MESSAGE text', () => {
  it.each([
    ['MAIL', 141],
    ['BARK', 129],
    ['REPEATING_BARK', 129],
  ] as const)('a %s message of %i characters is sent, one more is refused', (type, limit) => {
    const request = (length: number): UtilityRequest =>
      ({ ...repeating(), messageType: type, message: 'x'.repeat(length) }) as UtilityRequest
    const withoutRepetition = (r: UtilityRequest): UtilityRequest => {
      if (type === 'REPEATING_BARK') {
        return r
      }
      const {
        repetitionCount: _c,
        repetitionIntervalInSeconds: _i,
        ...rest
      } = r as Extract<UtilityRequest, { utility: 'SEND_MESSAGE' }>
      return rest
    }
    expect(planned(withoutRepetition(request(limit))).commands).toHaveLength(2)
    const refused = rejected(withoutRepetition(request(limit + 1)))
    expect(where(refused)).toBe('MESSAGE_TOO_LONG message')
    expect(refused.message).toContain(`at most ${limit} characters`)
    expect(refused.message).toContain(`has ${limit + 1}`)
  })

  it('counts Unicode code points, not UTF-16 units', () => {
    const emoji = '\u{1F600}'
    expect(planned(mail(emoji.repeat(141))).commands).toHaveLength(2)
    expect(rejected(mail(emoji.repeat(142))).message).toContain('has 142')
  })

  it.each(['', '   '])('refuses an empty message (%j)', (message) => {
    expect(where(rejected(mail(message)))).toBe('INVALID_FIELD message')
  })
})

describe('planUtility: SEND_MESSAGE fields', () => {
  it('sends a mail to every smartcard of the subscription, one command per distributor', () => {
    expect(planned(mail('Your bill is ready')).commands).toEqual([
      {
        type: 'SEND_MAIL_MESSAGE_TO_CLIENT',
        smartcardCaIds: [CARD(1), CARD(2)],
        message: 'Your bill is ready',
        startIndicationTime: null,
        distributor: 'Main',
      },
      {
        type: 'SEND_MAIL_MESSAGE_TO_CLIENT',
        smartcardCaIds: [CARD(3)],
        message: 'Your bill is ready',
        startIndicationTime: null,
        distributor: 'TWIN1',
      },
    ])
  })

  it('gives a bark the default display duration of 20 seconds', () => {
    expect(only(planned(bark({ smartcards: [CARD(1)] })))).toEqual({
      type: 'SEND_BARK_MESSAGE_TO_CLIENT',
      smartcardCaIds: [CARD(1)],
      message: 'Hello',
      startIndicationTime: null,
      distributor: 'Main',
      displayDurationInSeconds: 20,
    })
  })

  it('sends a repeating bark with its repetition', () => {
    expect(
      only(planned(repeating({ smartcards: [CARD(3)], displayDurationInSeconds: 5 }))),
    ).toEqual({
      type: 'SEND_REPEATING_BARK_MESSAGE_TO_CLIENT',
      smartcardCaIds: [CARD(3)],
      message: 'Hello',
      startIndicationTime: null,
      distributor: 'TWIN1',
      displayDurationInSeconds: 5,
      repetitionCount: 3,
      repetitionIntervalInSeconds: 60,
    })
  })

  it.each([
    ['2026-12-01T12:00:00+02:00', '2026-12-01T10:00:00.000Z'],
    ['2026-12-01T12:00:00-0130', '2026-12-01T13:30:00.000Z'],
    ['2026-12-01T12:00:00.5Z', '2026-12-01T12:00:00.500Z'],
    ['2026-12-01T12:00', '2026-12-01T12:00:00.000Z'],
  ])('normalises startIndicationDateTime %s to %s', (given, utc) => {
    const command = only(
      planned(mail('Hi', { smartcards: [CARD(1)], startIndicationDateTime: given })),
    )
    expect(command).toMatchObject({ startIndicationTime: utc })
  })

  it.each(['tomorrow', '2026-02-30T10:00:00Z', '2026-12-01', '2026-12-01T24:00:00Z'])(
    'refuses startIndicationDateTime %s',
    (given) => {
      expect(where(rejected(mail('Hi', { startIndicationDateTime: given })))).toBe(
        'INVALID_FIELD startIndicationDateTime',
      )
    },
  )

  it.each([
    [10, null],
    [2550, null],
    [2540, null],
    [2560, 'INVALID_FIELD repetitionIntervalInSeconds'],
    [15, 'INVALID_FIELD repetitionIntervalInSeconds'],
    [0, 'INVALID_FIELD repetitionIntervalInSeconds'],
    [-10, 'INVALID_FIELD repetitionIntervalInSeconds'],
  ])('repetition interval %i: %s', (interval, refusal) => {
    const request = repeating({ repetitionIntervalInSeconds: interval })
    if (refusal === null) {
      expect(planned(request).commands[0]).toMatchObject({ repetitionIntervalInSeconds: interval })
    } else {
      const refused = rejected(request)
      expect(where(refused)).toBe(refusal)
      expect(refused.message).toContain(`${interval} must be 10 to 2550 in steps of 10`)
    }
  })

  it.each([
    [1, true],
    [255, true],
    [0, false],
    [256, false],
    [1.5, false],
  ])('repetition count %d accepted: %s', (count, accepted) => {
    const request = repeating({ repetitionCount: count })
    if (accepted) {
      expect(planned(request).commands[0]).toMatchObject({ repetitionCount: count })
    } else {
      expect(where(rejected(request))).toBe('INVALID_FIELD repetitionCount')
    }
  })

  it('requires the repetition count and interval of a repeating bark', () => {
    expect(where(rejected(repeating({ repetitionCount: undefined })))).toBe(
      'INVALID_FIELD repetitionCount',
    )
    expect(where(rejected(repeating({ repetitionIntervalInSeconds: undefined })))).toBe(
      'INVALID_FIELD repetitionIntervalInSeconds',
    )
  })

  it.each([
    [1, true],
    [0, false],
    [-1, false],
    [2.5, false],
  ])('bark display duration %d accepted: %s', (duration, accepted) => {
    const request = bark({ displayDurationInSeconds: duration })
    if (accepted) {
      expect(planned(request).commands[0]).toMatchObject({ displayDurationInSeconds: duration })
    } else {
      expect(where(rejected(request))).toBe('INVALID_FIELD displayDurationInSeconds')
    }
  })

  it('refuses fields the message type does not have', () => {
    expect(where(rejected(mail('Hi', { displayDurationInSeconds: 20 })))).toBe(
      'INVALID_FIELD displayDurationInSeconds',
    )
    expect(where(rejected(bark({ repetitionCount: 2 })))).toBe('INVALID_FIELD repetitionCount')
    expect(where(rejected(bark({ repetitionIntervalInSeconds: 20 })))).toBe(
      'INVALID_FIELD repetitionIntervalInSeconds',
    )
  })
})

describe('planUtility: target smartcards', () => {
  it('names the card that is not installed, and the cards that are', () => {
    const refused = rejected(mail('Hi', { smartcards: [CARD(1), CARD(9)] }))
    expect(where(refused)).toBe('ITEM_NOT_FOUND smartcards[1]')
    expect(refused.message).toContain(CARD(9))
    expect(refused.message).toContain(CARD(3))
  })

  it('applies the planner CA ID rule (11 digits)', () => {
    expect(where(rejected(mail('Hi', { smartcards: ['123'] })))).toBe('INVALID_CA_ID smartcards[0]')
    expect(where(rejected(fingerprint({ smartcards: [CARD(1), STB(1)] })))).toBe(
      'INVALID_CA_ID smartcards[1]',
    )
  })

  it('refuses an empty list and sends a card named twice once', () => {
    expect(where(rejected(mail('Hi', { smartcards: [] })))).toBe('INVALID_FIELD smartcards')
    expect(only(planned(mail('Hi', { smartcards: [CARD(2), CARD(1), CARD(2)] })))).toMatchObject({
      smartcardCaIds: [CARD(2), CARD(1)],
    })
  })

  it('needs the subscription, and a smartcard on it', () => {
    expect(where(rejected(mail('Hi'), null))).toBe('SUBSCRIPTION_NOT_FOUND subscriptionId')
    expect(where(rejected(mail('Hi'), subscriptionWith([cardItem(1)], 'OTHER')))).toBe(
      'SUBSCRIPTION_NOT_FOUND subscriptionId',
    )
    const noCard = rejected(fingerprint(), subscriptionWith([stbItem(1)]))
    expect(where(noCard)).toBe('NO_SMARTCARD subscriptionId')
    expect(noCard.message).toContain('no smartcard')
  })

  it('groups the cards by distributor and at most maxCardsPerRequest per command', () => {
    const subscription = subscriptionWith([
      ...[1, 2, 3, 4, 5].map((n) => cardItem(n)),
      cardItem(6, 'TWIN1'),
      cardItem(7, null),
      cardItem(8, 'TWIN1'),
    ])
    const provider = { ...PROVIDER, delivery: { ...PROVIDER.delivery, maxCardsPerRequest: 2 } }
    const groups = (request: UtilityRequest): string[] =>
      planned(request, subscription, provider).commands.map(
        (c) =>
          `${'smartcardCaIds' in c ? c.smartcardCaIds.map((id) => id.slice(-1)).join(',') : ''}@${c.distributor ?? 'none'}`,
      )
    const expected = ['1,2@Main', '3,4@Main', '5@Main', '6,8@TWIN1', '7@none']
    expect(groups(mail('Hi'))).toEqual(expected)
    expect(groups(fingerprint())).toEqual(expected)
    expect(groups(mail('Hi', { smartcards: [CARD(1), CARD(2)] }))).toEqual(['1,2@Main'])
    expect(
      planned(mail('Hi'), subscription, {
        ...PROVIDER,
        delivery: { ...PROVIDER.delivery, maxCardsPerRequest: 500 },
      }).commands,
    ).toHaveLength(3)
  })
})

describe('planUtility: DISPLAY_FINGERPRINT', () => {
  it('defaults: now, 10 seconds, position chosen by the CA, height 12, slot A', () => {
    expect(only(planned(fingerprint({ smartcards: [CARD(1)] })))).toEqual({
      type: 'DISPLAY_FINGERPRINT',
      smartcardCaIds: [CARD(1)],
      displayTime: NOW,
      durationInSeconds: 10,
      positionX: null,
      positionY: null,
      height: 12,
      slot: 'A',
      distributor: 'Main',
    })
    expect(
      only(planned(fingerprint({ smartcards: [CARD(1)], displayDateTime: null }))),
    ).toMatchObject({
      displayTime: NOW,
    })
  })

  it('takes every field given', () => {
    const command = only(
      planned(
        fingerprint({
          smartcards: [CARD(3)],
          displayDateTime: '2026-12-24T20:00:00+01:00',
          displayDurationInSeconds: 30,
          positionX: 0,
          positionY: 120,
          height: 255,
          slot: 'B',
        }),
      ),
    )
    expect(command).toEqual({
      type: 'DISPLAY_FINGERPRINT',
      smartcardCaIds: [CARD(3)],
      displayTime: '2026-12-24T19:00:00.000Z',
      durationInSeconds: 30,
      positionX: 0,
      positionY: 120,
      height: 255,
      slot: 'B',
      distributor: 'TWIN1',
    })
  })

  it.each([
    [{ height: 1 }, null],
    [{ height: 0 }, 'INVALID_FIELD height'],
    [{ height: 256 }, 'INVALID_FIELD height'],
    [{ height: 12.5 }, 'INVALID_FIELD height'],
    [{ displayDurationInSeconds: 1 }, null],
    [{ displayDurationInSeconds: 0 }, 'INVALID_FIELD displayDurationInSeconds'],
    [{ positionX: -1 }, 'INVALID_FIELD positionX'],
    [{ positionY: 1.5 }, 'INVALID_FIELD positionY'],
    [{ positionX: null, positionY: 0 }, null],
    [{ slot: 'C' }, 'INVALID_FIELD slot'],
    [{ displayDateTime: 'now' }, 'INVALID_FIELD displayDateTime'],
  ])('%j: %s', (fields, refusal) => {
    const request = fingerprint(fields)
    if (refusal === null) {
      expect(planned(request).commands).toHaveLength(2)
    } else {
      expect(where(rejected(request))).toBe(refusal)
    }
  })
})

describe('planUtility: PAIR_DEVICES', () => {
  const pair = (extra: Record<string, unknown>): UtilityRequest => ({
    utility: 'PAIR_DEVICES',
    mode: 'NEW',
    smartcards: [],
    stbs: [],
    ...extra,
  })

  it('creates a pairing without a subscription (no distributor)', () => {
    expect(only(planned(pair({ smartcards: [CARD(1)], stbs: [STB(1), STB(2)] }), null))).toEqual({
      type: 'CREATE_PAIRING',
      smartcardCaIds: [CARD(1)],
      stbCaIds: [STB(1), STB(2)],
      distributor: null,
    })
  })

  it('takes the distributor of the devices on the subscription', () => {
    expect(
      only(planned(pair({ subscriptionId: 'S1', smartcards: [CARD(3)], stbs: [STB(3)] }))),
    ).toMatchObject({ distributor: 'TWIN1' })
  })

  it('adds to an existing pairing (UPDATE)', () => {
    expect(
      only(
        planned(
          pair({ mode: 'UPDATE', subscriptionId: 'S1', pairedSmartcard: CARD(1), stbs: [STB(1)] }),
        ),
      ),
    ).toEqual({
      type: 'ADD_TO_EXISTING_PAIRING',
      pairedSmartcardCaId: CARD(1),
      smartcardCaIds: [],
      stbCaIds: [STB(1)],
      distributor: 'Main',
    })
  })

  it.each([
    [{ stbs: [STB(1)] }, 'INVALID_FIELD smartcards'],
    [{ smartcards: [CARD(1)] }, 'INVALID_FIELD stbs'],
    [
      { smartcards: [CARD(1)], stbs: [STB(1)], pairedSmartcard: CARD(2) },
      'INVALID_FIELD pairedSmartcard',
    ],
    [{ mode: 'UPDATE', stbs: [STB(1)] }, 'INVALID_FIELD pairedSmartcard'],
    [{ mode: 'UPDATE', pairedSmartcard: CARD(1) }, 'INVALID_FIELD stbs'],
    [{ mode: 'UPDATE', pairedSmartcard: '42', stbs: [STB(1)] }, 'INVALID_CA_ID pairedSmartcard'],
    [{ smartcards: ['0145025330X'], stbs: [STB(1)] }, 'INVALID_CA_ID smartcards[0]'],
    [{ smartcards: [CARD(1)], stbs: [STB(1), 'box'] }, 'INVALID_CA_ID stbs[1]'],
    [
      { subscriptionId: 'NOPE', smartcards: [CARD(1)], stbs: [STB(1)] },
      'SUBSCRIPTION_NOT_FOUND subscriptionId',
    ],
    [{ subscriptionId: 'S1', smartcards: [CARD(1)], stbs: [STB(7)] }, 'ITEM_NOT_FOUND stbs[0]'],
    [
      { mode: 'UPDATE', subscriptionId: 'S1', pairedSmartcard: CARD(7), stbs: [STB(1)] },
      'ITEM_NOT_FOUND pairedSmartcard',
    ],
    [{ subscriptionId: 'S1', smartcards: [CARD(1)], stbs: [STB(3)] }, 'INVALID_FIELD stbs[0]'],
  ])('%j: %s', (fields, refusal) => {
    expect(where(rejected(pair(fields)))).toBe(refusal)
  })

  it('refuses more smartcards than fit in one request', () => {
    const provider = { ...PROVIDER, delivery: { ...PROVIDER.delivery, maxCardsPerRequest: 2 } }
    const request = pair({ smartcards: [CARD(1), CARD(2), CARD(3)], stbs: [STB(1)] })
    expect(where(rejected(request, null, provider))).toBe('INVALID_FIELD smartcards')
  })
})

describe('planUtility: RESET_PIN', () => {
  it('resets to the default without a pin, and to the given pin with one', () => {
    expect(only(planned({ utility: 'RESET_PIN', smartcard: CARD(1) }))).toEqual({
      type: 'UPDATE_CA_PIN_TO_DEFAULT_VALUE',
      smartcardCaId: CARD(1),
      distributor: null,
    })
    expect(
      only(
        planned({ utility: 'RESET_PIN', smartcard: CARD(3), subscriptionId: 'S1', pin: '0000' }),
      ),
    ).toEqual({
      type: 'UPDATE_CA_PIN_TO_GIVEN_VALUE',
      smartcardCaId: CARD(3),
      pin: '0000',
      distributor: 'TWIN1',
    })
  })

  it.each(['123', '12345', '12a4', '', ' 1234'])('refuses pin %j', (pin) => {
    expect(where(rejected({ utility: 'RESET_PIN', smartcard: CARD(1), pin }))).toBe(
      'INVALID_FIELD pin',
    )
  })

  it('checks the smartcard', () => {
    expect(where(rejected({ utility: 'RESET_PIN', smartcard: '1' }))).toBe(
      'INVALID_CA_ID smartcard',
    )
    expect(
      where(rejected({ utility: 'RESET_PIN', smartcard: CARD(8), subscriptionId: 'S1' })),
    ).toBe('ITEM_NOT_FOUND smartcard')
    expect(
      where(rejected({ utility: 'RESET_PIN', smartcard: CARD(1), subscriptionId: 'S9' }, null)),
    ).toBe('SUBSCRIPTION_NOT_FOUND subscriptionId')
  })
})

describe('planUtility: GET_CONAX_INFORMATION', () => {
  it.each([
    [
      { query: 'ACTIVE_SUBSCRIPTIONS', smartcard: CARD(1) },
      { type: 'GET_ACTIVE_SUBSCRIPTIONS', smartcardCaId: CARD(1), distributor: 'Main' },
    ],
    [
      { query: 'SMARTCARD_PAIRING', smartcard: CARD(3) },
      { type: 'GET_PAIRING_STATUS_FOR_CARD', smartcardCaId: CARD(3), distributor: 'TWIN1' },
    ],
    [
      { query: 'STB_PAIRING', stb: STB(1) },
      { type: 'GET_PAIRING_STATUS_FOR_PAIRING_MODULE', stbCaId: STB(1), distributor: 'Main' },
    ],
  ])('%j', (fields, command) => {
    const request = { utility: 'GET_CONAX_INFORMATION', subscriptionId: 'S1', ...fields }
    expect(only(planned(request as UtilityRequest))).toEqual(command)
  })

  it.each([
    [{ query: 'ACTIVE_SUBSCRIPTIONS' }, 'INVALID_FIELD smartcard'],
    [{ query: 'STB_PAIRING', smartcard: CARD(1) }, 'INVALID_FIELD smartcard'],
    [{ query: 'STB_PAIRING' }, 'INVALID_FIELD stb'],
    [{ query: 'SMARTCARD_PAIRING', smartcard: CARD(1), stb: STB(1) }, 'INVALID_FIELD stb'],
    [{ query: 'STB_PAIRING', stb: '' }, 'INVALID_CA_ID stb'],
    [{ query: 'STB_PAIRING', stb: STB(2), subscriptionId: 'S1' }, 'ITEM_NOT_FOUND stb'],
  ])('%j: %s', (fields, refusal) => {
    const request = { utility: 'GET_CONAX_INFORMATION', ...fields }
    expect(where(rejected(request as UtilityRequest))).toBe(refusal)
  })

  it('needs no subscription (no distributor then)', () => {
    expect(
      only(planned({ utility: 'GET_CONAX_INFORMATION', query: 'STB_PAIRING', stb: STB(5) }, null)),
    ).toMatchObject({ distributor: null })
  })
})
