import { describe, expect, it } from 'vitest'
import { CaModel } from './ca-model.js'
import type { InventoryInput } from './inventory.js'
import {
  CARD_A,
  CARD_OTHER_SMS,
  STB_1,
  ctx,
  aModel,
  cardOf,
  codeOf,
  valueOf,
  sub,
  pair,
} from './test-support/model-fixtures.js'

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
