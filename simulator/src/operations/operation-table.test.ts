import { describe, expect, it, onTestFinished } from 'vitest'
import { SERVICE_NAMES } from '../contract/namespaces.js'
import { CARD_A, STB_1, callSoap, startTestSimulator } from '../test-support/soap.js'
import {
  OPERATION_BY_NAME,
  OPERATION_NAMES,
  OPERATIONS,
  isOperationName,
  operationsOf,
} from './operation-table.js'

// Which operations the contract has, and on which service, is pinned by operations.test.ts
// (SERVICE_OF) and by the shipped WSDLs (served-wsdl.test.ts); these tests hold for any table.

describe('the operation table', () => {
  it('names each operation once, and each service serves its own operations in table order', () => {
    expect(new Set(OPERATION_NAMES).size).toBe(OPERATIONS.length)
    expect(OPERATION_NAMES).toEqual(OPERATIONS.map((op) => op.name))
    expect(SERVICE_NAMES.flatMap((service) => operationsOf(service))).toEqual(
      [...OPERATIONS].sort(
        (a, b) => SERVICE_NAMES.indexOf(a.service) - SERVICE_NAMES.indexOf(b.service),
      ),
    )
    expect(OPERATION_NAMES.every(isOperationName)).toBe(true)
    expect(isOperationName('toString')).toBe(false)
  })

  it('marks the Get... queries, and only them, as operations that do not write', () => {
    for (const op of OPERATIONS) {
      expect({ name: op.name, write: op.write }).toEqual({
        name: op.name,
        write: !op.name.startsWith('Get'),
      })
    }
  })

  it('exports the contract shapes only: no handler or example leaks into OPERATIONS', () => {
    for (const op of OPERATIONS) {
      expect(Object.keys(op).sort()).toEqual(['name', 'request', 'response', 'service', 'write'])
    }
  })

  it.each(OPERATIONS.map((op) => [op.name, op] as const))(
    "answers %s's example OK on the test inventory with card A paired to STB 1",
    async (name, op) => {
      const sim = await startTestSimulator()
      onTestFinished(() => sim.close())
      const pairing = await callSoap(sim, 'pairing', 'CreatePairing', {
        CaClientIds: { CaClientId: [CARD_A] },
        PairingModuleIds: { PairingModuleId: [STB_1] },
      })
      expect(pairing.statusCode).toBe('OK')
      const example = OPERATION_BY_NAME.get(name)?.example
      expect(example).toBeDefined()
      const answer = await callSoap(sim, op.service, name, { ...example })
      expect({ status: answer.status, statusCode: answer.statusCode }).toEqual({
        status: 200,
        statusCode: 'OK',
      })
    },
  )
})
