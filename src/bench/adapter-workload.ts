import type { CrmAction } from '../index.js'

/** The simulator products the workload's three services map to in fixtures/scenarios/providers/conax-ws.yaml. */
export const BENCH_PRODUCTS = ['GFA1', 'EFA2', 'AF1'] as const

/** Services of every subscription, all on distributor Main. */
const SERVICES = ['GEOLOGICAL', 'ENTERTAIN', 'AGRICULTURE'] as const

/** Provisioning requests each BECOME_SUBSCRIBER creates: one CREATE_PAIRING, one ADD_SUBSCRIPTIONS per service. */
export const REQUESTS_PER_SUBSCRIPTION = 1 + SERVICES.length

/** Smartcard CA id of subscription `n` (1-based): 11 digits, as Conax requires. */
export const cardId = (n: number): string => `7${String(n).padStart(10, '0')}`

/** STB (pairing module) CA id of subscription `n`. */
export const stbId = (n: number): string => `8${String(n).padStart(9, '0')}`

/** The POST /admin/inventory shape: `count` cards, `count` STBs and the three products. */
export function inventoryOf(count: number): Record<string, unknown> {
  const numbers = Array.from({ length: count }, (_, i) => i + 1)
  return {
    smartcards: numbers.map((n) => ({ caClientId: cardId(n) })),
    pairingModules: numbers.map((n) => ({
      pairingModuleId: stbId(n),
      serialNumber: `BENCH${String(n).padStart(8, '0')}`,
      productCode: 'KSTB5043',
      productDescription: 'Kaon KSTB5043 HD Conax Zapper',
    })),
    products: BENCH_PRODUCTS.map((productId) => ({ productId })),
  }
}

/** Subscription `n` becomes a subscriber: three services, one smartcard paired with one STB. */
export function becomeSubscriber(n: number): CrmAction {
  return {
    action: 'BECOME_SUBSCRIBER',
    subscriptionId: `BENCH-${n}`,
    services: SERVICES.map((service) => ({ service, distributor: 'Main' })),
    installedItems: [
      { serialNumber: `SC${n}`, product: 'SC-CONAX', caId: cardId(n), distributor: 'Main' },
      { serialNumber: `STB${n}`, product: 'STB-HD', caId: stbId(n), distributor: 'Main' },
    ],
  }
}
