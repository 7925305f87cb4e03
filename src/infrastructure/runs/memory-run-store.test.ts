import { describe, expect, it } from 'vitest'
import { MemoryRunStore } from './memory-run-store.js'
import { aCommunication, describeRunStoreContract } from './run-store.contract.js'

describeRunStoreContract('MemoryRunStore', () => Promise.resolve({ store: new MemoryRunStore() }))

describe('MemoryRunStore records', () => {
  it('hands out frozen records, so a change by accident throws instead of changing the store', async () => {
    const store = new MemoryRunStore()
    const [added] = await store.addCommunications([aCommunication()], '2025-03-01T10:00:00.000Z')

    expect(Object.isFrozen(added)).toBe(true)
    expect(Object.isFrozen(added!.recipients.subscriptionIds)).toBe(true)
    expect(() => Object.assign(added!, { state: 'FAILED' })).toThrow(TypeError)
  })
})
