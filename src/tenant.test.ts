import { describe, expect, it, onTestFinished } from 'vitest'
import {
  card,
  cardItem,
  startTestAdapter,
  startTestCa,
  stbItem,
} from './test-support/adapter-harness.js'

// The adapter's `tenant` option: it provisions one tenant of a conax-sim (/t/<name>/), and
// nothing reaches the simulator's root or another tenant.

describe('startAdapter({ tenant })', () => {
  it('sends every command to its tenant of the simulator', async () => {
    const sim = await startTestCa(3)
    onTestFinished(() => sim.close())
    const adapter = await startTestAdapter(sim, { tenant: 'crm-a' })
    onTestFinished(() => adapter.close())

    const outcome = await adapter.service.applyAction({
      action: 'BECOME_SUBSCRIBER',
      subscriptionId: 'S1',
      services: [{ service: 'GEOLOGICAL', distributor: 'Main' }],
      installedItems: [cardItem(1), stbItem(1)],
    })
    expect(outcome.requests).toHaveLength(2)
    await adapter.dispatcher.deliverDue()
    const states = (await adapter.store.listRequests({})).items.map((r) => r.lifeCycleState)
    expect(states).toEqual(['COMPLETED', 'COMPLETED'])

    const res = await fetch(`${sim.url}/t/crm-a/admin/cards/${card(1)}`, {
      headers: { Authorization: `Bearer ${sim.adminToken}` },
    })
    const inTenant = (await res.json()) as { subscriptions: { productId: string }[] }
    expect(inTenant.subscriptions.map((s) => s.productId)).toEqual(['GFA1'])
    expect(sim.model.card(card(1))?.subscriptions).toEqual([])
    expect(sim.journal.size()).toBe(0)
  })

  it('refuses a tenant name that cannot be one, before starting anything', async () => {
    await expect(
      startTestAdapter('http://127.0.0.1:9', { tenant: '../admin' }),
    ).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    })
  })
})
