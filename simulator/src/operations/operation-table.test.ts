import { describe, expect, it, onTestFinished } from 'vitest'
import { CARD_A, STB_1, callSoap, startTestSimulator } from '../test-support/soap.js'
import { OPERATION_BY_NAME, OPERATION_NAMES, OPERATIONS, operationsOf } from './operation-table.js'

/** The contract's operations, in the order of its table (conax-ws-contract.md section 2). */
const CONTRACT_ORDER = [
  ['subscription', 'AddSubscriptions'],
  ['subscription', 'CancelSubscriptions'],
  ['subscription', 'GetActiveSubscriptions'],
  ['pairing', 'CreatePairing'],
  ['pairing', 'AddToExistingPairing'],
  ['pairing', 'GetPairingStatusForCard'],
  ['pairing', 'GetPairingStatusForPairingModule'],
  ['user-text-messaging', 'SendMailMessageToClients'],
  ['user-text-messaging', 'SendBarkMessageToClients'],
  ['user-text-messaging', 'SendRepeatingBarkMessageToClients'],
  ['fingerprint', 'DisplayFingerprint'],
  ['ca-pin', 'UpdateCaPinToDefaultValue'],
  ['ca-pin', 'UpdateCaPinToGivenValue'],
] as const

describe('the operation table', () => {
  it('holds the 13 contract operations on their services, in the order of the contract', () => {
    expect(OPERATIONS.map((op) => [op.service, op.name])).toEqual(CONTRACT_ORDER)
    expect(OPERATION_NAMES).toEqual(CONTRACT_ORDER.map(([, name]) => name))
    expect(operationsOf('pairing').map((op) => op.name)).toEqual([
      'CreatePairing',
      'AddToExistingPairing',
      'GetPairingStatusForCard',
      'GetPairingStatusForPairingModule',
    ])
  })

  it('marks the three Get... queries as the only operations that do not write', () => {
    expect(OPERATIONS.filter((op) => !op.write).map((op) => op.name)).toEqual([
      'GetActiveSubscriptions',
      'GetPairingStatusForCard',
      'GetPairingStatusForPairingModule',
    ])
  })

  it('exports the contract shapes only: no handler or example leaks into OPERATIONS', () => {
    for (const op of OPERATIONS) {
      expect(Object.keys(op).sort()).toEqual(['name', 'request', 'response', 'service', 'write'])
    }
  })

  it.each(CONTRACT_ORDER.map(([service, name]) => [name, service] as const))(
    "answers %s's example OK on the test inventory with card A paired to STB 1",
    async (name, service) => {
      const sim = await startTestSimulator()
      onTestFinished(() => sim.close())
      const pairing = await callSoap(sim, 'pairing', 'CreatePairing', {
        CaClientIds: { CaClientId: [CARD_A] },
        PairingModuleIds: { PairingModuleId: [STB_1] },
      })
      expect(pairing.statusCode).toBe('OK')
      const example = OPERATION_BY_NAME.get(name)?.example
      expect(example).toBeDefined()
      const answer = await callSoap(sim, service, name, { ...example })
      expect({
        status: answer.status,
        statusCode: answer.statusCode,
        message: answer.message,
      }).toEqual({
        status: 200,
        statusCode: 'OK',
        message: expect.any(String) as string,
      })
    },
  )
})
