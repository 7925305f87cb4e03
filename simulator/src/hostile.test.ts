import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SERVICE_BASE_PATH, type ServiceName } from './contract/namespaces.js'
import { startSimulator, type Simulator, type SimulatorOptions } from './create-simulator.js'
import type { StatusCode } from './model/types.js'
import {
  RawClient,
  RecordingStore,
  checkpoint,
  expectUnchanged,
  soapOutcome,
  type RawAnswer,
  type SoapOutcome,
} from './test-support/hostile.js'
import {
  CARD_A,
  CARD_B,
  CARD_C,
  STB_1,
  STB_2,
  TEST_INVENTORY,
  requestEnvelope,
} from './test-support/soap.js'

// Hostile SOAP input, case by case (contract section 3): each case is posted to a simulator that
// holds cards, STBs, a pairing, an active product, a changed PIN and a replay record, and must get
// the contract's answer, leave the server answering, and change nothing (model, replay records,
// journal: one entry, not OK). The generated cases are in hostile-fuzz.test.ts.

const SOAP_11 = 'text/xml; charset=utf-8'
const SOAP_12 = 'application/soap+xml; charset=utf-8'
const AUTH = `Basic ${Buffer.from('sms:sms').toString('base64')}`
const MIB = 1024 * 1024

let sim: Simulator
let store: RecordingStore
let client: RawClient
/** A server that must never be asked anything: external entities point at it. */
let bait: Server
let baitUrl: string
const baitRequests: string[] = []

/** A valid, state-changing request with its children replaced or extended by raw XML. */
const addGfa1 = (
  children = `<Subscriptions><Subscription><CaClientId>${CARD_B}</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions>`,
) => requestEnvelope('subscription', 'AddSubscriptions', children)

interface Case {
  readonly name: string
  readonly service?: ServiceName
  readonly body: string | Buffer
  readonly headers?: Record<string, string>
  readonly chunked?: boolean
  /** What the contract answers: a fault code, a business StatusCode, or an HTTP status. */
  readonly expected: 'Client' | 'Server' | Exclude<StatusCode, 'OK'> | 413 | 401
}

function post(item: Omit<Case, 'name' | 'expected'>): Promise<RawAnswer> {
  return client.send(`${SERVICE_BASE_PATH}${item.service ?? 'subscription'}`, {
    headers: { Authorization: AUTH, 'Content-Type': SOAP_11, ...item.headers },
    body: item.body,
    chunked: item.chunked ?? false,
  })
}

function expectOutcome(outcome: SoapOutcome, expected: Case['expected'], name: string): void {
  if (typeof expected === 'number') {
    expect(outcome, name).toEqual({ kind: 'http', status: expected })
  } else if (expected === 'Client' || expected === 'Server') {
    expect(outcome, name).toMatchObject({ kind: 'fault', code: expected })
  } else {
    expect(outcome, name).toMatchObject({ kind: 'status', statusCode: expected })
  }
}

async function expectHealthy(): Promise<void> {
  const health = await client.send('/healthz', { method: 'GET' })
  expect(health.status).toBe(200)
}

/** Posts a case and checks the answer, that the server still answers and that nothing changed. */
async function runCase(item: Case): Promise<SoapOutcome> {
  const before = await checkpoint(sim, store)
  const outcome = soapOutcome(await post(item))
  expectOutcome(outcome, item.expected, item.name)
  await expectHealthy()
  await expectUnchanged(sim, store, before, item.name)
  return outcome
}

beforeAll(async () => {
  store = new RecordingStore()
  sim = await startSimulator({
    users: { sms: 'sms', other: 'other' },
    inventory: TEST_INVENTORY,
    store,
    logger: 'silent',
  })
  client = new RawClient(sim.url)
  bait = createServer((req, res) => {
    baitRequests.push(`${req.method} ${req.url}`)
    res.end('<!ENTITY leaked "yes">')
  })
  bait.listen(0, '127.0.0.1')
  await once(bait, 'listening')
  baitUrl = `http://127.0.0.1:${(bait.address() as AddressInfo).port}`
  // Some state to lose: a pairing, an active product, a PIN, an inbox and a replay record.
  for (const [service, operation, children] of [
    [
      'pairing',
      'CreatePairing',
      `<CaClientIds><CaClientId>${CARD_A}</CaClientId></CaClientIds><PairingModuleIds><PairingModuleId>${STB_1}</PairingModuleId></PairingModuleIds>`,
    ],
    [
      'subscription',
      'AddSubscriptions',
      `<Subscriptions><Subscription><CaClientId>${CARD_A}</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions><SequenceNumber>7</SequenceNumber>`,
    ],
    ['ca-pin', 'UpdateCaPinToGivenValue', `<CaClientId>${CARD_C}</CaClientId><Pin>4321</Pin>`],
    [
      'user-text-messaging',
      'SendMailMessageToClients',
      `<CaClientIds><CaClientId>${CARD_C}</CaClientId></CaClientIds><Message>Welcome</Message>`,
    ],
  ] as const) {
    const outcome = soapOutcome(
      await post({ service, body: requestEnvelope(service, operation, children) }),
    )
    expect(outcome).toMatchObject({ kind: 'status', statusCode: 'OK' })
  }
  expect(sim.model.card(CARD_A)?.pairing?.pairingModuleIds).toEqual([STB_1])
})

afterAll(async () => {
  client.close()
  bait.close()
  await sim.close()
})

describe('entities and DOCTYPEs (nothing expanded, nothing fetched)', () => {
  const doctype = (declaration: string, use = ''): string =>
    `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE Envelope [${declaration}]>` +
    addGfa1(
      `<Subscriptions><Subscription><CaClientId>${CARD_B}${use}</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions>`,
    ).replace('<?xml version="1.0" encoding="UTF-8"?>', '')

  it.each([
    [
      'an external entity naming /etc/passwd',
      () => doctype('<!ENTITY x SYSTEM "file:///etc/passwd">', '&x;'),
    ],
    [
      'an external entity naming an http URL',
      () => doctype(`<!ENTITY x SYSTEM "${baitUrl}/xxe">`, '&x;'),
    ],
    ['an external parameter entity', () => doctype(`<!ENTITY % p SYSTEM "${baitUrl}/dtd"> %p;`)],
    [
      'an external DTD',
      () =>
        doctype('').replace(
          '<!DOCTYPE Envelope []>',
          `<!DOCTYPE Envelope SYSTEM "${baitUrl}/dtd">`,
        ),
    ],
    [
      'billion laughs',
      () =>
        doctype(
          '<!ENTITY l0 "lol">' +
            Array.from(
              { length: 9 },
              (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`,
            ).join(''),
          '&l9;',
        ),
    ],
    ['a DOCTYPE alone', () => doctype('')],
    ['an ENTITY declaration after the root', () => `${addGfa1()}<!ENTITY x "y">`],
  ])('refuses %s with soap:Client', async (name, body) => {
    const outcome = await runCase({ name, body: body(), expected: 'Client' })
    expect(outcome.kind === 'fault' && outcome.reason).not.toMatch(/root:|leaked|lollol/)
    expect(baitRequests).toEqual([])
  })
})

describe('size and shape limits', () => {
  const cards = (count: number): string =>
    `<CaClientIds>${`<CaClientId>${CARD_B}</CaClientId>`.repeat(count)}</CaClientIds><Message>x</Message>`

  it.each<Case>([
    {
      name: 'a body over 1 MiB with its Content-Length',
      body: addGfa1(`<Subscriptions>${' '.repeat(MIB)}</Subscriptions>`),
      expected: 413,
    },
    {
      name: 'a body over 1 MiB sent chunked, without a Content-Length',
      body: addGfa1(`<Subscriptions>${' '.repeat(MIB)}</Subscriptions>`),
      chunked: true,
      expected: 413,
    },
    {
      name: 'a Content-Length over the limit with a short body',
      body: addGfa1(),
      headers: { 'Content-Length': String(2 * MIB) },
      expected: 413,
    },
    {
      name: 'nesting one level deeper than 32',
      body: addGfa1(`${'<Subscriptions>'.repeat(30)}${'</Subscriptions>'.repeat(30)}`),
      expected: 'Client',
    },
    {
      name: 'nesting 100,000 levels deep',
      body: addGfa1(`${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`),
      expected: 'Client',
    },
    {
      name: '20,001 elements',
      service: 'user-text-messaging',
      body: requestEnvelope('user-text-messaging', 'SendMailMessageToClients', cards(20_000)),
      expected: 'Client',
    },
    {
      name: 'a card list over maxCardsPerRequest (501 distinct cards)',
      service: 'user-text-messaging',
      body: requestEnvelope(
        'user-text-messaging',
        'SendMailMessageToClients',
        `<CaClientIds>${Array.from({ length: 501 }, (_, i) => `<CaClientId>${String(10_000_000_000 + i)}</CaClientId>`).join('')}</CaClientIds><Message>x</Message>`,
      ),
      expected: 'INPUT_VALIDATION_ERROR',
    },
  ])('answers $name as the contract says', async (item) => {
    await runCase(item)
  })
})

describe('bytes that are not the text they claim to be', () => {
  const valid = addGfa1()
  it.each<Case>([
    {
      name: 'UTF-8 bytes declared ISO-8859-1: read as Latin-1, the garbled id is refused',
      body: valid.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace('GFA1', 'GFA1é'),
      headers: { 'Content-Type': 'text/xml' },
      expected: 'INPUT_VALIDATION_ERROR',
    },
    {
      name: 'an XML declaration that contradicts the Content-Type charset',
      body: valid.replace('encoding="UTF-8"', 'encoding="UTF-16"'),
      expected: 'Server',
    },
    {
      name: 'Latin-1 bytes sent as UTF-8',
      body: Buffer.from(valid.replace('GFA1', 'GFA1é'), 'latin1'),
      expected: 'Server',
    },
    {
      name: 'invalid UTF-8 (a broken two-byte sequence)',
      body: Buffer.concat([
        Buffer.from(valid.slice(0, 200)),
        Buffer.from([0xc3, 0x28]),
        Buffer.from(valid.slice(200)),
      ]),
      expected: 'Server',
    },
    {
      name: 'an overlong UTF-8 encoding of "<"',
      body: Buffer.concat([Buffer.from(valid), Buffer.from([0xc0, 0xbc])]),
      expected: 'Server',
    },
    {
      name: 'UTF-16LE without a byte-order mark and without a charset',
      body: Buffer.from(valid.replace(' encoding="UTF-8"', ''), 'utf16le'),
      headers: { 'Content-Type': 'text/xml' },
      expected: 'Server',
    },
    {
      name: 'UTF-16BE without a byte-order mark, declared charset=utf-16',
      body: Buffer.from(valid.replace(' encoding="UTF-8"', ''), 'utf16le').swap16(),
      headers: { 'Content-Type': 'text/xml; charset=utf-16' },
      expected: 'Server',
    },
    {
      name: 'UTF-16 with an odd number of bytes',
      body: Buffer.concat([
        Buffer.from([0xff, 0xfe]),
        Buffer.from(valid, 'utf16le'),
        Buffer.from([0x3c]),
      ]),
      headers: { 'Content-Type': 'text/xml' },
      expected: 'Server',
    },
    {
      name: 'an unknown charset',
      body: valid,
      headers: { 'Content-Type': 'text/xml; charset=x-klingon' },
      expected: 'Server',
    },
    { name: 'an empty body', body: '', expected: 'Server' },
    { name: 'a body of whitespace only', body: ' \r\n\t '.repeat(100), expected: 'Server' },
    { name: 'a NUL character', body: valid.replace('GFA1', 'GF\u0000A1'), expected: 'Server' },
    {
      name: 'a character reference to NUL',
      body: valid.replace('GFA1', 'GF&#0;A1'),
      expected: 'Server',
    },
    {
      name: 'a character reference to a lone surrogate',
      body: valid.replace('GFA1', '&#xD800;'),
      expected: 'Server',
    },
    {
      name: 'an undeclared entity reference',
      body: valid.replace('GFA1', '&gfa;'),
      expected: 'Server',
    },
    {
      name: 'a second Envelope after the first',
      body: valid + valid.replace(/^<\?xml[^>]*>/, ''),
      expected: 'Server',
    },
    { name: 'text after the Envelope', body: `${valid}trailing`, expected: 'Server' },
    { name: 'an unclosed Envelope', body: valid.replace('</s:Envelope>', ''), expected: 'Server' },
    {
      name: 'an unbound namespace prefix',
      body: valid.replace('<s:Body>', '<s:Body><x:y/>'),
      expected: 'Server',
    },
  ])('answers $name with $expected', async (item) => {
    const outcome = await runCase(item)
    if (item.expected === 'Server' && outcome.kind === 'fault') {
      expect(outcome.reason).toBe("Couldn't parse stream.")
    }
  })
})

describe('well-formed messages the contract refuses', () => {
  const ns = 'http://www.conax.com/cas/xsd/subscription/v1'
  it.each<Case>([
    {
      name: 'an unknown operation',
      body: requestEnvelope('subscription', 'DeleteEverything', '<All>true</All>'),
      expected: 'Client',
    },
    {
      name: "another service's operation",
      body: requestEnvelope(
        'pairing',
        'CreatePairing',
        `<CaClientIds><CaClientId>${CARD_B}</CaClientId></CaClientIds><PairingModuleIds><PairingModuleId>${STB_2}</PairingModuleId></PairingModuleIds>`,
      ),
      expected: 'Client',
    },
    {
      name: 'the wrong namespace',
      body: addGfa1().replace(ns, 'http://evil.example/v1'),
      expected: 'Client',
    },
    {
      name: 'no namespace on the operation',
      body: addGfa1()
        .replace(` xmlns:c="${ns}"`, '')
        .replaceAll('c:AddSubscriptions', 'AddSubscriptions'),
      expected: 'Client',
    },
    {
      name: 'an Envelope that is not SOAP',
      body: addGfa1().replace('http://schemas.xmlsoap.org/soap/envelope/', 'urn:not-soap'),
      expected: 'Client',
    },
    {
      name: 'a SOAPAction naming another operation',
      body: addGfa1(),
      headers: { SOAPAction: '"CancelSubscriptions"' },
      expected: 'Client',
    },
    {
      name: 'a SOAP 1.2 action naming another operation',
      body: addGfa1().replace(
        'http://schemas.xmlsoap.org/soap/envelope/',
        'http://www.w3.org/2003/05/soap-envelope',
      ),
      headers: { 'Content-Type': `${SOAP_12}; action="urn:x#CancelSubscriptions"` },
      expected: 'Client',
    },
    {
      name: 'a missing mandatory element',
      body: addGfa1(
        `<Subscriptions><Subscription><CaClientId>${CARD_B}</CaClientId></Subscription></Subscriptions>`,
      ),
      expected: 'Client',
    },
    {
      name: 'an unknown element',
      body: addGfa1(
        `<Subscriptions><Subscription><CaClientId>${CARD_B}</CaClientId><ProductId>GFA1</ProductId><Price>0</Price></Subscription></Subscriptions>`,
      ),
      expected: 'Client',
    },
    {
      name: 'a repeated single element',
      body: addGfa1(
        `<Subscriptions><Subscription><CaClientId>${CARD_B}</CaClientId><CaClientId>${CARD_C}</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions>`,
      ),
      expected: 'Client',
    },
    {
      name: 'a letter in an int',
      body: addGfa1(
        `<Subscriptions><Subscription><CaClientId>${CARD_B}</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions><SequenceNumber>12a</SequenceNumber>`,
      ),
      expected: 'Client',
    },
    {
      name: 'an int over 2^31 - 1',
      body: addGfa1(
        `<Subscriptions><Subscription><CaClientId>${CARD_B}</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions><SequenceNumber>2147483648</SequenceNumber>`,
      ),
      expected: 'Client',
    },
    {
      name: 'a 400-digit number',
      body: addGfa1(
        `<Subscriptions><Subscription><CaClientId>${CARD_B}</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions><SequenceNumber>${'9'.repeat(400)}</SequenceNumber>`,
      ),
      expected: 'Client',
    },
    {
      name: 'an int in exponent form',
      body: addGfa1(
        `<Subscriptions><Subscription><CaClientId>${CARD_B}</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions><SequenceNumber>1e3</SequenceNumber>`,
      ),
      expected: 'Client',
    },
    {
      name: 'NaN as an int',
      service: 'user-text-messaging',
      body: requestEnvelope(
        'user-text-messaging',
        'SendRepeatingBarkMessageToClients',
        `<CaClientIds><CaClientId>${CARD_B}</CaClientId></CaClientIds><Message>x</Message><RepetitionCount>NaN</RepetitionCount><RepetitionIntervalInSeconds>20</RepetitionIntervalInSeconds>`,
      ),
      expected: 'Client',
    },
    {
      name: 'Infinity as an int',
      service: 'fingerprint',
      body: requestEnvelope(
        'fingerprint',
        'DisplayFingerprint',
        `<CaClientIds><CaClientId>${CARD_B}</CaClientId></CaClientIds><DurationInSeconds>Infinity</DurationInSeconds>`,
      ),
      expected: 'Client',
    },
    {
      name: 'a negative repetition count',
      service: 'user-text-messaging',
      body: requestEnvelope(
        'user-text-messaging',
        'SendRepeatingBarkMessageToClients',
        `<CaClientIds><CaClientId>${CARD_B}</CaClientId></CaClientIds><Message>x</Message><RepetitionCount>-3</RepetitionCount><RepetitionIntervalInSeconds>20</RepetitionIntervalInSeconds>`,
      ),
      expected: 'INPUT_VALIDATION_ERROR',
    },
    {
      name: 'a negative position',
      service: 'fingerprint',
      body: requestEnvelope(
        'fingerprint',
        'DisplayFingerprint',
        `<CaClientIds><CaClientId>${CARD_B}</CaClientId></CaClientIds><PositionX>-1</PositionX>`,
      ),
      expected: 'INPUT_VALIDATION_ERROR',
    },
    {
      name: 'an impossible date',
      body: addGfa1(
        `<Subscriptions><Subscription><CaClientId>${CARD_B}</CaClientId><ProductId>GFA1</ProductId><StartDate>2026-02-30T00:00:00Z</StartDate></Subscription></Subscriptions>`,
      ),
      expected: 'Client',
    },
    {
      name: 'text directly in the Body',
      body: addGfa1().replace('<s:Body>', '<s:Body>text'),
      expected: 'Client',
    },
    {
      name: 'two operations in the Body',
      body: addGfa1().replace(
        '</s:Body>',
        `${/<c:AddSubscriptions[\s\S]*<\/c:AddSubscriptions>/.exec(addGfa1())?.[0] ?? ''}</s:Body>`,
      ),
      expected: 'Client',
    },
    {
      name: 'two Bodies',
      body: addGfa1().replace('</s:Envelope>', '<s:Body/></s:Envelope>'),
      expected: 'Client',
    },
    {
      name: 'a processing instruction before the Envelope',
      body: addGfa1().replace('?>', '?><?xml-stylesheet href="http://evil.example/x.xsl"?>'),
      expected: 'Client',
    },
    {
      name: 'a processing instruction inside the request',
      body: addGfa1().replace('<ProductId>', '<?php system("id") ?><ProductId>'),
      expected: 'Client',
    },
    {
      name: 'markup smuggled in a CDATA id',
      body: addGfa1(
        `<Subscriptions><Subscription><CaClientId><![CDATA[${CARD_B}</CaClientId><ProductId>EFA2]]></CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions>`,
      ),
      expected: 'INPUT_VALIDATION_ERROR',
    },
    {
      name: 'Arabic-Indic digits in a card id',
      body: addGfa1(
        `<Subscriptions><Subscription><CaClientId>٠١٩٠٠٠٨٠٢٠٧</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions>`,
      ),
      expected: 'INPUT_VALIDATION_ERROR',
    },
    {
      name: 'fullwidth digits in a card id',
      body: addGfa1(
        `<Subscriptions><Subscription><CaClientId>０１９０００８０２０７</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions>`,
      ),
      expected: 'INPUT_VALIDATION_ERROR',
    },
    {
      name: 'Devanagari digits in a PIN',
      service: 'ca-pin',
      body: requestEnvelope(
        'ca-pin',
        'UpdateCaPinToGivenValue',
        `<CaClientId>${CARD_B}</CaClientId><Pin>१२३४</Pin>`,
      ),
      expected: 'INPUT_VALIDATION_ERROR',
    },
    {
      name: 'Arabic-Indic digits in a SequenceNumber',
      body: addGfa1(
        `<Subscriptions><Subscription><CaClientId>${CARD_B}</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions><SequenceNumber>٧</SequenceNumber>`,
      ),
      expected: 'Client',
    },
    {
      name: 'wrong credentials',
      body: addGfa1(),
      headers: { Authorization: `Basic ${Buffer.from('sms:wrong').toString('base64')}` },
      expected: 401,
    },
    {
      name: 'another SMS user’s card',
      body: addGfa1(
        `<Subscriptions><Subscription><CaClientId>09999999999</CaClientId><ProductId>GFA1</ProductId></Subscription></Subscriptions>`,
      ),
      expected: 'CLIENT_NOT_MANAGED_BY_SMS',
    },
  ])('answers $name as the contract says', async (item) => {
    await runCase(item)
  })

  it('reads a CDATA id as its text: the same request without markup works', async () => {
    const outcome = soapOutcome(
      await post({
        service: 'subscription',
        body: requestEnvelope(
          'subscription',
          'GetActiveSubscriptions',
          `<CaClientId><![CDATA[${CARD_A}]]></CaClientId>`,
        ),
      }),
    )
    expect(outcome).toMatchObject({ kind: 'status', statusCode: 'OK' })
  })

  it('answers a SOAP 1.2 request with a SOAP 1.2 Sender fault', async () => {
    const before = await checkpoint(sim, store)
    const body = addGfa1(
      `<Subscriptions><Subscription><CaClientId>${CARD_B}</CaClientId></Subscription></Subscriptions>`,
    ).replace(
      'http://schemas.xmlsoap.org/soap/envelope/',
      'http://www.w3.org/2003/05/soap-envelope',
    )
    const answer = await post({ body, headers: { 'Content-Type': SOAP_12 } })
    expect(answer.body).toContain('<soap:Value>soap:Sender</soap:Value>')
    expect(soapOutcome(answer)).toMatchObject({ kind: 'fault', code: 'Client' })
    await expectUnchanged(sim, store, before, 'SOAP 1.2')
  })
})

describe('slow and stalled clients', () => {
  it('serves other clients while one sends its headers a byte at a time, and that one changes nothing', async () => {
    const before = await checkpoint(sim, store)
    const { port } = new URL(sim.url)
    const socket = connect(Number(port), '127.0.0.1')
    await once(socket, 'connect')
    const head = `POST ${SERVICE_BASE_PATH}ca-pin HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${AUTH}\r\n`
    for (const byte of head) {
      // Each byte is on the wire before the next one goes (the 'drain' of a tiny write is its ack).
      await new Promise<void>((resolve) => socket.write(byte, () => resolve()))
      if (byte === '\n') {
        await expectHealthy()
      }
    }
    expect(socket.destroyed).toBe(false)
    socket.destroy()
    await once(socket, 'close')
    await expectHealthy()
    await expectUnchanged(sim, store, before, 'slow headers', 0)
  })

  // A short header timeout, so that the test sees the server end a slow-headers client.
  const HEADER_TIMEOUT: Partial<SimulatorOptions> = {
    http: { headersTimeoutMs: 200, requestTimeoutMs: 1000 },
  }
  it('closes a connection whose headers come slower than the header timeout', async () => {
    const slow = await startSimulator({ ...HEADER_TIMEOUT, logger: 'silent' })
    try {
      const socket = connect(slow.port, '127.0.0.1')
      await once(socket, 'connect')
      const closed = once(socket, 'close')
      // Read (and drop) the 408 the server answers: an unread answer would hold the 'close' back.
      socket.resume()
      // A byte at a time, then never the blank line that ends the headers: only the server's
      // header timeout can end this, and the test waits for that 'close' event, not for a time.
      for (const byte of `POST ${SERVICE_BASE_PATH}ca-pin HTTP/1.1\r\nX-Slow: 1`) {
        await new Promise<void>((resolve) => socket.write(byte, () => resolve()))
      }
      await closed
      expect(socket.destroyed).toBe(true)
    } finally {
      await slow.close()
    }
  })
})
