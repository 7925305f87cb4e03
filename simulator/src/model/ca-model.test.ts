import { describe, expect, it } from 'vitest'
import { CaModel } from './ca-model.js'
import type { CardView, InventoryInput, PairingModuleRegistration } from './inventory.js'
import type { BarkInput, FingerprintInput, MessageInput, RepeatingBarkInput } from './messages.js'
import type { AddSubscriptionItem } from './subscriptions.js'
import type { ModelRules, OperationContext, Outcome } from './types.js'

const CARD_A = '01450253313'
const CARD_B = '01900080207'
const CARD_C = '01000000003'
const CARD_OTHER_SMS = '09999999999'
const CARD_UNKNOWN = '01234567890'
const STB_1 = '1000000001'
const STB_2 = '1000000002'
const STB_3 = '1000000003'

const NOW = '2026-11-26T10:00:00.000Z'
const ctx: OperationContext = { user: 'sms', now: NOW, transactionId: 'tx-1' }

const INVENTORY: InventoryInput = {
  smartcards: [
    { caClientId: CARD_A },
    { caClientId: CARD_B },
    { caClientId: CARD_C },
    { caClientId: CARD_OTHER_SMS, sms: 'other' },
  ],
  pairingModules: [STB_1, STB_2, STB_3].map((id, index) => ({
    pairingModuleId: id,
    serialNumber: `KA2611XB00000${index + 1}`,
    productCode: 'KSTB5043',
    productDescription: 'Kaon KSTB5043 HD Conax Zapper',
  })),
  products: [{ productId: 'GFA1', name: 'Gold' }, { productId: 'EFA2' }, { productId: '1001' }],
}

function aModel(rules: Partial<ModelRules> = {}): CaModel {
  const model = new CaModel({ defaultSms: 'sms', rules })
  const registered = model.registerInventory(INVENTORY)
  expect(registered.ok).toBe(true)
  return model
}

function cardOf(model: CaModel, caClientId: string): CardView {
  const view = model.card(caClientId)
  if (!view) {
    throw new Error(`card ${caClientId} is not known to the model`)
  }
  return view
}

const codeOf = (outcome: Outcome<unknown>): string => (outcome.ok ? 'OK' : outcome.code)

function valueOf<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) {
    throw new Error(`expected OK, got ${outcome.code}: ${outcome.message}`)
  }
  return outcome.value
}

const sub = (
  caClientId: string,
  productId: string,
  extra: Partial<AddSubscriptionItem> = {},
): AddSubscriptionItem => ({
  caClientId,
  productId,
  distributor: null,
  startDate: null,
  endDate: null,
  ...extra,
})

const mail = (message: string, caClientIds: readonly string[] = [CARD_A]): MessageInput => ({
  caClientIds,
  message,
  startIndicationTime: null,
  sequenceNumber: null,
})

const bark = (message: string, extra: Partial<BarkInput> = {}): BarkInput => ({
  ...mail(message),
  displayDurationInSeconds: null,
  ...extra,
})

const repeatingBark = (
  repetitionIntervalInSeconds: number,
  repetitionCount = 3,
): RepeatingBarkInput => ({
  ...bark('Pay your bill'),
  repetitionCount,
  repetitionIntervalInSeconds,
})

const fingerprint = (extra: Partial<FingerprintInput> = {}): FingerprintInput => ({
  caClientIds: [CARD_A],
  displayTime: null,
  durationInSeconds: null,
  positionX: null,
  positionY: null,
  height: null,
  slot: null,
  sequenceNumber: null,
  ...extra,
})

const pair = (model: CaModel, cards: readonly string[], stbs: readonly string[]): string =>
  valueOf(
    model.createPairing(ctx, { caClientIds: cards, pairingModuleIds: stbs, distributor: null }),
  )

const pairingOf = (model: CaModel, caClientId: string): CardView['pairing'] =>
  cardOf(model, caClientId).pairing

describe('CaModel inventory', () => {
  it('registers cards with the default SMS and PIN and no state', () => {
    const model = aModel()

    expect(cardOf(model, CARD_A)).toEqual({
      caClientId: CARD_A,
      sms: 'sms',
      pin: '1234',
      subscriptions: [],
      pairing: null,
      inbox: [],
      screen: [],
      fingerprints: [],
    })
    expect(cardOf(model, CARD_OTHER_SMS).sms).toBe('other')
    expect(model.stats()).toEqual({ smartcards: 4, pairingModules: 3, products: 3, pairings: 0 })
  })

  it('keeps the products, PIN and pairing of a card registered again', () => {
    const model = aModel()
    valueOf(model.addSubscriptions(ctx, [sub(CARD_A, 'GFA1')]))
    valueOf(model.updatePin(ctx, CARD_A, '4321'))
    pair(model, [CARD_A], [STB_1])

    const again = model.registerInventory({
      smartcards: [{ caClientId: CARD_A }],
      pairingModules: [
        {
          pairingModuleId: STB_1,
          serialNumber: 'NEW-SERIAL',
          productCode: 'KSTB5043',
          productDescription: 'renamed',
        },
      ],
    })

    expect(valueOf(again)).toEqual({ smartcards: 1, pairingModules: 1, products: 0 })
    const card = cardOf(model, CARD_A)
    expect(card.subscriptions.map((p) => p.productId)).toEqual(['GFA1'])
    expect(card.pin).toBe('4321')
    expect(card.sms).toBe('sms')
    expect(card.pairing?.pairingModuleIds).toEqual([STB_1])
    expect(model.pairingModule(STB_1)).toMatchObject({
      serialNumber: 'NEW-SERIAL',
      productDescription: 'renamed',
      pairingId: expect.any(String) as unknown,
    })
    expect(model.stats().smartcards).toBe(4)
  })

  it.each<[string, InventoryInput, string]>([
    [
      'a card id of 10 digits',
      { smartcards: [{ caClientId: '01900080208' }, { caClientId: '0145025331' }] },
      "smartcards[1].caClientId '0145025331'",
    ],
    [
      'a pairing module id with a letter',
      {
        smartcards: [{ caClientId: '01900080208' }],
        pairingModules: [
          { pairingModuleId: '12A', serialNumber: 's', productCode: 'c', productDescription: 'd' },
        ],
      },
      "pairingModules[0].pairingModuleId '12A'",
    ],
    [
      'a product id with a space',
      { smartcards: [{ caClientId: '01900080208' }], products: [{ productId: 'GF A1' }] },
      "products[0].productId 'GF A1'",
    ],
  ])('rejects %s and registers nothing of the batch', (_label, input, named) => {
    const model = aModel()

    const outcome = model.registerInventory(input)

    expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
    expect(outcome.message).toContain(named)
    expect(model.card('01900080208')).toBeNull()
    expect(model.stats()).toEqual({ smartcards: 4, pairingModules: 3, products: 3, pairings: 0 })
  })

  it('rejects a letter product id under the digits-only profile', () => {
    const model = new CaModel({ defaultSms: 'sms', rules: { productIdFormat: 'digits' } })

    const outcome = model.registerInventory({
      products: [{ productId: '1001' }, { productId: 'GFA1' }],
    })

    expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
    expect(outcome.message).toContain('digits')
    expect(model.catalogue()).toEqual([])
  })
})

describe('CaModel subscriptions', () => {
  it('activates a new product with StartDate defaulting to now', () => {
    const model = aModel()

    const outcome = model.addSubscriptions(ctx, [sub(CARD_A, 'GFA1', { distributor: 'Main' })])

    expect(valueOf(outcome)).toBe(1)
    expect(cardOf(model, CARD_A).subscriptions).toEqual([
      { productId: 'GFA1', distributor: 'Main', startDate: NOW, endDate: null },
    ])
  })

  it('answers OK without a second entry for an active product, updating its dates and distributor', () => {
    const model = aModel()
    valueOf(
      model.addSubscriptions(ctx, [
        sub(CARD_A, 'GFA1', { distributor: 'Main', startDate: '2026-11-01T00:00:00.000Z' }),
      ]),
    )

    const outcome = model.addSubscriptions(ctx, [
      sub(CARD_A, 'GFA1', { distributor: 'TWIN1', endDate: '2026-12-31T23:59:59.000Z' }),
    ])

    expect(valueOf(outcome)).toBe(0)
    expect(cardOf(model, CARD_A).subscriptions).toEqual([
      {
        productId: 'GFA1',
        distributor: 'TWIN1',
        startDate: '2026-11-01T00:00:00.000Z',
        endDate: '2026-12-31T23:59:59.000Z',
      },
    ])
  })

  it('rejects an EndDate before the StartDate', () => {
    const model = aModel()

    const outcome = model.addSubscriptions(ctx, [
      sub(CARD_A, 'GFA1', {
        startDate: '2026-12-01T00:00:00.000Z',
        endDate: '2026-11-30T00:00:00.000Z',
      }),
    ])

    expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
    expect(outcome.message).toContain('EndDate')
    expect(cardOf(model, CARD_A).subscriptions).toEqual([])
  })

  it('applies nothing when one item of the request is bad', () => {
    const model = aModel()

    const outcome = model.addSubscriptions(ctx, [
      sub(CARD_A, 'GFA1'),
      sub(CARD_B, 'EFA2'),
      sub(CARD_C, 'NOPE9'),
    ])

    expect(codeOf(outcome)).toBe('PRODUCT_NOT_FOUND')
    expect(outcome.message).toContain('Subscription 3')
    expect(outcome.message).toContain('NOPE9')
    expect(cardOf(model, CARD_A).subscriptions).toEqual([])
    expect(cardOf(model, CARD_B).subscriptions).toEqual([])
  })

  it.each<[string, AddSubscriptionItem, string, string]>([
    ['a card id of 10 digits', sub('0145025331', 'GFA1'), 'INPUT_VALIDATION_ERROR', '0145025331'],
    [
      'a distributor of 33 characters',
      sub(CARD_A, 'GFA1', { distributor: 'x'.repeat(33) }),
      'INPUT_VALIDATION_ERROR',
      'Distributor',
    ],
    ['an unknown card', sub(CARD_UNKNOWN, 'GFA1'), 'CLIENT_NOT_FOUND', CARD_UNKNOWN],
    [
      'a card of another SMS',
      sub(CARD_OTHER_SMS, 'GFA1'),
      'CLIENT_NOT_MANAGED_BY_SMS',
      CARD_OTHER_SMS,
    ],
    ['a product not in the catalogue', sub(CARD_A, 'ZZZ9'), 'PRODUCT_NOT_FOUND', 'ZZZ9'],
  ])('answers %s with %s', (_label, item, code, named) => {
    const model = aModel()

    const outcome = model.addSubscriptions(ctx, [item])

    expect(codeOf(outcome)).toBe(code)
    expect(outcome.message).toContain(named)
    expect(cardOf(model, CARD_A).subscriptions).toEqual([])
  })

  it('rejects a request naming more distinct cards than maxCardsPerRequest', () => {
    const model = aModel({ maxCardsPerRequest: 2 })

    const tooMany = model.addSubscriptions(ctx, [
      sub(CARD_A, 'GFA1'),
      sub(CARD_B, 'GFA1'),
      sub(CARD_C, 'GFA1'),
    ])
    const sameCardTwice = model.addSubscriptions(ctx, [
      sub(CARD_A, 'GFA1'),
      sub(CARD_A, 'EFA2'),
      sub(CARD_B, 'GFA1'),
    ])

    expect(codeOf(tooMany)).toBe('INPUT_VALIDATION_ERROR')
    expect(tooMany.message).toContain('3 cards')
    expect(valueOf(sameCardTwice)).toBe(3)
    expect(cardOf(model, CARD_C).subscriptions).toEqual([])
  })

  it("rejects the product id 'GFA1' under the digits-only profile", () => {
    const model = new CaModel({ defaultSms: 'sms', rules: { productIdFormat: 'digits' } })
    valueOf(
      model.registerInventory({
        smartcards: [{ caClientId: CARD_A }],
        products: [{ productId: '1001' }],
      }),
    )

    const letters = model.addSubscriptions(ctx, [sub(CARD_A, 'GFA1')])
    const digits = model.addSubscriptions(ctx, [sub(CARD_A, '1001')])

    expect(codeOf(letters)).toBe('INPUT_VALIDATION_ERROR')
    expect(letters.message).toContain("ProductId 'GFA1'")
    expect(valueOf(digits)).toBe(1)
  })

  it('cancels an active product and answers OK without change for one not active', () => {
    const model = aModel()
    valueOf(model.addSubscriptions(ctx, [sub(CARD_A, 'GFA1'), sub(CARD_A, 'EFA2')]))

    const cancelled = model.cancelSubscriptions(ctx, [
      { caClientId: CARD_A, productId: 'GFA1', distributor: null },
    ])
    const notActive = model.cancelSubscriptions(ctx, [
      { caClientId: CARD_B, productId: 'GFA1', distributor: 'Main' },
    ])

    expect(valueOf(cancelled)).toBe(1)
    expect(valueOf(notActive)).toBe(0)
    expect(cardOf(model, CARD_A).subscriptions.map((p) => p.productId)).toEqual(['EFA2'])
  })

  it('cancels nothing when one card of the request is unknown', () => {
    const model = aModel()
    valueOf(model.addSubscriptions(ctx, [sub(CARD_A, 'GFA1')]))

    const outcome = model.cancelSubscriptions(ctx, [
      { caClientId: CARD_A, productId: 'GFA1', distributor: null },
      { caClientId: CARD_UNKNOWN, productId: 'GFA1', distributor: null },
    ])

    expect(codeOf(outcome)).toBe('CLIENT_NOT_FOUND')
    expect(cardOf(model, CARD_A).subscriptions).toHaveLength(1)
  })

  it('leaves out products whose EndDate has passed by default', () => {
    const model = aModel()
    valueOf(
      model.addSubscriptions(ctx, [
        sub(CARD_A, 'GFA1', {
          startDate: '2026-01-01T00:00:00.000Z',
          endDate: '2026-06-30T00:00:00.000Z',
        }),
        sub(CARD_A, 'EFA2', { endDate: NOW }),
        sub(CARD_A, '1001', { endDate: '2027-01-01T00:00:00.000Z' }),
      ]),
    )

    const active = valueOf(model.getActiveSubscriptions(ctx, CARD_A))

    expect(active.map((p) => p.productId)).toEqual(['EFA2', '1001'])
    expect(cardOf(model, CARD_A).subscriptions).toHaveLength(3)
  })

  it('shows expired products when hideExpiredProducts is off', () => {
    const model = aModel({ hideExpiredProducts: false })
    valueOf(
      model.addSubscriptions(ctx, [
        sub(CARD_A, 'GFA1', {
          startDate: '2026-01-01T00:00:00.000Z',
          endDate: '2026-06-30T00:00:00.000Z',
        }),
      ]),
    )

    const active = valueOf(model.getActiveSubscriptions(ctx, CARD_A))

    expect(active).toEqual([
      {
        productId: 'GFA1',
        distributor: null,
        startDate: '2026-01-01T00:00:00.000Z',
        endDate: '2026-06-30T00:00:00.000Z',
      },
    ])
  })

  it('refuses GetActiveSubscriptions for a card of another SMS', () => {
    const model = aModel()

    expect(codeOf(model.getActiveSubscriptions(ctx, CARD_OTHER_SMS))).toBe(
      'CLIENT_NOT_MANAGED_BY_SMS',
    )
    expect(codeOf(model.getActiveSubscriptions({ ...ctx, user: 'other' }, CARD_OTHER_SMS))).toBe(
      'OK',
    )
  })
})

describe('CaModel pairing', () => {
  it('pairs cards with STBs and reports the pairing from either side', () => {
    const model = aModel()

    valueOf(
      model.createPairing(ctx, {
        caClientIds: [CARD_A, CARD_B],
        pairingModuleIds: [STB_1],
        distributor: 'TWIN1',
      }),
    )

    const expected = {
      paired: true,
      caClientIds: [CARD_A, CARD_B],
      pairingModules: [
        {
          pairingModuleId: STB_1,
          serialNumber: 'KA2611XB000001',
          productCode: 'KSTB5043',
          productDescription: 'Kaon KSTB5043 HD Conax Zapper',
        },
      ],
    }
    expect(valueOf(model.pairingStatusForCard(ctx, CARD_B))).toEqual(expected)
    expect(valueOf(model.pairingStatusForModule(ctx, STB_1))).toEqual(expected)
    expect(pairingOf(model, CARD_A)?.distributor).toBe('TWIN1')
  })

  it("cancels the whole earlier pairing of a named device under pairingReplace 'whole'", () => {
    const model = aModel()
    pair(model, [CARD_A, CARD_B], [STB_1])

    pair(model, [CARD_A], [STB_2])

    expect(pairingOf(model, CARD_A)).toMatchObject({
      caClientIds: [CARD_A],
      pairingModuleIds: [STB_2],
    })
    expect(pairingOf(model, CARD_B)).toBeNull()
    expect(valueOf(model.pairingStatusForModule(ctx, STB_1)).paired).toBe(false)
    expect(model.stats().pairings).toBe(1)
  })

  it("takes only the named device out of its pairing under pairingReplace 'detach'", () => {
    const model = aModel({ pairingReplace: 'detach' })
    pair(model, [CARD_A, CARD_B], [STB_1])

    pair(model, [CARD_A], [STB_2])

    expect(pairingOf(model, CARD_A)).toMatchObject({
      caClientIds: [CARD_A],
      pairingModuleIds: [STB_2],
    })
    expect(pairingOf(model, CARD_B)).toMatchObject({
      caClientIds: [CARD_B],
      pairingModuleIds: [STB_1],
    })
    expect(valueOf(model.pairingStatusForModule(ctx, STB_1)).caClientIds).toEqual([CARD_B])
    expect(model.stats().pairings).toBe(2)
  })

  it('dissolves a pairing left without an STB after a detach', () => {
    const model = aModel({ pairingReplace: 'detach' })
    pair(model, [CARD_A, CARD_B], [STB_1])

    pair(model, [CARD_C], [STB_1])

    expect(pairingOf(model, CARD_A)).toBeNull()
    expect(pairingOf(model, CARD_B)).toBeNull()
    expect(pairingOf(model, CARD_C)).toMatchObject({
      caClientIds: [CARD_C],
      pairingModuleIds: [STB_1],
    })
    expect(model.stats().pairings).toBe(1)
  })

  it('dissolves a pairing left without a card after a detach', () => {
    const model = aModel({ pairingReplace: 'detach' })
    pair(model, [CARD_A], [STB_1, STB_2])

    pair(model, [CARD_A], [STB_3])

    expect(valueOf(model.pairingStatusForModule(ctx, STB_1)).paired).toBe(false)
    expect(valueOf(model.pairingStatusForModule(ctx, STB_2)).paired).toBe(false)
    expect(model.stats().pairings).toBe(1)
  })

  it.each<[string, string, string]>([
    ['an unknown STB', '42', 'PAIRING_MODULE_NOT_FOUND'],
    ['an STB id of 21 digits', '1'.repeat(21), 'INPUT_VALIDATION_ERROR'],
  ])('refuses a pairing with %s and keeps the earlier one', (_label, stb, code) => {
    const model = aModel()
    pair(model, [CARD_A], [STB_1])

    const outcome = model.createPairing(ctx, {
      caClientIds: [CARD_A],
      pairingModuleIds: [stb],
      distributor: null,
    })

    expect(codeOf(outcome)).toBe(code)
    expect(outcome.message).toContain(stb)
    expect(pairingOf(model, CARD_A)?.pairingModuleIds).toEqual([STB_1])
  })

  it('answers NOT_PAIRED when adding to a card that has no pairing', () => {
    const model = aModel()

    const outcome = model.addToExistingPairing(ctx, {
      pairedCaClientId: CARD_A,
      caClientIds: [CARD_B],
      pairingModuleIds: [],
    })

    expect(codeOf(outcome)).toBe('NOT_PAIRED')
    expect(outcome.message).toContain(CARD_A)
    expect(pairingOf(model, CARD_B)).toBeNull()
  })

  it('adds cards and STBs to the pairing of the paired card', () => {
    const model = aModel()
    const id = pair(model, [CARD_A], [STB_1])

    const outcome = model.addToExistingPairing(ctx, {
      pairedCaClientId: CARD_A,
      caClientIds: [CARD_B],
      pairingModuleIds: [STB_2],
    })

    expect(valueOf(outcome)).toBe(id)
    expect(pairingOf(model, CARD_B)).toMatchObject({
      caClientIds: [CARD_A, CARD_B],
      pairingModuleIds: [STB_1, STB_2],
    })
  })

  it('moves a device out of another pairing, dissolving that one when it is left without a card', () => {
    const model = aModel()
    pair(model, [CARD_A], [STB_1])
    pair(model, [CARD_B], [STB_2])

    valueOf(
      model.addToExistingPairing(ctx, {
        pairedCaClientId: CARD_A,
        caClientIds: [CARD_B],
        pairingModuleIds: [],
      }),
    )

    expect(pairingOf(model, CARD_A)?.caClientIds).toEqual([CARD_A, CARD_B])
    expect(valueOf(model.pairingStatusForModule(ctx, STB_2)).paired).toBe(false)
    expect(model.stats().pairings).toBe(1)
  })

  it('moves an STB out of another pairing that keeps its other members', () => {
    const model = aModel()
    pair(model, [CARD_A], [STB_1])
    pair(model, [CARD_B], [STB_2, STB_3])

    valueOf(
      model.addToExistingPairing(ctx, {
        pairedCaClientId: CARD_A,
        caClientIds: [],
        pairingModuleIds: [STB_3],
      }),
    )

    expect(pairingOf(model, CARD_A)?.pairingModuleIds).toEqual([STB_1, STB_3])
    expect(pairingOf(model, CARD_B)?.pairingModuleIds).toEqual([STB_2])
  })

  it('changes nothing when the devices added are already members', () => {
    const model = aModel()
    pair(model, [CARD_A, CARD_B], [STB_1])

    const outcome = model.addToExistingPairing(ctx, {
      pairedCaClientId: CARD_A,
      caClientIds: [CARD_A, CARD_B],
      pairingModuleIds: [STB_1],
    })

    expect(codeOf(outcome)).toBe('OK')
    expect(outcome.message).toContain('0 device(s)')
    expect(pairingOf(model, CARD_A)).toMatchObject({
      caClientIds: [CARD_A, CARD_B],
      pairingModuleIds: [STB_1],
    })
  })

  it('refuses AddToExistingPairing with nothing to add', () => {
    const model = aModel()
    pair(model, [CARD_A], [STB_1])

    const outcome = model.addToExistingPairing(ctx, {
      pairedCaClientId: CARD_A,
      caClientIds: [],
      pairingModuleIds: [],
    })

    expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
  })

  it('answers not paired for a card and an STB without a pairing', () => {
    const model = aModel()
    const unpaired = { paired: false, caClientIds: [], pairingModules: [] }

    expect(valueOf(model.pairingStatusForCard(ctx, CARD_A))).toEqual(unpaired)
    expect(valueOf(model.pairingStatusForModule(ctx, STB_1))).toEqual(unpaired)
  })

  it.each<[string, string]>([
    ['9', 'PAIRING_MODULE_NOT_FOUND'],
    ['12A', 'INPUT_VALIDATION_ERROR'],
    ['', 'INPUT_VALIDATION_ERROR'],
    ['1'.repeat(21), 'INPUT_VALIDATION_ERROR'],
  ])("answers pairing status for STB '%s' with %s", (stb, code) => {
    const model = aModel()

    expect(codeOf(model.pairingStatusForModule(ctx, stb))).toBe(code)
  })

  it.each<[string, string]>([
    ['0145025331', 'INPUT_VALIDATION_ERROR'],
    ['0145025331X', 'INPUT_VALIDATION_ERROR'],
    [CARD_UNKNOWN, 'CLIENT_NOT_FOUND'],
    [CARD_OTHER_SMS, 'CLIENT_NOT_MANAGED_BY_SMS'],
  ])("answers pairing status for card '%s' with %s", (card, code) => {
    const model = aModel()

    expect(codeOf(model.pairingStatusForCard(ctx, card))).toBe(code)
  })
})

describe('CaModel messages', () => {
  it('puts a mail message of 141 characters in the inbox with its transaction', () => {
    const model = aModel()
    const text = 'm'.repeat(141)

    const outcome = model.sendMail(ctx, {
      ...mail(text, [CARD_A, CARD_B, CARD_A]),
      startIndicationTime: '2026-11-27T08:00:00.000Z',
      sequenceNumber: 7,
    })

    expect(valueOf(outcome)).toBe(2)
    expect(cardOf(model, CARD_B).inbox).toEqual([
      {
        message: text,
        startIndicationTime: '2026-11-27T08:00:00.000Z',
        receivedAt: NOW,
        transactionId: 'tx-1',
        sequenceNumber: 7,
      },
    ])
    expect(cardOf(model, CARD_A).inbox).toHaveLength(1)
  })

  it('rejects a mail message of 142 characters and an empty one', () => {
    const model = aModel()

    const long = model.sendMail(ctx, mail('m'.repeat(142)))
    const empty = model.sendMail(ctx, mail(''))

    expect(codeOf(long)).toBe('INPUT_VALIDATION_ERROR')
    expect(long.message).toContain('142 characters')
    expect(codeOf(empty)).toBe('INPUT_VALIDATION_ERROR')
    expect(cardOf(model, CARD_A).inbox).toEqual([])
  })

  it('counts characters, not UTF-16 code units', () => {
    const model = aModel()

    const outcome = model.sendMail(ctx, mail('😀'.repeat(141)))

    expect(valueOf(outcome)).toBe(1)
  })

  it('shows a bark of 129 characters with a default duration of 20 seconds and rejects 130', () => {
    const model = aModel()

    valueOf(model.sendBark(ctx, bark('b'.repeat(129))))
    const long = model.sendBark(ctx, bark('b'.repeat(130)))

    expect(codeOf(long)).toBe('INPUT_VALIDATION_ERROR')
    expect(cardOf(model, CARD_A).screen).toEqual([
      {
        kind: 'BARK',
        message: 'b'.repeat(129),
        displayDurationInSeconds: 20,
        startIndicationTime: null,
        repetitionCount: null,
        repetitionIntervalInSeconds: null,
        receivedAt: NOW,
        transactionId: 'tx-1',
        sequenceNumber: null,
      },
    ])
  })

  it('rejects a bark display duration below 1 second', () => {
    const model = aModel()

    const outcome = model.sendBark(ctx, bark('hello', { displayDurationInSeconds: 0 }))

    expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
    expect(outcome.message).toContain('DisplayDurationInSeconds')
  })

  it("accepts 129 'é' counted in characters and rejects them as 258 UTF-8 bytes", () => {
    const text = 'é'.repeat(129)
    const inCharacters = aModel()
    const inBytes = aModel({ messageLengthUnit: 'utf8-bytes' })

    const byCharacters = inCharacters.sendBark(ctx, bark(text))
    const byBytes = inBytes.sendBark(ctx, bark(text))
    const fitsInBytes = inBytes.sendBark(ctx, bark('é'.repeat(64)))

    expect(valueOf(byCharacters)).toBe(1)
    expect(codeOf(byBytes)).toBe('INPUT_VALIDATION_ERROR')
    expect(byBytes.message).toContain('258 UTF-8 bytes')
    expect(valueOf(fitsInBytes)).toBe(1)
  })

  it('counts a mail message in UTF-8 bytes under that profile', () => {
    const model = aModel({ messageLengthUnit: 'utf8-bytes' })

    const fits = model.sendMail(ctx, mail('€'.repeat(47)))
    const tooLong = model.sendMail(ctx, mail('€'.repeat(48)))

    expect(valueOf(fits)).toBe(1)
    expect(codeOf(tooLong)).toBe('INPUT_VALIDATION_ERROR')
    expect(tooLong.message).toContain('144 UTF-8 bytes')
  })

  it.each([10, 20, 2540, 2550])('accepts a repetition interval of %i seconds', (interval) => {
    const model = aModel()

    valueOf(model.sendRepeatingBark(ctx, repeatingBark(interval)))

    expect(cardOf(model, CARD_A).screen[0]).toMatchObject({
      kind: 'REPEATING_BARK',
      repetitionCount: 3,
      repetitionIntervalInSeconds: interval,
    })
  })

  it.each([0, 5, 15, 2555, 2560, -10])(
    'rejects a repetition interval of %i seconds',
    (interval) => {
      const model = aModel()

      const outcome = model.sendRepeatingBark(ctx, repeatingBark(interval))

      expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
      expect(outcome.message).toContain('RepetitionIntervalInSeconds')
      expect(cardOf(model, CARD_A).screen).toEqual([])
    },
  )

  it('rejects a repetition count below 1', () => {
    const model = aModel()

    const outcome = model.sendRepeatingBark(ctx, repeatingBark(60, 0))

    expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
    expect(outcome.message).toContain('RepetitionCount')
  })

  it('keeps the newest messages when maxMessagesPerCard is reached', () => {
    const model = aModel({ maxMessagesPerCard: 3 })

    for (const n of [1, 2, 3, 4, 5]) {
      valueOf(model.sendMail({ ...ctx, transactionId: `tx-${n}` }, mail(`message ${n}`)))
      valueOf(model.sendBark(ctx, bark(`bark ${n}`)))
      valueOf(model.displayFingerprint({ ...ctx, transactionId: `tx-${n}` }, fingerprint()))
    }

    const card = cardOf(model, CARD_A)
    expect(card.inbox.map((m) => m.message)).toEqual(['message 3', 'message 4', 'message 5'])
    expect(card.screen.map((m) => m.message)).toEqual(['bark 3', 'bark 4', 'bark 5'])
    expect(card.fingerprints.map((f) => f.transactionId)).toEqual(['tx-3', 'tx-4', 'tx-5'])
  })

  it('delivers nothing when one card of the request is unknown', () => {
    const model = aModel()

    const outcome = model.sendMail(ctx, mail('hello', [CARD_A, CARD_UNKNOWN]))

    expect(codeOf(outcome)).toBe('CLIENT_NOT_FOUND')
    expect(outcome.message).toContain(CARD_UNKNOWN)
    expect(cardOf(model, CARD_A).inbox).toEqual([])
  })
})

describe('CaModel fingerprints and PIN', () => {
  it('schedules a fingerprint with the defaults: now, 10 seconds, height 12, slot A', () => {
    const model = aModel()

    valueOf(model.displayFingerprint(ctx, fingerprint()))

    expect(cardOf(model, CARD_A).fingerprints).toEqual([
      {
        displayTime: NOW,
        durationInSeconds: 10,
        positionX: null,
        positionY: null,
        height: 12,
        slot: 'A',
        receivedAt: NOW,
        transactionId: 'tx-1',
        sequenceNumber: null,
      },
    ])
  })

  it('keeps the values given for a fingerprint', () => {
    const model = aModel()

    valueOf(
      model.displayFingerprint(
        ctx,
        fingerprint({
          displayTime: '2026-11-26T20:30:00.000Z',
          durationInSeconds: 30,
          positionX: 0,
          positionY: 640,
          height: 24,
          slot: 'B',
          sequenceNumber: 5,
        }),
      ),
    )

    expect(cardOf(model, CARD_A).fingerprints[0]).toMatchObject({
      displayTime: '2026-11-26T20:30:00.000Z',
      durationInSeconds: 30,
      positionX: 0,
      positionY: 640,
      height: 24,
      slot: 'B',
      sequenceNumber: 5,
    })
  })

  it.each<[string, Partial<FingerprintInput>]>([
    ['DurationInSeconds', { durationInSeconds: 0 }],
    ['Height', { height: 0 }],
    ['PositionX', { positionX: -1 }],
    ['PositionY', { positionY: -5 }],
    ['Slot', { slot: 'C' }],
    ['CaClientId', { caClientIds: [CARD_A, '123'] }],
  ])('rejects a fingerprint with a bad %s', (name, extra) => {
    const model = aModel()

    const outcome = model.displayFingerprint(ctx, fingerprint(extra))

    expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
    expect(outcome.message).toContain(name)
    expect(cardOf(model, CARD_A).fingerprints).toEqual([])
  })

  it('sets a given PIN and resets it to 1234', () => {
    const model = aModel()

    const given = model.updatePin(ctx, CARD_A, '9876')
    const pinAfterGiven = cardOf(model, CARD_A).pin
    const reset = model.updatePin(ctx, CARD_A, null)

    expect(valueOf(given)).toBe('9876')
    expect(pinAfterGiven).toBe('9876')
    expect(valueOf(reset)).toBe('1234')
    expect(cardOf(model, CARD_A).pin).toBe('1234')
  })

  it('resets to the defaultPin of the rules', () => {
    const model = aModel({ defaultPin: '0000' })
    valueOf(model.updatePin(ctx, CARD_A, '9876'))

    valueOf(model.updatePin(ctx, CARD_A, null))

    expect(cardOf(model, CARD_A).pin).toBe('0000')
  })

  it.each(['123', '12345', '12a4', ' 1234', ''])("rejects the PIN '%s'", (pin) => {
    const model = aModel()

    const outcome = model.updatePin(ctx, CARD_A, pin)

    expect(codeOf(outcome)).toBe('INPUT_VALIDATION_ERROR')
    expect(cardOf(model, CARD_A).pin).toBe('1234')
  })

  it('refuses a PIN change on an unknown card and on a card of another SMS', () => {
    const model = aModel()

    expect(codeOf(model.updatePin(ctx, CARD_UNKNOWN, '1111'))).toBe('CLIENT_NOT_FOUND')
    expect(codeOf(model.updatePin(ctx, CARD_OTHER_SMS, null))).toBe('CLIENT_NOT_MANAGED_BY_SMS')
    expect(cardOf(model, CARD_OTHER_SMS).pin).toBe('1234')
  })
})

describe('CaModel state management', () => {
  function aBusyModel(): CaModel {
    const model = aModel()
    valueOf(model.addSubscriptions(ctx, [sub(CARD_A, 'GFA1', { distributor: 'Main' })]))
    valueOf(model.updatePin(ctx, CARD_B, '5555'))
    pair(model, [CARD_A, CARD_B], [STB_1])
    valueOf(model.sendMail(ctx, mail('hello')))
    valueOf(model.sendBark(ctx, bark('bark')))
    valueOf(model.displayFingerprint(ctx, fingerprint()))
    return model
  }

  it('gives identical card views after a snapshot round trip through JSON', () => {
    const model = aBusyModel()
    const restored = new CaModel({ defaultSms: 'sms' })

    restored.loadSnapshot(
      JSON.parse(JSON.stringify(model.toSnapshot())) as ReturnType<CaModel['toSnapshot']>,
    )

    for (const id of [CARD_A, CARD_B, CARD_C, CARD_OTHER_SMS]) {
      expect(restored.card(id)).toEqual(model.card(id))
    }
    expect(restored.pairingModule(STB_1)).toEqual(model.pairingModule(STB_1))
    expect(restored.catalogue()).toEqual(model.catalogue())
    expect(restored.stats()).toEqual(model.stats())
    expect(pair(restored, [CARD_C], [STB_3])).toBe(pair(model, [CARD_C], [STB_3]))
  })

  it('takes a snapshot that later changes to the model do not alter', () => {
    const model = aBusyModel()
    const snapshot = model.toSnapshot()
    const taken = JSON.stringify(snapshot)

    valueOf(model.addSubscriptions(ctx, [sub(CARD_A, 'EFA2')]))
    model.reset(true)

    expect(JSON.stringify(snapshot)).toBe(taken)
    const restored = new CaModel({ defaultSms: 'sms' })
    restored.loadSnapshot(snapshot)
    expect(valueOf(restored.pairingStatusForModule(ctx, STB_1)).caClientIds).toEqual([
      CARD_A,
      CARD_B,
    ])
  })

  it('keeps the inventory but forgets all state on reset(true)', () => {
    const model = aBusyModel()

    model.reset(true)

    expect(cardOf(model, CARD_B)).toEqual({
      caClientId: CARD_B,
      sms: 'sms',
      pin: '1234',
      subscriptions: [],
      pairing: null,
      inbox: [],
      screen: [],
      fingerprints: [],
    })
    expect(cardOf(model, CARD_OTHER_SMS).sms).toBe('other')
    expect(model.pairingModule(STB_1)?.pairingId).toBeNull()
    expect(model.stats()).toEqual({ smartcards: 4, pairingModules: 3, products: 3, pairings: 0 })
    expect(valueOf(model.addSubscriptions(ctx, [sub(CARD_A, 'GFA1')]))).toBe(1)
  })

  it('forgets the inventory too on reset(false)', () => {
    const model = aBusyModel()

    model.reset(false)

    expect(model.card(CARD_A)).toBeNull()
    expect(model.pairingModule(STB_1)).toBeNull()
    expect(model.stats()).toEqual({ smartcards: 0, pairingModules: 0, products: 0, pairings: 0 })
  })

  it('sets and replaces a product directly with forceAddProduct', () => {
    const model = aModel()
    const product = { productId: 'GFA1', distributor: 'Main', startDate: NOW, endDate: null }

    valueOf(model.forceAddProduct(CARD_A, product))
    valueOf(model.forceAddProduct(CARD_A, { ...product, endDate: '2027-01-01T00:00:00.000Z' }))

    expect(cardOf(model, CARD_A).subscriptions).toEqual([
      { ...product, endDate: '2027-01-01T00:00:00.000Z' },
    ])
    expect(codeOf(model.forceAddProduct(CARD_UNKNOWN, product))).toBe('CLIENT_NOT_FOUND')
    expect(codeOf(model.forceAddProduct(CARD_A, { ...product, productId: 'ZZZ9' }))).toBe(
      'PRODUCT_NOT_FOUND',
    )
  })

  it('removes a product directly with forceRemoveProduct', () => {
    const model = aModel()
    valueOf(model.addSubscriptions(ctx, [sub(CARD_A, 'GFA1'), sub(CARD_A, 'EFA2')]))

    expect(model.forceRemoveProduct(CARD_A, 'GFA1')).toBe(true)
    expect(model.forceRemoveProduct(CARD_A, 'GFA1')).toBe(false)
    expect(model.forceRemoveProduct(CARD_UNKNOWN, 'EFA2')).toBe(false)
    expect(cardOf(model, CARD_A).subscriptions.map((p) => p.productId)).toEqual(['EFA2'])
  })

  it('cancels the whole pairing of a card with forceUnpair', () => {
    const model = aModel({ pairingReplace: 'detach' })
    pair(model, [CARD_A, CARD_B], [STB_1])

    expect(model.forceUnpair(CARD_A)).toBe(true)
    expect(model.forceUnpair(CARD_A)).toBe(false)
    expect(pairingOf(model, CARD_B)).toBeNull()
    expect(model.pairingModule(STB_1)?.pairingId).toBeNull()
    expect(model.stats().pairings).toBe(0)
  })
})

describe('CaModel STB ownership', () => {
  const other: OperationContext = { user: 'other', now: NOW, transactionId: 'tx-2' }
  const OTHER_CARD_2 = '09999999998'

  function twoSmsModel(rules: Partial<ModelRules> = {}): CaModel {
    const model = aModel(rules)
    valueOf(model.registerInventory({ smartcards: [{ caClientId: OTHER_CARD_2, sms: 'other' }] }))
    return model
  }

  it('gives an unowned STB to the SMS user who pairs it first', () => {
    const model = aModel()

    pair(model, [CARD_A], [STB_1])

    expect(model.pairingModule(STB_1)?.sms).toBe('sms')
    expect(model.pairingModule(STB_2)?.sms).toBeNull()
  })

  it("refuses CreatePairing naming another SMS user's STB and leaves that user's pairing intact", () => {
    const model = twoSmsModel()
    valueOf(
      model.createPairing(other, {
        caClientIds: [CARD_OTHER_SMS],
        pairingModuleIds: [STB_1],
        distributor: null,
      }),
    )
    const before = model.toSnapshot()

    const outcome = model.createPairing(ctx, {
      caClientIds: [CARD_A],
      pairingModuleIds: [STB_1],
      distributor: null,
    })

    expect(codeOf(outcome)).toBe('CLIENT_NOT_MANAGED_BY_SMS')
    expect(outcome.message).toContain(STB_1)
    expect(model.toSnapshot()).toEqual(before)
    expect(pairingOf(model, CARD_OTHER_SMS)?.pairingModuleIds).toEqual([STB_1])
  })

  it("refuses AddToExistingPairing naming another SMS user's STB", () => {
    const model = twoSmsModel()
    pair(model, [CARD_A], [STB_1])
    valueOf(
      model.createPairing(other, {
        caClientIds: [CARD_OTHER_SMS],
        pairingModuleIds: [STB_2],
        distributor: null,
      }),
    )
    const before = model.toSnapshot()

    const outcome = model.addToExistingPairing(ctx, {
      pairedCaClientId: CARD_A,
      caClientIds: [],
      pairingModuleIds: [STB_2],
    })

    expect(codeOf(outcome)).toBe('CLIENT_NOT_MANAGED_BY_SMS')
    expect(outcome.message).toContain(STB_2)
    expect(model.toSnapshot()).toEqual(before)
  })

  it("answers GetPairingStatusForPairingModule on another SMS user's STB with CLIENT_NOT_MANAGED_BY_SMS", () => {
    const model = twoSmsModel()
    pair(model, [CARD_A], [STB_1])

    expect(codeOf(model.pairingStatusForModule(other, STB_1))).toBe('CLIENT_NOT_MANAGED_BY_SMS')
    expect(valueOf(model.pairingStatusForModule(other, STB_2)).paired).toBe(false)
  })

  it('takes an owner from the inventory, and keeps it when the STB is registered again without one', () => {
    const model = aModel()
    const stb = { ...(INVENTORY.pairingModules?.[0] as PairingModuleRegistration), sms: 'other' }

    valueOf(model.registerInventory({ pairingModules: [stb] }))
    valueOf(model.registerInventory({ pairingModules: [{ ...stb, sms: undefined }] }))

    expect(model.pairingModule(STB_1)?.sms).toBe('other')
    expect(
      codeOf(
        model.createPairing(ctx, {
          caClientIds: [CARD_A],
          pairingModuleIds: [STB_1],
          distributor: null,
        }),
      ),
    ).toBe('CLIENT_NOT_MANAGED_BY_SMS')
  })

  it("records owners but does not check them under stbOwnership 'off'", () => {
    const model = twoSmsModel({ stbOwnership: 'off' })
    valueOf(
      model.createPairing(other, {
        caClientIds: [CARD_OTHER_SMS],
        pairingModuleIds: [STB_1],
        distributor: null,
      }),
    )

    pair(model, [CARD_A], [STB_1])

    expect(pairingOf(model, CARD_OTHER_SMS)).toBeNull()
    expect(model.pairingModule(STB_1)?.sms).toBe('other')
  })

  it('derives the owner of an STB stored without one from the first card of its pairing', () => {
    const model = twoSmsModel()
    valueOf(
      model.createPairing(other, {
        caClientIds: [CARD_OTHER_SMS],
        pairingModuleIds: [STB_1],
        distributor: null,
      }),
    )
    const snapshot = model.toSnapshot()
    const older = {
      ...snapshot,
      pairingModules: snapshot.pairingModules.map(({ sms: _sms, ...stb }) => stb),
    }
    const restored = new CaModel({ defaultSms: 'sms' })

    restored.loadSnapshot(older)

    expect(restored.pairingModule(STB_1)?.sms).toBe('other')
    expect(restored.pairingModule(STB_2)?.sms).toBeNull()
  })
})

describe('CaModel undo log', () => {
  function tracked(): CaModel {
    const model = aModel()
    model.trackChanges()
    model.commitUndo(model.undoPosition())
    return model
  }

  const changes: [string, (model: CaModel) => void][] = [
    ['AddSubscriptions', (m) => valueOf(m.addSubscriptions(ctx, [sub(CARD_A, 'EFA2')]))],
    [
      'AddSubscriptions on an active product',
      (m) =>
        valueOf(
          m.addSubscriptions(ctx, [sub(CARD_A, 'GFA1', { endDate: '2030-01-01T00:00:00.000Z' })]),
        ),
    ],
    ['CancelSubscriptions', (m) => valueOf(m.cancelSubscriptions(ctx, [sub(CARD_A, 'GFA1')]))],
    ['CreatePairing over an earlier pairing', (m) => pair(m, [CARD_A, CARD_C], [STB_2, STB_3])],
    [
      'AddToExistingPairing',
      (m) =>
        valueOf(
          m.addToExistingPairing(ctx, {
            pairedCaClientId: CARD_A,
            caClientIds: [CARD_C],
            pairingModuleIds: [STB_3],
          }),
        ),
    ],
    ['SendMail', (m) => valueOf(m.sendMail(ctx, mail('again', [CARD_A, CARD_C])))],
    ['SendBark', (m) => valueOf(m.sendBark(ctx, bark('again')))],
    ['DisplayFingerprint', (m) => valueOf(m.displayFingerprint(ctx, fingerprint()))],
    ['UpdatePin', (m) => valueOf(m.updatePin(ctx, CARD_A, '9999'))],
    [
      'inventory',
      (m) =>
        valueOf(
          m.registerInventory({
            smartcards: [{ caClientId: '01111111111' }, { caClientId: CARD_A, sms: 'other' }],
            pairingModules: [
              {
                ...(INVENTORY.pairingModules?.[1] as PairingModuleRegistration),
                serialNumber: 'X',
              },
            ],
            products: [{ productId: 'NEW1' }, { productId: 'GFA1', name: 'renamed' }],
          }),
        ),
    ],
    [
      'forceAddProduct',
      (m) =>
        valueOf(
          m.forceAddProduct(CARD_B, {
            productId: 'EFA2',
            distributor: null,
            startDate: NOW,
            endDate: null,
          }),
        ),
    ],
    ['forceRemoveProduct', (m) => expect(m.forceRemoveProduct(CARD_A, 'GFA1')).toBe(true)],
    ['forceUnpair', (m) => expect(m.forceUnpair(CARD_B)).toBe(true)],
    ['reset keeping the inventory', (m) => m.reset(true)],
    ['reset', (m) => m.reset(false)],
  ]

  function busy(model: CaModel): void {
    valueOf(model.addSubscriptions(ctx, [sub(CARD_A, 'GFA1', { distributor: 'Main' })]))
    pair(model, [CARD_C], [STB_3])
    pair(model, [CARD_A, CARD_B], [STB_1])
    valueOf(model.sendMail(ctx, mail('hello')))
    valueOf(model.sendBark(ctx, bark('bark')))
    valueOf(model.displayFingerprint(ctx, fingerprint()))
  }

  it.each(changes)('rolls back %s to exactly the state before', (_name, change) => {
    const model = tracked()
    busy(model)
    model.commitUndo(model.undoPosition())
    const before = model.toSnapshot()
    const views = [CARD_A, CARD_B, CARD_C].map((id) => model.card(id))

    change(model)
    expect(model.toSnapshot()).not.toEqual(before)
    model.rollback()

    expect(model.toSnapshot()).toEqual(before)
    expect([CARD_A, CARD_B, CARD_C].map((id) => model.card(id))).toEqual(views)
    expect(model.cardIds(0, 10)).toEqual({
      total: 4,
      ids: [CARD_A, CARD_B, CARD_C, CARD_OTHER_SMS],
    })
  })

  it('rolls back several changes newest first, keeping what was committed', () => {
    const model = tracked()
    valueOf(model.addSubscriptions(ctx, [sub(CARD_A, 'GFA1')]))
    model.commitUndo(model.undoPosition())
    const committed = model.toSnapshot()

    valueOf(model.updatePin(ctx, CARD_A, '1111'))
    pair(model, [CARD_A], [STB_1])
    valueOf(model.updatePin(ctx, CARD_A, '2222'))
    pair(model, [CARD_A, CARD_B], [STB_2])
    model.rollback()

    expect(model.toSnapshot()).toEqual(committed)
    expect(model.undoPosition()).toBe(0)
  })

  it('commits only the changes before the position a store write started at', () => {
    const model = tracked()
    valueOf(model.updatePin(ctx, CARD_A, '1111'))
    const position = model.undoPosition()
    const afterFirst = model.toSnapshot()
    valueOf(model.updatePin(ctx, CARD_A, '2222'))

    model.commitUndo(position)
    model.rollback()

    expect(model.toSnapshot()).toEqual(afterFirst)
  })

  it('rolls back only the changes after a given position (an operation that threw half-way)', () => {
    const model = tracked()
    valueOf(model.updatePin(ctx, CARD_A, '1111'))
    const afterFirst = model.toSnapshot()
    const position = model.undoPosition()
    pair(model, [CARD_A, CARD_B], [STB_1])

    model.rollback(position)
    expect(model.toSnapshot()).toEqual(afterFirst)
    model.rollback()

    expect(cardOf(model, CARD_A).pin).toBe('1234')
  })

  it('records nothing unless tracking is on', () => {
    const model = aModel()

    valueOf(model.updatePin(ctx, CARD_A, '1111'))
    model.rollback()

    expect(model.undoPosition()).toBe(0)
    expect(cardOf(model, CARD_A).pin).toBe('1111')
  })
})
