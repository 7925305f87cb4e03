import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startSimulator, type Simulator } from '../../../simulator/src/index.js'
import { REQUEST_TYPES, isQuery, type ConaxCommand } from '../../domain/commands.js'
import {
  CARD_A,
  CARD_B,
  CARD_OTHER_SMS,
  CARD_ZERO,
  INVENTORY,
  SAMPLES,
  STB_1,
  STB_2,
  UNKNOWN_CARD,
} from '../../test-support/conax-samples.js'
import {
  createConaxClient,
  type CompletedOutcome,
  type ConaxClient,
  type ConaxClientOptions,
  type ConaxClientTuning,
  type ConaxOutcome,
} from './conax-client.js'
import { OPERATION_OF } from './conax-requests.js'

// The adapter's Conax client against the real simulator, in process, over HTTP.

let sim: Simulator
let conax: ConaxClient
const extras: { close(): Promise<void> }[] = []

function optionsFor(target: Simulator, overrides: Partial<ConaxClientOptions> = {}) {
  return {
    endpoint: target.serviceUrl('subscription').replace(/\/subscription$/, ''),
    username: 'sms',
    password: 'sms',
    timeoutMs: 5000,
    ...overrides,
  }
}

/** A client that is closed after the test. */
async function extraClient(target: Simulator, overrides: Partial<ConaxClientOptions> = {}) {
  const client = await createConaxClient(optionsFor(target, overrides))
  extras.push(client)
  return client
}

/** A client of a hand-written server on port 0; both are closed after the test. */
async function clientOf(
  server: Server,
  overrides: Partial<ConaxClientOptions & ConaxClientTuning> = {},
): Promise<ConaxClient> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  extras.push({
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  })
  const client = await createConaxClient({
    ...optionsFor(sim),
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/caclient`,
    ...overrides,
  })
  extras.push(client)
  return client
}

function completed(outcome: ConaxOutcome): CompletedOutcome {
  expect(outcome).toMatchObject({ kind: 'COMPLETED' })
  return outcome as CompletedOutcome
}

const lastJournalEntry = () => sim.journal.list().at(-1)

beforeAll(async () => {
  sim = await startSimulator({ users: { sms: 'sms', other: 'other' }, inventory: INVENTORY })
  conax = await createConaxClient(optionsFor(sim))
})
afterAll(async () => {
  await conax.close()
  await sim.close()
})
beforeEach(async () => {
  await sim.reset(true)
})
afterEach(async () => {
  // Last in, first out: clients go before the servers they talk to.
  for (const extra of extras.splice(0).reverse()) {
    await extra.close()
  }
})

describe('every command type', () => {
  it('sends each of the 13 types as its operation, with SequenceNumber on writes only', async () => {
    let sequence = 100
    for (const type of REQUEST_TYPES.filter((t) => t !== 'CANCEL_SUBSCRIPTIONS')) {
      const outcome = await conax.send(SAMPLES[type], ++sequence)
      const entry = lastJournalEntry()
      expect({ type, kind: outcome.kind }).toEqual({ type, kind: 'COMPLETED' })
      expect(entry?.operation).toBe(OPERATION_OF[type].operation)
      expect(entry?.service).toBe(OPERATION_OF[type].service)
      expect(entry?.request?.SequenceNumber).toBe(isQuery(type) ? undefined : sequence)
      expect((outcome as CompletedOutcome).referenceNumber).toBe(entry?.transactionId)
      expect((outcome as CompletedOutcome).request).toContain(`<${OPERATION_OF[type].operation}`)
      expect((outcome as CompletedOutcome).response).toContain(
        `${OPERATION_OF[type].operation}Response`,
      )
    }
    completed(await conax.send(SAMPLES.CANCEL_SUBSCRIPTIONS, ++sequence))
    expect(new Set(sim.journal.list().map((e) => e.operation)).size).toBe(13)
  })

  it('ADD_SUBSCRIPTIONS activates the product with its distributor and dates', async () => {
    const outcome = completed(await conax.send(SAMPLES.ADD_SUBSCRIPTIONS, 1))
    expect(outcome.result).toBeNull()
    expect(outcome.message).toMatch(/subscription/)
    expect(sim.model.card(CARD_A)?.subscriptions).toEqual([
      {
        productId: 'GFA1',
        distributor: 'Main',
        startDate: '2026-11-01T00:00:00.000Z',
        endDate: '2099-12-31T23:59:59.000Z',
      },
    ])
    expect(lastJournalEntry()?.request).toEqual({
      Subscriptions: {
        Subscription: [
          {
            CaClientId: CARD_A,
            ProductId: 'GFA1',
            Distributor: 'Main',
            StartDate: '2026-11-01T00:00:00.000Z',
            EndDate: '2099-12-31T23:59:59.000Z',
          },
        ],
      },
      SequenceNumber: 1,
    })
  })

  it('ADD_SUBSCRIPTIONS leaves out a null distributor and absent dates', async () => {
    completed(
      await conax.send(
        {
          type: 'ADD_SUBSCRIPTIONS',
          smartcardCaId: CARD_A,
          serviceCaId: 'EFA2',
          distributor: null,
        },
        2,
      ),
    )
    expect(lastJournalEntry()?.request).toEqual({
      Subscriptions: { Subscription: [{ CaClientId: CARD_A, ProductId: 'EFA2' }] },
      SequenceNumber: 2,
    })
    expect(sim.model.card(CARD_A)?.subscriptions).toEqual([
      expect.objectContaining({ productId: 'EFA2', distributor: null, endDate: null }),
    ])
  })

  it('CANCEL_SUBSCRIPTIONS stops the product', async () => {
    completed(await conax.send({ ...SAMPLES.ADD_SUBSCRIPTIONS, serviceCaId: 'EFA2' }, 1))
    completed(await conax.send(SAMPLES.CANCEL_SUBSCRIPTIONS, 2))
    expect(sim.model.card(CARD_A)?.subscriptions).toEqual([])
  })

  it('GET_ACTIVE_SUBSCRIPTIONS returns the active products', async () => {
    completed(await conax.send(SAMPLES.ADD_SUBSCRIPTIONS, 1))
    completed(
      await conax.send(
        {
          type: 'ADD_SUBSCRIPTIONS',
          smartcardCaId: CARD_A,
          serviceCaId: 'EFA2',
          distributor: null,
        },
        2,
      ),
    )
    const outcome = completed(await conax.send(SAMPLES.GET_ACTIVE_SUBSCRIPTIONS, 3))
    expect(outcome.result).toEqual({
      subscriptions: [
        {
          serviceCaId: 'GFA1',
          distributor: 'Main',
          startDate: '2026-11-01T00:00:00.000Z',
          endDate: '2099-12-31T23:59:59.000Z',
        },
        { serviceCaId: 'EFA2', distributor: null, startDate: expect.any(String), endDate: null },
      ],
    })
  })

  it('GET_ACTIVE_SUBSCRIPTIONS of a card without products returns an empty list', async () => {
    const outcome = completed(await conax.send(SAMPLES.GET_ACTIVE_SUBSCRIPTIONS, 1))
    expect(outcome.result).toEqual({ subscriptions: [] })
  })

  it('CREATE_PAIRING and ADD_TO_EXISTING_PAIRING pair the cards and STBs', async () => {
    completed(await conax.send(SAMPLES.CREATE_PAIRING, 1))
    expect(sim.model.card(CARD_A)?.pairing).toMatchObject({
      caClientIds: [CARD_A],
      pairingModuleIds: [STB_1],
      distributor: 'Main',
    })
    completed(await conax.send(SAMPLES.ADD_TO_EXISTING_PAIRING, 2))
    expect(lastJournalEntry()?.request).toEqual({
      PairedCaClientId: CARD_A,
      CaClientIds: { CaClientId: [CARD_B] },
      PairingModuleIds: { PairingModuleId: [STB_2] },
      SequenceNumber: 2,
    })
    expect(sim.model.card(CARD_B)?.pairing).toMatchObject({
      caClientIds: [CARD_A, CARD_B],
      pairingModuleIds: [STB_1, STB_2],
    })
  })

  it('ADD_TO_EXISTING_PAIRING leaves out an empty card list', async () => {
    completed(await conax.send(SAMPLES.CREATE_PAIRING, 1))
    completed(await conax.send({ ...SAMPLES.ADD_TO_EXISTING_PAIRING, smartcardCaIds: [] }, 2))
    expect(lastJournalEntry()?.request).toEqual({
      PairedCaClientId: CARD_A,
      PairingModuleIds: { PairingModuleId: [STB_2] },
      SequenceNumber: 2,
    })
  })

  it('GET_PAIRING_STATUS_FOR_CARD and _FOR_PAIRING_MODULE return the pairing', async () => {
    completed(await conax.send(SAMPLES.CREATE_PAIRING, 1))
    completed(await conax.send(SAMPLES.ADD_TO_EXISTING_PAIRING, 2))
    const expected = {
      paired: true,
      smartcardCaIds: [CARD_A, CARD_B],
      stbs: [
        {
          stbCaId: STB_1,
          serialNumber: 'KA2611XB00001',
          productCode: 'KSTB5043',
          productDescription: 'Kaon KSTB5043 HD Conax Zapper',
        },
        expect.objectContaining({ stbCaId: STB_2, serialNumber: 'KA2611XB00002' }),
      ],
    }
    expect(completed(await conax.send(SAMPLES.GET_PAIRING_STATUS_FOR_CARD, 3)).result).toEqual(
      expected,
    )
    expect(
      completed(await conax.send(SAMPLES.GET_PAIRING_STATUS_FOR_PAIRING_MODULE, 4)).result,
    ).toEqual(expected)
  })

  it('GET_PAIRING_STATUS_* of unpaired devices return paired false and empty lists', async () => {
    const unpaired = { paired: false, smartcardCaIds: [], stbs: [] }
    expect(completed(await conax.send(SAMPLES.GET_PAIRING_STATUS_FOR_CARD, 1)).result).toEqual(
      unpaired,
    )
    expect(
      completed(await conax.send(SAMPLES.GET_PAIRING_STATUS_FOR_PAIRING_MODULE, 2)).result,
    ).toEqual(unpaired)
  })

  it('SEND_MAIL_MESSAGE_TO_CLIENT puts the message in every inbox', async () => {
    completed(await conax.send(SAMPLES.SEND_MAIL_MESSAGE_TO_CLIENT, 7))
    for (const card of [CARD_A, CARD_B]) {
      expect(sim.model.card(card)?.inbox).toEqual([
        expect.objectContaining({
          message: 'Your bill is ready',
          startIndicationTime: '2026-12-01T08:00:00.000Z',
          sequenceNumber: 7,
        }),
      ])
    }
  })

  it('SEND_BARK_MESSAGE_TO_CLIENT and the repeating bark show the message', async () => {
    completed(await conax.send(SAMPLES.SEND_BARK_MESSAGE_TO_CLIENT, 1))
    completed(await conax.send(SAMPLES.SEND_REPEATING_BARK_MESSAGE_TO_CLIENT, 2))
    expect(lastJournalEntry()?.request).toEqual({
      CaClientIds: { CaClientId: [CARD_A] },
      Message: 'Renew today',
      DisplayDurationInSeconds: 20,
      RepetitionCount: 3,
      RepetitionIntervalInSeconds: 60,
      SequenceNumber: 2,
    })
    expect(sim.model.card(CARD_A)?.screen).toEqual([
      expect.objectContaining({
        kind: 'BARK',
        message: 'Welcome',
        displayDurationInSeconds: 15,
        startIndicationTime: null,
      }),
      expect.objectContaining({
        kind: 'REPEATING_BARK',
        message: 'Renew today',
        displayDurationInSeconds: 20,
        repetitionCount: 3,
        repetitionIntervalInSeconds: 60,
      }),
    ])
  })

  it('DISPLAY_FINGERPRINT schedules the fingerprint, positions left to the CA when null', async () => {
    completed(await conax.send(SAMPLES.DISPLAY_FINGERPRINT, 1))
    expect(lastJournalEntry()?.request).toEqual({
      CaClientIds: { CaClientId: [CARD_A] },
      DurationInSeconds: 10,
      Height: 12,
      Slot: 'B',
      SequenceNumber: 1,
    })
    completed(
      await conax.send(
        {
          ...SAMPLES.DISPLAY_FINGERPRINT,
          displayTime: '2026-12-24T18:00:00Z',
          positionX: 0,
          positionY: 50,
          height: 20,
          slot: 'A',
        },
        2,
      ),
    )
    expect(sim.model.card(CARD_A)?.fingerprints).toEqual([
      expect.objectContaining({ positionX: null, positionY: null, height: 12, slot: 'B' }),
      expect.objectContaining({
        displayTime: '2026-12-24T18:00:00.000Z',
        durationInSeconds: 10,
        positionX: 0,
        positionY: 50,
        height: 20,
        slot: 'A',
      }),
    ])
  })

  it('UPDATE_CA_PIN_TO_GIVEN_VALUE and _TO_DEFAULT_VALUE set the PIN', async () => {
    completed(await conax.send(SAMPLES.UPDATE_CA_PIN_TO_GIVEN_VALUE, 1))
    expect(sim.model.card(CARD_B)?.pin).toBe('0042')
    completed(await conax.send(SAMPLES.UPDATE_CA_PIN_TO_DEFAULT_VALUE, 2))
    expect(sim.model.card(CARD_B)?.pin).toBe('1234')
  })
})

describe('SequenceNumber replays', () => {
  it('answers a repeated write with the first reference number and applies it once', async () => {
    const first = completed(await conax.send(SAMPLES.SEND_MAIL_MESSAGE_TO_CLIENT, 41))
    const second = completed(await conax.send(SAMPLES.SEND_MAIL_MESSAGE_TO_CLIENT, 41))
    expect(second.referenceNumber).toBe(first.referenceNumber)
    expect(sim.model.card(CARD_A)?.inbox).toHaveLength(1)
    expect(sim.journal.list().map((e) => [e.request?.SequenceNumber, e.replay])).toEqual([
      [41, false],
      [41, true],
    ])
  })

  it('treats the same write under a new sequence number as a new write', async () => {
    const first = completed(await conax.send(SAMPLES.SEND_MAIL_MESSAGE_TO_CLIENT, 41))
    const second = completed(await conax.send(SAMPLES.SEND_MAIL_MESSAGE_TO_CLIENT, 42))
    expect(second.referenceNumber).not.toBe(first.referenceNumber)
    expect(sim.model.card(CARD_A)?.inbox).toHaveLength(2)
  })

  it('refuses a sequence number that is not an xs:int, as a programming error', async () => {
    await expect(conax.send(SAMPLES.UPDATE_CA_PIN_TO_DEFAULT_VALUE, 2 ** 31)).rejects.toThrow(
      RangeError,
    )
    await expect(conax.send(SAMPLES.UPDATE_CA_PIN_TO_DEFAULT_VALUE, 1.5)).rejects.toThrow(
      RangeError,
    )
    expect(sim.journal.list()).toEqual([])
  })
})

describe('business errors are REJECTED with the CA code and TransactionId', () => {
  const cases: [string, ConaxCommand][] = [
    ['INPUT_VALIDATION_ERROR', { ...SAMPLES.UPDATE_CA_PIN_TO_GIVEN_VALUE, pin: '12' }],
    [
      'CLIENT_NOT_FOUND',
      { ...SAMPLES.UPDATE_CA_PIN_TO_DEFAULT_VALUE, smartcardCaId: UNKNOWN_CARD },
    ],
    [
      'CLIENT_NOT_MANAGED_BY_SMS',
      { ...SAMPLES.UPDATE_CA_PIN_TO_DEFAULT_VALUE, smartcardCaId: CARD_OTHER_SMS },
    ],
    ['PAIRING_MODULE_NOT_FOUND', { ...SAMPLES.CREATE_PAIRING, stbCaIds: ['42'] }],
    ['PRODUCT_NOT_FOUND', { ...SAMPLES.ADD_SUBSCRIPTIONS, serviceCaId: 'NOPE' }],
    ['NOT_PAIRED', SAMPLES.ADD_TO_EXISTING_PAIRING],
  ]

  it.each(cases)('%s', async (code, command) => {
    const before = sim.model.card(CARD_A)
    const outcome = await conax.send(command, 5)
    expect(outcome).toEqual({
      kind: 'REJECTED',
      errorCode: code,
      errorDescription: expect.any(String),
      referenceNumber: lastJournalEntry()?.transactionId,
      request: expect.stringContaining('<SequenceNumber>5</SequenceNumber>'),
      response: expect.stringContaining(`<StatusCode>${code}</StatusCode>`),
    })
    expect(lastJournalEntry()?.statusCode).toBe(code)
    expect(sim.model.card(CARD_A)).toEqual(before)
  })

  it('names the offending item in the description', async () => {
    const outcome = await conax.send(
      { ...SAMPLES.UPDATE_CA_PIN_TO_DEFAULT_VALUE, smartcardCaId: UNKNOWN_CARD },
      1,
    )
    expect(outcome).toMatchObject({ errorDescription: expect.stringContaining(UNKNOWN_CARD) })
  })

  it('rejects a query too, without a SequenceNumber', async () => {
    const outcome = await conax.send(
      { ...SAMPLES.GET_ACTIVE_SUBSCRIPTIONS, smartcardCaId: CARD_OTHER_SMS },
      5,
    )
    expect(outcome).toMatchObject({
      kind: 'REJECTED',
      errorCode: 'CLIENT_NOT_MANAGED_BY_SMS',
      referenceNumber: lastJournalEntry()?.transactionId,
    })
    expect(outcome.request).not.toContain('SequenceNumber')
  })

  it('FEATURE_NOT_AVAILABLE', async () => {
    const limited = await startSimulator({
      inventory: INVENTORY,
      disabledOperations: ['DisplayFingerprint'],
    })
    extras.push(limited)
    const client = await extraClient(limited)
    expect(await client.send(SAMPLES.DISPLAY_FINGERPRINT, 1)).toMatchObject({
      kind: 'REJECTED',
      errorCode: 'FEATURE_NOT_AVAILABLE',
      referenceNumber: expect.any(String),
    })
  })

  it('a soap:Client fault (a value that breaks the schema) is REJECTED SOAP_CLIENT_FAULT', async () => {
    const outcome = await conax.send(
      { ...SAMPLES.SEND_BARK_MESSAGE_TO_CLIENT, displayDurationInSeconds: 1.5 },
      1,
    )
    expect(outcome).toEqual({
      kind: 'REJECTED',
      errorCode: 'SOAP_CLIENT_FAULT',
      errorDescription: expect.stringContaining('DisplayDurationInSeconds'),
      referenceNumber: null,
      request: expect.stringContaining('<DisplayDurationInSeconds>1.5</DisplayDurationInSeconds>'),
      response: expect.stringContaining('<faultcode>soap:Client</faultcode>'),
    })
    expect(lastJournalEntry()?.statusCode).toBe('FAULT:Client')
  })

  it('a text XML cannot carry is REJECTED before anything is sent', async () => {
    const outcome = await conax.send(
      { ...SAMPLES.SEND_MAIL_MESSAGE_TO_CLIENT, message: 'bell \u0007 rings' },
      1,
    )
    expect(outcome).toEqual({
      kind: 'REJECTED',
      errorCode: 'UNSENDABLE_TEXT',
      errorDescription: 'Not sent: Message holds U+0007, a character that XML cannot carry.',
      referenceNumber: null,
      request: null,
      response: null,
    })
    expect(sim.journal.list()).toEqual([])
  })
})

describe('transport outcomes', () => {
  it('a wrong password is TRANSIENT UNAUTHORIZED (kept for a fixed configuration) and changes nothing', async () => {
    const client = await extraClient(sim, { password: 'wrong' })
    const outcome = await client.send(SAMPLES.UPDATE_CA_PIN_TO_GIVEN_VALUE, 1)
    expect(outcome).toEqual({
      kind: 'TRANSIENT',
      errorCode: 'UNAUTHORIZED',
      errorDescription: expect.stringMatching(/^HTTP 401/),
      request: expect.stringContaining('UpdateCaPinToGivenValue'),
      response: expect.any(String),
    })
    expect(lastJournalEntry()?.statusCode).toBe('HTTP_401')
    expect(sim.model.card(CARD_B)?.pin).toBe('1234')
  })

  it('an injected SYSTEM_ERROR is TRANSIENT and changes nothing', async () => {
    sim.faults.add({ kind: 'SYSTEM_ERROR' })
    const outcome = await conax.send(SAMPLES.UPDATE_CA_PIN_TO_GIVEN_VALUE, 1)
    expect(outcome).toEqual({
      kind: 'TRANSIENT',
      errorCode: 'SYSTEM_ERROR',
      errorDescription: expect.any(String),
      request: expect.stringContaining('UpdateCaPinToGivenValue'),
      response: expect.stringContaining('<StatusCode>SYSTEM_ERROR</StatusCode>'),
    })
    expect(sim.model.card(CARD_B)?.pin).toBe('1234')
  })

  it('an injected soap:Server fault is TRANSIENT SOAP_SERVER_FAULT', async () => {
    sim.faults.add({ kind: 'SOAP_FAULT', message: 'Database unavailable' })
    expect(await conax.send(SAMPLES.UPDATE_CA_PIN_TO_GIVEN_VALUE, 1)).toEqual({
      kind: 'TRANSIENT',
      errorCode: 'SOAP_SERVER_FAULT',
      errorDescription: 'Database unavailable',
      request: expect.any(String),
      response: expect.stringContaining('<faultcode>soap:Server</faultcode>'),
    })
  })

  it('an injected HTTP 503 is TRANSIENT HTTP_503', async () => {
    sim.faults.add({ kind: 'HTTP_STATUS', httpStatus: 503 })
    expect(await conax.send(SAMPLES.GET_ACTIVE_SUBSCRIPTIONS, 1)).toEqual({
      kind: 'TRANSIENT',
      errorCode: 'HTTP_503',
      errorDescription: expect.stringMatching(/^HTTP 503/),
      request: expect.any(String),
      response: expect.any(String),
    })
  })

  it('an injected HTTP 413 is REJECTED REQUEST_TOO_LARGE', async () => {
    sim.faults.add({ kind: 'HTTP_STATUS', httpStatus: 413 })
    expect(await conax.send(SAMPLES.GET_ACTIVE_SUBSCRIPTIONS, 1)).toMatchObject({
      kind: 'REJECTED',
      errorCode: 'REQUEST_TOO_LARGE',
    })
  })

  it('a body over the CA limit is REJECTED REQUEST_TOO_LARGE', async () => {
    const small = await startSimulator({ inventory: INVENTORY, bodyLimitBytes: 2048 })
    extras.push(small)
    const client = await extraClient(small)
    const outcome = await client.send(
      { ...SAMPLES.SEND_MAIL_MESSAGE_TO_CLIENT, smartcardCaIds: Array(100).fill(CARD_A) },
      1,
    )
    expect(outcome).toMatchObject({ kind: 'REJECTED', errorCode: 'REQUEST_TOO_LARGE' })
  })

  it('a dropped connection is TRANSIENT CONNECTION_RESET', async () => {
    sim.faults.add({ kind: 'RESET' })
    expect(await conax.send(SAMPLES.UPDATE_CA_PIN_TO_GIVEN_VALUE, 1)).toEqual({
      kind: 'TRANSIENT',
      errorCode: 'CONNECTION_RESET',
      errorDescription: expect.any(String),
      request: expect.stringContaining('UpdateCaPinToGivenValue'),
      response: null,
    })
    expect(sim.model.card(CARD_B)?.pin).toBe('1234')
  })

  it('an answer slower than timeoutMs is TRANSIENT TIMEOUT, and the retry is a replay', async () => {
    const impatient = await extraClient(sim, { timeoutMs: 300 })
    sim.faults.add({ kind: 'DELAY', delayMs: 1500 })
    const outcome = await impatient.send(SAMPLES.SEND_MAIL_MESSAGE_TO_CLIENT, 9)
    expect(outcome).toEqual({
      kind: 'TRANSIENT',
      errorCode: 'TIMEOUT',
      errorDescription: expect.any(String),
      request: expect.stringContaining('<SequenceNumber>9</SequenceNumber>'),
      response: null,
    })
    // The CA went on and applied it; the retry with the same number must not apply it again.
    await expect.poll(() => sim.journal.list().length, { timeout: 10_000 }).toBe(1)
    const retry = completed(await conax.send(SAMPLES.SEND_MAIL_MESSAGE_TO_CLIENT, 9))
    expect(retry.referenceNumber).toBe(sim.journal.list()[0]?.transactionId)
    expect(sim.model.card(CARD_A)?.inbox).toHaveLength(1)
  })

  it('a closed CA (connection refused) is TRANSIENT CONNECTION_REFUSED', async () => {
    const gone = await startSimulator({ inventory: INVENTORY })
    const options = optionsFor(gone)
    await gone.close()
    const client = await createConaxClient(options)
    extras.push(client)
    expect(await client.send(SAMPLES.GET_ACTIVE_SUBSCRIPTIONS, 1)).toEqual({
      kind: 'TRANSIENT',
      errorCode: 'CONNECTION_REFUSED',
      errorDescription: expect.stringContaining('ECONNREFUSED'),
      request: expect.any(String),
      response: null,
    })
  })

  it('an unknown host is TRANSIENT HOST_NOT_FOUND', async () => {
    const client = await createConaxClient({
      ...optionsFor(sim),
      endpoint: 'http://conax.invalid/ca-server/webservices/caclient',
    })
    extras.push(client)
    expect(await client.send(SAMPLES.GET_ACTIVE_SUBSCRIPTIONS, 1)).toMatchObject({
      kind: 'TRANSIENT',
      errorCode: 'HOST_NOT_FOUND',
    })
  })

  it('an answer that is not the operation SOAP answer is TRANSIENT MALFORMED_ANSWER', async () => {
    const answers = [
      '<html><body>Welcome to nginx</body></html>',
      '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><Other/></soap:Body></soap:Envelope>',
    ]
    let next = 0
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(answers[next++])
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    extras.push({ close: () => new Promise((resolve) => server.close(() => resolve())) })
    const client = await createConaxClient({
      ...optionsFor(sim),
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/caclient`,
    })
    extras.push(client)
    for (const answer of answers) {
      expect(await client.send(SAMPLES.GET_ACTIVE_SUBSCRIPTIONS, 1)).toEqual({
        kind: 'TRANSIENT',
        errorCode: 'MALFORMED_ANSWER',
        errorDescription: expect.any(String),
        request: expect.any(String),
        response: answer,
      })
    }
  })

  it('an answer over 4 MiB is TRANSIENT MALFORMED_ANSWER, and not read to its end', async () => {
    let written = 0
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/xml' })
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      const more = (): void => {
        // Stops once the client hangs up; 64 MiB would be the end of a client that reads it all.
        while (!res.destroyed && written < 64 * 1024 * 1024) {
          written += chunk.length
          if (!res.write(chunk)) {
            res.once('drain', more)
            return
          }
        }
        res.end()
      }
      more()
    })
    const client = await clientOf(server)
    expect(await client.send(SAMPLES.GET_ACTIVE_SUBSCRIPTIONS, 1)).toEqual({
      kind: 'TRANSIENT',
      errorCode: 'MALFORMED_ANSWER',
      errorDescription: 'The answer is larger than 4194304 bytes.',
      request: expect.stringContaining('GetActiveSubscriptions'),
      response: null,
    })
    expect(written).toBeLessThan(64 * 1024 * 1024)
  })

  it('an answer that stops halfway is TRANSIENT TIMEOUT: the deadline covers the reading', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/xml', 'Content-Length': '1000' })
      res.write('<?xml version="1.0"?><soap:Envelope')
    })
    const client = await clientOf(server, { timeoutMs: 300 })
    expect(await client.send(SAMPLES.GET_ACTIVE_SUBSCRIPTIONS, 1)).toEqual({
      kind: 'TRANSIENT',
      errorCode: 'TIMEOUT',
      errorDescription: expect.stringContaining('within 300 ms'),
      request: expect.any(String),
      response: null,
    })
  })

  it('opens at most maxSockets connections, and keeps them alive', async () => {
    let connections = 0
    let requests = 0
    const server = createServer((req, res) => {
      requests++
      req.resume()
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'text/xml' }).end('<x/>'))
    })
    server.on('connection', () => connections++)
    const client = await clientOf(server, { maxSockets: 2 })
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, () => client.send(SAMPLES.GET_ACTIVE_SUBSCRIPTIONS, 1)),
    )
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(Array(12).fill('TRANSIENT'))
    expect({ requests, connections }).toEqual({ requests: 12, connections: 2 })
  })

  it('refuses to send once closed, as a programming error', async () => {
    const client = await createConaxClient(optionsFor(sim))
    await client.close()
    await expect(client.send(SAMPLES.GET_ACTIVE_SUBSCRIPTIONS, 1)).rejects.toThrow(/closed/)
  })

  it('refuses options it cannot work with', async () => {
    await expect(createConaxClient({ ...optionsFor(sim), endpoint: 'ftp://x/y' })).rejects.toThrow(
      /not an http\(s\) URL/,
    )
    await expect(createConaxClient({ ...optionsFor(sim), timeoutMs: 0 })).rejects.toThrow(
      /timeoutMs/,
    )
    await expect(createConaxClient({ ...optionsFor(sim), characterSet: 'EBCDIC' })).rejects.toThrow(
      /character set 'EBCDIC'/,
    )
    await expect(createConaxClient({ ...optionsFor(sim), maxSockets: 0 })).rejects.toThrow(
      /maxSockets must be a positive integer/,
    )
  })
})

describe('identifiers and texts reach the CA exactly', () => {
  it('keeps CA IDs with leading zeros as strings, both ways', async () => {
    completed(
      await conax.send(
        {
          type: 'ADD_SUBSCRIPTIONS',
          smartcardCaId: CARD_ZERO,
          serviceCaId: '007',
          distributor: '0',
        },
        1,
      ),
    )
    completed(
      await conax.send(
        { ...SAMPLES.CREATE_PAIRING, smartcardCaIds: [CARD_ZERO], stbCaIds: [STB_1] },
        2,
      ),
    )
    expect(sim.model.card(CARD_ZERO)?.subscriptions).toEqual([
      expect.objectContaining({ productId: '007', distributor: '0' }),
    ])
    const active = completed(
      await conax.send({ ...SAMPLES.GET_ACTIVE_SUBSCRIPTIONS, smartcardCaId: CARD_ZERO }, 3),
    )
    expect(active.result).toEqual({
      subscriptions: [expect.objectContaining({ serviceCaId: '007', distributor: '0' })],
    })
    const status = completed(await conax.send(SAMPLES.GET_PAIRING_STATUS_FOR_PAIRING_MODULE, 4))
    expect(status.result).toMatchObject({
      smartcardCaIds: [CARD_ZERO],
      stbs: [expect.objectContaining({ stbCaId: STB_1 })],
    })
  })

  it('sends messages exactly: whitespace, carriage returns, markup characters and CDATA look-alikes', async () => {
    const messages = [
      '  two\nlines\tand  spaces ',
      'a & b < c > "d" \'e\'',
      '<![CDATA[x]]>y]]>',
      'carriage\r\nreturns\r',
    ]
    let sequence = 0
    for (const message of messages) {
      completed(await conax.send({ ...SAMPLES.SEND_MAIL_MESSAGE_TO_CLIENT, message }, ++sequence))
    }
    expect(sim.model.card(CARD_A)?.inbox.map((m) => m.message)).toEqual(messages)
  })

  it.each([
    ['ISO-8859-1', ['Grüße', '&#x20AC;', '&#x1D11E;', '&lt;![CDATA[Grüße, 10 &#x20AC;']],
    ['US-ASCII', ['Gr&#xFC;&#xDF;e', '&#x20AC;', '&lt;![CDATA[Gr&#xFC;&#xDF;e']],
    ['UTF-16', ['Grüße, 10 € ✓ 𝄞']],
    ['utf-8', ['Grüße, 10 € ✓ 𝄞']],
  ])('sends in the %s character set, referencing what it cannot carry', async (charset, sent) => {
    const client = await extraClient(sim, { characterSet: charset })
    const messages = ['Grüße, 10 € ✓ 𝄞', '<![CDATA[Grüße, 10 € ✓ 𝄞]]>']
    const requests: string[] = []
    for (const [index, message] of messages.entries()) {
      const outcome = await client.send(
        { ...SAMPLES.SEND_MAIL_MESSAGE_TO_CLIENT, message },
        index + 1,
      )
      requests.push(completed(outcome).request)
    }
    expect(requests[0]).toMatch(new RegExp(`^<\\?xml version="1.0" encoding="${charset}"\\?>`, 'i'))
    for (const fragment of sent) {
      expect(requests.join('\n')).toContain(fragment)
    }
    expect(sim.model.card(CARD_A)?.inbox.map((m) => m.message)).toEqual(messages)
  })
})
