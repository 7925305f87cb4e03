import { describe, expect, it } from 'vitest'
import { MemoryProvisioningStore } from './memory-provisioning-store.js'
import { aNewRequest, describeProvisioningStoreContract } from './provisioning-store.contract.js'
import { freshSequenceBase } from './provisioning-state.js'

describeProvisioningStoreContract('MemoryProvisioningStore', () =>
  Promise.resolve({ store: new MemoryProvisioningStore() }),
)

it('describes itself as memory', () => {
  expect(new MemoryProvisioningStore().description).toBe('memory')
})

describe('sequence numbers of a new store', () => {
  it('start from the clock, so a store made anew does not resend numbers Conax has seen', async () => {
    const store = new MemoryProvisioningStore()
    const [request] = await store.commit({ requests: [aNewRequest()] }, '2026-11-26T10:00:00.000Z')
    expect(request?.sequenceNumber).toBeGreaterThanOrEqual(freshSequenceBase() - 40)
    expect(freshSequenceBase(Date.UTC(2026, 10, 26))).toBe(4 * 86_400 * 1060)
    expect(freshSequenceBase(Date.UTC(2039, 0, 1))).toBeLessThan(2 ** 31)
  })
})
