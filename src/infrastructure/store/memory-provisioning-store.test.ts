import { describe, expect, it } from 'vitest'
import { MemoryProvisioningStore } from './memory-provisioning-store.js'
import { aNewRequest, describeProvisioningStoreContract } from './provisioning-store.contract.js'
import {
  MAX_SEQUENCE_NUMBER,
  ProvisioningState,
  freshSequenceOrigin,
} from './provisioning-state.js'

describeProvisioningStoreContract('MemoryProvisioningStore', () =>
  Promise.resolve({ store: new MemoryProvisioningStore() }),
)

it('describes itself as memory', () => {
  expect(new MemoryProvisioningStore().description).toBe('memory')
})

describe('sequence numbers of a new store', () => {
  it('start at a random origin, so stores made independently count in ranges far apart', async () => {
    const firsts = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const [request] = await new MemoryProvisioningStore().commit(
          { requests: [aNewRequest()] },
          '2026-11-26T10:00:00.000Z',
        )
        return request!.sequenceNumber
      }),
    )
    expect(new Set(firsts).size).toBe(20)
    for (const first of firsts) {
      expect(first).toBeGreaterThanOrEqual(1)
      expect(first).toBeLessThanOrEqual(2 ** 30)
    }
    expect(freshSequenceOrigin()).not.toBe(freshSequenceOrigin())
  })
})

describe('the end of the SequenceNumber range', () => {
  it('refuses a commit that would pass the largest xs:int, storing nothing', () => {
    const state = new ProvisioningState(MAX_SEQUENCE_NUMBER - 1)
    state.commit({ requests: [aNewRequest()] }, '2026-11-26T10:00:00.000Z')

    expect(() =>
      state.commit({ requests: [aNewRequest(), aNewRequest()] }, '2026-11-26T10:00:00.000Z'),
    ).toThrow(expect.objectContaining({ code: 'SEQUENCE_NUMBERS_EXHAUSTED' }))
    expect(state.requestCount).toBe(1)
    expect(
      state.commit({ requests: [aNewRequest()] }, '2026-11-26T10:00:00.000Z').requests[0],
    ).toMatchObject({ sequenceNumber: MAX_SEQUENCE_NUMBER })
  })
})
