import { describe, expect, it } from 'vitest'
import { CaModel } from './ca-model.js'
import type { AddSubscriptionItem } from './subscriptions.js'
import {
  CARD_A,
  CARD_B,
  CARD_C,
  CARD_OTHER_SMS,
  CARD_UNKNOWN,
  NOW,
  ctx,
  aModel,
  cardOf,
  codeOf,
  valueOf,
  sub,
} from './test-support/model-fixtures.js'

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
