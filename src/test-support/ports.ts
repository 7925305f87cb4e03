import type { ProvisioningStore } from '../application/ports.js'
import type { CaReader } from '../application/runs/run-ports.js'
import type { ProvisioningProvider } from '../domain/crm.js'
import { createFastCaReader } from '../infrastructure/conax/fast-reader.js'
import { MemoryProvisioningStore } from '../infrastructure/store/memory-provisioning-store.js'

/**
 * The ports' implementations for the tests of the application and the API, which import no
 * infrastructure themselves (docs/decisions/0011): this module is their composition root, as
 * create-adapter.ts is the adapter's.
 */

/** An empty in-memory provisioning store (the one every store contract test also runs against). */
export function memoryStore(): ProvisioningStore {
  return new MemoryProvisioningStore()
}

/** The fast CA reader for a provider's connection. */
export function fastReader(provider: ProvisioningProvider): CaReader {
  return createFastCaReader(provider.connection)
}
