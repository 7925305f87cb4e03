import { afterEach, describe, expect, it } from 'vitest'
import type { Simulator } from '../simulator/src/index.js'
import type { Adapter } from './create-adapter.js'
import type { InstalledItem, Subscription } from './domain/crm.js'
import type { SplitMode } from './domain/split.js'
import { card, startTestAdapter, startTestCa } from './test-support/adapter-harness.js'

// Issue 9, items 2 and 3: one bad card must cost that card only. The CA answers a message or
// fingerprint batch all or nothing, so a run (or a utility) splits a refused batch, sends to every
// valid card, and says which card failed and why; nothing is counted as sent that was not.

const UNKNOWN = '09999999999'
const T0 = '2026-11-26T10:00:00.000Z'

let sim: Simulator
let adapter: Adapter

afterEach(async () => {
  await adapter.close()
  await sim.close()
})

const smartcard = (caId: string, distributor: string | null = 'Main'): InstalledItem => ({
  serialNumber: `SC-${caId}`,
  product: 'SC-CONAX',
  kind: 'SMARTCARD',
  caId,
  distributor,
})

/** A subscription holding the given smartcards, stored as the CRM has it (no request made). */
function subscription(id: string, cards: readonly string[]): Subscription {
  return {
    id,
    type: 'RESIDENTIAL',
    state: 'EFFECTIVE',
    services: [],
    installedItems: cards.map((caId) => smartcard(caId)),
    swaps: [],
    createdAt: T0,
    updatedAt: T0,
  }
}

/**
 * A CA with cards 1..`known` and an adapter whose CRM has subscription S<n> for each of them,
 * except that S<badAt> holds a card the CA does not know.
 */
async function setUp(
  known: number,
  badAt: number,
  split: SplitMode = 'named-or-bisect',
): Promise<void> {
  sim = await startTestCa(known)
  adapter = await startTestAdapter(sim, {
    runPageSize: 500,
    providerChanges: {
      delivery: {
        maxCardsPerRequest: 500,
        retryInitialDelayMs: 20,
        retryMaxDelayMs: 200,
        splitRefusedBatches: split,
      },
    },
  })
  for (let n = 1; n <= known + 1; n++) {
    const caId = n === badAt ? UNKNOWN : card(n < badAt ? n : n - 1)
    await adapter.store.commit({ subscription: subscription(`S${n}`, [caId]), requests: [] }, T0)
  }
}

async function barkRun(): Promise<void> {
  await adapter.runs.define({
    name: 'Barks',
    alternativeCode: 'BARKS',
    kind: 'MAIL_BARK_MESSAGE',
    messageType: 'BARK',
    externalSystem: 'SMS-GW',
  })
}

describe('a 500-card bark run in which one card is unknown to the CA', () => {
  it('sends to the 499 valid cards, fails only the unknown one, and counts both', async () => {
    await setUp(499, 250)
    const [broadcast, lost, fine] = await adapter.runs.enqueue([
      { externalSystem: 'SMS-GW', message: 'Maintenance tonight', recipients: { segment: {} } },
      { externalSystem: 'SMS-GW', message: 'Hi S250', recipients: { subscriptionIds: ['S250'] } },
      { externalSystem: 'SMS-GW', message: 'Hi S1', recipients: { subscriptionIds: ['S1'] } },
    ])
    await barkRun()

    const execution = await adapter.runs.start('BARKS')
    const created = await adapter.runs.settled(execution.id)
    expect(created.state).toBe('DELIVERING')
    await adapter.deliverDue()
    const done = await adapter.runs.finished(execution.id)

    expect(done.state).toBe('COMPLETED')
    expect(done.counts).toMatchObject({
      cards: 502,
      sent: 500,
      failed: 2,
      skipped: 0,
      communications: 3,
      communicationsFailed: 1,
    })
    expect(done.failures).toHaveLength(2)
    expect(done.failures).toEqual(
      expect.arrayContaining(
        [broadcast, lost].map((c): unknown =>
          expect.objectContaining({
            card: UNKNOWN,
            subscriptionId: 'S250',
            communication: c?.number,
            code: 'CLIENT_NOT_FOUND',
          }),
        ),
      ),
    )
    const [first, second, third] = await Promise.all(
      [broadcast, lost, fine].map((c) => adapter.runs.communication(c?.number ?? '')),
    )
    expect(first).toMatchObject({
      state: 'PROCESSED',
      delivery: { sent: 499, failed: 1 },
      error: expect.stringContaining(UNKNOWN) as unknown,
    })
    expect(second).toMatchObject({ state: 'FAILED', delivery: { sent: 0, failed: 1 } })
    expect(second?.error).toContain('CLIENT_NOT_FOUND')
    expect(third).toMatchObject({
      state: 'PROCESSED',
      error: null,
      delivery: { sent: 1, failed: 0 },
    })
    // Every valid card shows the broadcast.
    for (const n of [1, 249, 250, 499]) {
      expect(sim.model.card(card(n))?.screen.map((m) => m.message)).toContain('Maintenance tonight')
    }
    // The refused batch is REJECTED with what happened, and its part COMPLETED.
    const requests = (await adapter.runs.requests(execution.id)).items
    const batch = requests.find(
      (r) => 'smartcardCaIds' in r.command && r.command.smartcardCaIds.length === 500,
    )
    expect(batch).toMatchObject({
      lifeCycleState: 'REJECTED',
      errorCode: 'CLIENT_NOT_FOUND',
      errorClass: 'REJECT',
      splitInto: [expect.any(String)],
    })
    const part = requests.find((r) => r.number === batch?.splitInto?.[0])
    expect(part).toMatchObject({
      lifeCycleState: 'COMPLETED',
      splitFrom: batch?.number,
      precedence: batch?.precedence,
      errorClass: null,
    })
    expect(part?.sequenceNumber).not.toBe(batch?.sequenceNumber)
  })

  it('names the unknown card in a preview that checks the cards, and says nothing is checked otherwise', async () => {
    await setUp(20, 7)
    await adapter.runs.enqueue([
      {
        externalSystem: 'SMS-GW',
        message: 'Hello',
        recipients: { subscriptionIds: ['S7', 'S9', 'S404'] },
      },
    ])
    await barkRun()

    const plain = await adapter.runs.preview('BARKS')
    const checked = await adapter.runs.preview('BARKS', { checkCards: true })

    expect(plain).toMatchObject({ cards: 2, skipped: 1, cardsChecked: false })
    expect(plain.failures).toEqual([
      expect.objectContaining({ subscriptionId: 'S404', code: 'SUBSCRIPTION_NOT_FOUND' }),
    ])
    expect(checked.failures).toEqual([
      expect.objectContaining({ subscriptionId: 'S404', code: 'SUBSCRIPTION_NOT_FOUND' }),
      expect.objectContaining({ subscriptionId: 'S7', card: UNKNOWN, code: 'CLIENT_NOT_FOUND' }),
    ])
    // A preview sends nothing.
    expect(sim.journal.list({ operation: 'SendBarkMessageToClients' })).toEqual([])
  })

  it('finds the bad card by halving when told not to trust the CA message', async () => {
    await setUp(31, 20, 'bisect')
    await adapter.runs.enqueue([
      { externalSystem: 'SMS-GW', message: 'Hello', recipients: { segment: {} } },
    ])
    await barkRun()

    const execution = await adapter.runs.start('BARKS')
    await adapter.runs.settled(execution.id)
    // Each refused half is split again in a later pass of the same delivery.
    await adapter.deliverDue()
    const done = await adapter.runs.finished(execution.id)

    expect(done.counts).toMatchObject({ sent: 31, failed: 1 })
    const barks = sim.journal.list({ operation: 'SendBarkMessageToClients' })
    // 32 cards: the whole batch, then one refused half per level down to the card (5 levels).
    expect(barks.filter((entry) => entry.statusCode === 'OK')).toHaveLength(5)
    expect(barks.filter((entry) => entry.statusCode === 'CLIENT_NOT_FOUND')).toHaveLength(6)
    for (let n = 1; n <= 31; n++) {
      expect(sim.model.card(card(n))?.screen).toHaveLength(1)
    }
  })
})

describe('a fingerprinting run with a card the CA does not know', () => {
  it('fingerprints the valid cards and reports the unknown one', async () => {
    await setUp(9, 3)
    await adapter.runs.define({
      name: 'Sweep',
      alternativeCode: 'SWEEP',
      kind: 'FINGERPRINTING',
      included: [],
      excluded: [],
    })

    const execution = await adapter.runs.start('SWEEP')
    await adapter.runs.settled(execution.id)
    await adapter.deliverDue()
    const done = await adapter.runs.finished(execution.id)

    expect(done.counts).toMatchObject({ cards: 10, sent: 9, failed: 1 })
    expect(done.failures).toEqual([
      expect.objectContaining({ card: UNKNOWN, code: 'CLIENT_NOT_FOUND' }),
    ])
    expect(sim.model.card(card(9))?.fingerprints).toHaveLength(1)
  })
})

describe('a reset run and a reset of one subscription with cards the CA refuses', () => {
  it('repair the cards that can be read and name the others with the CA status', async () => {
    await setUp(4, 99)
    // S2's card belongs to another SMS user; S5 holds a card the CA does not know.
    await sim.loadInventory({ smartcards: [{ caClientId: card(2), sms: 'other-sms' }] })
    await adapter.store.commit(
      {
        subscription: {
          ...subscription('S5', [card(4), UNKNOWN]),
          services: [{ service: 'GEOLOGICAL', distributor: 'Main', state: 'EFFECTIVE' }],
        },
        requests: [],
      },
      T0,
    )
    await adapter.runs.define({
      name: 'Reset',
      alternativeCode: 'R',
      kind: 'RESET_SUBSCRIPTION',
      criteria: { ids: ['S2', 'S5'] },
    })

    const preview = await adapter.runs.preview('R')
    const single = await adapter.runs.resetSubscription('S5', { preview: true })
    const execution = await adapter.runs.start('R')
    const created = await adapter.runs.settled(execution.id)
    await adapter.deliverDue()
    const done = await adapter.runs.finished(execution.id)

    const refusals = [
      expect.objectContaining({
        subscriptionId: 'S2',
        card: card(2),
        code: 'CLIENT_NOT_MANAGED_BY_SMS',
      }),
      expect.objectContaining({ subscriptionId: 'S5', card: UNKNOWN, code: 'CLIENT_NOT_FOUND' }),
    ]
    expect(preview).toMatchObject({ checked: 2, failed: 2, outOfSync: 1 })
    expect(preview.failures).toEqual(refusals)
    expect(single.failures).toEqual([refusals[1]])
    expect(single.commands).toEqual([
      {
        type: 'ADD_SUBSCRIPTIONS',
        smartcardCaId: card(4),
        serviceCaId: 'GFA1',
        distributor: 'Main',
      },
    ])
    // The run went on past the other SMS's card (it used to stop there) and repaired card 4.
    expect(created.state).toBe('DELIVERING')
    expect(done).toMatchObject({ state: 'COMPLETED', counts: { failed: 2, requests: 1, sent: 1 } })
    expect(done.failures).toEqual(refusals)
    expect(sim.model.card(card(4))?.subscriptions.map((s) => s.productId)).toEqual(['GFA1'])
  })
})

describe('the message utility to a subscription with a card the CA does not know', () => {
  it('reaches the valid card and answers the verdict on each card', async () => {
    await setUp(3, 99)
    await adapter.store.commit(
      { subscription: subscription('S9', [card(1), UNKNOWN]), requests: [] },
      T0,
    )
    adapter.dispatcher.start()

    const outcome = await adapter.utilities.run({
      utility: 'SEND_MESSAGE',
      subscriptionId: 'S9',
      messageType: 'MAIL',
      message: 'Your bill is ready',
    })

    expect(
      outcome.requests.map((r) => [
        r.lifeCycleState,
        'smartcardCaIds' in r.command ? r.command.smartcardCaIds : [],
      ]),
    ).toEqual([
      ['REJECTED', [card(1), UNKNOWN]],
      ['COMPLETED', [card(1)]],
    ])
    expect(outcome.requests[0]?.errorDescription).toMatch(
      /Card\(s\) 09999999999 failed with CLIENT_NOT_FOUND/,
    )
    expect(sim.model.card(card(1))?.inbox.map((m) => m.message)).toEqual(['Your bill is ready'])
  })
})
