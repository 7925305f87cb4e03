import { afterEach, describe, expect, it } from 'vitest'
import type { Simulator } from '../simulator/src/index.js'
import type { Adapter } from './create-adapter.js'
import type { CrmAction } from './domain/planner.js'
import {
  ManualClock,
  card,
  cardItem,
  startTestAdapter,
  startTestCa,
  stb,
  stbItem,
} from './test-support/adapter-harness.js'

// Issue 10: one CRM action's commands reach the CA in their planned order across all its devices
// (make before break). Order per device alone let the old card's CANCEL overtake the new card's
// pairing and services: the viewer lost the channels in between, and the CA saw another sequence
// than the seed's mapping table.

let sim: Simulator
let adapter: Adapter
let clock: ManualClock

afterEach(async () => {
  await adapter.close()
  await sim.close()
})

async function setUp(ordering?: 'per-action' | 'per-device'): Promise<void> {
  sim = await startTestCa(20)
  clock = new ManualClock()
  adapter = await startTestAdapter(sim, { clock, ...(ordering ? { ordering } : {}) })
}

/** Subscription S1: card 1 and STB 1 on Main with GEOLOGICAL and ENTERTAIN; card 2 and STB 2 on TWIN1. */
async function subscribed(): Promise<void> {
  await adapter.service.applyAction({
    action: 'BECOME_SUBSCRIBER',
    subscriptionId: 'S1',
    services: [
      { service: 'GEOLOGICAL', distributor: 'Main' },
      { service: 'ENTERTAIN', distributor: 'Main' },
    ],
    installedItems: [cardItem(1), stbItem(1), cardItem(2, 'TWIN1'), stbItem(2, 'TWIN1')],
  })
  await adapter.deliverDue()
}

const swapCard: CrmAction = {
  action: 'SWAP_INSTALLED_ITEM',
  subscriptionId: 'S1',
  serialNumber: 'SC1',
  item: { serialNumber: 'SC9', product: 'SC-CONAX', caId: card(9) },
}

const moveEntertain: CrmAction = {
  action: 'CHANGE_DISTRIBUTION',
  subscriptionId: 'S1',
  moves: [{ service: 'ENTERTAIN', from: 'Main', to: 'TWIN1' }],
}

/** The writes the CA applied since `after`, as `Operation card product` lines, in arrival order. */
function writesSince(after: number): string[] {
  return sim.journal
    .list({ since: after })
    .filter((entry) => entry.statusCode === 'OK' && entry.operation !== null)
    .flatMap((entry) => {
      const request = entry.request as Record<string, unknown>
      const items =
        (request.Subscriptions as { Subscription?: Record<string, string>[] } | undefined)
          ?.Subscription ?? []
      if (items.length > 0) {
        return items.map((item) => `${entry.operation} ${item.CaClientId} ${item.ProductId}`)
      }
      const cards = (request.CaClientIds as { CaClientId?: string[] } | undefined)?.CaClientId
      return [`${entry.operation} ${(cards ?? []).join(',')}`]
    })
}

/** Delivers until nothing is PENDING, moving the clock past each retry's backoff. */
async function deliverAll(): Promise<void> {
  for (let round = 0; round < 20 && (await adapter.store.pendingRequests()).length > 0; round++) {
    await adapter.deliverDue()
    clock.advance(60_000)
  }
}

describe('one action over several devices', () => {
  it('pairs the new card and gives it the services before the old card loses them, with a slow CA', async () => {
    await setUp()
    await subscribed()
    const mark = sim.journal.list().at(-1)?.seq ?? 0
    // The new card's pairing takes long: nothing of the action may overtake it.
    sim.faults.add({ kind: 'DELAY', operation: 'CreatePairing', delayMs: 300 })

    await adapter.service.applyAction(swapCard)
    await adapter.deliverDue()

    expect(writesSince(mark)).toEqual([
      `CreatePairing ${card(9)}`,
      `AddSubscriptions ${card(9)} GFA1`,
      `AddSubscriptions ${card(9)} EFA2`,
      `CancelSubscriptions ${card(1)} GFA1`,
      `CancelSubscriptions ${card(1)} EFA2`,
    ])
  })

  it('holds the old card until the new one is provisioned when the CA fails the first attempt', async () => {
    await setUp()
    await subscribed()
    const mark = sim.journal.list().at(-1)?.seq ?? 0
    sim.faults.add({ kind: 'SYSTEM_ERROR', operation: 'CreatePairing', times: 1 })

    await adapter.service.applyAction(swapCard)
    await adapter.deliverDue()

    // The pairing waits to be retried; nothing behind it went, the old card kept its channels.
    expect(writesSince(mark)).toEqual([])
    expect(
      sim.model
        .card(card(1))
        ?.subscriptions.map((s) => s.productId)
        .sort(),
    ).toEqual(['EFA2', 'GFA1'])
    const pending = await adapter.store.pendingRequests()
    expect(pending.map((r) => [r.type, r.attempts])).toEqual([
      ['CREATE_PAIRING', 1],
      ['ADD_SUBSCRIPTIONS', 0],
      ['ADD_SUBSCRIPTIONS', 0],
      ['CANCEL_SUBSCRIPTIONS', 0],
      ['CANCEL_SUBSCRIPTIONS', 0],
    ])
    expect(new Set(pending.map((r) => r.actionId)).size).toBe(1)

    await deliverAll()

    expect(writesSince(mark)).toEqual([
      `CreatePairing ${card(9)}`,
      `AddSubscriptions ${card(9)} GFA1`,
      `AddSubscriptions ${card(9)} EFA2`,
      `CancelSubscriptions ${card(1)} GFA1`,
      `CancelSubscriptions ${card(1)} EFA2`,
    ])
  })

  it('moves a service between viewing points adding before cancelling, with a slow CA and a failed first attempt', async () => {
    await setUp()
    await subscribed()
    const mark = sim.journal.list().at(-1)?.seq ?? 0
    sim.faults.add({ kind: 'DELAY', operation: 'CreatePairing', delayMs: 200 })
    sim.faults.add({ kind: 'SYSTEM_ERROR', operation: 'AddSubscriptions', times: 1 })

    await adapter.service.applyAction(moveEntertain)
    await deliverAll()

    expect(writesSince(mark)).toEqual([
      `CreatePairing ${card(2)}`,
      `AddSubscriptions ${card(2)} EFA2`,
      `CancelSubscriptions ${card(1)} EFA2`,
    ])
    expect(sim.model.card(card(2))?.pairing?.pairingModuleIds).toEqual([stb(2)])
  })

  it('still sends unrelated cards in parallel: another subscription is not held by the slow action', async () => {
    await setUp()
    await subscribed()
    await adapter.service.applyAction({
      action: 'BECOME_SUBSCRIBER',
      subscriptionId: 'S2',
      services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
      installedItems: [cardItem(5), stbItem(5)],
    })
    sim.faults.add({ kind: 'SYSTEM_ERROR', operation: 'CreatePairing', times: 1 })

    await adapter.service.applyAction(swapCard)
    await adapter.deliverDue()

    // S2's pairing took the fault; the swap's pairing went through, and only S2 waits.
    const pending = await adapter.store.pendingRequests()
    expect(pending.every((r) => r.subscriptionId === 'S2')).toBe(true)
    expect(
      sim.model
        .card(card(9))
        ?.subscriptions.map((s) => s.productId)
        .sort(),
    ).toEqual(['EFA2', 'GFA1'])
  })

  it('per device only (the order before issue 10), the old card loses its channels first', async () => {
    await setUp('per-device')
    await subscribed()
    sim.faults.add({ kind: 'SYSTEM_ERROR', operation: 'CreatePairing', times: 1 })

    await adapter.service.applyAction(swapCard)
    await adapter.deliverDue()

    // The break went before the make: the viewer has no channel on either card.
    expect(sim.model.card(card(1))?.subscriptions).toEqual([])
    expect(sim.model.card(card(9))?.subscriptions).toEqual([])
  })
})
