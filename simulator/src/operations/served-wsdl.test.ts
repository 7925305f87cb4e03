import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BasicAuthSecurity, createClientAsync, type Client } from 'soap'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { Simulator } from '../create-simulator.js'
import { packageRoot } from '../runtime/package-root.js'
import { CARD_A, CARD_B, STB_1, STB_2, startTestSimulator } from '../test-support/soap.js'
import { SERVICE_NAMES, type ServiceName } from '../contract/namespaces.js'
import { OPERATIONS, OPERATION_BY_NAME } from './operation-table.js'
import { shippedWsdlFiles } from './served-wsdl.js'

type Status = { StatusCode: string; TransactionId: string; Message?: string }
type AsyncOperation = (args: unknown) => Promise<[Record<string, unknown>, string]>

async function clientFor(sim: Simulator, service: ServiceName): Promise<Client> {
  const client = await createClientAsync(sim.wsdlUrl(service))
  client.setSecurity(new BasicAuthSecurity('sms', 'sms'))
  return client
}

async function call(
  client: Client,
  operation: string,
  request: unknown,
): Promise<Record<string, unknown>> {
  const method = client[`${operation}Async`] as AsyncOperation
  const [result] = await method.call(client, { [`${operation}Request`]: request })
  return result
}

const statusOf = (result: Record<string, unknown>): Status => result.TransactionStatus as Status

describe('WSDL served by the simulator', () => {
  let sim: Simulator
  const clients = new Map<ServiceName, Client>()

  beforeAll(async () => {
    sim = await startTestSimulator()
    for (const service of SERVICE_NAMES) {
      clients.set(service, await clientFor(sim, service))
    }
  })
  afterAll(async () => {
    await sim.close()
  })

  it('describes every contract operation on its service, and nothing else', () => {
    for (const service of SERVICE_NAMES) {
      const description = clients.get(service)?.describe() as Record<string, Record<string, object>>
      const port = Object.values(Object.values(description)[0] ?? {})[0] ?? {}
      const expected = OPERATIONS.filter((op) => op.service === service).map((op) => op.name)
      expect(Object.keys(port).sort()).toEqual([...expected].sort())
    }
  })

  it('round-trips a day of all 13 operations through the soap client built from the served WSDLs', async () => {
    const subscription = clients.get('subscription') as Client
    const pairing = clients.get('pairing') as Client
    const messaging = clients.get('user-text-messaging') as Client
    const fingerprint = clients.get('fingerprint') as Client
    const pin = clients.get('ca-pin') as Client
    const results: Record<string, Record<string, unknown>> = {}

    results.AddSubscriptions = await call(subscription, 'AddSubscriptions', {
      Subscriptions: {
        Subscription: [
          {
            CaClientId: CARD_A,
            ProductId: 'GFA1',
            Distributor: 'Main',
            StartDate: '2026-11-01T00:00:00Z',
          },
          { CaClientId: CARD_A, ProductId: 'EFA2', Distributor: 'Main' },
        ],
      },
      SequenceNumber: 1,
    })
    results.CancelSubscriptions = await call(subscription, 'CancelSubscriptions', {
      Subscriptions: { Subscription: [{ CaClientId: CARD_A, ProductId: 'EFA2' }] },
      SequenceNumber: 2,
    })
    results.GetActiveSubscriptions = await call(subscription, 'GetActiveSubscriptions', {
      CaClientId: CARD_A,
    })
    results.CreatePairing = await call(pairing, 'CreatePairing', {
      CaClientIds: { CaClientId: [CARD_A] },
      PairingModuleIds: { PairingModuleId: [STB_1] },
      Distributor: 'Main',
    })
    results.AddToExistingPairing = await call(pairing, 'AddToExistingPairing', {
      PairedCaClientId: CARD_A,
      CaClientIds: { CaClientId: [CARD_B] },
      PairingModuleIds: { PairingModuleId: [STB_2] },
    })
    results.GetPairingStatusForCard = await call(pairing, 'GetPairingStatusForCard', {
      CaClientId: CARD_B,
    })
    results.GetPairingStatusForPairingModule = await call(
      pairing,
      'GetPairingStatusForPairingModule',
      {
        PairingModuleId: STB_2,
      },
    )
    results.SendMailMessageToClients = await call(messaging, 'SendMailMessageToClients', {
      CaClientIds: { CaClientId: [CARD_A, CARD_B] },
      Message: 'Your bill is ready',
    })
    results.SendBarkMessageToClients = await call(messaging, 'SendBarkMessageToClients', {
      CaClientIds: { CaClientId: [CARD_A] },
      Message: 'Welcome',
      DisplayDurationInSeconds: 15,
    })
    results.SendRepeatingBarkMessageToClients = await call(
      messaging,
      'SendRepeatingBarkMessageToClients',
      {
        CaClientIds: { CaClientId: [CARD_A] },
        Message: 'Renew today',
        RepetitionCount: 3,
        RepetitionIntervalInSeconds: 60,
      },
    )
    results.DisplayFingerprint = await call(fingerprint, 'DisplayFingerprint', {
      CaClientIds: { CaClientId: [CARD_A] },
      PositionX: 100,
      PositionY: 50,
      Slot: 'B',
    })
    results.UpdateCaPinToGivenValue = await call(pin, 'UpdateCaPinToGivenValue', {
      CaClientId: CARD_B,
      Pin: '0042',
    })
    results.UpdateCaPinToDefaultValue = await call(pin, 'UpdateCaPinToDefaultValue', {
      CaClientId: CARD_A,
    })

    expect(Object.keys(results)).toHaveLength(13)
    for (const [operation, result] of Object.entries(results)) {
      expect({ operation, status: statusOf(result).StatusCode }).toEqual({
        operation,
        status: 'OK',
      })
      expect(statusOf(result).TransactionId).toMatch(/^[0-9a-f-]{36}$/)
    }
    const active = results.GetActiveSubscriptions?.Subscriptions as {
      Subscription: { ProductId: string }[]
    }
    expect(active.Subscription.map((s) => s.ProductId)).toEqual(['GFA1'])
    const paired = results.GetPairingStatusForPairingModule as {
      Paired: boolean
      CaClientIds: { CaClientId: string[] }
      PairingModules: { PairingModule: { PairingModuleId: string; SerialNumber: string }[] }
    }
    expect(paired.Paired).toBe(true)
    expect(paired.CaClientIds.CaClientId).toEqual([CARD_A, CARD_B])
    expect(paired.PairingModules.PairingModule.map((m) => m.PairingModuleId)).toEqual([
      STB_1,
      STB_2,
    ])

    const cardA = sim.model.card(CARD_A)
    const cardB = sim.model.card(CARD_B)
    expect(cardA?.inbox.map((m) => m.message)).toEqual(['Your bill is ready'])
    expect(cardA?.screen.map((m) => [m.kind, m.displayDurationInSeconds])).toEqual([
      ['BARK', 15],
      ['REPEATING_BARK', 20],
    ])
    expect(cardA?.fingerprints[0]).toMatchObject({
      positionX: 100,
      positionY: 50,
      slot: 'B',
      height: 12,
    })
    expect(cardB?.pin).toBe('0042')
    expect(cardA?.pin).toBe('1234')
  })

  it.each(OPERATIONS.map((op) => [op.name, op] as const))(
    'round-trips %s from its example in the operation table through the soap client',
    async (_name, op) => {
      const fresh = await startTestSimulator()
      onTestFinished(() => fresh.close())
      const client = await clientFor(fresh, op.service)
      const pairing = await clientFor(fresh, 'pairing')
      const paired = await call(pairing, 'CreatePairing', {
        CaClientIds: { CaClientId: [CARD_A] },
        PairingModuleIds: { PairingModuleId: [STB_1] },
      })
      expect(statusOf(paired).StatusCode).toBe('OK')
      const result = await call(client, op.name, OPERATION_BY_NAME.get(op.name)?.example)
      expect({ operation: op.name, status: statusOf(result).StatusCode }).toEqual({
        operation: op.name,
        status: 'OK',
      })
    },
  )

  it('answers a business error as a normal response the client reads', async () => {
    const result = await call(clients.get('ca-pin') as Client, 'UpdateCaPinToGivenValue', {
      CaClientId: '01234567890',
      Pin: '1111',
    })
    expect(statusOf(result).StatusCode).toBe('CLIENT_NOT_FOUND')
    expect(statusOf(result).Message).toContain('01234567890')
  })

  it('advertises the address it was fetched from', async () => {
    const wsdl = await (await fetch(sim.wsdlUrl('pairing'))).text()
    expect(wsdl).toContain(`<soap:address location="${sim.serviceUrl('pairing')}"/>`)
  })
})

describe('shipped WSDL files', () => {
  it('match the contract table (regenerate with npm run fixtures:wsdl)', () => {
    for (const { file, content } of shippedWsdlFiles()) {
      const shipped = readFileSync(join(packageRoot(), 'fixtures', 'wsdl', file), 'utf8')
      expect({ file, same: shipped === content }).toEqual({ file, same: true })
    }
  })
})
