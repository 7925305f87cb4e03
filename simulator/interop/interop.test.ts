import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SERVICE_NAMES, type ServiceName } from '../src/contract/namespaces.js'
import { OPERATION_NAMES } from '../src/operations/operation-table.js'
import type { Simulator } from '../src/create-simulator.js'
import {
  CARD_A,
  CARD_B,
  STB_1,
  STB_2,
  callSoap,
  startTestSimulator,
} from '../src/test-support/soap.js'

// Interoperability with tools outside Node: zeep (a WSDL-driven Python client) and xmllint
// (libxml2's XSD validator). `npm run test:interop`; .ci/run installs python3-zeep and libxml2-utils.
const run = promisify(execFile)
const PYTHON = process.env.CONAX_INTEROP_PYTHON ?? '/usr/bin/python3'

let sim: Simulator
let dir: string

beforeAll(async () => {
  sim = await startTestSimulator()
  dir = mkdtempSync(join(tmpdir(), 'conax-interop-'))
})
afterAll(async () => {
  await sim.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Splits a served WSDL into common-<service>.xsd and <service>.xsd that xmllint can load. */
async function writeSchemas(service: ServiceName): Promise<string> {
  const wsdl = await (await fetch(sim.wsdlUrl(service))).text()
  const schemas = [...wsdl.matchAll(/<xs:schema[\s\S]*?<\/xs:schema>/g)].map((m) => m[0])
  const withXs = (schema: string): string =>
    schema.replace('<xs:schema ', '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" ')
  expect(schemas).toHaveLength(2)
  writeFileSync(join(dir, `common-${service}.xsd`), withXs(schemas[0] as string))
  const local = withXs(schemas[1] as string).replace(
    /<xs:import namespace="([^"]+)"\/>/,
    `<xs:import namespace="$1" schemaLocation="common-${service}.xsd"/>`,
  )
  const file = join(dir, `${service}.xsd`)
  writeFileSync(file, local)
  return file
}

/** Validates the element inside soap:Body of an envelope against a schema; returns xmllint's verdict. */
async function validateBody(envelope: string, schema: string, name: string): Promise<string> {
  const body = /<(?:soap|s):Body>([\s\S]*)<\/(?:soap|s):Body>/.exec(envelope)?.[1] ?? ''
  const file = join(dir, `${name}.xml`)
  writeFileSync(file, body)
  try {
    const { stderr } = await run('xmllint', ['--noout', '--schema', schema, file])
    return stderr.trim()
  } catch (error) {
    return String((error as { stderr?: string }).stderr ?? error)
  }
}

describe('xmllint', () => {
  it('validates every answer of the 13 operations, success and error, against the served XSD', async () => {
    const schema = Object.fromEntries(
      await Promise.all(SERVICE_NAMES.map(async (s) => [s, await writeSchemas(s)] as const)),
    ) as Record<ServiceName, string>
    const calls: [ServiceName, string, Record<string, unknown>][] = [
      [
        'subscription',
        'AddSubscriptions',
        {
          Subscriptions: {
            Subscription: [
              {
                CaClientId: CARD_A,
                ProductId: 'GFA1',
                Distributor: 'Main',
                StartDate: '2026-11-01T00:00:00Z',
              },
            ],
          },
          SequenceNumber: 3,
        },
      ],
      [
        'subscription',
        'CancelSubscriptions',
        { Subscriptions: { Subscription: [{ CaClientId: CARD_A, ProductId: 'EFA2' }] } },
      ],
      ['subscription', 'GetActiveSubscriptions', { CaClientId: CARD_A }],
      ['subscription', 'GetActiveSubscriptions', { CaClientId: CARD_B }],
      ['subscription', 'GetActiveSubscriptions', { CaClientId: '01234567890' }],
      [
        'pairing',
        'CreatePairing',
        { CaClientIds: { CaClientId: [CARD_A] }, PairingModuleIds: { PairingModuleId: [STB_1] } },
      ],
      [
        'pairing',
        'AddToExistingPairing',
        { PairedCaClientId: CARD_A, PairingModuleIds: { PairingModuleId: [STB_2] } },
      ],
      [
        'pairing',
        'AddToExistingPairing',
        { PairedCaClientId: CARD_B, PairingModuleIds: { PairingModuleId: [STB_2] } },
      ],
      ['pairing', 'GetPairingStatusForCard', { CaClientId: CARD_A }],
      ['pairing', 'GetPairingStatusForCard', { CaClientId: CARD_B }],
      ['pairing', 'GetPairingStatusForPairingModule', { PairingModuleId: STB_2 }],
      ['pairing', 'GetPairingStatusForPairingModule', { PairingModuleId: '42' }],
      [
        'user-text-messaging',
        'SendMailMessageToClients',
        { CaClientIds: { CaClientId: [CARD_A] }, Message: 'a & b < c' },
      ],
      [
        'user-text-messaging',
        'SendBarkMessageToClients',
        { CaClientIds: { CaClientId: [CARD_A] }, Message: 'x'.repeat(130) },
      ],
      [
        'user-text-messaging',
        'SendRepeatingBarkMessageToClients',
        {
          CaClientIds: { CaClientId: [CARD_A] },
          Message: 'r',
          RepetitionCount: 2,
          RepetitionIntervalInSeconds: 20,
        },
      ],
      ['fingerprint', 'DisplayFingerprint', { CaClientIds: { CaClientId: [CARD_A] }, Slot: 'B' }],
      ['ca-pin', 'UpdateCaPinToDefaultValue', { CaClientId: CARD_A }],
      ['ca-pin', 'UpdateCaPinToGivenValue', { CaClientId: CARD_A, Pin: '12' }],
    ]
    const verdicts: string[] = []
    for (const [index, [service, operation, children]] of calls.entries()) {
      const answer = await callSoap(sim, service, operation, children)
      expect(answer.status).toBe(200)
      verdicts.push(
        `${operation}: ${await validateBody(answer.body, schema[service], `answer-${index}`)}`,
      )
    }
    expect(verdicts.filter((v) => !v.endsWith(' validates'))).toEqual([])
    expect(verdicts).toHaveLength(calls.length)
  })
})

describe('zeep', () => {
  it('calls all 13 operations from the served WSDLs, unchanged', async () => {
    const script = join(import.meta.dirname, 'zeep_roundtrip.py')
    const { stdout } = await run(PYTHON, [script, sim.url, CARD_A, CARD_B, STB_1, STB_2], {
      timeout: 60_000,
    })
    const result = JSON.parse(stdout) as Record<string, unknown>
    for (const operation of OPERATION_NAMES) {
      expect({ operation, status: result[operation] }).toEqual({ operation, status: 'OK' })
    }
    expect(result).toMatchObject({
      unknownCard: 'CLIENT_NOT_FOUND',
      pairedCards: [CARD_A, CARD_B],
      serialNumbers: ['KA2611XB000001', 'KA2611XB000002'],
    })
    expect(sim.model.card(CARD_A)?.inbox.map((m) => m.message)).toContain('Grüße aus Zürich')
    expect(sim.model.card(CARD_A)?.pin).toBe('4321')
  })
})
