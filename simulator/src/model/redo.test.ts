import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CaModel } from './ca-model.js'
import { CaState } from './ca-state.js'
import { applyRedo, buildRedo, RedoError, type RedoRecord } from './redo.js'
import {
  CARD_A,
  CARD_B,
  CARD_C,
  CARD_OTHER_SMS,
  INVENTORY,
  STB_1,
  STB_2,
  STB_3,
  ctx,
  mail,
  bark,
  fingerprint,
  sub,
} from './test-support/model-fixtures.js'
import type { ModelRules } from './types.js'

/**
 * A redo record, through JSON, takes a model holding the state it was built on to the state the
 * changes left: for any sequence of changes (every kind of change, resets, failed groups rolled
 * back), replaying the records of the groups that were stored gives the same model.
 */

const RULES: Partial<ModelRules> = { maxMessagesPerCard: 3 }
const STBS = [STB_1, STB_2, STB_3]
const PRODUCTS = ['GFA1', 'EFA2', '1001']

function tracked(): { state: CaState; model: CaModel } {
  const state = new CaState({ rules: RULES, defaultSms: 'sms' })
  const model = new CaModel(state)
  model.trackChanges()
  return { state, model }
}

const pick = <T>(items: readonly T[]) => fc.constantFrom(...items)
/** Mostly cards a request may name; now and then one of another SMS user or not registered yet. */
const card = fc.oneof(
  { weight: 6, arbitrary: pick([CARD_A, CARD_B, CARD_C]) },
  { weight: 1, arbitrary: pick([CARD_OTHER_SMS, '01111111111']) },
)

/** One change to the model, by kind, with the items it names (some of them refused: no change). */
const change = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), card, product: pick(PRODUCTS) }),
  fc.record({ kind: fc.constant('cancel' as const), card, product: pick(PRODUCTS) }),
  fc.record({
    kind: fc.constant('pair' as const),
    cards: fc.uniqueArray(card, { minLength: 1, maxLength: 3 }),
    stbs: fc.uniqueArray(pick(STBS), { minLength: 1, maxLength: 2 }),
  }),
  fc.record({ kind: fc.constant('join' as const), card, other: card }),
  fc.record({ kind: fc.constant('unpair' as const), card }),
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constantFrom('mail' as const, 'bark' as const, 'fingerprint' as const),
      cards: fc.uniqueArray(card, { minLength: 1, maxLength: 3 }),
      text: fc.string({ maxLength: 5 }),
    }),
  },
  fc.record({ kind: fc.constant('pin' as const), card, pin: fc.constantFrom('1111', null) }),
  fc.record({
    kind: fc.constant('inventory' as const),
    card: fc.constantFrom('01111111111', CARD_B),
    sms: fc.constantFrom('sms', 'other'),
    serial: fc.string({ maxLength: 3 }),
    product: fc.constantFrom('NEW1', 'GFA1'),
  }),
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), keep: fc.boolean() }) },
)
type Change = typeof change extends fc.Arbitrary<infer C> ? C : never

function apply(model: CaModel, c: Change, n: number): void {
  const at = {
    ...ctx,
    transactionId: `tx-${n}`,
    now: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  }
  switch (c.kind) {
    case 'add':
      model.addSubscriptions(at, [sub(c.card, c.product, { distributor: n % 2 ? 'Main' : null })])
      return
    case 'cancel':
      model.cancelSubscriptions(at, [sub(c.card, c.product)])
      return
    case 'pair':
      model.createPairing(at, { caClientIds: c.cards, pairingModuleIds: c.stbs, distributor: null })
      return
    case 'join':
      model.addToExistingPairing(at, {
        pairedCaClientId: c.card,
        caClientIds: [c.other],
        pairingModuleIds: [],
      })
      return
    case 'unpair':
      model.forceUnpair(c.card)
      return
    case 'mail':
      model.sendMail(at, mail(`m${c.text}`, c.cards))
      return
    case 'bark':
      model.sendBark(at, { ...bark(`b${c.text}`), caClientIds: c.cards })
      return
    case 'fingerprint':
      model.displayFingerprint(at, fingerprint({ caClientIds: c.cards }))
      return
    case 'pin':
      model.updatePin(at, c.card, c.pin)
      return
    case 'inventory':
      model.registerInventory({
        smartcards: [{ caClientId: c.card, sms: c.sms }],
        pairingModules: [{ ...INVENTORY.pairingModules![0]!, serialNumber: `S${c.serial}` }],
        products: [{ productId: c.product, name: c.serial || null }],
      })
      return
    case 'reset':
      model.reset(c.keep)
      if (!c.keep) {
        model.registerInventory(INVENTORY)
      }
      return
  }
}

/** Changes in groups; a group is stored (its record replayed) or fails (rolled back). */
const groups = fc.array(
  fc.record({ changes: fc.array(change, { minLength: 1, maxLength: 6 }), stored: fc.boolean() }),
  { minLength: 1, maxLength: 12 },
)

describe('redo records', () => {
  it('replayed through JSON, give the state the stored groups left (generated changes)', () => {
    fc.assert(
      fc.property(groups, (plan) => {
        const live = tracked()
        live.model.registerInventory(INVENTORY)
        live.model.commitUndo(live.model.undoPosition())
        const replica = new CaState({ rules: RULES, defaultSms: 'sms' })
        new CaModel(replica).registerInventory(INVENTORY)
        let n = 0
        for (const group of plan) {
          for (const c of group.changes) {
            apply(live.model, c, n++)
          }
          const position = live.model.undoPosition()
          const record = buildRedo(live.state, position)
          if (group.stored) {
            const text = JSON.stringify(record)
            live.model.commitUndo(position)
            if (record !== null) {
              applyRedo(replica, JSON.parse(text) as RedoRecord)
            }
          } else {
            live.model.rollback()
          }
          expect(new CaModel(replica).toSnapshot()).toEqual(live.model.toSnapshot())
        }
      }),
      { seed: 1213, numRuns: 300 },
    )
  })

  it('store a message sent to many cards once', () => {
    const live = tracked()
    live.model.registerInventory(INVENTORY)
    live.model.commitUndo(live.model.undoPosition())

    live.model.sendBark(ctx, { ...bark('to all'), caClientIds: [CARD_A, CARD_B, CARD_C] })
    const record = buildRedo(live.state, live.model.undoPosition())

    expect(record?.messages).toHaveLength(1)
    expect(record?.ops.map((op) => op[0])).toEqual(['card', 'card', 'card'])
  })

  it('are empty for changes that leave everything as it was (inventory registered again)', () => {
    const live = tracked()
    live.model.registerInventory(INVENTORY)
    live.model.commitUndo(live.model.undoPosition())

    live.model.registerInventory(INVENTORY)

    expect(live.model.undoPosition()).toBeGreaterThan(0)
    expect(buildRedo(live.state, live.model.undoPosition())).toBeNull()
  })

  it('refuse a change to an unknown card or a missing message', () => {
    const replica = new CaState({ defaultSms: 'sms' })
    expect(() =>
      applyRedo(replica, { messages: [], ops: [['card', CARD_A, { pin: '1' }]] }),
    ).toThrow(RedoError)
    new CaModel(replica).registerInventory(INVENTORY)
    expect(() =>
      applyRedo(replica, {
        messages: [],
        ops: [['card', CARD_A, { inbox: { add: [3], length: 1 } }]],
      }),
    ).toThrow(/message 3/)
  })
})

describe('a model capture', () => {
  it('reads the state as it was when captured while the model goes on changing', () => {
    fc.assert(
      fc.property(
        fc.array(change, { maxLength: 8 }),
        fc.array(change, { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        (before, after, failing) => {
          const live = tracked()
          live.model.registerInventory(INVENTORY)
          before.forEach((c, i) => apply(live.model, c, i))
          live.model.commitUndo(live.model.undoPosition())
          const expected = live.model.toSnapshot()

          const capture = live.state.beginCapture()
          after.forEach((c, i) => apply(live.model, c, 100 + i))
          if (failing) {
            live.model.rollback()
            after.forEach((c, i) => apply(live.model, c, 200 + i))
          }

          expect({
            cards: [...capture.cards].map(([id, card]) => capture.card(id, card)),
            pairingModules: [...capture.modules].map(([id, stb]) => capture.module(id, stb)),
            products: [...capture.products.values()],
            pairings: [...capture.pairings].map(([id, p]) => capture.pairing(id, p)),
            nextPairingNumber: capture.nextPairingNumber,
          }).toEqual(expected)
          live.state.endCapture(capture)
        },
      ),
      { seed: 1214, numRuns: 200 },
    )
  })
})
