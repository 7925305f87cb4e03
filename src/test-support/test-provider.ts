import type { ProvisioningProvider } from '../domain/crm.js'

/**
 * The provisioning provider the pure domain tests plan with: the seed's Scenario 2 mapping, five
 * viewing points (TWIN2 and TWIN3 with allowed-service lists), a local endpoint. `changes`
 * replaces whole fields, so a test states what it relies on.
 */
export function testProvider(changes: Partial<ProvisioningProvider> = {}): ProvisioningProvider {
  return {
    name: 'Conax WS',
    alternativeCode: 'CONAX',
    description: null,
    protocol: 'CONAX_CONTEGO_WEB_SERVICES',
    lifeCycleState: 'EFFECTIVE',
    connection: {
      endpoint: 'http://127.0.0.1:8280/ca-server/webservices/caclient',
      username: 'sms',
      password: 'sms',
      characterSet: 'UTF-8',
      timeoutMs: 1000,
    },
    caIdFormat: 'lenient',
    services: [
      { service: 'GEOLOGICAL', caId: 'GFA1' },
      { service: 'ENTERTAIN', caId: 'EFA2' },
      { service: 'RELIGION', caId: 'RFB1' },
      { service: 'BABY_CHANNEL', caId: 'BFB2' },
      { service: 'AGRICULTURE', caId: 'AF1' },
    ],
    physicalGoods: [
      { product: 'SC-CONAX', kind: 'SMARTCARD' },
      { product: 'STB-HD', kind: 'STB' },
    ],
    distributors: [
      { name: 'Main', alternativeCode: 'MAIN', allowedServices: 'ALL' },
      { name: 'TWIN1', alternativeCode: 'T1', allowedServices: 'ALL' },
      { name: 'TWIN2', alternativeCode: 'T2', allowedServices: ['GEOLOGICAL', 'AGRICULTURE'] },
      { name: 'TWIN3', alternativeCode: 'T3', allowedServices: ['GEOLOGICAL'] },
      { name: 'TWIN4', alternativeCode: 'T4', allowedServices: 'ALL' },
    ],
    maxViewingPoints: 4,
    activateServicesOnNewSmartcard: true,
    delivery: {
      maxCardsPerRequest: 500,
      retryInitialDelayMs: 10,
      retryMaxDelayMs: 100,
      splitRefusedBatches: 'named-or-bisect',
    },
    ...changes,
  }
}
