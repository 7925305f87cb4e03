import { describe, expect, it, onTestFinished } from 'vitest'
import type { Simulator } from '../create-simulator.js'
import type { ModelSnapshot } from '../model/ca-state.js'
import {
  CARD_A,
  adminApi,
  CARD_B,
  CARD_C,
  STB_1,
  STB_2,
  callSoap,
  startTestSimulator,
  type CallResult,
} from '../test-support/soap.js'
import type { SimulatorSnapshot, SimulatorStore } from './simulator-store.js'

/**
 * A change is applied only once it is stored: a store whose writes fail on demand (a plain
 * SimulatorStore object, no module mocking) shows that a failed write leaves the state exactly as
 * before the call, in the model, the journal's outcome and the replay records.
 */

interface HeldSave {
  readonly snapshot: SimulatorSnapshot
  succeed(): void
  fail(): void
}

/** A store that saves, fails, or holds each save until the test lets it succeed or fail. */
function controlledStore() {
  const saved: SimulatorSnapshot[] = []
  const held: HeldSave[] = []
  const waiters: ((save: HeldSave) => void)[] = []
  let mode: 'save' | 'fail' | 'hold' = 'save'
  const store: SimulatorStore = {
    description: 'controlled store',
    load: () => Promise.resolve(null),
    save: (snapshot) => {
      if (mode === 'fail') {
        return Promise.reject(new Error('disk full'))
      }
      if (mode === 'save') {
        saved.push(snapshot)
        return Promise.resolve()
      }
      return new Promise<void>((resolve, reject) => {
        const save: HeldSave = {
          snapshot,
          succeed: () => {
            saved.push(snapshot)
            resolve()
          },
          fail: () => reject(new Error('disk full')),
        }
        const waiter = waiters.shift()
        if (waiter) {
          waiter(save)
        } else {
          held.push(save)
        }
      })
    },
  }
  return {
    store,
    saved,
    setMode(next: typeof mode) {
      mode = next
    },
    /** The next save that is held (already waiting, or the next one to start). */
    nextHeld(): Promise<HeldSave> {
      const save = held.shift()
      return save ? Promise.resolve(save) : new Promise((resolve) => waiters.push(resolve))
    },
  }
}

async function startWith(control: ReturnType<typeof controlledStore>): Promise<Simulator> {
  const sim = await startTestSimulator({ store: control.store })
  onTestFinished(() => {
    control.setMode('save')
    return sim.close()
  })
  return sim
}

const addProduct = (card: string, product: string, sequence?: number) => ({
  Subscriptions: { Subscription: [{ CaClientId: card, ProductId: product }] },
  ...(sequence === undefined ? {} : { SequenceNumber: sequence }),
})

const add = (sim: Simulator, card: string, product: string, sequence?: number) =>
  callSoap(sim, 'subscription', 'AddSubscriptions', addProduct(card, product, sequence))

const productsOf = (model: ModelSnapshot, card: string): string[] =>
  model.cards.find((c) => c.caClientId === card)?.products.map((p) => p.productId) ?? []

/** Waits (on the event loop, not the clock) until the journal holds `count` entries. */
async function journalReaches(sim: Simulator, count: number): Promise<void> {
  for (let turn = 0; turn < 100_000 && sim.journal.list().length < count; turn++) {
    await new Promise((resolve) => setImmediate(resolve))
  }
  expect(sim.journal.list()).toHaveLength(count)
}

function expectNotStored(answer: CallResult): void {
  expect(answer.statusCode).toBe('SYSTEM_ERROR')
  expect(answer.message).toContain('disk full')
  expect(answer.message).toContain('nothing was changed')
}

describe('a write that cannot be stored', () => {
  it('journals the SYSTEM_ERROR answer it sent as answerXml, not the answer it would have sent', async () => {
    const control = controlledStore()
    const sim = await startWith(control)
    control.setMode('fail')

    const answer = await add(sim, CARD_A, 'GFA1')

    expectNotStored(answer)
    const entry = sim.journal.list().at(-1)
    const answerXml = entry === undefined ? '' : (sim.journal.view(entry).answerXml ?? '')
    expect(answerXml).toContain('<StatusCode>SYSTEM_ERROR</StatusCode>')
    expect(answerXml).toContain('disk full')
    expect(answerXml).not.toContain('<StatusCode>OK</StatusCode>')
  })

  it('answers SYSTEM_ERROR and leaves the state exactly as before the call', async () => {
    const control = controlledStore()
    const sim = await startWith(control)
    await callSoap(sim, 'pairing', 'CreatePairing', {
      CaClientIds: { CaClientId: [CARD_A, CARD_B] },
      PairingModuleIds: { PairingModuleId: [STB_1] },
    })
    const before = sim.model.toSnapshot()
    const cardBefore = sim.model.card(CARD_B)
    control.setMode('fail')

    const answers = [
      await callSoap(sim, 'pairing', 'CreatePairing', {
        CaClientIds: { CaClientId: [CARD_B, CARD_C] },
        PairingModuleIds: { PairingModuleId: [STB_2] },
      }),
      await add(sim, CARD_B, 'GFA1'),
      await callSoap(sim, 'ca-pin', 'UpdateCaPinToGivenValue', { CaClientId: CARD_B, Pin: '4444' }),
      await callSoap(sim, 'user-text-messaging', 'SendMailMessageToClients', {
        CaClientIds: { CaClientId: [CARD_B] },
        Message: 'hello',
      }),
    ]

    answers.forEach(expectNotStored)
    expect(sim.model.toSnapshot()).toEqual(before)
    expect(sim.model.card(CARD_B)).toEqual(cardBefore)
    expect(
      sim.journal
        .list()
        .slice(-4)
        .map((entry) => entry.statusCode),
    ).toEqual(Array(4).fill('SYSTEM_ERROR'))
  })

  it('applies a retry of the same request with the same SequenceNumber once the store works again', async () => {
    const control = controlledStore()
    const sim = await startWith(control)
    control.setMode('fail')
    expectNotStored(await add(sim, CARD_A, 'GFA1', 9))
    control.setMode('save')

    const retry = await add(sim, CARD_A, 'GFA1', 9)
    const replay = await add(sim, CARD_A, 'GFA1', 9)

    expect(retry.statusCode).toBe('OK')
    expect(replay.transactionId).toBe(retry.transactionId)
    expect(sim.model.card(CARD_A)?.subscriptions.map((p) => p.productId)).toEqual(['GFA1'])
    expect(productsOf((control.saved.at(-1) as SimulatorSnapshot).model, CARD_A)).toEqual(['GFA1'])
    expect(sim.journal.list().map((entry) => [entry.statusCode, entry.replay])).toEqual([
      ['SYSTEM_ERROR', false],
      ['OK', false],
      ['OK', true],
    ])
  })

  it('rolls back every write of a failed group commit and the writes waiting behind it', async () => {
    const control = controlledStore()
    const sim = await startWith(control)
    const before = sim.model.toSnapshot()
    control.setMode('hold')

    const first = add(sim, CARD_A, 'GFA1')
    const running = await control.nextHeld()
    const waiting = [add(sim, CARD_B, 'EFA2', 3), add(sim, CARD_C, 'RFB1'), add(sim, CARD_A, 'AF1')]
    await journalReaches(sim, 4)
    running.fail()

    for (const answer of [await first, ...(await Promise.all(waiting))]) {
      expectNotStored(answer)
    }
    expect(sim.model.toSnapshot()).toEqual(before)

    control.setMode('save')
    expect((await add(sim, CARD_C, 'BFB2')).statusCode).toBe('OK')
    expect((await add(sim, CARD_B, 'EFA2', 3)).statusCode).toBe('OK')
    const stored = (control.saved.at(-1) as SimulatorSnapshot).model
    expect([CARD_A, CARD_B, CARD_C].map((card) => productsOf(stored, card))).toEqual([
      [],
      ['EFA2'],
      ['BFB2'],
    ])
    expect(sim.model.toSnapshot()).toEqual(stored)
  })

  it('keeps the writes a successful save carried and undoes only the later ones whose save failed', async () => {
    const control = controlledStore()
    const sim = await startWith(control)
    control.setMode('hold')

    const first = add(sim, CARD_A, 'GFA1')
    const firstSave = await control.nextHeld()
    const later = [add(sim, CARD_B, 'EFA2'), add(sim, CARD_C, 'RFB1')]
    await journalReaches(sim, 3)
    firstSave.succeed()
    const secondSave = await control.nextHeld()
    const kept = sim.model.toSnapshot()
    expect([CARD_A, CARD_B, CARD_C].map((card) => productsOf(kept, card))).toEqual([
      ['GFA1'],
      ['EFA2'],
      ['RFB1'],
    ])
    secondSave.fail()

    expect((await first).statusCode).toBe('OK')
    for (const answer of await Promise.all(later)) {
      expectNotStored(answer)
    }
    const model = sim.model.toSnapshot()
    expect([CARD_A, CARD_B, CARD_C].map((card) => productsOf(model, card))).toEqual([
      ['GFA1'],
      [],
      [],
    ])
    expect(model).toEqual(firstSave.snapshot.model)
  })
})

describe('an admin change that cannot be stored', () => {
  it('answers 500 STORE_WRITE_FAILED and changes nothing', async () => {
    const control = controlledStore()
    const sim = await startWith(control)
    await callSoap(sim, 'pairing', 'CreatePairing', {
      CaClientIds: { CaClientId: [CARD_A] },
      PairingModuleIds: { PairingModuleId: [STB_1] },
    })
    await add(sim, CARD_A, 'GFA1', 4)
    const before = sim.model.toSnapshot()
    const journal = sim.journal.list()
    control.setMode('fail')

    const calls = [
      adminApi(sim)
        .post('/admin/inventory')
        .send({
          smartcards: [{ caClientId: '01111111111' }, { caClientId: CARD_A, sms: 'other' }],
        }),
      adminApi(sim).put(`/admin/cards/${CARD_A}/subscriptions/EFA2`).send({}),
      adminApi(sim).delete(`/admin/cards/${CARD_A}/subscriptions/GFA1`),
      adminApi(sim).delete(`/admin/cards/${CARD_A}/pairing`),
      adminApi(sim).post('/admin/reset').send({ keepInventory: true }),
      adminApi(sim).post('/admin/reset').send({}),
    ]
    for (const call of calls) {
      const res = await call
      expect(res.status).toBe(500)
      expect(res.body.error.code).toBe('STORE_WRITE_FAILED')
      expect(res.body.error.message).toContain('disk full')
    }

    expect(sim.model.toSnapshot()).toEqual(before)
    expect(sim.journal.list()).toEqual(journal)
    control.setMode('save')
    const replay = await add(sim, CARD_A, 'GFA1', 4)
    expect(replay.transactionId).toBe(journal.at(-1)?.transactionId)
  })
})
