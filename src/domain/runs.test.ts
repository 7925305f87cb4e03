import { describe, expect, it } from 'vitest'
import type { InstalledItem, ProvisioningProvider, Subscription } from './crm.js'
import { testProvider } from '../test-support/test-provider.js'
import {
  checkRunDefinition,
  fingerprintCommands,
  inSegments,
  matchesCriteria,
  messageCommands,
  planReset,
  smartcardsOf,
  type MessageRunSettings,
  type ObservedCard,
} from './runs.js'

const NOW = '2026-11-26T10:00:00.000Z'

const PROVIDER: ProvisioningProvider = testProvider({
  services: [
    { service: 'GEOLOGICAL', caId: 'GFA1' },
    { service: 'ENTERTAIN', caId: 'EFA2' },
    { service: 'AGRICULTURE', caId: 'AF1' },
  ],
  distributors: [
    { name: 'Main', alternativeCode: 'MAIN', allowedServices: 'ALL' },
    { name: 'TWIN1', alternativeCode: 'T1', allowedServices: 'ALL' },
  ],
  delivery: {
    maxCardsPerRequest: 3,
    retryInitialDelayMs: 10,
    retryMaxDelayMs: 100,
    splitRefusedBatches: 'named-or-bisect',
  },
})

const item = (kind: 'SMARTCARD' | 'STB', caId: string, distributor: string): InstalledItem => ({
  serialNumber: caId,
  product: kind === 'SMARTCARD' ? 'SC-CONAX' : 'STB-HD',
  kind,
  caId,
  distributor,
})

/** Two viewing points: Main (card 1, STB 1) with GFA1 and EFA2, TWIN1 (card 2, STB 2) with AF1. */
function subscription(overrides: Partial<Subscription> = {}): Subscription {
  return {
    id: 'S1',
    type: 'RESIDENTIAL',
    state: 'EFFECTIVE',
    services: [
      { service: 'GEOLOGICAL', distributor: 'Main', state: 'EFFECTIVE' },
      { service: 'ENTERTAIN', distributor: 'Main', state: 'EFFECTIVE' },
      { service: 'AGRICULTURE', distributor: 'TWIN1', state: 'EFFECTIVE' },
    ],
    installedItems: [
      item('SMARTCARD', '01450250001', 'Main'),
      item('STB', '1000000001', 'Main'),
      item('SMARTCARD', '01450250002', 'TWIN1'),
      item('STB', '1000000002', 'TWIN1'),
    ],
    swaps: [],
    createdAt: '2026-01-15T08:00:00.000Z',
    updatedAt: NOW,
    ...overrides,
  }
}

const inSyncView = (): Map<string, ObservedCard> =>
  new Map([
    [
      '01450250001',
      {
        known: true,
        products: [
          { productId: 'GFA1', distributor: 'Main' },
          { productId: 'EFA2', distributor: 'Main' },
        ],
        pairedStbs: ['1000000001'],
      },
    ],
    [
      '01450250002',
      {
        known: true,
        products: [{ productId: 'AF1', distributor: 'TWIN1' }],
        pairedStbs: ['1000000002'],
      },
    ],
  ])

describe('planReset', () => {
  it('finds a subscription in sync when the CA holds exactly what the CRM expects', () => {
    const plan = planReset(PROVIDER, subscription(), inSyncView())
    expect(plan).toEqual({ inSync: true, commands: [], differences: [] })
  })

  it('sends only the difference: the pairing, the missing product, the stray one', () => {
    const view = inSyncView()
    view.set('01450250001', {
      known: true,
      products: [
        { productId: 'GFA1', distributor: 'Main' },
        { productId: 'AF1', distributor: 'Main' },
      ],
      pairedStbs: [],
    })
    const plan = planReset(PROVIDER, subscription(), view)
    expect(plan.inSync).toBe(false)
    expect(plan.commands).toEqual([
      {
        type: 'CREATE_PAIRING',
        smartcardCaIds: ['01450250001'],
        stbCaIds: ['1000000001'],
        distributor: 'Main',
      },
      {
        type: 'ADD_SUBSCRIPTIONS',
        smartcardCaId: '01450250001',
        serviceCaId: 'EFA2',
        distributor: 'Main',
      },
      {
        type: 'CANCEL_SUBSCRIPTIONS',
        smartcardCaId: '01450250001',
        serviceCaId: 'AF1',
        distributor: 'Main',
      },
    ])
    expect(plan.differences).toEqual([
      'card 01450250001: paired with [], expected [1000000001] (Main)',
      'card 01450250001: EFA2 missing',
      'card 01450250001: AF1 active, not expected',
    ])
  })

  it('re-adds a product the CA holds on another distributor', () => {
    const view = inSyncView()
    view.set('01450250002', {
      known: true,
      products: [{ productId: 'AF1', distributor: null }],
      pairedStbs: ['1000000002'],
    })
    expect(planReset(PROVIDER, subscription(), view).commands).toEqual([
      {
        type: 'ADD_SUBSCRIPTIONS',
        smartcardCaId: '01450250002',
        serviceCaId: 'AF1',
        distributor: 'TWIN1',
      },
    ])
  })

  it('cancels everything on the cards of an inactive subscription, and leaves the pairing', () => {
    const plan = planReset(PROVIDER, subscription({ state: 'IN_RESTING' }), inSyncView())
    expect(plan.commands.map((c) => c.type)).toEqual([
      'CANCEL_SUBSCRIPTIONS',
      'CANCEL_SUBSCRIPTIONS',
      'CANCEL_SUBSCRIPTIONS',
    ])
  })
})

describe('criteria and segments', () => {
  it('match on creation period, type and id; an absent field does not constrain', () => {
    const s = subscription()
    expect(matchesCriteria(s, {})).toBe(true)
    expect(
      matchesCriteria(s, {
        createdFrom: '2026-01-01T00:00:00Z',
        createdTo: '2026-01-31T23:59:59Z',
      }),
    ).toBe(true)
    expect(matchesCriteria(s, { createdFrom: '2026-02-01T00:00:00+01:00' })).toBe(false)
    expect(matchesCriteria(s, { types: ['BUSINESS'] })).toBe(false)
    expect(matchesCriteria(s, { ids: ['S1'] })).toBe(true)
  })

  it('take a subscription in an included segment and in no excluded one', () => {
    const s = subscription()
    expect(inSegments(s, [], [])).toBe(true)
    expect(inSegments(s, [{ name: 'homes', types: ['RESIDENTIAL'] }], [])).toBe(true)
    expect(inSegments(s, [{ name: 'firms', types: ['BUSINESS'] }], [])).toBe(false)
    expect(inSegments(s, [], [{ name: 'vip', ids: ['S1'] }])).toBe(false)
  })
})

describe('message and fingerprint batches', () => {
  const settings: MessageRunSettings = {
    kind: 'MAIL_BARK_MESSAGE',
    messageType: 'BARK',
    externalSystem: 'SMS-GW',
  }
  const cards = [
    ...smartcardsOf([subscription()]),
    ...smartcardsOf([
      subscription({
        id: 'S2',
        installedItems: [
          item('SMARTCARD', '01450250003', 'Main'),
          item('SMARTCARD', '01450250004', 'Main'),
          item('SMARTCARD', '01450250005', 'Main'),
        ],
      }),
    ]),
  ]

  it('group cards by distributor and split at the per-request limit, with the queue number', () => {
    const commands = messageCommands(PROVIDER, settings, {
      text: 'Hello',
      cards,
      now: NOW,
      communicationQueueNumber: '42',
    })
    expect(commands.ok && commands.value).toEqual([
      {
        type: 'SEND_BARK_MESSAGE_TO_CLIENT',
        smartcardCaIds: ['01450250001', '01450250003', '01450250004'],
        message: 'Hello',
        startIndicationTime: null,
        distributor: 'Main',
        displayDurationInSeconds: 20,
        communicationQueueNumber: '42',
      },
      {
        type: 'SEND_BARK_MESSAGE_TO_CLIENT',
        smartcardCaIds: ['01450250005'],
        message: 'Hello',
        startIndicationTime: null,
        distributor: 'Main',
        displayDurationInSeconds: 20,
        communicationQueueNumber: '42',
      },
      {
        type: 'SEND_BARK_MESSAGE_TO_CLIENT',
        smartcardCaIds: ['01450250002'],
        message: 'Hello',
        startIndicationTime: null,
        distributor: 'TWIN1',
        displayDurationInSeconds: 20,
        communicationQueueNumber: '42',
      },
    ])
  })

  it('refuse a text too long for the message type, naming the field', () => {
    const result = messageCommands(PROVIDER, settings, { text: 'x'.repeat(130), cards, now: NOW })
    expect(result.ok || result.error).toMatchObject({ code: 'MESSAGE_TOO_LONG', field: 'message' })
    expect(messageCommands(PROVIDER, settings, { text: 'x'.repeat(129), cards, now: NOW }).ok).toBe(
      true,
    )
  })

  it('make fingerprints with the run defaults (now, 10 s, height 12, slot A)', () => {
    const result = fingerprintCommands(
      PROVIDER,
      { kind: 'FINGERPRINTING', included: [], excluded: [] },
      cards.slice(0, 1),
      NOW,
    )
    expect(result.ok && result.value).toEqual([
      {
        type: 'DISPLAY_FINGERPRINT',
        smartcardCaIds: ['01450250001'],
        distributor: 'Main',
        displayTime: NOW,
        durationInSeconds: 10,
        positionX: null,
        positionY: null,
        height: 12,
        slot: 'A',
      },
    ])
  })
})

describe('checkRunDefinition', () => {
  it('checks message settings with the utility rules, naming the field', () => {
    const bad = checkRunDefinition(
      PROVIDER,
      {
        name: 'Weekly bark',
        alternativeCode: 'WB',
        kind: 'MAIL_BARK_MESSAGE',
        messageType: 'REPEATING_BARK',
        externalSystem: 'SMS-GW',
        repetitionCount: 3,
        repetitionIntervalInSeconds: 15,
      },
      NOW,
    )
    expect(bad.ok || bad.error).toMatchObject({ field: 'repetitionIntervalInSeconds' })
  })

  it('checks fingerprint fields and the segment periods', () => {
    const base = { name: 'Piracy sweep', alternativeCode: 'PS', kind: 'FINGERPRINTING' as const }
    const height = checkRunDefinition(
      PROVIDER,
      { ...base, included: [], excluded: [], height: 0 },
      NOW,
    )
    expect(height.ok || height.error).toMatchObject({ field: 'height' })
    const period = checkRunDefinition(
      PROVIDER,
      {
        ...base,
        included: [
          { name: 'new', createdFrom: '2026-02-01T00:00:00Z', createdTo: '2026-01-01T00:00:00Z' },
        ],
        excluded: [],
      },
      NOW,
    )
    expect(period.ok || period.error).toMatchObject({ field: 'included[0].createdTo' })
  })

  it('refuses a message field the message type does not have, as the utility does', () => {
    const base = {
      name: 'Notices',
      alternativeCode: 'N',
      kind: 'MAIL_BARK_MESSAGE' as const,
      externalSystem: 'SMS-GW',
    }
    const mail = checkRunDefinition(
      PROVIDER,
      { ...base, messageType: 'MAIL', displayDurationInSeconds: 15 },
      NOW,
    )
    expect(mail.ok || mail.error).toMatchObject({
      code: 'INVALID_FIELD',
      field: 'displayDurationInSeconds',
    })
    const bark = checkRunDefinition(
      PROVIDER,
      { ...base, messageType: 'BARK', repetitionCount: 2 },
      NOW,
    )
    expect(bark.ok || bark.error).toMatchObject({ field: 'repetitionCount' })
  })

  it('refuses a period that is not a real date-time, and keeps one as a UTC instant', () => {
    const base = { name: 'Reset', alternativeCode: 'R', kind: 'RESET_SUBSCRIPTION' as const }
    for (const createdFrom of ['2026-02-30T00:00:00Z', '2026', 'yesterday']) {
      const bad = checkRunDefinition(PROVIDER, { ...base, criteria: { createdFrom } }, NOW)
      expect(bad.ok || bad.error).toMatchObject({ field: 'criteria.createdFrom' })
    }
    const good = checkRunDefinition(
      PROVIDER,
      {
        ...base,
        criteria: { createdFrom: '2026-01-01T00:00:00', createdTo: '2026-01-31T01:00:00+01:00' },
      },
      NOW,
    )
    expect(good.ok && good.value).toMatchObject({
      criteria: { createdFrom: '2026-01-01T00:00:00.000Z', createdTo: '2026-01-31T00:00:00.000Z' },
    })
  })

  it('accepts a reset run over a creation period', () => {
    const ok = checkRunDefinition(
      PROVIDER,
      {
        name: 'Nightly reset',
        alternativeCode: 'NR',
        kind: 'RESET_SUBSCRIPTION',
        criteria: { createdFrom: '2026-01-01T00:00:00Z', types: ['RESIDENTIAL'] },
      },
      NOW,
    )
    expect(ok.ok).toBe(true)
  })
})
