import { expect, it } from 'vitest'
import { MemoryProvisioningStore } from './memory-provisioning-store.js'
import { describeProvisioningStoreContract } from './provisioning-store.contract.js'

describeProvisioningStoreContract('MemoryProvisioningStore', () =>
  Promise.resolve({ store: new MemoryProvisioningStore() }),
)

it('describes itself as memory', () => {
  expect(new MemoryProvisioningStore().description).toBe('memory')
})
