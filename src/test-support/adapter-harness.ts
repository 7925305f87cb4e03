import { join } from 'node:path'
import request from 'supertest'
import { startSimulator, type Simulator } from '../../simulator/src/index.js'
import type { Clock } from '../application/ports.js'
import { loadProvider } from '../config/load-provider.js'
import { startAdapter, type Adapter, type AdapterOptions } from '../create-adapter.js'
import type { ProvisioningProvider } from '../domain/crm.js'
import type { ItemInput } from '../domain/planner.js'

/** Test helpers: a simulator with known devices and an adapter pointed at it. */
export const PROVIDER_FILE = join(
  import.meta.dirname,
  '..',
  '..',
  'fixtures',
  'scenarios',
  'providers',
  'conax-ws.yaml',
)

export const card = (n: number): string => `0145025${String(n).padStart(4, '0')}`
export const stb = (n: number): string => `10000${String(n).padStart(5, '0')}`

export const cardItem = (n: number, distributor: string | null = 'Main'): ItemInput => ({
  serialNumber: `SC${n}`,
  product: 'SC-CONAX',
  caId: card(n),
  distributor,
})
export const stbItem = (n: number, distributor: string | null = 'Main'): ItemInput => ({
  serialNumber: `STB${n}`,
  product: 'STB-HD',
  caId: stb(n),
  distributor,
})

/** A simulator with cards 1..n, STBs 1..n and the seed catalogue. */
export function startTestCa(
  count = 20,
  options: { port?: number; dataFile?: string; journalLimit?: number } = {},
): Promise<Simulator> {
  const numbers = Array.from({ length: count }, (_, i) => i + 1)
  return startSimulator({
    ...options,
    inventory: {
      smartcards: numbers.map((n) => ({ caClientId: card(n) })),
      pairingModules: numbers.map((n) => ({
        pairingModuleId: stb(n),
        serialNumber: `KA2611XB${String(n).padStart(6, '0')}`,
        productCode: 'KSTB5043',
        productDescription: 'Kaon KSTB5043 HD Conax Zapper',
      })),
      products: ['GFA1', 'EFA2', 'RFB1', 'BFB2', 'AF1'].map((productId) => ({ productId })),
    },
  })
}

/** The example provider, pointed at a simulator, with short retry delays. */
export async function providerFor(
  sim: Simulator | string,
  changes: Partial<ProvisioningProvider> = {},
): Promise<ProvisioningProvider> {
  const base = await loadProvider(PROVIDER_FILE)
  const url = typeof sim === 'string' ? sim : sim.url
  return {
    ...base,
    connection: {
      ...base.connection,
      endpoint: `${url}/ca-server/webservices/caclient`,
      timeoutMs: 2000,
    },
    delivery: { ...base.delivery, retryInitialDelayMs: 20, retryMaxDelayMs: 200 },
    ...changes,
  }
}

/** A supertest agent for the adapter's HTTP API, the API token set on every request. */
export function apiAgent(adapter: Adapter): ReturnType<typeof request.agent> {
  return request.agent(adapter.url as string).set('Authorization', `Bearer ${adapter.apiToken}`)
}

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  private current: number
  constructor(start = '2026-11-26T10:00:00.000Z') {
    this.current = Date.parse(start)
  }
  now(): Date {
    return new Date(this.current)
  }
  advance(ms: number): void {
    this.current += ms
  }
}

/** An adapter without background delivery (tests call deliverDue) and without an HTTP server. */
export async function startTestAdapter(
  sim: Simulator | string,
  options: Partial<AdapterOptions> & { providerChanges?: Partial<ProvisioningProvider> } = {},
): Promise<Adapter> {
  const { providerChanges, ...rest } = options
  return startAdapter({
    provider: await providerFor(sim, providerChanges),
    port: null,
    autoDeliver: false,
    ...rest,
  })
}
