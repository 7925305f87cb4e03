import { describe, expect, it } from 'vitest'
import { CaModel } from './ca-model.js'
import type { PairingModuleRegistration } from './inventory.js'
import {
  CARD_A,
  CARD_B,
  CARD_C,
  CARD_OTHER_SMS,
  CARD_UNKNOWN,
  STB_1,
  STB_2,
  STB_3,
  NOW,
  ctx,
  INVENTORY,
  aModel,
  cardOf,
  codeOf,
  valueOf,
  sub,
  mail,
  bark,
  fingerprint,
  pair,
  pairingOf,
} from './test-support/model-fixtures.js'

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
